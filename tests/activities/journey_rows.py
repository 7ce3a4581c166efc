"""Rows the journey step activities read: a published journey version and a contact."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.ids import new_id
from domain.journeys.definition import validate_definition
from store.models import Contact, Journey, JourneyVersion
from store.models_companies import Company


async def published(sessions: async_sessionmaker[AsyncSession], workspace_id: str, steps: list[dict[str, Any]]) -> str:
    """A journey with `steps` (the first is the start) published as version 1; its id."""
    raw = {"trigger": {"event": "signed_up"}, "start": steps[0]["id"], "steps": steps}
    definition = validate_definition(raw).model_dump(mode="json", exclude_none=True)
    journey = Journey(id=new_id("jr"), workspace_id=workspace_id, name="j", definition=definition, status="published",
                      published_version=1)  # fmt: skip
    async with sessions() as session:
        session.add(journey)
        await session.flush()
        session.add(JourneyVersion(workspace_id=workspace_id, journey_id=journey.id, version=1,
                                   definition=definition, trigger_event="signed_up"))  # fmt: skip
        await session.commit()
    return journey.id


async def company(sessions: async_sessionmaker[AsyncSession], workspace_id: str, **fields: Any) -> str:
    row = Company(id=new_id("co"), workspace_id=workspace_id, **fields)
    async with sessions() as session:
        session.add(row)
        await session.commit()
    return row.id


async def contact(sessions: async_sessionmaker[AsyncSession], workspace_id: str, **fields: Any) -> str:
    row = Contact(id=new_id("ct"), workspace_id=workspace_id, **fields)
    async with sessions() as session:
        session.add(row)
        await session.commit()
    return row.id
