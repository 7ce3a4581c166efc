"""The preference center's logic: what the page shows for a contact, and the changes a submitted form means.

A form only says which boxes are ticked; a change is recorded (source `preference_center`) only where a box
differs from what the page showed, so saving an untouched page writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from api.consent.pages import CHANNEL_LABELS, Choice
from api.consent.service import Applied, apply_changes
from api.schemas.consent import ConsentChangeIn
from domain.consent.model import Channel, ConsentMode, ConsentSource, ConsentStatus
from store.consent import consent_settings, contact_consents, list_topics
from store.models import Contact


@dataclass(frozen=True)
class PreferenceState:
    channels: list[Choice]
    topics: list[Choice]
    topic_channels: dict[str, list[str]]


def _channels_of(contact: Contact) -> list[str]:
    """The channels the contact can be reached on (push has no address on the contact row: always shown)."""
    return [
        c.value
        for c in Channel
        if (c is not Channel.EMAIL or contact.email) and (c is not Channel.SMS or contact.phone)
    ]


async def state(session: AsyncSession, workspace_id: str, contact: Contact) -> PreferenceState:
    settings = await consent_settings(session, workspace_id)
    rows = {
        (row.channel, row.topic): ConsentStatus(row.status)
        for row in await contact_consents(session, workspace_id, contact.id)
    }

    def on(channel: str, topic: str = "") -> bool:
        status = rows.get((channel, topic))
        if status is None:
            return settings.mode(channel) is ConsentMode.OPT_OUT
        return status is not ConsentStatus.WITHDRAWN

    reachable = _channels_of(contact)
    channels = [
        Choice(channel, CHANNEL_LABELS[channel], on(channel),
               "waiting for your confirmation" if rows.get((channel, "")) is ConsentStatus.PENDING else None)
        for channel in reachable
    ]  # fmt: skip
    topics, topic_channels = [], {}
    for topic in await list_topics(session, workspace_id):
        offered = [channel for channel in topic.channels if channel in reachable]
        if offered:
            topic_channels[topic.key] = offered
            topics.append(Choice(topic.key, topic.name, all(on(channel, topic.key) for channel in offered)))
    return PreferenceState(channels, topics, topic_channels)


async def submit(
    session: AsyncSession, workspace_id: str, contact: Contact, ticked_channels: set[str], ticked_topics: set[str],
    *, everything_off: bool,
) -> Applied:  # fmt: skip
    """Record what the form changed (or, `everything_off`, withdraw every channel, reachable or not, and every topic).
    The caller commits."""
    shown = await state(session, workspace_id, contact)
    changes: list[ConsentChangeIn] = []
    for choice in shown.channels:
        wanted = False if everything_off else choice.name in ticked_channels
        if wanted != choice.checked:
            status = ConsentStatus.GRANTED if wanted else ConsentStatus.WITHDRAWN
            changes.append(ConsentChangeIn(channel=Channel(choice.name), status=status))
    for choice in shown.topics:
        wanted = False if everything_off else choice.name in ticked_topics
        if wanted != choice.checked:
            status = ConsentStatus.GRANTED if wanted else ConsentStatus.WITHDRAWN
            changes += [
                ConsentChangeIn(channel=Channel(channel), topic=choice.name, status=status)
                for channel in shown.topic_channels[choice.name]
            ]
    if everything_off:  # "everything" includes the channels the contact has no address for yet
        shown_channels = {choice.name for choice in shown.channels}
        recorded = {
            (row.channel, row.topic): row.status for row in await contact_consents(session, workspace_id, contact.id)
        }
        changes += [
            ConsentChangeIn(channel=channel, status=ConsentStatus.WITHDRAWN)
            for channel in Channel
            if channel.value not in shown_channels and recorded.get((channel.value, "")) != ConsentStatus.WITHDRAWN
        ]
    if not changes:
        return Applied([], [])
    return await apply_changes(session, workspace_id, contact.id, changes, ConsentSource.PREFERENCE_CENTER)
