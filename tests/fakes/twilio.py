"""A fake of Twilio's Messages API (2010-04-01) for contract tests, served with tests.servers.serve_api.

It implements the documented wire format: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded
`To`, `From` or `MessagingServiceSid`, `Body`, optional `StatusCallback`; HTTP basic auth with the Account SID
and Auth Token; 201 with the Message resource on success; errors as `{code, message, more_info, status}` with
Twilio's error codes. Recipients can be marked as having replied STOP or as landlines, and any answer can be
scripted for the next requests.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from tests.servers import serve_api

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


@dataclass
class ScriptedAnswer:
    status: int
    body: dict[str, Any] | str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class ReceivedRequest:
    account_sid: str
    form: dict[str, str]
    authorization: str | None
    content_type: str


@dataclass
class FakeTwilio:
    account_sid: str
    auth_token: str
    numbers: set[str] = field(default_factory=set)
    messaging_services: set[str] = field(default_factory=set)
    unsubscribed: set[str] = field(default_factory=set)
    landlines: set[str] = field(default_factory=set)
    scripted: list[ScriptedAnswer] = field(default_factory=list)
    requests: list[ReceivedRequest] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)

    def fail_next(self, status: int, code: int | None, message: str = "", *, retry_after: str | None = None) -> None:
        """Answer the next request with this Twilio error (after authentication, like the real service)."""
        body: dict[str, Any] | str = (
            _error_body(status, code, message or f"scripted error {code}") if code is not None else message
        )
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        self.scripted.append(ScriptedAnswer(status, body, headers))

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/2010-04-01/Accounts/{account_sid}/Messages.json")
        async def create_message(account_sid: str, request: Request) -> Response:
            form = {k: v[-1] for k, v in parse_qs((await request.body()).decode(), keep_blank_values=True).items()}
            self.requests.append(
                ReceivedRequest(
                    account_sid=account_sid,
                    form=form,
                    authorization=request.headers.get("authorization"),
                    content_type=request.headers.get("content-type", ""),
                )
            )
            if not self._authenticated(request.headers.get("authorization")):
                return _error(401, 20003, "Authenticate")
            if account_sid != self.account_sid:
                return _error(404, 20404, f"The requested resource /2010-04-01/Accounts/{account_sid} was not found")
            if self.scripted:
                answer = self.scripted.pop(0)
                if isinstance(answer.body, str):  # e.g. a proxy's HTML error page
                    return Response(
                        answer.body, status_code=answer.status, headers=answer.headers, media_type="text/html"
                    )
                return JSONResponse(answer.body, status_code=answer.status, headers=answer.headers)
            return self._create(form)

        return app

    def _authenticated(self, header: str | None) -> bool:
        scheme, _, encoded = (header or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return hmac.compare_digest(user, self.account_sid) and hmac.compare_digest(password, self.auth_token)

    def _create(self, form: dict[str, str]) -> JSONResponse:
        to, sender, service = form.get("To", ""), form.get("From"), form.get("MessagingServiceSid")
        body = form.get("Body", "")
        if not to:
            return _error(400, 21604, "A 'To' phone number is required.")
        if not (sender or service):
            return _error(400, 21603, "A 'From' phone number is required.")
        if not body:
            return _error(400, 21602, "Message body is required.")
        if len(body) > 1600:
            return _error(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
        if service is not None and service not in self.messaging_services:
            return _error(400, 21705, "The Messaging Service Sid is invalid.")
        if sender is not None and sender not in self.numbers:
            return _error(
                400, 21606, f"The From phone number {sender} is not a valid, SMS-capable inbound phone number."
            )
        if not _E164.match(to):
            return _error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if to in self.landlines:
            return _error(400, 21614, f"'To' number {to} is not a valid mobile number")
        if to in self.unsubscribed:
            return _error(400, 21610, "Attempt to send to unsubscribed recipient")
        sid = "SM" + secrets.token_hex(16)
        resource = {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": formatdate(usegmt=True),
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": sender,
            "messaging_service_sid": service,
            "num_segments": "1",
            "sid": sid,
            "status": "accepted" if service else "queued",
            "to": to,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }
        self.messages.append({**resource, "status_callback": form.get("StatusCallback")})
        return JSONResponse(resource, status_code=201)


def _error_body(status: int, code: int, message: str) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _error(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse(_error_body(status, code, message), status_code=status)


@asynccontextmanager
async def served_twilio(account_sid: str, auth_token: str, number: str) -> AsyncIterator[tuple[FakeTwilio, str]]:
    """A fake account owning `number`, served on loopback: the fake and its base URL."""
    fake = FakeTwilio(account_sid=account_sid, auth_token=auth_token, numbers={number})
    async with serve_api(fake.app()) as base_url:
        yield fake, base_url
