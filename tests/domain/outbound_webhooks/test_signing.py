"""Signatures checked by the `standardwebhooks` package's own verifier (the receivers' library)."""

from __future__ import annotations

import base64
import json
import time

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from domain.outbound_webhooks.signing import SECRET_PREFIX, new_secret, signed_headers


def test_secret_is_whsec_base64_of_32_bytes() -> None:
    secret = new_secret()
    assert secret.startswith(SECRET_PREFIX)
    assert len(base64.b64decode(secret.removeprefix(SECRET_PREFIX))) == 32
    assert new_secret() != secret


def test_standardwebhooks_verifies_our_signature() -> None:
    secret = new_secret()
    body = json.dumps({"type": "contact.created", "data": {"contact_id": "c_1"}}).encode()
    headers = signed_headers([secret], "msg_abc", int(time.time()), body)
    assert Webhook(secret).verify(body, headers) == json.loads(body)


def test_a_changed_body_or_another_secret_fails_verification() -> None:
    secret = new_secret()
    body = b'{"type":"contact.created"}'
    headers = signed_headers([secret], "msg_abc", int(time.time()), body)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b'{"type":"contact.updated"}', headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):  # the id is signed too
        Webhook(secret).verify(body, {**headers, "webhook-id": "msg_other"})


def test_a_stale_timestamp_fails_verification() -> None:
    secret = new_secret()
    body = b"{}"
    headers = signed_headers([secret], "msg_abc", int(time.time()) - 3600, body)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, headers)


def test_during_rotation_both_secrets_verify() -> None:
    old, new = new_secret(), new_secret()
    body = b'{"type":"score.crossed"}'
    headers = signed_headers([new, old], "msg_rot", int(time.time()), body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(new).verify(body, headers) == {"type": "score.crossed"}
    assert Webhook(old).verify(body, headers) == {"type": "score.crossed"}
    after = signed_headers([new], "msg_rot", int(time.time()), body)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(body, after)
