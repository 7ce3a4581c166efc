"""Unsubscribes from providers land in consent: a provider's spam complaint withdraws the channel (source
provider_webhook), and Twilio inbound STOP / START keywords withdraw and re-grant sms consent (source sms_keyword),
verified by X-Twilio-Signature. On SQLite and PostgreSQL."""

from __future__ import annotations

import base64
from urllib.parse import urlencode

import httpx

from api.webhooks.verify_twilio import twilio_signature
from domain.delivery.providers import ProviderType
from domain.ids import new_id
from store.consent import consent_history, current
from store.models import Contact
from store.workspaces import NewWorkspace
from tests.webhooks.conftest import PUBLIC_URL
from tests.webhooks.rows import Sessions, create_provider

FORM = {"content-type": "application/x-www-form-urlencoded"}


async def _contact(db: Sessions, workspace_id: str, **fields: str) -> str:
    row = Contact.model_validate({"id": new_id("ct"), "workspace_id": workspace_id, **fields})
    async with db() as session:
        session.add(row)
        await session.commit()
    return row.id


async def _status(db: Sessions, workspace_id: str, contact_id: str, channel: str) -> tuple[str, str] | None:
    async with db() as session:
        row = await current(session, workspace_id, contact_id, channel)
        return (row.status, row.source) if row else None


async def test_a_spam_complaint_withdraws_email_consent_once(
    client: httpx.AsyncClient, db: Sessions, workspace: NewWorkspace
) -> None:
    ws = workspace.workspace.id
    contact_id = await _contact(db, ws, email="pm@example.com")
    provider = await create_provider(db, ws, ProviderType.POSTMARK, webhook_username="hook", webhook_password="pw")
    auth = {"authorization": "Basic " + base64.b64encode(b"hook:pw").decode()}
    record = {"RecordType": "SpamComplaint", "ID": 7, "Email": "PM@example.com", "MessageID": "m-1",
              "BouncedAt": "2026-12-01T10:00:00Z"}  # fmt: skip

    for _ in range(2):  # Postmark retrying: one change, one history row
        response = await client.post(f"/v1/webhooks/{provider}", json=record, headers=auth)
        assert response.status_code == 200, response.text

    assert await _status(db, ws, contact_id, "email") == ("withdrawn", "provider_webhook")
    async with db() as session:
        history = await consent_history(session, ws, contact_id, after=None, limit=10)
    assert [(h.previous_status, h.status, h.source) for h in history] == [(None, "withdrawn", "provider_webhook")]


async def _inbound(
    client: httpx.AsyncClient, provider: str, body: str, sender: str, token: str = "twilio-token"
) -> httpx.Response:
    path = f"/v1/webhooks/{provider}/inbound"
    params = [("MessageSid", new_id("SM")), ("From", sender), ("To", "+15550001111"), ("Body", body),
              ("AccountSid", "AC1"), ("SmsStatus", "received")]  # fmt: skip
    signature = twilio_signature(token, f"{PUBLIC_URL}{path}", params)
    return await client.post(path, content=urlencode(params), headers={**FORM, "x-twilio-signature": signature})


async def test_twilio_stop_and_start_keywords_change_sms_consent(
    client: httpx.AsyncClient, db: Sessions, workspace: NewWorkspace
) -> None:
    ws = workspace.workspace.id
    contact_id = await _contact(db, ws, phone="+14155550100")
    provider = await create_provider(db, ws, ProviderType.TWILIO)

    forged = await _inbound(client, provider, "START", "+14155550100", token="not-the-token")
    assert (forged.status_code, forged.json()["error"]["code"]) == (401, "invalid_signature")

    stop = await _inbound(client, provider, "  stop ", "+14155550100")
    assert stop.status_code == 200
    assert stop.headers["content-type"].startswith("application/xml")
    assert "<Response>" in stop.text
    assert await _status(db, ws, contact_id, "sms") == ("withdrawn", "sms_keyword")

    chatter = await _inbound(client, provider, "stop by tomorrow?", "+14155550100")  # not a keyword: ignored
    assert chatter.status_code == 200
    assert await _status(db, ws, contact_id, "sms") == ("withdrawn", "sms_keyword")

    assert (await _inbound(client, provider, "UNSTOP", "+14155550100")).status_code == 200
    assert await _status(db, ws, contact_id, "sms") == ("granted", "sms_keyword")
    for keyword in ("STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"):
        await _inbound(client, provider, keyword, "+14155550100")
        assert await _status(db, ws, contact_id, "sms") == ("withdrawn", "sms_keyword"), keyword
        await _inbound(client, provider, "yes", "+14155550100")
        assert await _status(db, ws, contact_id, "sms") == ("granted", "sms_keyword")


async def test_inbound_is_for_twilio_providers_only(
    client: httpx.AsyncClient, db: Sessions, workspace: NewWorkspace
) -> None:
    provider = await create_provider(db, workspace.workspace.id, ProviderType.POSTMARK, webhook_username="h",
                                     webhook_password="p")  # fmt: skip
    response = await client.post(f"/v1/webhooks/{provider}/inbound", content="Body=STOP", headers=FORM)
    assert (response.status_code, response.json()["error"]["code"]) == (404, "webhooks_not_supported")
