"""SigV4 against AWS's published signing test suite (the aws-sig-v4-test-suite as kept in awslabs/aws-c-auth,
tests/aws-signing-test-suite/v4: credentials AKIDEXAMPLE, 2015-08-30T12:36:00Z, us-east-1, service "service"), and
against botocore's signer for the request the SES adapter makes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from botocore import auth as botocore_auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from activities.delivery.sigv4 import AwsCredentials, canonical_path, canonical_query, sign, signing_key

SUITE_TIME = datetime(2015, 8, 30, 12, 36, tzinfo=UTC)
SUITE_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
SUITE_TOKEN = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"
HOST = {"Host": "example.amazonaws.com"}


@dataclass(frozen=True)
class Vector:
    name: str
    method: str
    path: str
    signature: str
    signed_headers: str = "host;x-amz-date"
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    session_token: str | None = None
    sign_content_sha256: bool = False


VECTORS = [
    Vector("get-vanilla", "GET", "/", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
    Vector("post-vanilla", "POST", "/", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
    Vector(
        "get-vanilla-query-order-key-case",
        "GET",
        "/?Param2=value2&Param1=value1",
        "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
    ),
    Vector(
        "get-vanilla-query-unreserved",
        "GET",
        "/?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz="
        "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
        "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197",
    ),
    Vector(
        "get-vanilla-utf8-query", "GET", "/?ሴ=bar", "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"
    ),
    Vector(
        "post-vanilla-query",
        "POST",
        "/?Param1=value1",
        "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11",
    ),
    Vector("get-utf8", "GET", "/ሴ", "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"),
    Vector(
        "get-space-normalized",
        "GET",
        "/example space/",
        "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741",
    ),
    Vector(
        "get-slashes-normalized",
        "GET",
        "//example//",
        "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84",
    ),
    Vector(
        "get-relative-relative-normalized",
        "GET",
        "/example1/example2/../..",
        "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    ),
    Vector(
        "get-header-value-trim",
        "GET",
        "/",
        "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
        signed_headers="host;my-header1;my-header2;x-amz-date",
        headers={"My-Header1": " value1", "My-Header2": ' "a   b   c"'},
    ),
    Vector(
        "get-header-value-multiline",
        "GET",
        "/",
        "cfd34249e4b1c8d6b91ef74165d41a32e5fab3306300901bb65a51a73575eefd",
        signed_headers="host;my-header1;x-amz-date",
        headers={"My-Header1": "value1\n  value2\n     value3"},
    ),
    Vector(
        "get-vanilla-with-session-token",
        "GET",
        "/",
        "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8",
        signed_headers="host;x-amz-date;x-amz-security-token",
        session_token=SUITE_TOKEN,
    ),
    Vector(
        "post-x-www-form-urlencoded",
        "POST",
        "/",
        "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b",
        signed_headers="content-length;content-type;host;x-amz-content-sha256;x-amz-date",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Content-Length": "13"},
        body=b"Param1=value1",
        sign_content_sha256=True,
    ),
]


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.name)
def test_aws_signing_suite(vector: Vector) -> None:
    signed = sign(
        method=vector.method,
        url=f"https://example.amazonaws.com{vector.path}",
        headers={**HOST, **vector.headers},
        body=vector.body,
        credentials=AwsCredentials("AKIDEXAMPLE", SUITE_SECRET, vector.session_token),
        region="us-east-1",
        service="service",
        now=SUITE_TIME,
        sign_content_sha256=vector.sign_content_sha256,
    )
    assert signed.headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        f"SignedHeaders={vector.signed_headers}, Signature={vector.signature}"
    )
    assert signed.headers["X-Amz-Date"] == "20150830T123600Z"
    if vector.session_token:
        assert signed.headers["X-Amz-Security-Token"] == vector.session_token
    else:
        assert "X-Amz-Security-Token" not in signed.headers


def test_get_vanilla_intermediate_strings() -> None:
    signed = sign(
        method="GET",
        url="https://example.amazonaws.com/",
        headers=HOST,
        body=b"",
        credentials=AwsCredentials("AKIDEXAMPLE", SUITE_SECRET),
        region="us-east-1",
        service="service",
        now=SUITE_TIME,
    )
    assert signed.canonical_request == (
        "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    assert signed.string_to_sign == (
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
        "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"
    )


def test_signing_key_matches_the_published_derivation() -> None:
    # AWS's documented example key derivation for 20150830/us-east-1/iam.
    key = signing_key(SUITE_SECRET, "20150830", "us-east-1", "iam")
    assert key.hex() == "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"


def test_host_defaults_to_the_url_with_a_non_default_port() -> None:
    signed = sign(
        method="GET",
        url="http://127.0.0.1:8443/",
        headers={},
        body=b"",
        credentials=AwsCredentials("AKIDEXAMPLE", SUITE_SECRET),
        region="us-east-1",
        service="service",
        now=SUITE_TIME,
    )
    assert "\nhost:127.0.0.1:8443\n" in signed.canonical_request


def test_an_encoded_path_is_encoded_again_and_the_query_sorted() -> None:
    assert canonical_path("/v2/email/identities/ada%40example.com") == "/v2/email/identities/ada%2540example.com"
    assert canonical_query("b=2&a=x y&a=1&c") == "a=1&a=x%20y&b=2&c="


def test_matches_botocore_for_the_ses_send_request(monkeypatch: pytest.MonkeyPatch) -> None:
    when = datetime(2026, 3, 1, 9, 30, 15, tzinfo=UTC)
    monkeypatch.setattr(botocore_auth, "get_current_datetime", lambda: when.replace(tzinfo=None))
    url = "https://email.eu-west-1.amazonaws.com/v2/email/outbound-emails"
    body = b'{"Content": {"Raw": {"Data": "RnJvbTogYQ0KDQpoaQ=="}}}'
    headers = {"Content-Type": "application/json", "Host": "email.eu-west-1.amazonaws.com"}
    for token in (None, "FwoGZXIvYXdzEXAMPLETOKEN"):
        request = AWSRequest(method="POST", url=url, data=body, headers=dict(headers))
        botocore_auth.SigV4Auth(Credentials("AKIAIOSFODNN7EXAMPLE", SUITE_SECRET, token), "ses", "eu-west-1").add_auth(
            request
        )
        ours = sign(
            method="POST",
            url=url,
            headers=headers,
            body=body,
            credentials=AwsCredentials("AKIAIOSFODNN7EXAMPLE", SUITE_SECRET, token),
            region="eu-west-1",
            service="ses",
            now=when,
        )
        assert ours.headers["Authorization"] == request.headers["Authorization"]
        assert ours.headers["X-Amz-Date"] == request.headers["X-Amz-Date"]
        assert ours.headers.get("X-Amz-Security-Token") == request.headers.get("X-Amz-Security-Token")


def test_any_change_to_the_request_changes_the_signature() -> None:
    def signature(body: bytes, path: str = "/v2/email/outbound-emails") -> str:
        return sign(
            method="POST",
            url=f"https://email.us-east-1.amazonaws.com{path}",
            headers={"Content-Type": "application/json"},
            body=body,
            credentials=AwsCredentials("AKIDEXAMPLE", SUITE_SECRET),
            region="us-east-1",
            service="ses",
            now=SUITE_TIME,
        ).signature

    base = signature(b"{}")
    assert base != signature(b"{ }")
    assert base != signature(b"{}", "/v2/email/outbound-email")
