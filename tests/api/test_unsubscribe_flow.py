"""The whole path a recipient takes: a signed email with one-click headers goes through a real SMTP server, its
DKIM signature verifies on arrival, and POSTing to its List-Unsubscribe URL suppresses the address."""

from __future__ import annotations

import re
from typing import Any

import aiosmtplib
import dkim  # type: ignore[import-untyped,unused-ignore]
import httpx
from aiosmtpd.controller import Controller
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from activities.delivery.dkim import DkimKey, public_key_record, sign_message
from domain.delivery.email import ListUnsubscribe, build_email, email_bytes
from domain.ids import new_id
from mauntic.secrets import SecretBox
from mauntic.unsubscribe import unsubscribe_url
from store.suppressions import suppression_for
from store.workspaces import NewWorkspace
from tests.api.ingest_support import Sessions
from tests.conftest import TEST_SECRET_KEY
from tests.servers import free_port


class _RawSink:
    def __init__(self) -> None:
        self.received: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(envelope.original_content)
        return "250 OK"


async def test_signed_email_to_one_click_unsubscribe(
    client: httpx.AsyncClient, workspace: NewWorkspace, db: Sessions
) -> None:
    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key = DkimKey("news.example.test", "mtc1", pem)
    url = unsubscribe_url(
        SecretBox(TEST_SECRET_KEY),
        "http://testserver",
        workspace_id=workspace.workspace.id,
        channel="email",
        address="grace@example.test",
        message_log_id=new_id("msg"),
    )
    message = build_email(
        sender="News <news@news.example.test>",
        to="grace@example.test",
        subject="Issue 1",
        html="<p>Hi</p>",
        text="Hi",
        idempotency_key="flow-1",
        unsubscribe=ListUnsubscribe(url, mailto="unsubscribe@news.example.test"),
    )
    signed = sign_message(email_bytes(message), key)

    sink = _RawSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        await aiosmtplib.send(
            signed,
            sender="bounce@news.example.test",
            recipients=["grace@example.test"],
            hostname="127.0.0.1",
            port=controller.port,
        )
    finally:
        controller.stop()
    [arrived] = sink.received

    record = public_key_record(pem).encode()
    assert dkim.verify(
        arrived, dnsfunc=lambda name, timeout=5: record if name == b"mtc1._domainkey.news.example.test." else None
    )
    header = re.search(rb"^List-Unsubscribe: <([^>]+)>", arrived, re.M)
    assert header is not None
    assert re.search(rb"^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r$", arrived, re.M)

    link = header.group(1).decode()
    assert link == url
    response = await client.post(
        link, content=b"List-Unsubscribe=One-Click", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 200
    async with db() as session:
        row = await suppression_for(session, workspace.workspace.id, "email", "grace@example.test")
    assert row is not None
    assert row.reason == "unsubscribed"
