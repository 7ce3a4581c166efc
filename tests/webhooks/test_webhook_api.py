"""POST /v1/webhooks/{provider_id} through the app, on SQLite and PostgreSQL: verified, stored once, with effects."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import FastAPI

from api.webhooks.service import CLOCK_KEY, SNS_FETCHER_KEY
from api.webhooks.verify_twilio import twilio_signature
from domain.delivery.providers import ProviderType
from store.workspaces import NewWorkspace
from tests.conftest import new_workspace
from tests.outbox_rows import outbox, publish_journey
from tests.servers import free_port
from tests.webhooks.conftest import PUBLIC_URL
from tests.webhooks.rows import (
    Sessions,
    count_events,
    create_message_log,
    create_provider,
    delivery_events,
    suppressions,
)
from tests.webhooks.signing import (
    TOPIC,
    SnsSigner,
    basic,
    mailgun_signature,
    sendgrid_headers,
    sendgrid_public_key,
    sns_notification,
    sns_subscription,
)
from tests.webhooks.sns_host import FetcherAt
from tests.webhooks.test_verification import SG_KEY, SG_PAYLOAD, SG_SIGNATURE, SG_TIMESTAMP


def ws(workspace: NewWorkspace) -> str:
    return workspace.workspace.id


@pytest.fixture
async def sendgrid(db: Sessions, workspace: NewWorkspace) -> str:
    return await create_provider(
        db, ws(workspace), ProviderType.SENDGRID, webhook_verification_key=sendgrid_public_key()
    )


def sg(event: str, event_id: str, **extra: Any) -> dict[str, Any]:
    return {"email": "ada@example.com", "timestamp": 1764140000, "event": event, "sg_event_id": event_id,
            "sg_message_id": "sgmsg1.filter0001.16648.5515E0B88.0", **extra}  # fmt: skip


async def post_sendgrid(
    client: httpx.AsyncClient, provider_id: str, events: Any, *, timestamp: int | None = None
) -> httpx.Response:
    body = json.dumps(events).encode() if not isinstance(events, bytes) else events
    headers = sendgrid_headers(body, timestamp or int(time.time()))
    return await client.post(f"/v1/webhooks/{provider_id}", content=body, headers=headers)


def batch(run: str, size: int) -> list[dict[str, Any]]:
    kinds = ["processed", "delivered", "open", "click", "deferred"]
    return [sg(kinds[i % len(kinds)], f"{run}-{i}", url="https://example.com/") for i in range(size)]


async def test_verified_sendgrid_batch_is_stored_once(client: httpx.AsyncClient, db: Sessions, sendgrid: str) -> None:
    events = batch("b", 25)
    first = await post_sendgrid(client, sendgrid, events)
    assert first.status_code == 200, first.text
    assert first.json() == {"events": 25, "new": 25, "duplicates": 0}
    assert await count_events(db, sendgrid) == 25
    replay = await post_sendgrid(client, sendgrid, events)
    assert replay.json() == {"events": 25, "new": 0, "duplicates": 25}
    assert await count_events(db, sendgrid) == 25
    # A batch repeating one event id, and overlapping the earlier batch: stored once each.
    overlap = await post_sendgrid(client, sendgrid, [*events[:2], sg("open", "b-new"), sg("open", "b-new")])
    assert overlap.json() == {"events": 3, "new": 1, "duplicates": 2}
    stored = {e.provider_event_id: e for e in await delivery_events(db, sendgrid)}
    assert len(stored) == 26
    assert (stored["b-3"].type, stored["b-3"].url, stored["b-3"].channel) == (
        "clicked",
        "https://example.com/",
        "email",
    )
    assert (stored["b-0"].type, stored["b-0"].raw_type) == ("unknown", "processed")
    assert stored["b-1"].provider_message_id == "sgmsg1"


async def test_sendgrid_known_answer_vector_through_the_api(
    client: httpx.AsyncClient, app: FastAPI, db: Sessions, workspace: NewWorkspace
) -> None:
    """SendGrid's published request (2020), accepted when our clock reads its time, refused as stale otherwise."""
    provider = await create_provider(db, ws(workspace), ProviderType.SENDGRID, webhook_verification_key=SG_KEY)
    headers = {"x-twilio-email-event-webhook-signature": SG_SIGNATURE,
               "x-twilio-email-event-webhook-timestamp": SG_TIMESTAMP, "content-type": "application/json"}  # fmt: skip
    stale = await client.post(f"/v1/webhooks/{provider}", content=SG_PAYLOAD, headers=headers)
    assert (stale.status_code, stale.json()["error"]["code"]) == (401, "stale_request")
    app.state.context.extras[CLOCK_KEY] = lambda: float(SG_TIMESTAMP) + 3
    response = await client.post(f"/v1/webhooks/{provider}", content=SG_PAYLOAD, headers=headers)
    assert response.json() == {"events": 1, "new": 1, "duplicates": 0}, response.text
    [stored] = await delivery_events(db, provider)
    assert (stored.type, stored.raw_type, stored.reason) == ("failed", "dropped", "Bounced Address")
    assert (stored.provider_message_id, stored.recipient) == ("LRzXl_NHStOGhQ4kofSm_A", "hello@world.com")


