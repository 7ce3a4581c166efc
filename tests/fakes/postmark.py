"""Postmark's single-email endpoint, as documented: X-Postmark-Server-Token (401 with ErrorCode 10 when wrong),
JSON required (ErrorCode 409), 422 with Postmark's ErrorCode for a request it cannot send (300 invalid request,
400 unknown sender signature, 406 inactive recipient, 1235 unknown message stream), 200 with ErrorCode 0 and a
MessageID on success."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import getaddresses, parseaddr
from typing import Any

from fastapi import FastAPI, Request, Response

from tests.fakes.base import FakeProvider, Scripted, answer

PATH = "/email"
MAX_RECIPIENTS = 50


@dataclass(frozen=True)
class SentEmail:
    message_id: str
    body: dict[str, Any]


class PostmarkError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def postmark_error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> Scripted:
    return Scripted(status, {"ErrorCode": code, "Message": message}, headers or {})


class FakePostmark(FakeProvider):
    def __init__(
        self,
        *,
        server_token: str,
        sender_signatures: set[str],
        inactive_recipients: set[str] | None = None,
        message_streams: set[str] | None = None,
    ) -> None:
        self.server_token = server_token
        self.sender_signatures = sender_signatures
        self.inactive_recipients = inactive_recipients or set()
        self.message_streams = message_streams or {"outbound"}
        self.accepted: list[SentEmail] = []
        super().__init__()

    def add_routes(self, app: FastAPI) -> None:
        @app.post(PATH)
        async def send(request: Request) -> Response:
            raw, scripted = await self.intercept(request)
            if scripted is not None:
                return scripted
            try:
                accepted = self._send(request, raw)
            except PostmarkError as exc:
                return answer(exc.status, {"ErrorCode": exc.code, "Message": exc.message})
            self.accepted.append(accepted)
            return answer(
                200,
                {
                    "To": accepted.body["To"],
                    "SubmittedAt": datetime.now(UTC).isoformat(),
                    "MessageID": accepted.message_id,
                    "ErrorCode": 0,
                    "Message": "OK",
                },
            )

    def _send(self, request: Request, raw: bytes) -> SentEmail:
        # Header names are case-insensitive; the token must match exactly.
        if request.headers.get("x-postmark-server-token") != self.server_token:
            raise PostmarkError(401, 10, "Request does not contain a valid Server token.")
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            raise PostmarkError(422, 409, "JSON required: send Content-Type: application/json.")
        try:
            body = json.loads(raw)
        except ValueError:
            raise PostmarkError(422, 402, "Invalid JSON.") from None
        if not isinstance(body, dict):
            raise PostmarkError(422, 403, "Incompatible JSON: expected an object.")
        sender = parseaddr(str(body.get("From", "")))[1]
        if "@" not in sender:
            raise PostmarkError(422, 300, f"Invalid 'From' address: '{body.get('From')}'.")
        if sender.rpartition("@")[2].lower() not in self.sender_signatures:
            raise PostmarkError(
                422, 400, f"The 'From' address you supplied ({sender}) is not a Sender Signature on your account."
            )
        recipients = self._recipients(body)
        if not (isinstance(body.get("HtmlBody"), str) and body["HtmlBody"]) and not (
            isinstance(body.get("TextBody"), str) and body["TextBody"]
        ):
            raise PostmarkError(422, 300, "Provide either email TextBody or HtmlBody or both.")
        headers = body.get("Headers", [])
        if not isinstance(headers, list) or not all(
            isinstance(h, dict) and set(h) == {"Name", "Value"} and all(isinstance(v, str) for v in h.values())
            for h in headers
        ):
            raise PostmarkError(422, 403, "Incompatible JSON: Headers must be a list of {Name, Value} strings.")
        metadata = body.get("Metadata", {})
        if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
            raise PostmarkError(422, 403, "Incompatible JSON: Metadata values must be strings.")
        stream = body.get("MessageStream", "outbound")
        if stream not in self.message_streams:
            raise PostmarkError(422, 1235, f"The message stream '{stream}' does not exist on this server.")
        inactive = [r for r in recipients if r.lower() in self.inactive_recipients]
        if inactive:
            raise PostmarkError(
                422,
                406,
                "You tried to send to recipient(s) that have been marked as inactive. "
                f"Found inactive addresses: {', '.join(inactive)}.",
            )
        return SentEmail(str(uuid.uuid4()), body)

    @staticmethod
    def _recipients(body: dict[str, Any]) -> list[str]:
        to = body.get("To")
        if not isinstance(to, str) or not to.strip():
            raise PostmarkError(422, 300, "Invalid 'To' address: ''.")
        addresses = [address for _, address in getaddresses([to, str(body.get("Cc", "")), str(body.get("Bcc", ""))])]
        addresses = [a for a in addresses if a]
        for address in addresses:
            local, _, domain = address.rpartition("@")
            if not local or "." not in domain:
                raise PostmarkError(422, 300, f"Invalid 'To' address: '{address}'.")
        if len(addresses) > MAX_RECIPIENTS:
            raise PostmarkError(422, 300, f"Maximum of {MAX_RECIPIENTS} recipients allowed per email message.")
        return addresses
