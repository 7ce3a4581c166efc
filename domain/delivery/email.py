"""Building RFC 5322 messages. The Message-ID derives from the idempotency key, so a resend after a crash
carries the same id and receivers can recognise it.

A message may carry RFC 8058 one-click unsubscribe headers. `List-Unsubscribe` holds URIs that must never be
split or RFC 2047-encoded, whatever policy later serializes the message (aiosmtplib flattens with a 78-column
policy), so that header gets a class that folds only between URIs.
"""

from __future__ import annotations

import email.policy
import hashlib
from dataclasses import dataclass
from email.headerregistry import BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import Policy
from email.utils import formatdate, parseaddr
from typing import Any

LIST_UNSUBSCRIBE = "List-Unsubscribe"
LIST_UNSUBSCRIBE_POST = "List-Unsubscribe-Post"
ONE_CLICK = "List-Unsubscribe=One-Click"
_MAX_LINE = 998  # RFC 5322 §2.1.1


class _UriListHeader(UnstructuredHeader, BaseHeader):
    """A comma-separated list of <URI>s, folded only at the commas (RFC 2369 §2)."""

    def fold(self, *, policy: Policy) -> str:
        line, lines = f"{self.name}:", []
        for uri in (part.strip() for part in str(self).split(",")):
            if len(line) + 1 + len(uri) > (policy.max_line_length or _MAX_LINE) and line.endswith(","):
                lines.append(line)
                line = ""
            line += f" {uri},"
        lines.append(line.rstrip(","))
        return policy.linesep.join(lines) + policy.linesep


_HEADERS = HeaderRegistry()
_HEADERS.map_to_type(LIST_UNSUBSCRIBE.lower(), _UriListHeader)
POLICY = email.policy.default.clone(header_factory=_HEADERS)


@dataclass(frozen=True)
class ListUnsubscribe:
    """Where a recipient unsubscribes: the one-click HTTPS URL, and optionally a mailto address."""

    url: str
    mailto: str | None = None

    def headers(self) -> dict[str, str]:
        """The RFC 8058 header pair, also for API-style providers (OutboundEmail.headers)."""
        uris = [self.url] + ([f"mailto:{self.mailto}?subject=unsubscribe"] if self.mailto else [])
        for uri in uris:
            if not uri.isascii() or any(c in uri for c in " \t\r\n<>,") or len(uri) > _MAX_LINE - 40:
                raise ValueError(f"{uri!r} cannot stand in a List-Unsubscribe header")
        return {LIST_UNSUBSCRIBE: ", ".join(f"<{uri}>" for uri in uris), LIST_UNSUBSCRIBE_POST: ONE_CLICK}


def message_id_for(idempotency_key: str, sender: str) -> str:
    _, address = parseaddr(sender)
    domain = address.rpartition("@")[2] or "mauntic.localhost"
    return f"<{hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]}@{domain}>"


def build_email(
    *,
    sender: str,
    to: str,
    subject: str,
    html: str | None,
    text: str | None,
    idempotency_key: str,
    unsubscribe: ListUnsubscribe | None = None,
) -> EmailMessage:
    message = EmailMessage(policy=POLICY)
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = message_id_for(idempotency_key, sender)
    for name, value in (unsubscribe.headers() if unsubscribe else {}).items():
        message[name] = value
    if text is not None:
        message.set_content(text)
        if html is not None:
            message.add_alternative(html, subtype="html")
    else:
        message.set_content(html or "", subtype="html")
    return message


def email_bytes(message: EmailMessage) -> bytes:
    """The message as sent on the wire (CRLF line ends): what OutboundEmail.raw holds and DKIM signs."""
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


# The contact's columns a template sees as `contact.<field>` (next to its custom attributes).
CONTACT_FIELDS = ("id", "external_id", "email", "phone", "first_name", "last_name", "timezone")


COMPANY_FIELDS = ("id", "name", "domain", "external_id", "attributes")


def contact_context(contact: dict[str, Any], company: dict[str, Any] | None = None) -> dict[str, Any]:
    """What templates see as `contact`: custom attributes first, so reserved columns win over them. `company`:
    the contact's company (COMPANY_FIELDS, `company.attributes.plan`); empty when it has none, so
    `{{ company.name }}` renders empty."""
    attributes = contact.get("attributes") or {}
    fields = {k: v for k, v in contact.items() if k != "attributes"}
    return {"contact": {**attributes, **fields}, "company": dict(company or {})}
