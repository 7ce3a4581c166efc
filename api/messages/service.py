"""Listing the message log and resolving uncertain messages, on purpose and audited.

An `uncertain` message is one whose provider call was cut off (a worker killed mid-send, a lost answer): it may
have arrived, so it is never sent again on its own. An operator resolves it once:

- `mark_sent`: the row becomes `sent`;
- `resend`: the row goes back to `pending` and the workflow `message-resend:<message id>` runs the journey's send
  activity for it once more, under the same idempotency key (so the same row records the outcome, and the same
  Message-ID lets mailbox providers fold a copy that did arrive). The status change is conditional on the row being
  `uncertain`, so of two concurrent requests one wins; a repeated `resend` while that resend is under way answers
  with the same resolution and (re)starts the same workflow id, which Temporal runs once.

Each resolution is recorded in `message_resolution`: which action, by which API key, when.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import TemporalError

from activities.journeys.contracts import RESEND_MESSAGE_WORKFLOW, ResendMessageInput, SendJourneyEmailInput
from api.errors import Conflict, NotFound, Unavailable
from api.schemas.messages import ResolveAction
from domain.ids import new_id
from mauntic.temporal import TemporalGateway
from store import messages
from store.models import MessageLog, MessageResolution


def resend_workflow_id(message_id: str) -> str:
    return f"message-resend:{message_id}"


class MessageService:
    def __init__(self, temporal: TemporalGateway) -> None:
        self._temporal = temporal

    async def page(
        self, session: AsyncSession, workspace_id: str, status: str | None, after: str | None, limit: int
    ) -> list[MessageLog]:
        return await messages.list_messages(session, workspace_id, status=status, after=after, limit=limit)

    async def get(self, session: AsyncSession, workspace_id: str, message_id: str) -> MessageLog:
        row = await messages.get_message(session, workspace_id, message_id)
        if row is None:
            raise NotFound(f"no message {message_id}", code="message_not_found")
        return row

    async def resolve(
        self, session: AsyncSession, workspace_id: str, message_id: str, action: ResolveAction, api_key_id: str
    ) -> tuple[MessageLog, MessageResolution]:
        row = await self.get(session, workspace_id, message_id)
        if action is ResolveAction.RESEND:
            request = await self._resend_request(session, row)
        if not await messages.leave_uncertain(session, row.id, resend=action is ResolveAction.RESEND):
            await session.rollback()
            return await self._repeated(session, workspace_id, message_id, action)
        resolution = MessageResolution(
            id=new_id("mres"), workspace_id=workspace_id, message_log_id=row.id, action=action.value,
            api_key_id=api_key_id,
        )  # fmt: skip
        session.add(resolution)
        await session.commit()
        if action is ResolveAction.RESEND:
            await self._start_resend(row.id, request)
        return await self.get(session, workspace_id, message_id), resolution

    async def _repeated(
        self, session: AsyncSession, workspace_id: str, message_id: str, action: ResolveAction
    ) -> tuple[MessageLog, MessageResolution]:
        """The row is no longer uncertain: a repeat of the resend under way is answered with it (and its workflow
        started again, in case the first request could not); anything else is a conflict."""
        row = await self.get(session, workspace_id, message_id)
        last = await messages.last_resolution(session, row.id)
        if action is ResolveAction.RESEND and last is not None and last.action == action.value:
            if row.status == messages.PENDING:
                await self._start_resend(row.id, await self._resend_request(session, row))
            return row, last
        raise Conflict(f"message {message_id} is {row.status}, not uncertain", code="message_not_uncertain")

    async def _resend_request(self, session: AsyncSession, row: MessageLog) -> SendJourneyEmailInput:
        version = None
        if row.journey_id and row.contact_id and row.step_id and row.channel == "email":
            version = await messages.enrollment_version(session, row.workspace_id, row.journey_id, row.contact_id)
        if version is None or not (row.journey_id and row.contact_id and row.step_id):
            raise Conflict(f"message {row.id} was not sent by a journey step", code="message_not_resendable")
        return SendJourneyEmailInput(
            workspace_id=row.workspace_id, journey_id=row.journey_id, version=version, step_id=row.step_id,
            contact_id=row.contact_id, idempotency_key=row.idempotency_key,
        )  # fmt: skip

    async def _start_resend(self, message_id: str, request: SendJourneyEmailInput) -> None:
        try:
            client: Client = await self._temporal.client()
            await client.start_workflow(
                RESEND_MESSAGE_WORKFLOW,
                ResendMessageInput(send=request),
                id=resend_workflow_id(message_id),
                task_queue=self._temporal.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            )
        except (TemporalError, RuntimeError, OSError) as exc:
            raise Unavailable(
                "the resend is recorded but could not be started; repeat the request", code="temporal_unavailable"
            ) from exc
