"""DKIM signing checked by dkimpy's own verifier, with the public key served from a dnsfunc and from a real
authoritative DNS server (dnslib) on loopback."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import dkim  # type: ignore[import-untyped,unused-ignore]
import dns.resolver
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from dnslib import QTYPE, RR, TXT, DNSRecord  # type: ignore[import-untyped,unused-ignore]
from dnslib.server import BaseResolver, DNSServer  # type: ignore[import-untyped,unused-ignore]

from activities.delivery.dkim import DkimKey, DkimKeyError, public_key_record, sign_message
from domain.delivery.email import ListUnsubscribe, build_email, email_bytes

DOMAIN, SELECTOR = "mail.example.test", "mtc1"
RECORD_NAME = f"{SELECTOR}._domainkey.{DOMAIN}."
URL = "https://api.example.test/u/AWsH1jIBd3NfMDFtOGI5c2RrcThzdDd5N3oxZmhrY3Rid3oAZmlyc3RuYW1lLmxhc3RuYW1lQGV4YW1wb"

# A 512-bit RSA key (cryptography refuses to generate keys this short; verifiers refuse them under 1024 bits).
SHORT_RSA_512_PEM = b"""-----BEGIN PRIVATE KEY-----
MIIBVgIBADANBgkqhkiG9w0BAQEFAASCAUAwggE8AgEAAkEAwMMeOoK07QeOj3Io
WTLNhr/ZRHVmEGnBuvKjks570+JAhwFp92exr/spbN+04+rFLEcGueQmUEFvuNx4
YdngkwIDAQABAkBZEI6CCGyibHBxVRTRigiurywrVncvND5AK+ZqaZ+LWVx5VbiA
iXdgm/o7Ew0MeZIuy9XxwBXAJDkkT0qXJZYhAiEA5vJc8HPR+7cmUWj55IKmPG5a
GIgy6rYdYAnWB4bI65ECIQDVrFRQVxLxXJqwaDh+lxCNcHXDU55ZuOoHlIJhJOuP
4wIhAOOSIVjjmCAlCoIgIlY1E5/q0abo1tuH1wxixN+nxmaxAiEAnOaaUxRdeJbD
kF43fd137iRylSfF06SRVVecFbGCuHkCIQDV+E/zlccUm7jQeWcBVJk3d2y5cS3D
iuRXUWPSmfxlLw==
-----END PRIVATE KEY-----
"""


def _pem(key: rsa.RSAPrivateKey, fmt: serialization.PrivateFormat) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())


@pytest.fixture(scope="module")
def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def key(private_key: rsa.RSAPrivateKey) -> DkimKey:
    return DkimKey(DOMAIN, SELECTOR, _pem(private_key, serialization.PrivateFormat.PKCS8))


def _raw(unsubscribe: bool = True) -> bytes:
    message = build_email(
        sender="Team <team@mail.example.test>",
        to="ada@example.test",
        subject="Autumn news",
        html="<p>Hello Ada</p>",
        text="Hello Ada",
        idempotency_key="k-dkim",
        unsubscribe=ListUnsubscribe(URL, mailto="unsubscribe@mail.example.test") if unsubscribe else None,
    )
    return email_bytes(message)


def _dnsfunc(key: DkimKey) -> Any:
    record = public_key_record(key.private_key_pem).encode()

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        return record if name.decode().lower() == RECORD_NAME else None

    return lookup


def _tags(signed: bytes) -> dict[str, str]:
    header = signed.split(b"\r\n\r\n", 1)[0].decode()
    match = re.search(r"^DKIM-Signature:(.*?)(?=\r\n\S)", header, re.S | re.M)
    assert match is not None
    value = re.sub(r"\s+", "", match.group(1))
    return dict(part.split("=", 1) for part in value.split(";") if part)


def test_signature_verifies(key: DkimKey) -> None:
    raw = _raw()
    signed = sign_message(raw, key)
    prefix, _, rest = signed.partition(b"\r\nFrom: ")
    assert prefix.startswith(b"DKIM-Signature:")
    assert b"From: " + rest == raw  # the message itself goes out unchanged
    assert dkim.verify(signed, dnsfunc=_dnsfunc(key))


def test_tags_name_the_domain_selector_algorithm_and_both_unsubscribe_headers(key: DkimKey) -> None:
    tags = _tags(sign_message(_raw(), key))
    assert (tags["v"], tags["a"], tags["c"], tags["d"], tags["s"]) == (
        "1",
        "rsa-sha256",
        "relaxed/relaxed",
        DOMAIN,
        SELECTOR,
    )
    signed_headers = tags["h"].split(":")
    for name in ("from", "to", "subject", "mime-version", "content-type"):
        assert name in signed_headers
    # SES rewrites these on raw mail; a signature over them would fail there.
    assert "date" not in signed_headers
    assert "message-id" not in signed_headers
    assert signed_headers.count("list-unsubscribe") == 2  # present once, over-signed once
    assert signed_headers.count("list-unsubscribe-post") == 2


@pytest.mark.parametrize(
    ("original", "replacement"),
    [
        (b"List-Unsubscribe: <https://api.example.test/u/", b"List-Unsubscribe: <https://evil.example.test/u/"),
        (b"List-Unsubscribe-Post: List-Unsubscribe=One-Click", b"List-Unsubscribe-Post: List-Unsubscribe=Two"),
        (b"Subject: Autumn news", b"Subject: Winter news"),
        (b"Hello Ada", b"Hello Bob"),
    ],
)
def test_tampering_breaks_verification(key: DkimKey, original: bytes, replacement: bytes) -> None:
    signed = sign_message(_raw(), key)
    assert original in signed
    assert not dkim.verify(signed.replace(original, replacement, 1), dnsfunc=_dnsfunc(key))


def test_a_prepended_second_list_unsubscribe_breaks_verification(key: DkimKey) -> None:
    signed = sign_message(_raw(), key)
    forged = b"List-Unsubscribe: <https://evil.example.test/u/x>\r\n" + signed
    assert not dkim.verify(forged, dnsfunc=_dnsfunc(key))


def test_relaxed_canonicalization_survives_refolding(key: DkimKey) -> None:
    signed = sign_message(_raw(), key)
    refolded = signed.replace(b"Subject: Autumn news", b"Subject:   Autumn\r\n  news")
    assert dkim.verify(refolded, dnsfunc=_dnsfunc(key))


def test_adding_unsubscribe_headers_to_a_message_signed_without_them_breaks_it(key: DkimKey) -> None:
    signed = sign_message(_raw(unsubscribe=False), key)
    assert dkim.verify(signed, dnsfunc=_dnsfunc(key))
    headers, body = signed.split(b"\r\n\r\n", 1)
    injected = headers + b"\r\nList-Unsubscribe: <https://evil.example.test/u/x>\r\n\r\n" + body
    assert not dkim.verify(injected, dnsfunc=_dnsfunc(key))


def test_pkcs1_keys_are_accepted(private_key: rsa.RSAPrivateKey) -> None:
    pkcs1 = DkimKey(DOMAIN, SELECTOR, _pem(private_key, serialization.PrivateFormat.TraditionalOpenSSL))
    assert dkim.verify(sign_message(_raw(), pkcs1), dnsfunc=_dnsfunc(pkcs1))


@pytest.mark.parametrize(
    "pem",
    [
        b"not a key",
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        SHORT_RSA_512_PEM,
    ],
    ids=["garbage", "bad-der", "ec-key", "short-rsa"],
)
def test_unusable_keys_raise_a_configuration_error(pem: bytes) -> None:
    with pytest.raises(DkimKeyError):
        sign_message(_raw(), DkimKey(DOMAIN, SELECTOR, pem))


class _KeyResolver(BaseResolver):  # type: ignore[misc]
    """Authoritative for one TXT record, served split into 255-byte strings as real zones do."""

    def __init__(self, name: str, value: str) -> None:
        self._name, self._strings = name, [value[i : i + 255] for i in range(0, len(value), 255)]

    def resolve(self, request: DNSRecord, handler: Any) -> DNSRecord:
        reply = request.reply()
        if str(request.q.qname).lower() == self._name and request.q.qtype == QTYPE.TXT:
            reply.add_answer(RR(self._name, QTYPE.TXT, rdata=TXT(self._strings), ttl=60))
        else:
            reply.header.rcode = 3  # NXDOMAIN
        return reply


@pytest.fixture
def loopback_dns(key: DkimKey, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """dkimpy's default lookup (dnspython's default resolver) pointed at a dnslib server on 127.0.0.1."""
    record = public_key_record(key.private_key_pem)
    assert len(record) > 255
    server = DNSServer(_KeyResolver(RECORD_NAME, record), address="127.0.0.1", port=0, logger=_Quiet())
    server.start_thread()
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = server.server.server_address[1]
    monkeypatch.setattr(dns.resolver, "default_resolver", resolver)
    try:
        yield
    finally:
        server.stop()
        server.server.server_close()


class _Quiet:
    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: None


@pytest.mark.usefixtures("loopback_dns")
def test_verifies_through_a_real_dns_server(key: DkimKey) -> None:
    signed = sign_message(_raw(), key)
    assert dkim.verify(signed)
    assert not dkim.verify(signed.replace(b"api.example.test", b"evil.example.test", 1))