async def test_bounces_complaints_and_unsubscribes_suppress(
    client: httpx.AsyncClient, db: Sessions, sendgrid: str, workspace: NewWorkspace
) -> None:
    events = [
        sg("bounce", "s-1", email="Hard@Example.com", type="bounce", reason="550 no such user"),
        sg("bounce", "s-2", email="soft@example.com", type="blocked", reason="try later"),
        sg("spamreport", "s-3", email="angry@example.com"),
        sg("unsubscribe", "s-4", email="gone@example.com"),
        sg("delivered", "s-5", email="fine@example.com"),
    ]
    response = await post_sendgrid(client, sendgrid, events)
    assert response.status_code == 200, response.text
    assert await suppressions(db, ws(workspace)) == {
        ("email", "hard@example.com", "hard_bounce"),
        ("email", "angry@example.com", "complaint"),
        ("email", "gone@example.com", "unsubscribed"),
    }
    stored = {e.provider_event_id: e for e in await delivery_events(db, sendgrid)}
    assert (stored["s-1"].bounce_type, stored["s-1"].reason) == ("hard", "550 no such user")
    assert stored["s-2"].bounce_type == "soft"


async def test_a_bounce_for_something_that_is_no_address_is_stored_but_suppresses_nothing(
    client: httpx.AsyncClient, db: Sessions, sendgrid: str, workspace: NewWorkspace
) -> None:
    events = [sg("bounce", "x-1", email="not an address", type="bounce", reason="550 no such user")]
    response = await post_sendgrid(client, sendgrid, events)
    assert response.status_code == 200, response.text
    assert [e.provider_event_id for e in await delivery_events(db, sendgrid)] == ["x-1"]
    assert await suppressions(db, ws(workspace)) == set()


async def test_unknown_event_type_is_stored_as_unknown(client: httpx.AsyncClient, db: Sessions, sendgrid: str) -> None:
    response = await post_sendgrid(client, sendgrid, [sg("machine_opened_v9", "u-1")])
    assert response.status_code == 200, response.text
    [stored] = await delivery_events(db, sendgrid)
    assert (stored.type, stored.raw_type) == ("unknown", "machine_opened_v9")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"[{not json", "malformed_json"),
        (b'{"event": "open"}', "malformed_payload"),
        (b'[{"event": "open"}]', "malformed_payload"),
        (b'[{"sg_event_id": "x"}]', "malformed_payload"),
    ],
)
async def test_malformed_payload_is_400_and_stores_nothing(
    client: httpx.AsyncClient, db: Sessions, sendgrid: str, body: bytes, code: str
) -> None:
    response = await post_sendgrid(client, sendgrid, body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == code
    assert await count_events(db, sendgrid) == 0


async def test_forged_stale_and_unsigned_requests_are_refused(
    client: httpx.AsyncClient, db: Sessions, sendgrid: str
) -> None:
    body = json.dumps([sg("bounce", "f-1", type="bounce")]).encode()
    headers = sendgrid_headers(body, int(time.time()))
    forged = body.replace(b"ada@example.com", b"eve@example.com")
    cases = [
        (forged, headers, "invalid_signature"),
        (body, {**headers, "x-twilio-email-event-webhook-timestamp": str(int(time.time()) + 1)}, "invalid_signature"),
        (body, sendgrid_headers(body, int(time.time()) - 3600), "stale_request"),
        (body, {"content-type": "application/json"}, "missing_signature"),
    ]
    for content, request_headers, code in cases:
        response = await client.post(f"/v1/webhooks/{sendgrid}", content=content, headers=request_headers)
        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"] == code
    assert await count_events(db, sendgrid) == 0


async def test_unknown_and_unsupported_providers(
    client: httpx.AsyncClient, db: Sessions, workspace: NewWorkspace
) -> None:
    response = await client.post("/v1/webhooks/prv_nope", content=b"[]")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "provider_not_found")
    smtp = await create_provider(db, ws(workspace), ProviderType.SMTP)
    response = await client.post(f"/v1/webhooks/{smtp}", content=b"[]")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "webhooks_not_supported")
    unkeyed = await create_provider(db, ws(workspace), ProviderType.SENDGRID)
    response = await post_sendgrid(client, unkeyed, [sg("open", "x")])
    assert (response.status_code, response.json()["error"]["code"]) == (403, "webhook_not_configured")


