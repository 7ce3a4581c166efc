from __future__ import annotations

import pytest

from domain.events.interest import OutboxKind
from domain.outbound_webhooks.events import WebhookEventType, event_type_of, interest_of
from domain.outbound_webhooks.retry import retry_delay
from domain.outbound_webhooks.targets import address_allowed, url_problem


@pytest.mark.parametrize(
    ("kind", "name", "expected"),
    [
        (OutboxKind.CONTACT, "created", WebhookEventType.CONTACT_CREATED),
        (OutboxKind.CONTACT, "updated", WebhookEventType.CONTACT_UPDATED),
        (OutboxKind.EVENT, "delivered", WebhookEventType.MESSAGE_DELIVERED),
        (OutboxKind.EVENT, "bounced", WebhookEventType.MESSAGE_BOUNCED),
        (OutboxKind.EVENT, "complained", WebhookEventType.MESSAGE_COMPLAINED),
        (OutboxKind.EVENT, "Signed Up", None),
        (OutboxKind.EVENT, "opened", None),
        (OutboxKind.SEGMENT_ENTERED, "seg_1", WebhookEventType.SEGMENT_ENTERED),
        (OutboxKind.SEGMENT_EXITED, "seg_1", WebhookEventType.SEGMENT_EXITED),
        (OutboxKind.SCORE_CROSSED, "total", WebhookEventType.SCORE_CROSSED),
        (OutboxKind.ALERT_OPENED, "total", WebhookEventType.ALERT_OPENED),
        (OutboxKind.TASK_ESCALATED, "tsk_1", WebhookEventType.TASK_ESCALATED),
    ],
)
def test_outbox_rows_announce_types(kind: str, name: str, expected: WebhookEventType | None) -> None:
    assert event_type_of(kind, name) == expected


def test_interest_asks_only_for_what_is_subscribed() -> None:
    interest = interest_of({"message.bounced", "segment.entered"})
    assert interest.names == frozenset({"bounced"})
    assert not interest.contacts
    assert interest_of({"contact.updated"}).contacts


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("https://hooks.example.com/in", None),
        ("http://hooks.example.com/in", "insecure_endpoint_url"),
        ("https://127.0.0.1/in", "private_endpoint_host"),
        ("https://10.1.2.3/in", "private_endpoint_host"),
        ("https://169.254.169.254/latest/meta-data", "private_endpoint_host"),
        ("https://[::1]/in", "private_endpoint_host"),
        ("https://localhost/in", "private_endpoint_host"),
        ("https://db.internal/in", "private_endpoint_host"),
        ("ftp://hooks.example.com/in", "invalid_endpoint_url"),
        ("https://user:pw@hooks.example.com/in", "invalid_endpoint_url"),
        ("https://[not-ipv6/in", "invalid_endpoint_url"),
        ("https://hooks.example.com:99999/in", "invalid_endpoint_url"),
    ],
)
def test_url_rules(url: str, code: str | None) -> None:
    problem = url_problem(url, private_networks_allowed=False)
    assert (problem[0] if problem else None) == code


def test_private_networks_setting_allows_loopback_http() -> None:
    assert url_problem("http://127.0.0.1:9/in", private_networks_allowed=True) is None
    assert address_allowed("127.0.0.1", private_networks_allowed=True)


@pytest.mark.parametrize(
    ("address", "allowed"),
    [("93.184.216.34", True), ("10.0.0.5", False), ("192.168.1.1", False), ("::1", False), ("fe80::1%eth0", False)],
)
def test_resolved_addresses(address: str, allowed: bool) -> None:
    assert address_allowed(address, private_networks_allowed=False) is allowed


def test_backoff_grows_and_scales() -> None:
    delays = [retry_delay(n).total_seconds() for n in range(1, 9)]
    assert delays == sorted(delays)
    assert retry_delay(1, 0.01).total_seconds() == pytest.approx(0.05)
