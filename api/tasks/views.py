"""Tasks as the request's role may read them. A task's texts (title, instructions, a LinkedIn profile URL and
message draft) were rendered from the contact's fields when the journey created it, so a role that has a field
hidden or masked must not read its value there either: each value of such a field, as the contact holds it now,
is replaced in the texts (domain/access/fields.redact_text). An unrestricted role costs no read."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from api.field_policies.current import request_policy
from api.schemas.contacts import representation
from api.schemas.tasks import TaskPublic
from domain.access.fields import redact_text
from store.models import Contact
from store.models_tasks import JourneyTask

_TEXTS = ("title", "instructions", "profile_url", "message")


async def task_views(session: AsyncSession, workspace_id: str, tasks: Sequence[JourneyTask]) -> list[TaskPublic]:
    policy = request_policy()
    views = [TaskPublic.of(task) for task in tasks]
    if policy.unrestricted or not views:
        return views
    ids = sorted({view.contact_id for view in views})
    result = await session.execute(
        select(Contact).where(col(Contact.workspace_id) == workspace_id, col(Contact.id).in_(ids))
    )
    contacts: dict[str, dict[str, Any]] = {c.id: representation(c) for c in result.scalars()}
    out = []
    for view in views:
        contact = contacts.get(view.contact_id)
        if contact is None:
            out.append(view)
            continue
        texts = {name: getattr(view, name) for name in _TEXTS}
        out.append(
            view.model_copy(
                update={name: redact_text(policy, contact, text) for name, text in texts.items() if text is not None}
            )
        )
    return out


async def task_view(session: AsyncSession, workspace_id: str, task: JourneyTask) -> TaskPublic:
    [view] = await task_views(session, workspace_id, [task])
    return view