async def test_events_find_their_message_and_reach_journeys(
    client: httpx.AsyncClient,
    db: Sessions,
    sendgrid: str,
    workspace: NewWorkspace,
    database_url: str,
) -> None:
    await publish_journey(client, workspace.api_key, "clicked", waits_for="opened")
    by_provider_id = await create_message_log(db, ws(workspace), "ct_1", provider_message_id="sgmsg1",
                                              journey_id="jrn_1", step_id="welcome")  # fmt: skip
    by_our_id = await create_message_log(db, ws(workspace), "ct_2", journey_id="jrn_1", step_id="nudge")
    other_workspace = await new_workspace(database_url)
    elsewhere = (await create_message_log(db, ws(other_workspace), "ct_x")).id
    events = [
        sg("open", "j-1"),
        sg("click", "j-2", sg_message_id="unknown.x", message_log_id=by_our_id.id, url="https://example.com/buy"),
        sg("open", "j-3", sg_message_id="unknown.x", message_log_id=elsewhere),  # another workspace's log
        sg("delivered", "j-4", sg_message_id="nobody.x"),
    ]
    response = await post_sendgrid(client, sendgrid, events)
    assert response.status_code == 200, response.text
    stored = {e.provider_event_id: e for e in await delivery_events(db, sendgrid)}
    assert (stored["j-1"].message_log_id, stored["j-1"].contact_id) == (by_provider_id.id, "ct_1")
    assert (stored["j-2"].message_log_id, stored["j-2"].contact_id) == (by_our_id.id, "ct_2")
    assert (stored["j-3"].message_log_id, stored["j-3"].contact_id) == (None, None)
    signals = await outbox(db, ws(workspace))  # for the contacts' journeys, committed with the events
    assert [(s.contact_id, s.name) for s in signals] == [("ct_1", "opened"), ("ct_2", "clicked")]
    assert await outbox(db, ws(other_workspace)) == []
    assert signals[0].properties == {
        "message_id": by_provider_id.id, "journey_id": "jrn_1", "step_id": "welcome", "provider": "sendgrid",
        "provider_id": sendgrid, "channel": "email", "recipient": "ada@example.com",
    }  # fmt: skip
    assert signals[1].properties["url"] == "https://example.com/buy"
    # A provider's retry stores nothing and queues nothing: the first report was queued with its storing.
    retried = await post_sendgrid(client, sendgrid, events)
    assert retried.json()["new"] == 0
    assert [s.id for s in await outbox(db, ws(workspace))] == [s.id for s in signals]


# --- SES through SNS


@pytest.fixture
async def ses(db: Sessions, workspace: NewWorkspace) -> str:
    return await create_provider(db, ws(workspace), ProviderType.SES, webhook_topic_arns=[TOPIC])


async def post_sns(client: httpx.AsyncClient, provider_id: str, message: dict[str, Any]) -> httpx.Response:
    headers = {"content-type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": message["Type"]}
    return await client.post(f"/v1/webhooks/{provider_id}", content=json.dumps(message).encode(), headers=headers)


