"""Tasks of journeys (call, generic, LinkedIn): list them by assignee, status or journey, read one, complete it
with an outcome (the journey waiting on it goes on along that outcome's branch)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from api.context import AppContext
from api.deps import JourneysRead, JourneysWrite, Session, app_context
from api.pagination import Cursor, Page, page_of
from api.schemas.tasks import TaskComplete, TaskCompleted, TaskPublic
from api.tasks.service import TaskService
from api.tasks.views import task_view, task_views
from api.validation import ResourceId
from store.tasks import TaskFilter

router = APIRouter(prefix="/v1/tasks", tags=["tasks"])


def task_service(context: Annotated[AppContext, Depends(app_context)]) -> TaskService:
    return context.tasks


Tasks = Annotated[TaskService, Depends(task_service)]
Filter = Annotated[str | None, Query(min_length=1, max_length=320, pattern=r"^[^\x00]*$")]


@router.get("")
async def list_all(
    principal: JourneysRead,
    session: Session,
    tasks: Tasks,
    assignee: Filter = None,
    status: Literal["open", "completed", "expired", "cancelled"] | None = None,
    journey_id: Filter = None,
    contact_id: Filter = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[TaskPublic]:
    """Oldest first; e.g. `?assignee=rep@example.com&status=open` is a rep's work queue."""
    flt = TaskFilter(principal.workspace_id, assignee, status, journey_id, contact_id)
    rows = await tasks.page(session, flt, cursor, limit + 1)
    page, next_cursor = page_of(rows, limit)
    return Page[TaskPublic](data=await task_views(session, principal.workspace_id, page), next_cursor=next_cursor)


@router.get("/{task_id}")
async def read_task(task_id: ResourceId, principal: JourneysRead, session: Session, tasks: Tasks) -> TaskPublic:
    return await task_view(session, principal.workspace_id, await tasks.get(session, principal.workspace_id, task_id))


@router.post("/{task_id}/complete")
async def complete_task(
    task_id: ResourceId, body: TaskComplete, principal: JourneysWrite, session: Session, tasks: Tasks
) -> TaskCompleted:
    """Complete an open task with one of its outcomes: 409 `task_already_completed` (or `task_expired`), 422
    `unknown_task_outcome`. The journey goes on along the outcome's branch."""
    by = body.by or f"api_key:{principal.key_id}"
    task, notified = await tasks.complete(session, principal.workspace_id, task_id, body.outcome, body.note, by)
    view = await task_view(session, principal.workspace_id, task)
    return TaskCompleted(**view.model_dump(), journey_notified=notified)
