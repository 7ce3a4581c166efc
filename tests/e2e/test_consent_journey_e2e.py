"""Consent at send time, every channel, end to end: a journey sends an email, an SMS, a push notification about a
topic and a transactional receipt. A contact who opted out of email and SMS through the API, and withheld the push
topic, walks it: each marketing send is skipped and recorded with its reason (message log, the step's record, the
explain timeline), the journey goes on, and the receipt is still sent. A contact with no objection receives all
four, through the SMTP relay, Twilio and FCM (local fakes of their wire formats). Real dev server, worker, uvicorn,
database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from store.workspaces import NewWorkspace
from tests.api.ingest_support import basic
from tests.e2e.test_journey_e2e import wait_state
from tests.fakes.fcm import FakeFcm, FakeServiceAccount
from tests.fakes.twilio import FakeTwilio, served_twilio
from tests.servers import SmtpSink, serve_api

pytestmark = pytest.mark.e2e

SID, TOKEN, FROM = "AC" + "a1" * 16, "twilio-auth-token", "+14155550000"
PROJECT, SERVICE_ACCOUNT = "mauntic-test", "push@mauntic-test.iam.gserviceaccount.com"
JOURNEY = {
    "trigger": {"event": "Signed Up"},
    "start": "mail",
    "steps": [
        {"id": "mail", "type": "send_email", "subject": "Welcome", "text": "Hi {{ contact.first_name }}",
         "next": "text"},
        {"id": "text", "type": "send_sms", "body": "Welcome aboard", "next": "ping"},
        {"id": "ping", "type": "send_push", "title": "News for you", "topic": "news", "next": "receipt"},
        {"id": "receipt", "type": "send_email", "subject": "Your receipt", "text": "Paid.", "transactional": True,
         "next": "done"},
        {"id": "done", "type": "end"},
    ],
}  # fmt: skip
SENDS = ("mail", "text", "ping", "receipt")


@pytest.fixture
async def twilio() -> AsyncIterator[tuple[FakeTwilio, str]]:
    async with served_twilio(SID, TOKEN, FROM) as served:
        yield served


@pytest.fixture
async def fcm() -> AsyncIterator[tuple[FakeFcm, str, str]]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    fake = FakeFcm()
    fake.add_account(FakeServiceAccount(SERVICE_ACCOUNT, public, PROJECT))
    async with serve_api(fake.app()) as url:
        yield fake, url, private


async def providers(api: httpx.AsyncClient, twilio_url: str, fcm_url: str, private_key: str) -> None:
    sms = {"account_sid": SID, "auth_token": TOKEN, "from_number": FROM, "base_url": twilio_url}
    push = {"project_id": PROJECT, "client_email": SERVICE_ACCOUNT, "private_key": private_key,
            "token_uri": f"{fcm_url}/token", "base_url": fcm_url}  # fmt: skip
    for body in (
        {"name": "twilio", "type": "twilio", "channel": "sms", "config": sms},
        {"name": "fcm", "type": "fcm", "channel": "push", "config": push},
    ):
        created = await api.post("/v1/providers", json=body)
        assert created.status_code == 201, created.text


async def contact(api: httpx.AsyncClient, name: str, n: int) -> str:
    body = {"external_id": f"u-{name}", "email": f"{name}@example.test", "phone": f"+1415555010{n}",
            "first_name": name.title(), "attributes": {"push_token": f"device-{name}"}}  # fmt: skip
    created = await api.post("/v1/contacts", json=body)
    assert created.status_code == 201, created.text
    contact_id: str = created.json()["id"]
    return contact_id


async def by_step(api: httpx.AsyncClient, contact_id: str) -> dict[str, tuple[str, str | None]]:
    listed = await api.get("/v1/messages", params={"limit": 500})
    assert listed.status_code == 200, listed.text
    rows: list[dict[str, Any]] = listed.json()["data"]
    return {row["step_id"]: (row["status"], row["error"]) for row in rows if row["contact_id"] == contact_id}


async def test_each_channel_goes_through_the_consent_gate_and_the_journey_goes_on(
    base_url: str,
    workspace: NewWorkspace,
    smtp: SmtpSink,
    twilio: tuple[FakeTwilio, str],
    fcm: tuple[FakeFcm, str, str],
) -> None:
    fake_twilio, twilio_url = twilio
    fake_fcm, fcm_url, private_key = fcm
    headers = {"Authorization": f"Bearer {workspace.api_key}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as api:
        await providers(api, twilio_url, fcm_url, private_key)
        topic = {"key": "news", "name": "News", "channels": ["push"]}
        assert (await api.post("/v1/consent/topics", json=topic)).status_code == 201
        created = await api.post("/v1/journeys", json={"name": "Welcome", "definition": JOURNEY})
        assert created.status_code == 201, created.text
        journey_id = created.json()["id"]
        assert (await api.post(f"/v1/journeys/{journey_id}/publish")).status_code == 200, created.text

        out, fan = await contact(api, "olive", 1), await contact(api, "fanny", 2)
        changes = {"changes": [
            {"channel": "email", "status": "withdrawn", "note": "asked at the counter"},
            {"channel": "sms", "status": "withdrawn"},
            {"channel": "push", "topic": "news", "status": "withdrawn"},
        ]}  # fmt: skip
        put = await api.put(f"/v1/contacts/{out}/consent", json=changes)
        assert put.status_code == 200, put.text
        assert put.json()["effective"] == {"email": False, "sms": False, "push": True}

        for name in ("olive", "fanny"):
            batch = {"batch": [{"type": "track", "userId": f"u-{name}", "event": "Signed Up", "properties": {}}]}
            assert (await api.post("/v1/batch", json=batch, headers=basic(workspace.write_key))).status_code == 200
            contact_id = out if name == "olive" else fan
            await wait_state(api, journey_id, contact_id, status="completed")

        olive = await wait_state(api, journey_id, out, status="completed")
        assert [(r["step_id"], r["outcome"], r["reason"]) for r in olive["history"] if r["step_id"] in SENDS] == [
            ("mail", "skipped", "no consent: email withdrawn"),
            ("text", "skipped", "no consent: sms withdrawn"),
            ("ping", "skipped", "no consent: topic news withdrawn"),
            ("receipt", "sent", None),
        ]
        assert await by_step(api, out) == {
            "mail": ("skipped", "no consent: email withdrawn"),
            "text": ("skipped", "no consent: sms withdrawn"),
            "ping": ("skipped", "no consent: topic news withdrawn"),
            "receipt": ("sent", None),
        }
        explained = await api.get(f"/v1/journeys/{journey_id}/contacts/{out}/explain")
        assert explained.status_code == 200, explained.text
        timeline = {entry["node"]: (entry["outcome"], entry["reason"]) for entry in explained.json()["timeline"]}
        assert timeline["text"] == ("skipped", "no consent: sms withdrawn")
        assert "no consent: topic news withdrawn" in explained.json()["text"]

        fanny = await wait_state(api, journey_id, fan, status="completed")
        assert [(r["step_id"], r["outcome"]) for r in fanny["history"] if r["step_id"] in SENDS] == [
            (step, "sent") for step in SENDS
        ]
        assert {step: status for step, (status, _) in (await by_step(api, fan)).items()} == dict.fromkeys(SENDS, "sent")

    await asyncio.sleep(0.3)
    assert sorted((m["To"], m["Subject"]) for m in smtp.messages) == [
        ("fanny@example.test", "Welcome"),
        ("fanny@example.test", "Your receipt"),
        ("olive@example.test", "Your receipt"),
    ]
    assert [m["to"] for m in fake_twilio.messages] == ["+14155550102"]
    assert [send["message"]["token"] for send in fake_fcm.sends] == ["device-fanny"]