async def test_sns_subscription_confirmed_only_for_allowed_topics(
    client: httpx.AsyncClient, ses: str, sns: SnsSigner
) -> None:
    allowed = sns.sign(sns_subscription(), "2")
    response = await post_sns(client, ses, allowed)
    assert response.status_code == 200, response.text
    assert response.json()["confirmed"] is True
    assert sns.confirmed == [allowed["SubscribeURL"]]
    other = sns.sign(sns_subscription("arn:aws:sns:eu-west-1:999999999999:someone-else"), "2")
    response = await post_sns(client, ses, other)
    assert (response.status_code, response.json()["error"]["code"]) == (403, "topic_not_allowed")
    forged = {**allowed, "SubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&x=evil"}
    response = await post_sns(client, ses, forged)
    assert (response.status_code, response.json()["error"]["code"]) == (401, "invalid_signature")
    assert len(sns.confirmed) == 1


async def test_ses_bounce_for_several_recipients(
    client: httpx.AsyncClient, db: Sessions, ses: str, sns: SnsSigner, workspace: NewWorkspace
) -> None:
    bounce = {
        "notificationType": "Bounce",
        "mail": {"messageId": "ses-1", "destination": ["a@example.com", "b@example.com"]},
        "bounce": {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": "a@example.com"},
                                                                    {"emailAddress": "b@example.com"}]},
    }  # fmt: skip
    message = sns.sign(sns_notification(bounce, "sns-bounce-1"))
    response = await post_sns(client, ses, message)
    assert response.json() == {"events": 2, "new": 2, "duplicates": 0}
    assert [e.provider_event_id for e in await delivery_events(db, ses)] == ["sns-bounce-1:0", "sns-bounce-1:1"]
    assert await suppressions(db, ws(workspace)) == {
        ("email", "a@example.com", "hard_bounce"),
        ("email", "b@example.com", "hard_bounce"),
    }
    assert (await post_sns(client, ses, message)).json()["new"] == 0
    tampered = {**message, "Message": message["Message"].replace("Permanent", "Transient")}
    assert (await post_sns(client, ses, tampered)).status_code == 401
    foreign = sns.sign(sns_notification(bounce, "sns-bounce-2", topic="arn:aws:sns:eu-west-1:1:other"))
    response = await post_sns(client, ses, foreign)
    assert (response.status_code, response.json()["error"]["code"]) == (403, "topic_not_allowed")
    assert await count_events(db, ses) == 2


async def test_sns_certificate_unavailable_is_a_503_so_sns_retries(
    client: httpx.AsyncClient, app: FastAPI, db: Sessions, ses: str, sns: SnsSigner
) -> None:
    complaint = {"notificationType": "Complaint", "mail": {"messageId": "ses-2"},
                 "complaint": {"complainedRecipients": [{"emailAddress": "c@example.com"}]}}  # fmt: skip
    message = sns.sign(sns_notification(complaint, "sns-complaint-1"))
    app.state.context.extras[SNS_FETCHER_KEY] = FetcherAt(f"http://127.0.0.1:{free_port()}/certificate")
    response = await post_sns(client, ses, message)
    assert (response.status_code, response.json()["error"]["code"]) == (503, "certificate_unavailable")
    assert await count_events(db, ses) == 0
    app.state.context.extras[SNS_FETCHER_KEY] = sns  # AWS is reachable again when SNS retries
    assert (await post_sns(client, ses, message)).json() == {"events": 1, "new": 1, "duplicates": 0}


# --- Mailgun, Postmark, Twilio


async def test_mailgun_token_replay_is_refused(
    client: httpx.AsyncClient, db: Sessions, workspace: NewWorkspace
) -> None:
    provider = await create_provider(db, ws(workspace), ProviderType.MAILGUN, webhook_signing_key="mg-signing")
    event = {"id": "mg-ev-1", "event": "failed", "severity": "permanent", "recipient": "Bad@Example.com",
             "timestamp": time.time(), "delivery-status": {"description": "No such mailbox"}}  # fmt: skip
    body = {"signature": mailgun_signature("mg-signing", int(time.time()), "tok-1"), "event-data": event}
    first = await client.post(f"/v1/webhooks/{provider}", json=body)
    assert first.json() == {"events": 1, "new": 1, "duplicates": 0}, first.text
    # The signature covers the token, not the body: the captured token with a forged event is a replay.
    forged_event = {**event, "id": "mg-ev-forged", "recipient": "victim@example.com"}
    replay = await client.post(f"/v1/webhooks/{provider}", json={**body, "event-data": forged_event})
    assert (replay.status_code, replay.json()["error"]["code"]) == (401, "replayed_request")
    # The same token with the same body is Mailgun retrying: a duplicate event, accepted and ignored.
    again = await client.post(f"/v1/webhooks/{provider}", json=body)
    assert again.json() == {"events": 1, "new": 0, "duplicates": 1}, again.text
    # A retry signed afresh (a new token) is one too.
    retry = {**body, "signature": mailgun_signature("mg-signing", int(time.time()), "tok-2")}
    assert (await client.post(f"/v1/webhooks/{provider}", json=retry)).json()["new"] == 0
    stale = {**body, "signature": mailgun_signature("mg-signing", int(time.time()) - 10 * 3600, "tok-3")}
    assert (await client.post(f"/v1/webhooks/{provider}", json=stale)).json()["error"]["code"] == "stale_request"
    forged = {**body, "signature": mailgun_signature("not-the-key", int(time.time()), "tok-4")}
    assert (await client.post(f"/v1/webhooks/{provider}", json=forged)).json()["error"]["code"] == "invalid_signature"
    assert await suppressions(db, ws(workspace)) == {("email", "bad@example.com", "hard_bounce")}
    assert await count_events(db, provider) == 1


