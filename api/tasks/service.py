"""Tasks: the human work journeys ask for (call, generic and LinkedIn tasks), listed for their assignees and
completed through the API, which tells the waiting journey.

Completing is one compare-and-set on the open row, then the journey's notice signal (`task_completed`, key the
task id, data {outcome, by, note}), then the commit: a signal that cannot be sent (Temporal unreachable) rolls the
completion back (503, to be retried), and a retried request after a lost answer is a 409 while the journey counts
the notice once (the workflow dedupes notices on kind and key). A journey whose execution already ended (the
contact exited or reached a goal while the task was open) cannot be told: the task is completed all the same and
the answer says `journey_notified: false`."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.service import RPCError, RPCStatusCode

from api.errors import Conflict, NotFound, Unavailable, Unprocessable
from domain.clock import utcnow
from domain.journeys.runtime import NOTICE_SIGNAL, JourneyNotice
from domain.journeys.steps.tasks import TASK_COMPLETED
from domain.tasks.model import TaskCompletionError, TaskStatus, check_completion
from mauntic.temporal import TemporalGateway
from store.models_tasks import JourneyTask
from store.tasks import TaskFilter, change_open, get_task, list_tasks

_CONFLICT_CODES = {
    TaskStatus.COMPLETED.value: "task_already_completed",
    TaskStatus.EXPIRED.value: "task_expired",
    TaskStatus.CANCELLED.value: "task_cancelled",
}


class TaskService:
    def __init__(self, temporal: TemporalGateway) -> None:
        self._temporal = temporal

    async def page(self, session: AsyncSession, flt: TaskFilter, after: str | None, limit: int) -> list[JourneyTask]:
        return await list_tasks(session, flt, after=after, limit=limit)

    async def get(self, session: AsyncSession, workspace_id: str, task_id: str) -> JourneyTask:
        task = await get_task(session, workspace_id, task_id)
        if task is None:
            raise NotFound(f"no task {task_id}", code="task_not_found")
        return task

    async def complete(
        self, session: AsyncSession, workspace_id: str, task_id: str, outcome: str, note: str | None, by: str
    ) -> tuple[JourneyTask, bool]:
        """The completed task, and whether its journey was told."""
        task = await self.get(session, workspace_id, task_id)
        self._check(task, outcome)
        now = utcnow()
        values = {"status": TaskStatus.COMPLETED.value, "outcome": outcome, "note": note, "completed_by": by,
                  "completed_at": now}  # fmt: skip
        if not await change_open(session, task.id, now, **values):  # completed or expired meanwhile
            await session.rollback()
            await session.refresh(task)
            self._check(task, outcome)
            raise Conflict("the task changed meanwhile; read it again", code="task_changed")
        try:
            notified = await self._tell(task, outcome, by, note)
        except BaseException:
            await session.rollback()
            raise
        await session.commit()
        await session.refresh(task)
        return task, notified

    @staticmethod
    def _check(task: JourneyTask, outcome: str) -> None:
        try:
            check_completion(task.status, outcome, task.outcomes)
        except TaskCompletionError as exc:
            if exc.code == "task_not_open":
                code = _CONFLICT_CODES.get(task.status, exc.code)
                raise Conflict(exc.message, code=code, details={"status": task.status}) from exc
            raise Unprocessable(exc.message, code=exc.code, details={"outcomes": task.outcomes}) from exc

    async def _tell(self, task: JourneyTask, outcome: str, by: str, note: str | None) -> bool:
        notice = JourneyNotice(
            kind=TASK_COMPLETED, key=task.id, data={"outcome": outcome, "by": by, "note": note}, at=utcnow()
        )
        try:
            client = await self._temporal.client()
            await client.get_workflow_handle(task.workflow_id).signal(NOTICE_SIGNAL, notice)
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:  # the execution has ended: nobody waits any more
                return False
            raise Unavailable(f"the journey could not be told: {exc.message}", code="temporal_unavailable") from exc
        except (RuntimeError, OSError) as exc:
            raise Unavailable(f"Temporal cannot be reached: {exc}", code="temporal_unavailable") from exc
        return True
