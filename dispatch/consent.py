"""The double opt-in consumer: `consent_confirmation` outbox rows -> the confirmation email
(mauntic/consent_confirmations.py says why through the outbox, and why a row dispatched twice sends one email).

A row whose consent is no longer pending when it is dispatched (confirmed through an earlier link, withdrawn, the
contact merged or deleted, the address removed) sends nothing: the request is void. A failure to start (Temporal
unreachable) raises, and the dispatcher retries the row with backoff."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.consent.model import ConsentStatus
from domain.events.interest import OutboxKind
from mauntic.consent_confirmations import ConfirmationMail
from mauntic.secrets import SecretBox
from mauntic.settings import Settings
from mauntic.temporal import TemporalGateway
from store.consent import current
from store.contacts import get_contact
from store.outbox import OutboxRow


class ConfirmationConsumer:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], settings: Settings, temporal: TemporalGateway
    ) -> None:
        self._sessions = sessions
        self._mail = ConfirmationMail(temporal, SecretBox(settings.resolved_secret_key()), settings.api_base_url)
        self.started = 0  # confirmation sends started by this consumer (tests, logs)

    def forget(self, workspace_id: str) -> None:
        """Nothing cached."""

    async def consume(self, rows: Sequence[OutboxRow]) -> None:
        requests = [row.event for row in rows if row.event.kind == OutboxKind.CONSENT_CONFIRMATION]
        if not requests:
            return
        async with self._sessions() as session:
            due: list[tuple[str, str, str, str]] = []
            for event in requests:
                contact = await get_contact(session, event.workspace_id, event.contact_id)
                consent = await current(session, event.workspace_id, event.contact_id, event.name)
                if contact is None or not contact.email or consent is None:
                    continue
                if consent.status == ConsentStatus.PENDING:
                    due.append((event.workspace_id, event.contact_id, event.event_id, contact.email))
        for workspace_id, contact_id, request_id, to in due:
            self.started += await self._mail.start(workspace_id, contact_id, request_id, to)
