"""The consent context's service: topics, a contact's consent (read, change, history), the workspace settings and
the double opt-in confirmation. Routes (api/routes/consent.py, api/routes/preferences.py) and the unsubscribe paths
call it; it raises domain errors (api/errors.py) and leaves the commit to its caller unless it says otherwise.

Write paths, for the audit log: `consent_topic.create`, `consent.change` (each applied change, any source),
`consent.confirm` (a double opt-in link followed), `consent_settings.update`.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import TemporalError

from activities.journeys.contracts import TEST_SEND_WORKFLOW, SendTestEmailInput
from api.errors import Conflict, NotFound, Unprocessable
from api.schemas.consent import ConsentChangeIn, ConsentSettingsBody, ConsentTopicCreate, ContactConsentPublic
from api.schemas.consent import ConsentRecordPublic as RecordOut
from domain.consent.model import Channel, ConsentMode, ConsentSource, ConsentStatus, ConsentTransitionError
from domain.ids import new_id
from mauntic.consent_links import confirm_url
from mauntic.secrets import SecretBox
from mauntic.temporal import TemporalGateway
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

log = logging.getLogger(__name__)
CONFIRM_SUBJECT = "Please confirm your subscription"


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
    confirmations: list[str]  # contact ids whose email consent now waits for a confirmation


async def apply_changes(
    session: AsyncSession,
    workspace_id: str,
    contact_id: str,
    changes: Iterable[ConsentChangeIn],
    source: ConsentSource,
) -> Applied:
    """`consent.change` for each change. Validates the contact and every topic first (nothing written on a 4xx).
    The caller commits, then sends the confirmations (`Confirmations.send`)."""
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
            confirmations.append(contact_id)
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


class Confirmations:
    """Sends double opt-in confirmation emails through the workspace's delivery path: the worker's test-send
    workflow (activities/journeys/sample_send.py: the provider chain, DKIM, no journey books), started and not
    waited for. One workflow id per contact and link issue second, so a double submit sends one email."""

    def __init__(self, temporal: TemporalGateway, secrets: SecretBox, base_url: str) -> None:
        self._temporal, self._secrets, self._base_url = temporal, secrets, base_url

    async def send(self, session: AsyncSession, workspace_id: str, contact_ids: Iterable[str]) -> int:
        sent = 0
        for contact_id in contact_ids:
            contact = await get_contact(session, workspace_id, contact_id)
            if contact is None or not contact.email:
                continue
            link = confirm_url(self._secrets, self._base_url, workspace_id, contact_id, "email")
            message = SendTestEmailInput(
                workspace_id=workspace_id, journey_id="consent", step_id="double_opt_in",
                test_id=new_id("doi"), to=contact.email, subject=CONFIRM_SUBJECT,
                text=f"Please confirm that you want to receive our emails:\n\n{link}\n",
                html=f'<p>Please confirm that you want to receive our emails.</p><p><a href="{html.escape(link)}">'
                "Confirm my subscription</a></p>",
            )  # fmt: skip
            try:
                await self.start(message)
                sent += 1
            except (TemporalError, RuntimeError, OSError) as exc:
                # the consent stays pending; a repeated grant (or the preference page) sends another link
                log.warning("confirmation email for %s not started: %r", contact_id, exc)
        return sent

    async def start(self, message: SendTestEmailInput) -> str:
        """Start the send; its workflow id."""
        workflow_id = f"consent-confirm:{message.workspace_id}:{message.test_id}"
        client = await self._temporal.client()
        await client.start_workflow(
            TEST_SEND_WORKFLOW, message, id=workflow_id, task_queue=self._temporal.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )  # fmt: skip
        return workflow_id


async def _contact(session: AsyncSession, workspace_id: str, contact_id: str) -> None:
    if await get_contact(session, workspace_id, contact_id) is None:
        raise NotFound(f"no contact {contact_id!r}", code="contact_not_found")
