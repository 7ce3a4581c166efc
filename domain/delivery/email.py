"""Building RFC 5322 messages. The Message-ID derives from the idempotency key, so a resend after a crash
carries the same id and receivers can recognise it."""

from __future__ import annotations

import hashlib
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Any


def message_id_for(idempotency_key: str, sender: str) -> str:
    _, address = parseaddr(sender)
    domain = address.rpartition("@")[2] or "mauntic.localhost"
    return f"<{hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]}@{domain}>"


def build_email(
    *, sender: str, to: str, subject: str, html: str | None, text: str | None, idempotency_key: str
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = message_id_for(idempotency_key, sender)
    if text is not None:
        message.set_content(text)
        if html is not None:
            message.add_alternative(html, subtype="html")
    else:
        message.set_content(html or "", subtype="html")
    return message


def contact_context(contact: dict[str, Any]) -> dict[str, Any]:
    """What templates see as `contact`: custom attributes first, so reserved columns win over them."""
    attributes = contact.get("attributes") or {}
    fields = {k: v for k, v in contact.items() if k != "attributes"}
    return {"contact": {**attributes, **fields}}
