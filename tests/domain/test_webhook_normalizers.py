"""Every provider's payloads become the one normalized event model; unknown types are kept, never an error."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from domain.webhooks.mailgun import normalize_mailgun
from domain.webhooks.model import MAX_EVENT_ID, BounceType, EventType, MalformedPayload, NormalizedEvent
from domain.webhooks.postmark import normalize_postmark
from domain.webhooks.sendgrid import normalize_sendgrid
from domain.webhooks.ses import normalize_ses
from domain.webhooks.twilio import normalize_twilio

NOW = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)


def sendgrid_event(event: str, **extra: Any) -> dict[str, Any]:
    return {
        "email": "ada@example.com",
        "timestamp": 1764140000,
        "event": event,
        "sg_event_id": f"sg-{event}-{len(extra)}",
        "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
        **extra,
    }


def test_sendgrid_mixed_batch() -> None:
    events = normalize_sendgrid(
        [
            sendgrid_event("processed"),
            sendgrid_event("delivered", response="250 OK"),
            sendgrid_event("deferred", response="400 try again later", attempt="5"),
            sendgrid_event("bounce", type="bounce", reason="550 5.1.1 unknown user", status="5.1.1"),
            sendgrid_event("bounce", type="blocked", reason="blocked by RBL", status="5.7.1", ip="1.2.3.4", x="y"),
            sendgrid_event("dropped", reason="Bounced Address"),
            sendgrid_event("open", useragent="Mozilla", message_log_id="msg_01"),
            sendgrid_event("click", url="https://example.com/pricing", custom_args={"message_log_id": "msg_02"}),
            sendgrid_event("spamreport"),
            sendgrid_event("unsubscribe"),
            sendgrid_event("group_unsubscribe", asm_group_id=1),
            sendgrid_event("brand_new_event"),
        ],
        NOW,
    )
    assert [(e.type, e.raw_type) for e in events] == [
        (EventType.UNKNOWN, "processed"),
        (EventType.DELIVERED, "delivered"),
        (EventType.DEFERRED, "deferred"),
        (EventType.BOUNCED, "bounce"),
        (EventType.BOUNCED, "bounce"),
        (EventType.FAILED, "dropped"),
        (EventType.OPENED, "open"),
        (EventType.CLICKED, "click"),
        (EventType.COMPLAINED, "spamreport"),
        (EventType.UNSUBSCRIBED, "unsubscribe"),
        (EventType.UNSUBSCRIBED, "group_unsubscribe"),
        (EventType.UNKNOWN, "brand_new_event"),
    ]
    hard, soft = events[3], events[4]
    assert (hard.bounce_type, hard.reason) == (BounceType.HARD, "550 5.1.1 unknown user")
    assert (soft.bounce_type, soft.reason) == (BounceType.SOFT, "blocked by RBL")
    assert events[2].reason == "400 try again later"
    assert events[6].message_log_id == "msg_01"
    assert (events[7].url, events[7].message_log_id) == ("https://example.com/pricing", "msg_02")
    first = events[0]
    assert first.provider_message_id == "14c5d75ce93"
    assert first.recipient == "ada@example.com"
    assert first.occurred_at == datetime.fromtimestamp(1764140000, UTC)
    assert [e.suppresses for e in events] == [False, False, False, True, False, False, False, False, True, True, True,
                                              False]  # fmt: skip


@pytest.mark.parametrize(
    "payload", [{"event": "open"}, [{"event": "open"}], [{"sg_event_id": "x"}], ["text"], "[]", None]
)
def test_sendgrid_malformed(payload: Any) -> None:
    with pytest.raises(MalformedPayload):
        normalize_sendgrid(payload, NOW)


SES_MAIL = {
    "timestamp": "2026-11-26T06:00:00.000Z",
    "messageId": "0102018c-ses-message-id-000000",
    "destination": ["ada@example.com", "bob@example.com", "cy@example.com"],
    "tags": {"message_log_id": ["msg_ses"]},
}


def ses(record: dict[str, Any], message_id: str = "sns-1") -> list[NormalizedEvent]:
    return normalize_ses(message_id, json.dumps({"mail": SES_MAIL, **record}), NOW)


def test_ses_bounce_with_several_recipients_is_one_event_each() -> None:
    events = ses(
        {
            "notificationType": "Bounce",
            "bounce": {
                "bounceType": "Permanent",
                "bounceSubType": "General",
                "timestamp": "2026-11-26T06:01:00.000Z",
                "bouncedRecipients": [
                    {"emailAddress": "ada@example.com", "status": "5.1.1", "diagnosticCode": "smtp; 550 no such user"},
                    {"emailAddress": "bob@example.com"},
                ],
            },
        }
    )
    assert [(e.provider_event_id, e.recipient, e.type, e.bounce_type) for e in events] == [
        ("sns-1:0", "ada@example.com", EventType.BOUNCED, BounceType.HARD),
        ("sns-1:1", "bob@example.com", EventType.BOUNCED, BounceType.HARD),
    ]
    assert events[0].reason == "smtp; 550 no such user"
    assert events[1].reason == "Permanent/General"
    assert {e.provider_message_id for e in events} == {"0102018c-ses-message-id-000000"}
    assert {e.message_log_id for e in events} == {"msg_ses"}
    assert events[0].occurred_at == datetime(2026, 11, 26, 6, 1, tzinfo=UTC)


def test_ses_transient_bounce_complaint_delivery_delay_and_engagement() -> None:
    [soft] = ses({"eventType": "Bounce", "bounce": {"bounceType": "Transient", "bouncedRecipients": [
        {"emailAddress": "ada@example.com"}]}})  # fmt: skip
    assert (soft.type, soft.bounce_type, soft.suppresses) == (EventType.BOUNCED, BounceType.SOFT, False)
    [complaint] = ses({"notificationType": "Complaint", "complaint": {"complaintFeedbackType": "abuse",
                       "complainedRecipients": [{"emailAddress": "bob@example.com"}]}})  # fmt: skip
    assert (complaint.type, complaint.recipient, complaint.reason) == (EventType.COMPLAINED, "bob@example.com", "abuse")
    delivered = ses({"notificationType": "Delivery", "delivery": {"recipients": ["ada@example.com", "cy@example.com"]}})
    assert [(e.type, e.recipient) for e in delivered] == [
        (EventType.DELIVERED, "ada@example.com"),
        (EventType.DELIVERED, "cy@example.com"),
    ]
    [delay] = ses({"eventType": "DeliveryDelay", "deliveryDelay": {"delayType": "MailboxFull",
                   "delayedRecipients": [{"emailAddress": "ada@example.com", "status": "4.2.2"}]}})  # fmt: skip
    assert (delay.type, delay.reason) == (EventType.DEFERRED, "4.2.2")
    [click] = ses(
        {"eventType": "Click", "click": {"link": "https://example.com/x", "timestamp": "2026-11-26T06:05:00Z"}}
    )
    assert (click.type, click.url, click.provider_event_id) == (EventType.CLICKED, "https://example.com/x", "sns-1:0")
    [opened] = ses({"eventType": "Open", "open": {}})
    assert opened.type is EventType.OPENED
    [reject] = ses({"eventType": "Reject", "reject": {"reason": "Bad content"}})
    assert (reject.type, reject.reason) == (EventType.FAILED, "Bad content")
    [send] = ses({"eventType": "Send", "send": {}})
    assert (send.type, send.raw_type) == (EventType.UNKNOWN, "Send")


@pytest.mark.parametrize(
    "message",
    ["not json", "[]", '{"mail": {}}', '{"notificationType": "Bounce"}', '{"eventType": "Bounce", "bounce": {}}'],
)
def test_ses_malformed(message: str) -> None:
    with pytest.raises(MalformedPayload):
        normalize_ses("sns-1", message, NOW)


def mailgun(event: dict[str, Any]) -> NormalizedEvent:
    base = {
        "id": "G9Bn5sl1TC6nu79C8C0bwg",
        "timestamp": 1521233195.375624,
        "recipient": "alice@example.com",
        "message": {"headers": {"message-id": "20130503182626.18666.16540@example.com"}},
        "user-variables": {"message_log_id": "msg_mg"},
    }
    [normalized] = normalize_mailgun({"signature": {}, "event-data": {**base, **event}}, NOW)
    return normalized


def test_mailgun_events() -> None:
    delivered = mailgun({"event": "delivered"})
    assert (delivered.type, delivered.provider_event_id) == (EventType.DELIVERED, "G9Bn5sl1TC6nu79C8C0bwg")
    assert delivered.provider_message_id == "20130503182626.18666.16540@example.com"
    assert delivered.message_log_id == "msg_mg"
    hard = mailgun({"event": "failed", "severity": "permanent", "reason": "bounce",
                    "delivery-status": {"code": 550, "description": "No such mailbox"}})  # fmt: skip
    assert (hard.type, hard.bounce_type, hard.reason) == (EventType.BOUNCED, BounceType.HARD, "No such mailbox")
    temporary = mailgun({"event": "failed", "severity": "temporary", "delivery-status": {"message": "try later"}})
    assert (temporary.type, temporary.reason) == (EventType.DEFERRED, "try later")
    suppressed = mailgun({"event": "failed", "severity": "permanent", "reason": "suppress-bounce"})
    assert suppressed.type is EventType.FAILED
    assert mailgun({"event": "clicked", "url": "https://example.com/a"}).url == "https://example.com/a"
    assert mailgun({"event": "opened"}).type is EventType.OPENED
    assert mailgun({"event": "complained"}).type is EventType.COMPLAINED
    assert mailgun({"event": "unsubscribed"}).type is EventType.UNSUBSCRIBED
    assert (mailgun({"event": "accepted"}).type, mailgun({"event": "accepted"}).raw_type) == (EventType.UNKNOWN,
                                                                                            "accepted")  # fmt: skip
    with pytest.raises(MalformedPayload):
        normalize_mailgun({"signature": {}}, NOW)
    with pytest.raises(MalformedPayload):
        normalize_mailgun({"event-data": {"event": "delivered"}}, NOW)


def postmark(record: dict[str, Any]) -> NormalizedEvent:
    [normalized] = normalize_postmark(
        {"MessageID": "883953f4-6105-42a2-a16a-77a8eac79483", "Metadata": {"message_log_id": "msg_pm"}, **record}, NOW
    )
    return normalized


def test_postmark_records() -> None:
    hard = postmark({"RecordType": "Bounce", "ID": 4323372036854775807, "Type": "HardBounce", "TypeCode": 1,
                     "Email": "john@example.com", "BouncedAt": "2026-11-26T06:00:00Z",
                     "Description": "The server was unable to deliver your message"})  # fmt: skip
    assert (hard.type, hard.bounce_type, hard.provider_event_id) == (EventType.BOUNCED, BounceType.HARD,
                                                                     "4323372036854775807")  # fmt: skip
    assert (hard.recipient, hard.message_log_id) == ("john@example.com", "msg_pm")
    soft = postmark({"RecordType": "Bounce", "ID": 2, "Type": "SoftBounce", "Email": "john@example.com"})
    assert soft.bounce_type is BounceType.SOFT
    complaint = postmark({"RecordType": "SpamComplaint", "ID": 3, "Type": "SpamComplaint", "Email": "j@example.com"})
    assert complaint.type is EventType.COMPLAINED
    # The recipient's spam filter refused the message: a soft bounce, not a complaint (nothing is suppressed).
    filtered = postmark({"RecordType": "Bounce", "ID": 5, "Type": "SpamNotification", "TypeCode": 512,
                         "Email": "j@example.com"})  # fmt: skip
    assert (filtered.type, filtered.bounce_type, filtered.suppresses) == (EventType.BOUNCED, BounceType.SOFT, False)
    reported = postmark({"RecordType": "Bounce", "ID": 6, "Type": "SpamComplaint", "TypeCode": 100001,
                         "Email": "j@example.com"})  # fmt: skip
    assert (reported.type, reported.bounce_type, reported.suppresses) == (EventType.COMPLAINED, None, True)
    autoresponder = postmark({"RecordType": "Bounce", "ID": 4, "Type": "AutoResponder", "Email": "j@example.com"})
    assert (autoresponder.type, autoresponder.raw_type) == (EventType.UNKNOWN, "AutoResponder")
    delivery = postmark({"RecordType": "Delivery", "Recipient": "john@example.com",
                         "DeliveredAt": "2026-11-26T06:00:01Z"})  # fmt: skip
    assert delivery.type is EventType.DELIVERED
    assert (
        delivery.provider_event_id
        == "883953f4-6105-42a2-a16a-77a8eac79483:Delivery:john@example.com:2026-11-26T06:00:01Z"
    )
    assert delivery.occurred_at == datetime(2026, 11, 26, 6, 0, 1, tzinfo=UTC)
    click = postmark({"RecordType": "Click", "Recipient": "j@example.com", "ReceivedAt": "2026-11-26T06:02:00Z",
                      "OriginalLink": "https://example.com/buy"})  # fmt: skip
    assert (click.type, click.url) == (EventType.CLICKED, "https://example.com/buy")
    assert postmark({"RecordType": "Open", "Recipient": "j@example.com", "ReceivedAt": "x"}).type is EventType.OPENED
    change = {"RecordType": "SubscriptionChange", "Recipient": "j@example.com", "SuppressSending": True}
    unsubscribed = postmark({**change, "SuppressionReason": "ManualSuppression", "ChangedAt": "2026-11-26T06:03:00Z"})
    assert (unsubscribed.type, unsubscribed.reason) == (EventType.UNSUBSCRIBED, "ManualSuppression")
    resubscribed = postmark({"RecordType": "SubscriptionChange", "SuppressSending": False})
    assert resubscribed.type is EventType.UNKNOWN
    assert postmark({"RecordType": "SomethingNew"}).raw_type == "SomethingNew"
    with pytest.raises(MalformedPayload):
        postmark({"RecordType": "Bounce", "Type": "HardBounce"})  # no ID
    with pytest.raises(MalformedPayload):
        normalize_postmark([], NOW)


@pytest.mark.parametrize(
    ("status", "code", "kind", "bounce"),
    [
        ("delivered", None, EventType.DELIVERED, None),
        ("sent", None, EventType.UNKNOWN, None),
        ("read", None, EventType.OPENED, None),
        ("undelivered", "30003", EventType.BOUNCED, BounceType.SOFT),
        ("undelivered", "30005", EventType.BOUNCED, BounceType.HARD),
        ("undelivered", "30006", EventType.BOUNCED, BounceType.HARD),
        ("failed", "21211", EventType.BOUNCED, BounceType.HARD),
        ("failed", "30007", EventType.FAILED, None),
        ("failed", "21610", EventType.UNSUBSCRIBED, None),
    ],
)
def test_twilio_statuses(status: str, code: str | None, kind: EventType, bounce: BounceType | None) -> None:
    form = {"MessageSid": "SM1234", "MessageStatus": status, "To": "+15558675310", "AccountSid": "AC1"}
    if code:
        form["ErrorCode"] = code
    [event] = normalize_twilio(form, NOW)
    assert (event.type, event.bounce_type, event.raw_type) == (kind, bounce, status)
    assert (event.provider_event_id, event.provider_message_id) == (f"SM1234:{status}", "SM1234")
    assert (event.recipient, event.occurred_at) == ("+15558675310", NOW)
    if code:
        assert event.reason == f"Twilio error {code}"


def test_twilio_malformed() -> None:
    with pytest.raises(MalformedPayload):
        normalize_twilio({"MessageStatus": "delivered"}, NOW)


def test_unstorable_characters_are_dropped_and_composed_ids_fit_their_column() -> None:
    """NUL (PostgreSQL text refuses it), lone surrogates (UTF-8 cannot encode them) and ids composed past 255
    characters would fail the insert: the event is stored without them rather than refused."""
    [sms] = normalize_twilio({"MessageSid": "SM" + "9" * 400, "MessageStatus": "undelivered", "To": "+1555\x00"}, NOW)
    assert len(sms.provider_event_id) == MAX_EVENT_ID
    assert sms.recipient == "+1555"
    recipient = {"emailAddress": "a@example.com"}
    bounce = {"notificationType": "Bounce", "mail": {"messageId": "m\x00"},
              "bounce": {"bounceType": "Permanent", "bouncedRecipients": [recipient]}}  # fmt: skip
    message = json.dumps(bounce).replace("a@example.com", "a\\ud800@example.com")  # JSON's escape of a lone surrogate
    [ses] = normalize_ses("M" * 300, message, NOW)
    assert (ses.recipient, ses.provider_message_id, len(ses.provider_event_id)) == ("a@example.com", "m", 255)
    [delivery] = normalize_postmark({"RecordType": "Delivery", "MessageID": "m", "DeliveredAt": "x\x00"}, NOW)
    assert "\x00" not in delivery.provider_event_id


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_dates_out_of_range_once_in_utc_fall_back_to_the_time_received(moment: str) -> None:
    [bounce] = normalize_postmark({"RecordType": "Bounce", "ID": 7, "Type": "HardBounce", "BouncedAt": moment}, NOW)
    assert bounce.occurred_at == NOW
    [opened] = normalize_ses("sns-1", json.dumps({"eventType": "Open", "mail": {"timestamp": moment}}), NOW)
    assert opened.occurred_at == NOW
