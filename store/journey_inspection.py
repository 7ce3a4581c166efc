"""Reads behind journey inspection: how many contacts entered a journey, and which custom attributes the
workspace's contacts carry (what templates can reference)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store.models import Contact, JourneyEnrollment

ATTRIBUTE_SAMPLE = 500  # contacts read for their attribute keys: the most recently updated ones


async def entered_count(session: AsyncSession, workspace_id: str, journey_id: str) -> int:
    """Contacts that entered the journey (one enrollment row per contact, whatever the version)."""
    query = (
        select(func.count())
        .select_from(JourneyEnrollment)
        .where(col(JourneyEnrollment.workspace_id) == workspace_id, col(JourneyEnrollment.journey_id) == journey_id)
    )
    return int((await session.execute(query)).scalar_one())


async def attribute_keys(session: AsyncSession, workspace_id: str, sample: int = ATTRIBUTE_SAMPLE) -> set[str]:
    """The custom attribute keys of the workspace's `sample` most recently updated contacts."""
    query = (
        select(col(Contact.attributes))
        .where(col(Contact.workspace_id) == workspace_id)
        .order_by(col(Contact.updated_at).desc())
        .limit(sample)
    )
    keys: set[str] = set()
    for attributes in (await session.execute(query)).scalars():
        if isinstance(attributes, dict):
            keys.update(attributes)
    return keys