async def test_a_refused_request_leaves_its_token_unclaimed(
    client: httpx.AsyncClient, db: Sessions, workspace: NewWorkspace
) -> None:
    provider = await create_provider(db, ws(workspace), ProviderType.MAILGUN, webhook_signing_key="mg-signing")
    signature = mailgun_signature("mg-signing", int(time.time()), "tok-malformed")
    bad = await client.post(f"/v1/webhooks/{provider}", json={"signature": signature, "event-data": {"event": "x"}})
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "malformed_payload")
    good = {"signature": signature, "event-data": {"id": "mg-2", "event": "opened", "timestamp": time.time()}}
    assert (await client.post(f"/v1/webhooks/{provider}", json=good)).status_code == 200


async def test_postmark_basic_auth(client: httpx.AsyncClient, db: Sessions, workspace: NewWorkspace) -> None:
    provider = await create_provider(db, ws(workspace), ProviderType.POSTMARK, webhook_username="hook",
                                     webhook_password="s3cret")  # fmt: skip
    record = {"RecordType": "Bounce", "ID": 42, "Type": "HardBounce", "Email": "pm@example.com", "MessageID": "m"}
    wrong = await client.post(f"/v1/webhooks/{provider}", json=record, headers=basic("hook", "guess"))
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (401, "invalid_signature")
    missing = await client.post(f"/v1/webhooks/{provider}", json=record)
    assert (missing.status_code, missing.json()["error"]["code"]) == (401, "missing_signature")
    for refused in (wrong, missing):  # the challenge of HTTP Basic (RFC 7617), not the API's Bearer
        assert refused.headers["www-authenticate"] == 'Basic realm="mauntic webhooks", charset="UTF-8"'
    assert await count_events(db, provider) == 0
    right = await client.post(f"/v1/webhooks/{provider}", json=record, headers=basic("hook", "s3cret"))
    assert right.json() == {"events": 1, "new": 1, "duplicates": 0}
    assert await suppressions(db, ws(workspace)) == {("email", "pm@example.com", "hard_bounce")}


async def test_twilio_status_callback(client: httpx.AsyncClient, db: Sessions, workspace: NewWorkspace) -> None:
    provider = await create_provider(db, ws(workspace), ProviderType.TWILIO)
    params = [("MessageSid", "SM0001"), ("MessageStatus", "undelivered"), ("ErrorCode", "30005"),
              ("To", "+15558675310"), ("From", "+15550001111"), ("AccountSid", "AC1")]  # fmt: skip
    path = f"/v1/webhooks/{provider}?attempt=1"
    signature = twilio_signature("twilio-token", f"{PUBLIC_URL}{path}", params)
    form = {"content-type": "application/x-www-form-urlencoded"}
    forged = await client.post(path, content=urlencode([*params[:2], ("ErrorCode", "30003"), *params[3:]]),
                               headers={**form, "x-twilio-signature": signature})  # fmt: skip
    assert (forged.status_code, forged.json()["error"]["code"]) == (401, "invalid_signature")
    response = await client.post(path, content=urlencode(params), headers={**form, "x-twilio-signature": signature})
    assert response.json() == {"events": 1, "new": 1, "duplicates": 0}, response.text
    [stored] = await delivery_events(db, provider)
    assert (stored.type, stored.bounce_type, stored.channel) == ("bounced", "hard", "sms")
    assert await suppressions(db, ws(workspace)) == {("sms", "+15558675310", "hard_bounce")}


