"""Amazon SES v2 SendEmail, as the API documents it: SigV4-authenticated (the signature is re-derived here from
the request as it arrived, independently of the client's signer), REST-JSON errors (`X-Amzn-ErrorType` and a
`message`), raw content base64-encoded, the sender identity verified, tags restricted to [A-Za-z0-9_-]."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.utils import getaddresses, parseaddr
from typing import Any
from urllib.parse import parse_qsl, quote

from fastapi import FastAPI, Request, Response

from tests.fakes.base import FakeProvider, Scripted, answer

PATH = "/v2/email/outbound-emails"
_TAG = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request,"
    r"\s*SignedHeaders=(?P<signed>[a-z0-9;-]+),\s*Signature=(?P<signature>[0-9a-f]{64})$"
)
MAX_SKEW_SECONDS = 300


@dataclass(frozen=True)
class AwsKey:
    secret: str
    session_token: str | None = None


@dataclass(frozen=True)
class SentRaw:
    message_id: str
    from_address: str
    to: list[str]
    raw: bytes
    tags: dict[str, str]
    configuration_set: str | None


class SesError(Exception):
    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error_type, self.message = status, error_type, message


def ses_error(status: int, error_type: str, message: str, headers: dict[str, str] | None = None) -> Scripted:
    return Scripted(status, {"message": message}, {**_error_headers(error_type), **(headers or {})})


def _error_headers(error_type: str) -> dict[str, str]:
    return {
        "x-amzn-ErrorType": f"{error_type}:http://internal.amazon.com/coral/com.amazonaws.sesv2/",
        "x-amzn-RequestId": str(uuid.uuid4()),
    }


class FakeSes(FakeProvider):
    def __init__(
        self,
        *,
        keys: dict[str, AwsKey],
        region: str = "us-east-1",
        verified_identities: set[str] | None = None,
        configuration_sets: set[str] | None = None,
    ) -> None:
        self.keys = keys
        self.region = region
        self.verified_identities = verified_identities or set()
        self.configuration_sets = configuration_sets or set()
        self.accepted: list[SentRaw] = []
        super().__init__()

    def add_routes(self, app: FastAPI) -> None:
        @app.post(PATH)
        async def send_email(request: Request) -> Response:
            body, scripted = await self.intercept(request)
            if scripted is not None:
                return scripted
            try:
                self._authenticate(request, body)
                sent = self._send(body)
            except SesError as exc:
                return answer(exc.status, {"message": exc.message}, _error_headers(exc.error_type))
            self.accepted.append(sent)
            return answer(200, {"MessageId": sent.message_id}, {"x-amzn-RequestId": str(uuid.uuid4())})

    # -- SigV4, verified the way AWS does it --------------------------------------------------------------------

    def _authenticate(self, request: Request, body: bytes) -> None:
        authorization = request.headers.get("authorization")
        if not authorization:
            raise SesError(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
        match = _AUTH.match(authorization)
        if not match:
            raise SesError(400, "IncompleteSignatureException", f"Authorization header is malformed: {authorization}")
        key = self.keys.get(match["key"])
        if key is None:
            raise SesError(403, "UnrecognizedClientException", "The security token included in the request is invalid.")
        if key.session_token is not None and request.headers.get("x-amz-security-token") != key.session_token:
            raise SesError(403, "UnrecognizedClientException", "The security token included in the request is invalid.")
        signed = match["signed"].split(";")
        if "host" not in signed or "x-amz-date" not in signed:
            raise SesError(400, "IncompleteSignatureException", "Host and X-Amz-Date must be signed.")
        if key.session_token is not None and "x-amz-security-token" not in signed:
            raise SesError(400, "IncompleteSignatureException", "X-Amz-Security-Token must be signed.")
        amz_date = request.headers.get("x-amz-date", "")
        try:
            when = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError:
            raise SesError(400, "IncompleteSignatureException", "X-Amz-Date is missing or malformed.") from None
        if abs((datetime.now(UTC) - when).total_seconds()) > MAX_SKEW_SECONDS:
            raise SesError(403, "InvalidSignatureException", "Signature expired: the request time is too skewed.")
        if match["date"] != amz_date[:8] or match["region"] != self.region or match["service"] != "ses":
            raise SesError(403, "InvalidSignatureException", f"Credential should be scoped to {self.region}/ses.")
        expected = self._signature(request, body, signed, amz_date, key.secret)
        if not hmac.compare_digest(expected, match["signature"]):
            raise SesError(
                403,
                "InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided.",
            )

    def _signature(self, request: Request, body: bytes, signed: list[str], amz_date: str, secret: str) -> str:
        raw_path = request.scope["raw_path"].decode("ascii")
        query = sorted(
            (quote(k, safe="-_.~"), quote(v, safe="-_.~"))
            for k, v in parse_qsl(request.scope["query_string"].decode("ascii"), keep_blank_values=True)
        )
        header_lines = ""
        for name in signed:
            values = request.headers.getlist(name)
            if not values:
                raise SesError(403, "InvalidSignatureException", f"Signed header {name} is missing.")
            header_lines += name + ":" + ",".join(" ".join(v.split()) for v in values) + "\n"
        canonical = "\n".join(
            [
                request.method,
                quote(raw_path, safe="/-_.~"),
                "&".join(f"{k}={v}" for k, v in query),
                header_lines,
                ";".join(signed),
                hashlib.sha256(body).hexdigest(),
            ]
        )
        scope = f"{amz_date[:8]}/{self.region}/ses/aws4_request"
        to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        key = ("AWS4" + secret).encode()
        for part in (amz_date[:8], self.region, "ses", "aws4_request"):
            key = hmac.digest(key, part.encode(), "sha256")
        return hmac.new(key, to_sign.encode(), "sha256").hexdigest()

    # -- SendEmail ---------------------------------------------------------------------------------------------

    def _send(self, body: bytes) -> SentRaw:
        try:
            request: Any = json.loads(body)
        except ValueError:
            raise SesError(
                400, "SerializationException", "Start of structure or map found where not expected."
            ) from None
        if not isinstance(request, dict):
            raise SesError(400, "SerializationException", "Expected a JSON object.")
        content = request.get("Content")
        if not isinstance(content, dict) or len(content) != 1 or not set(content) <= {"Simple", "Raw", "Template"}:
            raise SesError(400, "BadRequestException", "Content must hold exactly one of Simple, Raw or Template.")
        raw_content = content.get("Raw")
        if not isinstance(raw_content, dict) or not isinstance(raw_content.get("Data"), str):
            raise SesError(400, "BadRequestException", "This fake sends Raw content only; Raw.Data is required.")
        try:
            raw = base64.b64decode(raw_content["Data"], validate=True)
        except binascii.Error:
            raise SesError(400, "SerializationException", "Raw.Data is not valid base64.") from None
        if b"\r\n\r\n" not in raw and b"\n\n" not in raw:
            raise SesError(400, "MessageRejected", "The message has to contain a header and a body.")
        parsed = message_from_bytes(raw, policy=policy.default)
        from_address = request.get("FromEmailAddress") or parseaddr(str(parsed.get("From", "")))[1]
        if not isinstance(from_address, str) or "@" not in from_address:
            raise SesError(400, "BadRequestException", "Missing final '@domain' in the From address.")
        if not self._verified(from_address):
            raise SesError(
                400,
                "MessageRejected",
                "Email address is not verified. The following identities failed the check in region "
                f"{self.region.upper()}: {from_address}",
            )
        to = self._recipients(request.get("Destination"), parsed)
        tags = self._tags(request.get("EmailTags", []))
        configuration_set = request.get("ConfigurationSetName")
        if configuration_set is not None and configuration_set not in self.configuration_sets:
            raise SesError(404, "NotFoundException", f"Configuration set <{configuration_set}> does not exist.")
        message_id = f"0100{uuid.uuid4().hex}-{uuid.uuid4()}-000000"
        return SentRaw(message_id, from_address, to, raw, tags, configuration_set)

    def _verified(self, address: str) -> bool:
        return address.lower() in self.verified_identities or address.rpartition("@")[2].lower() in (
            self.verified_identities
        )

    @staticmethod
    def _recipients(destination: Any, parsed: Any) -> list[str]:
        if destination is None:
            return [address for _, address in getaddresses([str(v) for v in parsed.get_all("To", [])])]
        if not isinstance(destination, dict):
            raise SesError(400, "SerializationException", "Destination must be an object.")
        to = destination.get("ToAddresses", [])
        if not isinstance(to, list) or not all(isinstance(a, str) for a in to):
            raise SesError(400, "SerializationException", "ToAddresses must be a list of strings.")
        for address in to:
            if "@" not in parseaddr(address)[1]:
                raise SesError(400, "BadRequestException", f"Missing final '@domain' in {address!r}.")
        if len(to) > 50:
            raise SesError(400, "MessageRejected", "Recipient count exceeds 50.")
        return to

    @staticmethod
    def _tags(tags: Any) -> dict[str, str]:
        if not isinstance(tags, list):
            raise SesError(400, "SerializationException", "EmailTags must be a list.")
        result = {}
        for tag in tags:
            name, value = (tag.get("Name"), tag.get("Value")) if isinstance(tag, dict) else (None, None)
            if not (isinstance(name, str) and _TAG.match(name) and isinstance(value, str) and _TAG.match(value)):
                raise SesError(
                    400, "BadRequestException", f"Invalid tag {tag!r}: only ASCII letters, digits, '_' and '-'."
                )
            result[name] = value
        return result
