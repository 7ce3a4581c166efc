"""SendGrid v3 Mail Send, as documented: Bearer API key, a JSON body validated field by field with errors
reported as {"errors": [{"message", "field", "help"}]}, 202 with an X-Message-Id header on success."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request, Response

from tests.fakes.base import FakeProvider, Scripted, answer

PATH = "/v3/mail/send"
RESERVED_HEADERS = frozenset(
    h.lower()
    for h in (
        "x-sg-id",
        "x-sg-eid",
        "received",
        "dkim-signature",
        "Content-Type",
        "Content-Transfer-Encoding",
        "To",
        "From",
        "Subject",
        "Reply-To",
        "CC",
        "BCC",
    )
)


@dataclass(frozen=True)
class SentMail:
    message_id: str
    body: dict[str, Any]


def sendgrid_error(
    status: int, message: str, field: str | None = None, headers: dict[str, str] | None = None
) -> Scripted:
    return Scripted(status, {"errors": [{"message": message, "field": field, "help": None}]}, headers or {})


def _errors(*items: tuple[str | None, str]) -> dict[str, Any]:
    return {"errors": [{"message": message, "field": field, "help": None} for field, message in items]}


def _is_email(value: Any) -> bool:
    if not isinstance(value, str) or value.count("@") != 1:
        return False
    local, domain = value.split("@")
    return bool(local) and "." in domain and " " not in value


class FakeSendGrid(FakeProvider):
    def __init__(self, *, api_key: str, verified_senders: set[str]) -> None:
        self.api_key = api_key
        self.verified_senders = verified_senders
        self.accepted: list[SentMail] = []
        super().__init__()

    def add_routes(self, app: FastAPI) -> None:
        @app.post(PATH)
        async def mail_send(request: Request) -> Response:
            raw, scripted = await self.intercept(request)
            if scripted is not None:
                return scripted
            if request.headers.get("authorization") != f"Bearer {self.api_key}":
                return answer(401, _errors((None, "The provided authorization grant is invalid, expired, or revoked")))
            if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
                return answer(400, _errors((None, "Content-Type should be application/json.")))
            try:
                body = json.loads(raw)
            except ValueError:
                return answer(400, _errors((None, "Bad Request")))
            errors = self._validate(body) if isinstance(body, dict) else [(None, "Bad Request")]
            if errors:
                return answer(400, _errors(*errors))
            if body["from"]["email"].rpartition("@")[2].lower() not in self.verified_senders:
                return answer(
                    403,
                    _errors(
                        (
                            "from",
                            "The from address does not match a verified Sender Identity. Mail cannot be sent until "
                            "this error is resolved.",
                        )
                    ),
                )
            message_id = secrets.token_urlsafe(16)
            self.accepted.append(SentMail(message_id, body))
            return answer(202, None, {"X-Message-Id": message_id})

    @staticmethod
    def _validate(body: dict[str, Any]) -> list[tuple[str | None, str]]:
        errors: list[tuple[str | None, str]] = []
        personalizations = body.get("personalizations")
        if not isinstance(personalizations, list) or not 1 <= len(personalizations) <= 1000:
            errors.append(
                (
                    "personalizations",
                    "The personalizations field is required and must have at least one personalization.",
                )
            )
            personalizations = []
        for i, item in enumerate(personalizations):
            to = item.get("to") if isinstance(item, dict) else None
            if not isinstance(to, list) or not to:
                errors.append((f"personalizations.{i}.to", "The to array is required for all personalization objects."))
                continue
            for j, recipient in enumerate(to):
                if not isinstance(recipient, dict) or not _is_email(recipient.get("email")):
                    errors.append((f"personalizations.{i}.to.{j}.email", "Does not contain a valid address."))
        sender = body.get("from")
        if not isinstance(sender, dict) or not _is_email(sender.get("email")):
            errors.append(
                (
                    "from.email",
                    "The from object must be provided for every email send. It is an object that requires the email "
                    "parameter, but may also contain a name parameter.",
                )
            )
        subject = body.get("subject")
        if not isinstance(subject, str) or not subject:
            errors.append(
                (
                    "subject",
                    "The subject is required. You can get around this requirement if you use a template with a subject "
                    "defined or if every personalization has a subject defined.",
                )
            )
        errors.extend(FakeSendGrid._validate_content(body.get("content")))
        headers = body.get("headers", {})
        if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
            errors.append(("headers", "Invalid type. Expected: object, given: something else; values must be strings."))
        else:
            for name in headers:
                if name.lower() in RESERVED_HEADERS:
                    errors.append(("headers", f"The header {name} is reserved and cannot be set."))
        custom_args = body.get("custom_args", {})
        if not isinstance(custom_args, dict) or not all(isinstance(v, str) for v in custom_args.values()):
            errors.append(("custom_args", "Invalid type. Expected: string, given: something else."))
        elif len(json.dumps(custom_args)) > 10_000:
            errors.append(("custom_args", "The custom arguments must total less than 10,000 bytes."))
        return errors

    @staticmethod
    def _validate_content(content: Any) -> list[tuple[str | None, str]]:
        if not isinstance(content, list) or not content:
            return [("content", "Unless a valid template_id is provided, the content parameter is required.")]
        errors: list[tuple[str | None, str]] = []
        types = []
        for i, part in enumerate(content):
            if not isinstance(part, dict) or not isinstance(part.get("type"), str) or not part.get("type"):
                errors.append((f"content.{i}.type", "The content type cannot be blank."))
                continue
            if not isinstance(part.get("value"), str) or not part["value"]:
                errors.append(
                    (f"content.{i}.value", "The content value must be a string at least one character in length.")
                )
            types.append(part["type"])
        if "text/plain" in types and types[0] != "text/plain":
            errors.append(
                (
                    "content",
                    "If present, text/plain must be first, followed by text/html, followed by any other content.",
                )
            )
        if "text/html" in types and types.index("text/html") > (1 if "text/plain" in types else 0):
            errors.append(
                (
                    "content",
                    "If present, text/plain must be first, followed by text/html, followed by any other content.",
                )
            )
        return errors