async def test_mailgun_retry_is_accepted_hours_later_and_queued_once(
    client: httpx.AsyncClient, app: FastAPI, db: Sessions, workspace: NewWorkspace
) -> None:
    """Mailgun retries the same signed body for up to 8 hours (after any answer but a 2xx): accepted, stored and
    handed to journeys once."""
    await publish_journey(client, workspace.api_key, "Signed Up", waits_for="opened")
    provider = await create_provider(db, ws(workspace), ProviderType.MAILGUN, webhook_signing_key="mg-signing")
    log = await create_message_log(db, ws(workspace), "ct_mg", provider_message_id="mg-msg-1@mg.example.com")
    signed_at = int(time.time())
    event = {"id": "mg-ev-retry", "event": "opened", "timestamp": signed_at,
             "message": {"headers": {"message-id": "mg-msg-1@mg.example.com"}}}  # fmt: skip
    body = {"signature": mailgun_signature("mg-signing", signed_at, "tok-retry"), "event-data": event}
    first = await client.post(f"/v1/webhooks/{provider}", json=body)
    assert first.json() == {"events": 1, "new": 1, "duplicates": 0}, first.text
    app.state.context.extras[CLOCK_KEY] = lambda: signed_at + 7.5 * 3600  # Mailgun's last retry
    retried = await client.post(f"/v1/webhooks/{provider}", json=body)
    assert retried.json() == {"events": 1, "new": 0, "duplicates": 1}, retried.text
    signals = await outbox(db, ws(workspace))
    assert [(s.contact_id, s.name, s.properties["message_id"]) for s in signals] == [("ct_mg", "opened", log.id)]


# --- Hostile and odd input: a 4xx or stored, never a 500 (nor a 503 that makes the provider retry forever)


async def test_unstorable_and_overlong_fields_are_stored_not_refused(
    client: httpx.AsyncClient, db: Sessions, workspace: NewWorkspace
) -> None:
    """A NUL (PostgreSQL text refuses it) and a MessageSid long enough to push the composed event id past its
    column used to fail the insert: a 503 for a request that can never succeed."""
    provider = await create_provider(db, ws(workspace), ProviderType.TWILIO)
    params = [("MessageSid", "SM" + "7" * 300), ("MessageStatus", "undelivered"), ("ErrorCode", "30005"),
              ("To", "+15558675310\x00")]  # fmt: skip
    signature = twilio_signature("twilio-token", f"{PUBLIC_URL}/v1/webhooks/{provider}", params)
    headers = {"content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signature}
    response = await client.post(f"/v1/webhooks/{provider}", content=urlencode(params), headers=headers)
    assert response.json() == {"events": 1, "new": 1, "duplicates": 0}, response.text
    [stored] = await delivery_events(db, provider)
    assert (len(stored.provider_event_id), stored.recipient) == (255, "+15558675310")
    assert await suppressions(db, ws(workspace)) == {("sms", "+15558675310", "hard_bounce")}


async def test_malformed_credentials_are_401_and_odd_provider_ids_422(
    client: httpx.AsyncClient, db: Sessions, ses: str, workspace: NewWorkspace
) -> None:
    """Each of these was a 500: an SNS Type that is a list, a Postmark Basic credential that is not ASCII, a NUL
    in the provider id (PostgreSQL)."""
    response = await client.post(f"/v1/webhooks/{ses}", json={"Type": ["Notification"], "Signature": "x"})
    assert (response.status_code, response.json()["error"]["code"]) == (401, "invalid_signature")
    postmark = await create_provider(db, ws(workspace), ProviderType.POSTMARK, webhook_username="hook",
                                     webhook_password="s3cret")  # fmt: skip
    response = await client.post(f"/v1/webhooks/{postmark}", content=b"{}", headers={b"authorization": b"Basic \xfc"})
    assert (response.status_code, response.json()["error"]["code"]) == (401, "invalid_signature")
    response = await client.post("/v1/webhooks/prv_%00", content=b"[]")
    assert (response.status_code, response.json()["error"]["code"]) == (422, "validation_error")
    assert await count_events(db, ses) + await count_events(db, postmark) == 0
