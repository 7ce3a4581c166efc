"""The consent context's service: topics, a contact's consent (read, change, history), the workspace settings and
the double opt-in confirmation. Routes (api/routes/consent.py, api/routes/preferences.py) and the unsubscribe paths
call it; it raises domain errors (api/errors.py) and leaves the commit to its caller unless it says otherwise.

Write paths, for the audit log: `consent_topic.create`, `consent.change` (each applied change, any source),
`consent.confirm` (a double opt-in link followed), `consent_settings.update`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import Conflict, NotFound, Unprocessable
from api.schemas.consent import ConsentChangeIn, ConsentSettingsBody, ConsentTopicCreate, ContactConsentPublic
from api.schemas.consent import ConsentRecordPublic as RecordOut
from domain.clock import utcnow
from domain.consent.model import Channel, ConsentMode, ConsentSource, ConsentStatus, ConsentTransitionError
from domain.events.interest import OutboxKind
from domain.ids import new_id
from store.consent import (
    ConsentSettings,
    Recorded,
    consent_settings,
    contact_consents,
    put_consent_settings,
    record_consent,
    send_decision,
    topic_by_key,
)
from store.contacts import get_contact
from store.models_consent import ConsentTopic
from store.outbox import OutboxEvent, enqueue


async def create_topic(session: AsyncSession, workspace_id: str, body: ConsentTopicCreate) -> ConsentTopic:
    """`consent_topic.create`. Commits; a key the workspace has is a 409 `consent_topic_exists`."""
    if await topic_by_key(session, workspace_id, body.key) is not None:
        raise Conflict(f"this workspace already has a topic {body.key!r}", code="consent_topic_exists")
    row = ConsentTopic(
        id=new_id("top"), workspace_id=workspace_id, key=body.key, name=body.name, description=body.description,
        channels=sorted({channel.value for channel in body.channels}),
    )  # fmt: skip
    session.add(row)
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise Conflict(f"this workspace already has a topic {body.key!r}", code="consent_topic_exists") from exc
    return row


async def get_topic(session: AsyncSession, workspace_id: str, key: str) -> ConsentTopic:
    row = await topic_by_key(session, workspace_id, key)
    if row is None:
        raise NotFound(f"no consent topic {key!r}", code="consent_topic_not_found")
    return row


async def settings_of(session: AsyncSession, workspace_id: str) -> ConsentSettingsBody:
    settings = await consent_settings(session, workspace_id)
    return ConsentSettingsBody(
        modes={Channel(channel): mode for channel, mode in settings.modes.items()},
        double_opt_in=sorted(Channel(channel) for channel in settings.double_opt_in),
    )


async def put_settings(session: AsyncSession, workspace_id: str, body: ConsentSettingsBody) -> ConsentSettingsBody:
    """`consent_settings.update`. Commits."""
    if any(channel is not Channel.EMAIL for channel in body.double_opt_in):
        raise Unprocessable("double opt-in is offered for email only", code="double_opt_in_unsupported")
    modes: dict[str, ConsentMode] = {
        channel.value: mode for channel, mode in body.modes.items() if mode is ConsentMode.OPT_IN
    }
    await put_consent_settings(
        session, workspace_id, ConsentSettings(modes, frozenset(c.value for c in body.double_opt_in))
    )
    await session.commit()
    return await settings_of(session, workspace_id)


async def read_contact_consent(session: AsyncSession, workspace_id: str, contact_id: str) -> ContactConsentPublic:
    await _contact(session, workspace_id, contact_id)
    rows = await contact_consents(session, workspace_id, contact_id)
    effective = {
        channel.value: (await send_decision(session, workspace_id, contact_id, channel.value, None)).allowed
        for channel in Channel
    }
    return ContactConsentPublic(contact_id=contact_id, records=[RecordOut.of(row) for row in rows], effective=effective)


@dataclass(frozen=True)
class Applied:
    recorded: list[Recorded]
    confirmations: list[str]  # ids of the confirmation requests queued (the caller wakes the dispatcher)


async def apply_changes(
    session: AsyncSession,
    workspace_id: str,
    contact_id: str,
    changes: Iterable[ConsentChangeIn],
    source: ConsentSource,
) -> Applied:
    """`consent.change` for each change. Validates the contact and every topic first (nothing written on a 4xx).
    A grant left pending queues its confirmation email as an outbox row in this same transaction (durable across
    a kill after the commit; mauntic/consent_confirmations.py). The caller commits, then wakes the dispatcher."""
    changes = list(changes)
    await _contact(session, workspace_id, contact_id)
    for change in changes:
        if change.topic is not None:
            topic = await topic_by_key(session, workspace_id, change.topic)
            if topic is None:
                raise Unprocessable(f"no consent topic {change.topic!r}", code="unknown_consent_topic")
            if change.channel.value not in topic.channels:
                raise Unprocessable(
                    f"topic {change.topic!r} is not offered on {change.channel.value}", code="topic_channel_mismatch"
                )
    settings = await consent_settings(session, workspace_id)
    recorded, confirmations = [], []
    for change in changes:
        # only the channel itself waits for double opt-in; a topic follows the channel's confirmation
        double = change.topic is None and change.channel.value in settings.double_opt_in
        result = await record_consent(
            session, workspace_id, contact_id, channel=change.channel.value, wanted=change.status, source=source,
            topic=change.topic or "", legal_basis=change.legal_basis, double_opt_in=double, note=change.note,
        )  # fmt: skip
        recorded.append(result)
        if result.row.status == ConsentStatus.PENDING and change.channel is Channel.EMAIL and change.topic is None:
            confirmations.append(new_id("doi"))  # a repeated grant while pending asks again: a fresh link
    now = utcnow()
    await enqueue(
        session,
        [OutboxEvent(workspace_id, contact_id, request, Channel.EMAIL.value, {}, now, OutboxKind.CONSENT_CONFIRMATION)
         for request in confirmations],
        now,
    )  # fmt: skip
    return Applied(recorded, confirmations)


async def confirm_consent(session: AsyncSession, workspace_id: str, contact_id: str, channel: str) -> bool:
    """`consent.confirm`: the double opt-in link followed. True when it granted now, False for a replay.
    Commits. A link for a consent withdrawn since (or never asked) is a 409 `nothing_to_confirm`."""
    if await get_contact(session, workspace_id, contact_id) is None:
        raise NotFound("this contact no longer exists", code="contact_not_found")
    try:
        result = await record_consent(
            session, workspace_id, contact_id, channel=channel, wanted=ConsentStatus.GRANTED,
            source=ConsentSource.DOUBLE_OPT_IN, confirming=True,
        )  # fmt: skip
    except ConsentTransitionError as exc:
        raise Conflict(str(exc), code="nothing_to_confirm") from exc
    await session.commit()
    return result.changed


async def _contact(session: AsyncSession, workspace_id: str, contact_id: str) -> None:
    if await get_contact(session, workspace_id, contact_id) is None:
        raise NotFound(f"no contact {contact_id!r}", code="contact_not_found")
