"""The task step's writes (local activities, each one short transaction): create the task with its texts rendered
for the contact, escalate it when its SLA passes, expire it at its due time.

Rendering happens here, once, when the task is created: the assignee sees the instructions and the LinkedIn
message draft as they were for the contact then (a later change to the contact does not rewrite a task someone
may be working on)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.journeys.versions import JourneyVersions
from activities.tasks.contracts import (
    CANCEL_JOURNEY_TASK,
    CREATE_JOURNEY_TASK,
    ESCALATE_JOURNEY_TASK,
    EXPIRE_JOURNEY_TASK,
    CancelTaskInput,
    CancelTaskOutput,
    CreateTaskInput,
    CreateTaskOutput,
    EscalateTaskInput,
    EscalateTaskOutput,
    ExpireTaskInput,
    ExpireTaskOutput,
)
from domain.clock import utcnow
from domain.content.templates import TemplateError, render_text
from domain.delivery.email import contact_context
from domain.events.interest import OutboxKind
from domain.ids import new_id
from domain.journeys.steps.tasks import LinkedInTaskStep, TaskStepBase
from domain.outbound_webhooks.events import WebhookEventType
from domain.tasks.model import TaskStatus
from store.contacts import company_fields, contact_fields
from store.models import Contact
from store.models_tasks import JourneyTask
from store.outbox import OutboxEvent, enqueue
from store.tasks import change_open, create_task, get_task
from store.webhook_endpoints import SubscribedTypes


def task_context(
    contact: Contact | None, request: CreateTaskInput, company: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What a task's templates see: `contact` and `company` (as in emails) and `journey` (id, version, step)."""
    context = contact_context(contact_fields(contact) if contact is not None else {}, company)
    context["journey"] = {"id": request.journey_id, "version": request.version, "step_id": request.step_id}
    return context


def _render(source: str, context: dict[str, Any], field: str) -> str:
    try:
        return render_text(source, context)
    except TemplateError as exc:
        raise ApplicationError(f"{field}: {exc}", type="TemplateError", non_retryable=True) from exc


