"""The one bounded body reader: every request's body is read here, before routing and parsing, up to its route's
limit, and refused as soon as it goes over (a Content-Length over the limit is refused before reading anything).

Measured on main before this existed: 8 concurrent 20 MB posts took the API from 256 MB to a 945 MB peak. Now a
body is held in memory only up to its limit; the route then reads it from here (`request.body()` /
`request.stream()` replay it). Most routes answer 413 `payload_too_large`; ingestion keeps the Segment API's
400 `batch_too_large` / `message_too_large`, which Segment's libraries treat as final.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.consent.pages import MAX_FORM_BYTES
from api.errors import ApiError, ErrorResponse, PayloadTooLarge, error_body
from api.ingest_body import too_large as ingest_too_large
from api.webhooks.service import MAX_BODY_BYTES as WEBHOOK_MAX_BODY_BYTES
from domain.events.segment import MAX_BATCH_BYTES, MAX_MESSAGE_BYTES
from mauntic.settings import Settings


@dataclass(frozen=True)
class BodyLimit:
    methods: frozenset[str]
    path: re.Pattern[str]
    max_bytes: int
    refusal: Callable[[int], ApiError]
    streamed: bool = False  # passed through as it arrives, counted, never buffered (CSV imports)


def _payload_too_large(limit: int) -> ApiError:
    return PayloadTooLarge(f"a request body is limited to {limit} bytes")


def body_limits(settings: Settings) -> list[BodyLimit]:
    """The routes whose limit is not `settings.max_body_bytes`; the first match wins."""
    writes = frozenset({"POST", "PUT", "PATCH"})
    return [
        BodyLimit(frozenset({"POST"}), re.compile(r"/v1/batch/?"), MAX_BATCH_BYTES, lambda _: ingest_too_large(True)),
        BodyLimit(
            frozenset({"POST"}),
            re.compile(r"/v1/(identify|track|page|screen|group|alias)/?"),
            MAX_MESSAGE_BYTES,
            lambda _: ingest_too_large(False),
        ),
        BodyLimit(frozenset({"POST"}), re.compile(r"/v1/webhooks/[^/]+/?"), WEBHOOK_MAX_BODY_BYTES, _payload_too_large),
        BodyLimit(
            frozenset({"POST"}), re.compile(r"/v1/imports/?"), settings.import_max_bytes, _payload_too_large, True
        ),
        # the public consent forms (api/routes/preferences.py, unsubscribe.py): short, from anyone holding a link
        BodyLimit(
            frozenset({"POST"}),
            re.compile(r"/(preferences|consent/confirm|u)/[^/]+/?"),
            MAX_FORM_BYTES,
            _payload_too_large,
        ),
        BodyLimit(
            writes,
            re.compile(r"/v1/journeys(/[^/]+(/publish)?)?/?"),
            settings.max_journey_definition_bytes,
            _payload_too_large,
        ),
    ]


class BoundedBodyMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware buffering): reads `http.request` messages, counting bytes, then replays
    the body to the app in one message. Nothing of a refused body reaches a route, so nothing is stored."""

    def __init__(self, app: ASGIApp, *, default_bytes: int, limits: list[BodyLimit]) -> None:
        self.app = app
        self.default = BodyLimit(frozenset(), re.compile(""), default_bytes, _payload_too_large)
        self.limits = limits

    def _limit(self, scope: Scope) -> BodyLimit:
        method, path = scope["method"], scope["path"]
        for limit in self.limits:
            if method in limit.methods and limit.path.fullmatch(path):
                return limit
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope)
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit.max_bytes:
            await self._refuse(limit, scope, receive, send)
            return
        if limit.streamed:
            await self.app(scope, _counted(limit, receive), send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: let the app see it
                await self.app(scope, _replay([], message, receive), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit.max_bytes:  # stop reading here: the rest of the body is never held
                await self._refuse(limit, scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body: Message = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        await self.app(scope, _replay([body], None, receive), send)

    @staticmethod
    async def _refuse(limit: BodyLimit, scope: Scope, receive: Receive, send: Send) -> None:
        error = limit.refusal(limit.max_bytes)
        response = ErrorResponse(
            error_body(error.code, error.message, error.details), error.status_code, headers={"Connection": "close"}
        )
        await response(scope, receive, send)


def _counted(limit: BodyLimit, receive: Receive) -> Receive:
    """The body as it comes, refused (the route's read raises) as soon as it passes the limit."""
    size = 0

    async def counted() -> Message:
        nonlocal size
        message = await receive()
        if message["type"] == "http.request":
            size += len(message.get("body", b""))
            if size > limit.max_bytes:
                raise limit.refusal(limit.max_bytes)
        return message

    return counted


def _replay(messages: list[Message], last: Message | None, receive: Receive) -> Receive:
    pending = [*messages, *([last] if last else [])]

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()  # after the body: only http.disconnect comes

    return replayed
