"""Mailgun's MIME send, as documented: HTTP basic auth `api:<key>` (a bare 401 "Forbidden" otherwise), 404 for a
domain not on the account, multipart/form-data with `to` and the MIME message as a file part named `message`,
send options (o:, h:, v:, t:) limited to 16 KB, 200 {"id": "<...>", "message": "Queued. Thank you."}."""

from __future__ import annotations

import base64
import hmac
import secrets
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.parser import HeaderParser
from email.utils import getaddresses, parseaddr

from fastapi import FastAPI, Request, Response

from tests.fakes.base import FakeProvider, Scripted, answer

OPTIONS_LIMIT = 16 * 1024


@dataclass(frozen=True)
class FormPart:
    name: str
    value: bytes
    filename: str | None = None


@dataclass(frozen=True)
class SentMime:
    message_id: str
    domain: str
    to: list[str]
    mime: bytes
    variables: dict[str, str] = field(default_factory=dict)


def mailgun_error(status: int, message: str, headers: dict[str, str] | None = None) -> Scripted:
    return Scripted(status, {"message": message}, headers or {})


def parse_form_data(content_type: str, body: bytes) -> list[FormPart] | None:
    """multipart/form-data parts with their bytes exactly as sent, or None when the body is not that."""
    header = Message()
    header["Content-Type"] = content_type
    boundary = header.get_param("boundary")
    if header.get_content_type() != "multipart/form-data" or not isinstance(boundary, str):
        return None
    segments = (b"\r\n" + body).split(b"\r\n--" + boundary.encode())
    if len(segments) < 3 or not segments[-1].startswith(b"--"):
        return None
    parts = []
    for segment in segments[1:-1]:
        head, separator, value = segment.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not separator:
            return None
        headers = HeaderParser().parsestr(head.decode("utf-8", "replace"))
        name = headers.get_param("name", header="content-disposition")
        filename = headers.get_param("filename", header="content-disposition")
        if not isinstance(name, str):
            return None
        parts.append(FormPart(name, value, filename if isinstance(filename, str) else None))
    return parts


class FakeMailgun(FakeProvider):
    def __init__(self, *, api_key: str, domains: set[str]) -> None:
        self.api_key = api_key
        self.domains = domains
        self.accepted: list[SentMime] = []
        super().__init__()

    def add_routes(self, app: FastAPI) -> None:
        @app.post("/v3/{domain}/messages.mime")
        async def send_mime(domain: str, request: Request) -> Response:
            raw, scripted = await self.intercept(request)
            if scripted is not None:
                return scripted
            if not self._authorized(request.headers.get("authorization", "")):
                return answer(401, "Forbidden")
            if domain not in self.domains:
                return answer(404, {"message": f"Domain not found: {domain}"})
            parts = parse_form_data(request.headers.get("content-type", ""), raw)
            if parts is None:
                return answer(400, {"message": "Send the message as multipart/form-data."})
            error, sent = self._send(domain, parts)
            if sent is None:
                return answer(400, {"message": error})
            self.accepted.append(sent)
            return answer(200, {"id": f"<{sent.message_id}>", "message": "Queued. Thank you."})

    def _authorized(self, authorization: str) -> bool:
        expected = "Basic " + base64.b64encode(f"api:{self.api_key}".encode()).decode()
        return hmac.compare_digest(authorization.encode(), expected.encode())

    def _send(self, domain: str, parts: list[FormPart]) -> tuple[str, SentMime | None]:
        to = [address for _, address in getaddresses([p.value.decode() for p in parts if p.name == "to"])]
        if not to:
            return "'to' parameter is missing", None
        for address in to:
            local, _, host = address.rpartition("@")
            if not local or "." not in host:
                return f"to parameter is not a valid address. please check documentation: {address}", None
        messages = [p for p in parts if p.name == "message"]
        if not messages:
            return "'message' parameter is missing", None
        if messages[0].filename is None:
            return "'message' parameter must be a file upload (multipart/form-data)", None
        mime = messages[0].value
        parsed = message_from_bytes(mime, policy=policy.default)
        if not isinstance(parsed, EmailMessage) or "@" not in parseaddr(str(parsed.get("From", "")))[1]:
            return "The message has no valid From header", None
        options = [p for p in parts if p.name[:2] in ("o:", "h:", "v:", "t:")]
        if sum(len(p.name) + len(p.value) for p in options) > OPTIONS_LIMIT:
            return "Send options (parameters starting with o:, h:, v:, or t:) are limited to 16 KB total", None
        variables = {p.name[2:]: p.value.decode() for p in options if p.name.startswith("v:")}
        message_id = f"{secrets.token_hex(8)}.{secrets.randbelow(10**6)}@{domain}"
        return "", SentMime(message_id, domain, to, mime, variables)