class TaskActivities:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        versions: JourneyVersions,
        subscribed: SubscribedTypes | None = None,
    ) -> None:
        self._sessions = sessions
        self._versions = versions
        self._subscribed = subscribed or SubscribedTypes(sessions)

    async def _step(self, session: AsyncSession, request: CreateTaskInput) -> TaskStepBase:
        definition = await self._versions.get(session, request.workspace_id, request.journey_id, request.version)
        step = definition.step(request.step_id)
        if not isinstance(step, TaskStepBase):
            raise ApplicationError(f"step {request.step_id} is not a task step", non_retryable=True)
        return step

    @activity.defn(name=CREATE_JOURNEY_TASK)
    async def create(self, request: CreateTaskInput) -> CreateTaskOutput:
        async with self._sessions() as session:
            step = await self._step(session, request)
            contact = await session.get(Contact, request.contact_id)
            if contact is not None and contact.workspace_id != request.workspace_id:
                contact = None
            company = await company_fields(session, contact) if contact is not None else None
            context = task_context(contact, request, company)
            linkedin = step if isinstance(step, LinkedInTaskStep) else None
            draft = JourneyTask(
                id=new_id("tsk"), workspace_id=request.workspace_id, journey_id=request.journey_id,
                version=request.version, contact_id=request.contact_id, step_id=request.step_id,
                workflow_id=request.workflow_id, idempotency_key=request.idempotency_key, kind=step.task_kind,
                title=_render(step.title, context, "title"),
                instructions=_render(step.instructions, context, "instructions"),
                profile_url=_render(linkedin.profile_url, context, "profile_url").strip() if linkedin else None,
                message=_render(linkedin.message, context, "message") if linkedin else None,
                assignee=step.assignee, outcomes=list(step.outcomes), due_at=request.due_at, sla_at=request.sla_at,
            )  # fmt: skip
            row, created = await create_task(session, draft)
            await session.commit()
        return CreateTaskOutput(
            task_id=row.id, assignee=row.assignee, created=created, status=row.status, outcome=row.outcome,
            completed_by=row.completed_by,
        )  # fmt: skip

    @activity.defn(name=ESCALATE_JOURNEY_TASK)
    async def escalate(self, request: EscalateTaskInput) -> EscalateTaskOutput:
        """Reassign, or notify (a `task.escalated` webhook event when an endpoint of the workspace takes it); the
        escalation is recorded on the task either way. A task no longer open is left as it is."""
        now = utcnow()
        async with self._sessions() as session:
            task = await self._task(session, request.workspace_id, request.task_id)
            previous = task.assignee
            if task.status != TaskStatus.OPEN or task.escalated_at is not None:  # done, or a retried call
                return EscalateTaskOutput(
                    status=task.status, assignee=task.assignee,
                    previous_assignee=(task.escalation or {}).get("previous_assignee", previous),
                    notified=bool((task.escalation or {}).get("notified")),
                )  # fmt: skip
            escalation: dict[str, Any] = {"at": now.isoformat(), "previous_assignee": previous}
            values: dict[str, Any] = {"escalated_at": now}
            notified = False
            if request.reassign_to is not None:
                escalation["reassign_to"] = request.reassign_to
                values["assignee"] = request.reassign_to
            else:
                escalation["notify"] = request.notify
                if await self._subscribed.wants(request.workspace_id, WebhookEventType.TASK_ESCALATED):
                    await enqueue(session, [self._escalated_event(task, request.notify, now)], now)
                    notified = True
            escalation["notified"] = notified
            await change_open(session, task.id, now, escalation=escalation, **values)
            await session.commit()
        return EscalateTaskOutput(
            status=TaskStatus.OPEN.value, assignee=values.get("assignee", previous), previous_assignee=previous,
            notified=notified,
        )  # fmt: skip

    @staticmethod
    def _escalated_event(task: JourneyTask, notify: str | None, now: Any) -> OutboxEvent:
        properties = {
            "notify": notify, "assignee": task.assignee, "title": task.title, "kind": task.kind,
            "journey_id": task.journey_id, "step_id": task.step_id,
            "due_at": task.due_at.isoformat() if task.due_at else None,
        }  # fmt: skip
        return OutboxEvent(
            task.workspace_id, task.contact_id, f"{task.id}:escalated", task.id, properties, now,
            OutboxKind.TASK_ESCALATED,
        )  # fmt: skip

    @activity.defn(name=EXPIRE_JOURNEY_TASK)
    async def expire(self, request: ExpireTaskInput) -> ExpireTaskOutput:
        async with self._sessions() as session:
            now = utcnow()
            reason = "not completed by its due time"
            await change_open(session, request.task_id, now, status=TaskStatus.EXPIRED.value, closed_reason=reason)
            await session.commit()
            task = await self._task(session, request.workspace_id, request.task_id)
            await session.refresh(task)
        return ExpireTaskOutput(status=task.status, outcome=task.outcome, completed_by=task.completed_by)

    @activity.defn(name=CANCEL_JOURNEY_TASK)
    async def cancel(self, request: CancelTaskInput) -> CancelTaskOutput:
        async with self._sessions() as session:
            cancelled = {"status": TaskStatus.CANCELLED.value, "closed_reason": request.reason[:2000]}
            await change_open(session, request.task_id, utcnow(), **cancelled)
            await session.commit()
            task = await get_task(session, request.workspace_id, request.task_id)
            if task is not None:
                await session.refresh(task)
        return CancelTaskOutput(status=task.status if task is not None else "missing")

    @staticmethod
    async def _task(session: AsyncSession, workspace_id: str, task_id: str) -> JourneyTask:
        task = await get_task(session, workspace_id, task_id)
        if task is None:
            raise ApplicationError(f"no task {task_id}", type="TaskNotFound", non_retryable=True)
        return task

    def all(self) -> list[Callable[..., Awaitable[Any]]]:
        return [self.create, self.escalate, self.expire, self.cancel]
