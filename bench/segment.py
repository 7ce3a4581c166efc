"""Segment-compatible ingestion calls (HTTP Tracking API): identify, track and batch with the write key as the
HTTP Basic user. Messages are built here the way Segment's libraries build them."""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson

Message = dict[str, Any]


def basic_auth(write_key: str) -> dict[str, str]:
    token = base64.b64encode(f"{write_key}:".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def _now() -> str:
    return datetime.now(UTC).isoformat()


def identify(user_id: str, traits: dict[str, Any]) -> Message:
    return {
        "type": "identify",
        "userId": user_id,
        "traits": traits,
        "messageId": str(uuid.uuid4()),
        "timestamp": _now(),
    }


def track(user_id: str, event: str, properties: dict[str, Any] | None = None) -> Message:
    return {
        "type": "track",
        "userId": user_id,
        "event": event,
        "properties": properties or {},
        "messageId": str(uuid.uuid4()),
        "timestamp": _now(),
    }


def batch_body(messages: list[Message]) -> Message:
    return {"batch": messages, "sentAt": _now(), "context": {"library": {"name": "mauntic-bench", "version": "0"}}}


class IngestError(RuntimeError):
    pass


@dataclass
class IngestStats:
    """Requests sent, and retries of answers Segment's libraries retry (429 and 5xx, e.g. 503 dispatch_unavailable)."""

    requests: int = 0
    retries: int = 0
    retried_batches: int = 0  # requests (batches) that needed at least one retry
    statuses: Counter[int] = field(default_factory=Counter)

    def summary(self) -> str:
        retried = ", ".join(f"{status} x{count}" for status, count in sorted(self.statuses.items()))
        return f"{self.requests} requests, {self.retries} retried" + (f" ({retried})" if retried else "")

    def clean(self) -> bool:
        """No 503 and no retried batch."""
        return self.statuses[503] == 0 and self.retried_batches == 0


# As Segment's libraries: up to 10 retries, exponential backoff capped (analytics-python's max_retries is 10).
RETRIES = 10
MAX_BACKOFF = 10.0


def ingestion_client(base_url: str, write_key: str, connections: int, timeout: float = 60.0) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_url,
        headers=basic_auth(write_key),
        timeout=timeout,
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
    )


JSON = {"Content-Type": "application/json"}


async def post(http: httpx.AsyncClient, path: str, body: bytes, stats: IngestStats, *, retry: bool = True) -> None:
    """POST a JSON body like a Segment library: retry 429 and 5xx with exponential backoff; anything else but 200
    is fatal."""
    for attempt in range(RETRIES + 1):
        stats.requests += 1
        response = await http.post(path, content=body, headers=JSON)
        if response.status_code == 200:
            return
        retryable = response.status_code == 429 or response.status_code >= 500
        if not (retry and retryable) or attempt == RETRIES:
            tries = f" (after {attempt + 1} attempts)" if attempt else ""
            raise IngestError(f"{path} answered {response.status_code}{tries}: {response.text[:500]}")
        stats.retries += 1
        stats.retried_batches += attempt == 0
        stats.statuses[response.status_code] += 1
        await asyncio.sleep(min(0.2 * 2**attempt, MAX_BACKOFF))


async def send_batch(http: httpx.AsyncClient, messages: list[Message], stats: IngestStats) -> None:
    await post(http, "/v1/batch", orjson.dumps(batch_body(messages)), stats)


def single_path_and_body(message: Message) -> tuple[str, Message]:
    """/v1/<type> and the message without its `type` (the path says it)."""
    return f"/v1/{message['type']}", {key: value for key, value in message.items() if key != "type"}
