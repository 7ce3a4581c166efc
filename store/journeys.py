"""Journeys, their published versions and enrollments."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from domain.clock import utcnow
from domain.events.interest import Interest
from domain.journeys.definition import JourneyDefinition
from store.models import Journey, JourneyEnrollment, JourneyVersion
from store.queries import insert_ignoring, insert_or_get, workspace_page


async def get_journey(session: AsyncSession, workspace_id: str, journey_id: str) -> Journey | None:
    journey = await session.get(Journey, journey_id)
    return journey if journey is not None and journey.workspace_id == workspace_id else None


async def list_journeys(session: AsyncSession, workspace_id: str, *, after: str | None, limit: int) -> list[Journey]:
    return await workspace_page(session, Journey, workspace_id, after=after, limit=limit)


async def get_version(session: AsyncSession, workspace_id: str, journey_id: str, version: int) -> JourneyVersion | None:
    result = await session.execute(
        select(JourneyVersion).where(
            col(JourneyVersion.workspace_id) == workspace_id,
            col(JourneyVersion.journey_id) == journey_id,
            col(JourneyVersion.version) == version,
        )
    )
    return result.scalar_one_or_none()


async def next_version_number(session: AsyncSession, journey_id: str) -> int:
    result = await session.execute(
        select(func.max(col(JourneyVersion.version))).where(col(JourneyVersion.journey_id) == journey_id)
    )
    return int(result.scalar_one() or 0) + 1


async def published_versions(session: AsyncSession, workspace_id: str) -> list[JourneyVersion]:
    result = await session.execute(
        select(JourneyVersion)
        .join(Journey, col(Journey.id) == col(JourneyVersion.journey_id))
        .where(
            col(Journey.workspace_id) == workspace_id,
            col(Journey.status) == "published",
            col(Journey.published_version) == JourneyVersion.version,
        )
    )
    return list(result.scalars())


async def paused_journey_ids(session: AsyncSession, workspace_id: str) -> frozenset[str]:
    """The workspace's journeys paused right now: a contact entering one starts with its sends held."""
    result = await session.execute(
        select(col(Journey.id)).where(col(Journey.workspace_id) == workspace_id, col(Journey.paused_at).is_not(None))
    )
    return frozenset(result.scalars())


async def journey_interest(session: AsyncSession, workspace_id: str) -> Interest:
    """What the workspace's published journeys need queued: the events they start on, wait for or have as a goal
    or exit criterion, and contact changes when a goal or exit criterion is a condition on attributes."""
    names: set[str] = set()
    contacts = False
    for row in await published_versions(session, workspace_id):
        definition = JourneyDefinition.model_validate(row.definition)
        names |= definition.trigger.event_names | definition.signalled_event_names()
        contacts = contacts or definition.watches_contact
    return Interest(frozenset(names), contacts)


async def enrollments_for(
    session: AsyncSession, workspace_id: str, contact_ids: Iterable[str], journey_ids: Iterable[str]
) -> list[JourneyEnrollment]:
    contacts, journeys = list(set(contact_ids)), list(set(journey_ids))
    if not contacts or not journeys:
        return []
    result = await session.execute(
        select(JourneyEnrollment).where(
            col(JourneyEnrollment.workspace_id) == workspace_id,
            col(JourneyEnrollment.contact_id).in_(contacts),
            col(JourneyEnrollment.journey_id).in_(journeys),
        )
    )
    return list(result.scalars())


async def get_enrollment(
    session: AsyncSession, workspace_id: str, journey_id: str, contact_id: str
) -> JourneyEnrollment | None:
    found = await enrollments_for(session, workspace_id, [contact_id], [journey_id])
    return found[0] if found else None


async def enroll(session: AsyncSession, enrollment: JourneyEnrollment) -> JourneyEnrollment:
    """Insert the enrollment, or return the one that already exists (the unique constraint decides)."""
    return await insert_or_get(
        session,
        enrollment,
        lambda: get_enrollment(session, enrollment.workspace_id, enrollment.journey_id, enrollment.contact_id),
        key=("journey_id", "contact_id"),
    )


async def enroll_all(session: AsyncSession, enrollments: list[JourneyEnrollment]) -> None:
    """Insert enrollments in one statement, skipping (journey, contact) pairs already enrolled; the caller reads
    the stored rows back (`enrollments_for`) and commits."""
    table = JourneyEnrollment.__table__  # type: ignore[attr-defined]
    rows = [
        {column.name: getattr(e, column.name) for column in table.columns if getattr(e, column.name) is not None}
        for e in enrollments
    ]
    await session.execute(insert_ignoring(session.get_bind().dialect.name, table, "journey_id", "contact_id"), rows)


async def record_reentry(
    session: AsyncSession, enrollment: JourneyEnrollment, entry: int, trigger_event_id: str, version: int
) -> None:
    """The enrollment's latest entry is `entry` (its run has started): at most once, as `entries` moves from
    entry - 1 to entry only."""
    await session.execute(
        update(JourneyEnrollment)
        .where(col(JourneyEnrollment.id) == enrollment.id, col(JourneyEnrollment.entries) == entry - 1)
        .values(entries=entry, trigger_event_id=trigger_event_id, version=version, entered_at=utcnow())
    )
    await session.commit()
