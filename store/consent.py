"""The consent repository: the current state per (contact, channel, topic), its history, topics and settings.

`record_consent` is the one write: it applies the domain transition to the stored status, updates the current row
and appends a history row when the status changed (a repeat writes nothing); concurrent writers are safe on both
databases. The caller commits, so a consent change lands in the same transaction as whatever caused it (an
unsubscribe, a webhook, an ingestion batch).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import CursorResult, Table, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from domain.clock import utcnow
from domain.consent.model import (
    ConsentMode,
    ConsentSource,
    ConsentStatus,
    LegalBasis,
    SendDecision,
    confirm,
    may_send,
    transition,
)
from domain.events.interest import OutboxKind
from domain.ids import new_id
from store.audit import record_audit
from store.audit_hook import is_data_plane
from store.models import Contact
from store.models_consent import ConsentHistory, ConsentTopic, ContactConsent, WorkspaceConsentSettings
from store.outbox import OutboxEvent, enqueue
from store.queries import insert_if_absent


@dataclass(frozen=True)
class ConsentSettings:
    modes: dict[str, ConsentMode] = field(default_factory=dict)
    double_opt_in: frozenset[str] = frozenset()

    def mode(self, channel: str) -> ConsentMode:
        return self.modes.get(channel, ConsentMode.OPT_OUT)


@dataclass(frozen=True)
class Recorded:
    row: ContactConsent
    changed: bool
    previous: ConsentStatus | None


async def consent_settings(session: AsyncSession, workspace_id: str) -> ConsentSettings:
    row = await session.get(WorkspaceConsentSettings, workspace_id)
    if row is None:
        return ConsentSettings()
    return ConsentSettings(
        {channel: ConsentMode(mode) for channel, mode in row.modes.items()}, frozenset(row.double_opt_in)
    )


async def put_consent_settings(session: AsyncSession, workspace_id: str, settings: ConsentSettings) -> None:
    row = await session.get(WorkspaceConsentSettings, workspace_id)
    if row is None:
        row = WorkspaceConsentSettings(workspace_id=workspace_id)
        session.add(row)
    row.modes = {channel: mode.value for channel, mode in sorted(settings.modes.items())}
    row.double_opt_in = sorted(settings.double_opt_in)
    row.updated_at = utcnow()


async def current(
    session: AsyncSession, workspace_id: str, contact_id: str, channel: str, topic: str = ""
) -> ContactConsent | None:
    result = await session.execute(
        select(ContactConsent)
        .where(
            col(ContactConsent.workspace_id) == workspace_id,
            col(ContactConsent.contact_id) == contact_id,
            col(ContactConsent.channel) == channel,
            col(ContactConsent.topic) == topic,
        )
        .execution_options(populate_existing=True)  # a row this session holds may be stale: another writer won
    )
    return result.scalar_one_or_none()


_KEY = ("workspace_id", "contact_id", "channel", "topic")
_AUDITED = ("status", "source", "legal_basis")
# A write that loses a race reads again and re-applies its change; each round is lost only to a committed change,
# so more rounds than this would mean that many writers on one (contact, channel, topic) in one instant.
_ROUNDS = 8


async def record_consent(
    session: AsyncSession,
    workspace_id: str,
    contact_id: str,
    *,
    channel: str,
    wanted: ConsentStatus,
    source: ConsentSource,
    topic: str = "",
    legal_basis: LegalBasis = LegalBasis.CONSENT,
    double_opt_in: bool = False,
    confirming: bool = False,
    note: str | None = None,
) -> Recorded:
    """Apply a requested change (or, `confirming`, the double opt-in confirmation). The caller commits.

    Race-proof without locks held across the read: the first write is an INSERT .. ON CONFLICT DO NOTHING, a
    change is an UPDATE guarded by the status it was computed from (compare-and-set). Losing either (two first
    writes at once, or a change committed in between) re-reads and re-applies the transition to what won, so
    two concurrent identical requests append one history row, and never hit the unique key (which was a 500)."""
    for _ in range(_ROUNDS):
        row = await current(session, workspace_id, contact_id, channel, topic)
        previous = ConsentStatus(row.status) if row is not None else None
        was = {name: getattr(row, name) for name in _AUDITED} if row is not None else None
        change = confirm(previous) if confirming else transition(previous, wanted, double_opt_in=double_opt_in)
        if not change.changed:
            assert row is not None  # the first write to a key is always a change
            return Recorded(row, False, previous)
        now = utcnow()
        values = {"status": change.status.value, "source": source.value, "legal_basis": legal_basis.value,
                  "updated_at": now}  # fmt: skip
        if row is None:
            key = {"workspace_id": workspace_id, "contact_id": contact_id, "channel": channel, "topic": topic}
            won = await insert_if_absent(
                session, _table(ContactConsent), {"id": new_id("cns"), **key, **values}, key=_KEY
            )
        else:
            result = await session.execute(
                update(ContactConsent)
                .where(col(ContactConsent.id) == row.id, col(ContactConsent.status) == row.status)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            won = cast(CursorResult[Any], result).rowcount == 1
        if not won:
            continue
        session.add(
            ConsentHistory(
                id=new_id("cnh"), workspace_id=workspace_id, contact_id=contact_id, channel=channel, topic=topic,
                previous_status=previous.value if previous else None, status=change.status.value,
                source=source.value, legal_basis=legal_basis.value, note=note[:500] if note else None,
                recorded_at=now,
            )
        )  # fmt: skip
        await session.flush()
        stored = await current(session, workspace_id, contact_id, channel, topic)
        assert stored is not None
        await _audit(session, stored, was, values)
        # segments reading consent re-evaluate the contact (and journeys watching contact changes hear of it)
        change_row = OutboxEvent(
            workspace_id, contact_id, new_id("cc"), "consent", {"channel": channel, "topic": topic,
            "status": change.status.value}, now, OutboxKind.CONTACT,
        )  # fmt: skip
        await enqueue(session, [change_row], now)
        return Recorded(stored, True, previous)
    raise RuntimeError(f"consent for {contact_id} on {channel}/{topic or '-'} kept changing under this write")


async def _audit(
    session: AsyncSession, stored: ContactConsent, before: dict[str, Any] | None, values: dict[str, Any]
) -> None:
    """The change in the audit log as the row hook would record it (changed columns, with whose consent and which
    channel and topic): written here because the race-proof writes above are Core statements the hook never sees."""
    if is_data_plane(session.sync_session):
        return
    keep = {"contact_id": stored.contact_id, "channel": stored.channel, "topic": stored.topic}
    after = {name: values[name] for name in _AUDITED}
    old: dict[str, Any] | None = None
    if before is not None:
        old = {name: before[name] for name in _AUDITED if before[name] != after[name]}
        after = {name: value for name, value in after.items() if name in old}
        old = {**keep, **old}
    await record_audit(
        session, workspace_id=stored.workspace_id, action="consent.updated" if before else "consent.created",
        target_type="consent", target_id=stored.id, before=old, after={**keep, **after},
    )  # fmt: skip


def _table(model: type[Any]) -> Table:
    table: Table = model.__table__
    return table


async def contact_consents(session: AsyncSession, workspace_id: str, contact_id: str) -> list[ContactConsent]:
    result = await session.execute(
        select(ContactConsent)
        .where(col(ContactConsent.workspace_id) == workspace_id, col(ContactConsent.contact_id) == contact_id)
        .order_by(col(ContactConsent.channel), col(ContactConsent.topic))
    )
    return list(result.scalars())


async def consent_history(
    session: AsyncSession, workspace_id: str, contact_id: str, *, after: str | None, limit: int
) -> list[ConsentHistory]:
    query = select(ConsentHistory).where(
        col(ConsentHistory.workspace_id) == workspace_id, col(ConsentHistory.contact_id) == contact_id
    )
    if after:
        query = query.where(col(ConsentHistory.id) > after)
    result = await session.execute(query.order_by(col(ConsentHistory.id)).limit(limit))
    return list(result.scalars())


async def send_decision(
    session: AsyncSession, workspace_id: str, contact_id: str, channel: str, topic: str | None
) -> SendDecision:
    """Whether a non-transactional message on `channel` (about `topic`) may go: one indexed read of at most two rows
    and the settings row."""
    settings = await consent_settings(session, workspace_id)
    topics = [""] if topic is None else ["", topic]
    result = await session.execute(
        select(col(ContactConsent.topic), col(ContactConsent.status)).where(
            col(ContactConsent.workspace_id) == workspace_id,
            col(ContactConsent.contact_id) == contact_id,
            col(ContactConsent.channel) == channel,
            col(ContactConsent.topic).in_(topics),
        )
    )
    statuses = {row_topic: ConsentStatus(status) for row_topic, status in result.all()}
    return may_send(channel, settings.mode(channel), statuses.get(""), topic, statuses.get(topic or ""))


async def contacts_at(session: AsyncSession, workspace_id: str, channel: str, address: str) -> list[str]:
    """The ids of the workspace's contacts reached at this address on this channel (email compared lower-case)."""
    if channel == "email":
        where = func.lower(col(Contact.email)) == address.strip().lower()
    elif channel == "sms":
        where = col(Contact.phone) == address.strip()
    else:
        return []
    result = await session.execute(
        select(col(Contact.id)).where(col(Contact.workspace_id) == workspace_id, or_(where)).limit(100)
    )
    return list(result.scalars())


