from __future__ import annotations

import base64
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial

import pytest

from domain.delivery.unsubscribe import PURPOSE, InvalidUnsubscribeToken, Seal, Unseal, UnsubscribeClaim, decode, encode
from domain.ids import new_id
from mauntic.secrets import SecretBox
from mauntic.unsubscribe import read_unsubscribe_token, unsubscribe_url


def sealer(master_key: str) -> tuple[Seal, Unseal]:
    box = SecretBox(master_key)
    return partial(box.seal, PURPOSE), partial(box.unseal, PURPOSE)


SEAL, UNSEAL = sealer("k" * 40)
CLAIM = UnsubscribeClaim(
    workspace_id=new_id("ws"),
    channel="email",
    address="ada.lovelace@example.test",
    message_log_id=new_id("msg"),
    issued_at=datetime(2026, 11, 26, 6, 30, tzinfo=UTC),
)


def test_round_trip_keeps_every_field() -> None:
    token = encode(CLAIM, SEAL)
    assert decode(token, UNSEAL) == CLAIM
    assert decode(token, UNSEAL).fingerprint() == CLAIM.fingerprint()


def test_tokens_are_url_safe_and_short() -> None:
    token = encode(CLAIM, SEAL)
    assert len(token) < 200
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert b"lovelace" not in base64.urlsafe_b64decode(token + "==")  # opaque: the address cannot be read back


@pytest.mark.parametrize("channel", ["sms", "push"])
def test_other_channels_and_no_message_log(channel: str) -> None:
    claim = replace(CLAIM, channel=channel, address="+15551234567", message_log_id=None)
    assert decode(encode(claim, SEAL), UNSEAL) == claim


def test_every_flipped_byte_is_rejected() -> None:
    raw = bytearray(base64.urlsafe_b64decode(encode(CLAIM, SEAL) + "=="))
    for index in range(len(raw)):
        tampered = bytearray(raw)
        tampered[index] ^= 0x01
        token = base64.urlsafe_b64encode(bytes(tampered)).rstrip(b"=").decode()
        with pytest.raises(InvalidUnsubscribeToken):
            decode(token, UNSEAL)


def test_every_truncation_is_rejected() -> None:
    token = encode(CLAIM, SEAL)
    for length in range(len(token)):
        with pytest.raises(InvalidUnsubscribeToken):
            decode(token[:length], UNSEAL)


def test_a_token_sealed_with_another_key_is_rejected() -> None:
    with pytest.raises(InvalidUnsubscribeToken, match="signature"):
        decode(encode(CLAIM, sealer("x" * 40)[0]), UNSEAL)


def test_secret_boxes_with_different_master_keys_do_not_accept_each_others_tokens() -> None:
    ours, theirs = SecretBox("a" * 40), SecretBox("b" * 40)
    url = unsubscribe_url(
        theirs, "https://m.example.test/", workspace_id="ws_1", channel="email", address="a@b.test", message_log_id=None
    )
    assert url.startswith("https://m.example.test/u/")
    token = url.rsplit("/", 1)[1]
    assert read_unsubscribe_token(theirs, token).address == "a@b.test"
    with pytest.raises(InvalidUnsubscribeToken):
        read_unsubscribe_token(ours, token)


@pytest.mark.parametrize(
    "garbage",
    ["", "a", "!!!!", "é" * 40, "A" * 5000, "AAAA" * 10, "====", "a.b.c", "\x00" * 30, "%2F%2F"],
)
def test_garbage_is_rejected_with_the_domain_error(garbage: str) -> None:
    with pytest.raises(InvalidUnsubscribeToken):
        decode(garbage, UNSEAL)


def test_a_validly_sealed_payload_of_the_wrong_shape_is_rejected() -> None:
    """A payload that opens under our key but that we never produce (e.g. an unknown version) does not decode."""
    payload = b"\x09\x00\x00\x00\x00\x01ws_1\x00a@b.test\x00"
    token = base64.urlsafe_b64encode(SEAL(payload)).decode()
    with pytest.raises(InvalidUnsubscribeToken, match="unsupported"):
        decode(token, UNSEAL)


@pytest.mark.parametrize(
    "claim",
    [replace(CLAIM, channel="fax"), replace(CLAIM, address=""), replace(CLAIM, workspace_id="w\x00s")],
)
def test_encode_refuses_claims_it_could_not_decode(claim: UnsubscribeClaim) -> None:
    with pytest.raises(ValueError, match=r"."):
        encode(claim, SEAL)
