"""Turning a rendered email into what providers send: RFC 8058 one-click unsubscribe headers with a signed
per-recipient link, and a DKIM signature (covering those headers) when the From domain is a verified sending
domain of the workspace."""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parseaddr

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.delivery.dkim import DkimKey, DkimKeyError, sign_message
from domain.delivery.email import ListUnsubscribe, build_email, email_bytes
from domain.delivery.outbound import OutboundEmail
from mauntic.consent_links import preferences_url
from mauntic.secrets import SecretBox, SecretDecryptionError
from mauntic.ttl_cache import TtlCache
from mauntic.unsubscribe import unsubscribe_url
from store.sending_domains import dkim_private_key_pem, verified_domain

DKIM_KEY_CACHE_SECONDS = 60.0


class ComposeError(Exception):
    """The message cannot be signed as configured (the domain's DKIM key does not load or decrypt). An operator
    can fix that, so the send is retried rather than failed."""


@dataclass(frozen=True)
class RenderedEmail:
    workspace_id: str
    message_log_id: str
    idempotency_key: str
    sender: str
    to: str
    subject: str
    html: str | None
    text: str | None


class EmailComposer:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], box: SecretBox, public_base_url: str) -> None:
        self._sessions = sessions
        self._box = box
        self._base_url = public_base_url
        self._keys: TtlCache[tuple[str, str], DkimKey | None] = TtlCache(DKIM_KEY_CACHE_SECONDS)

    def preferences_url(self, workspace_id: str, contact_id: str) -> str:
        """The contact's signed preference-page link (`{{ preferences_url }}` in templates)."""
        return preferences_url(self._box, self._base_url, workspace_id, contact_id)

    async def compose(self, email: RenderedEmail) -> OutboundEmail:
        unsubscribe = ListUnsubscribe(
            unsubscribe_url(
                self._box,
                self._base_url,
                workspace_id=email.workspace_id,
                channel="email",
                address=email.to,
                message_log_id=email.message_log_id,
            )
        )
        message = build_email(
            sender=email.sender,
            to=email.to,
            subject=email.subject,
            html=email.html,
            text=email.text,
            idempotency_key=email.idempotency_key,
            unsubscribe=unsubscribe,
        )
        raw = email_bytes(message)
        domain = _domain_of(email.sender)
        try:
            key = await self._dkim_key(email.workspace_id, domain)
            raw = sign_message(raw, key) if key else raw
        except (DkimKeyError, SecretDecryptionError) as exc:
            raise ComposeError(f"cannot DKIM-sign for {domain}: {exc}") from exc
        return OutboundEmail(
            idempotency_key=email.idempotency_key,
            message_log_id=email.message_log_id,
            sender=email.sender,
            to=email.to,
            subject=email.subject,
            html=email.html,
            text=email.text,
            headers=unsubscribe.headers(),
            raw=raw,
        )

    async def _dkim_key(self, workspace_id: str, domain: str) -> DkimKey | None:
        """The signing key of the workspace's verified domain, from a short cache (absence is cached too)."""
        return await self._keys.get((workspace_id, domain), lambda: self._load_dkim_key(workspace_id, domain))

    async def _load_dkim_key(self, workspace_id: str, domain: str) -> DkimKey | None:
        async with self._sessions() as session:
            row = await verified_domain(session, workspace_id, domain)
        return DkimKey(row.domain, row.dkim_selector, dkim_private_key_pem(row, self._box)) if row else None


def _domain_of(mailbox: str) -> str:
    return parseaddr(mailbox)[1].rpartition("@")[2].lower()