# topics


async def list_topics(session: AsyncSession, workspace_id: str) -> list[ConsentTopic]:
    result = await session.execute(
        select(ConsentTopic).where(col(ConsentTopic.workspace_id) == workspace_id).order_by(col(ConsentTopic.key))
    )
    return list(result.scalars())


async def topic_by_key(session: AsyncSession, workspace_id: str, key: str) -> ConsentTopic | None:
    result = await session.execute(
        select(ConsentTopic).where(col(ConsentTopic.workspace_id) == workspace_id, col(ConsentTopic.key) == key)
    )
    return result.scalar_one_or_none()


async def topic_exists(session: AsyncSession, workspace_id: str, key: str) -> bool:
    return await topic_by_key(session, workspace_id, key) is not None


async def consent_at_address(
    session: AsyncSession,
    workspace_id: str,
    *,
    channel: str,
    address: str,
    wanted: ConsentStatus,
    source: ConsentSource,
    contact_id: str | None = None,
    note: str | None = None,
) -> int:
    """Record `wanted` on the channel for the contact a message went to, else for every contact reached at the
    address (an unsubscribe, a complaint or an SMS keyword names an address, not a contact). How many changed.
    The caller commits."""
    contact_ids = [contact_id] if contact_id else await contacts_at(session, workspace_id, channel, address)
    changed = 0
    for target in contact_ids:
        result = await record_consent(
            session, workspace_id, target, channel=channel, wanted=wanted, source=source, note=note
        )
        changed += result.changed
    return changed
