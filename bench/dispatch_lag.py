"""How fast ingested trigger events become journeys, and how long the dispatch lag takes to drain.

Sampled twice a second during and after an ingestion burst:
- `journey_enrollment` rows (written by the dispatch that enters the journey; works on every version);
- `/health`'s `dispatch` section, when the API has it: `{"pending": <undispatched outbox rows>, "oldest_seconds":
  <float|null>, "status": "ok"|"lagging"}`;
- `/metrics`' `mauntic_dispatched_total` counter, when it is exported.
Without the dispatch section the lag counts as drained once the enrollments reach the trigger events sent.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from store.db import create_async_db_engine, session_factory

INTERVAL = 0.5


@dataclass
class LagSample:
    at: float  # time.monotonic()
    enrolled: int
    pending: int | None  # /health dispatch.pending, None without the section
    oldest_seconds: float | None
    dispatched_total: float | None  # /metrics mauntic_dispatched_total, None when not exported


@dataclass
class LagReport:
    samples: list[LagSample] = field(default_factory=list)
    burst_began: float = 0.0
    burst_ended: float = 0.0
    drained_at: float | None = None  # monotonic instant the lag reached 0 (None: not within the bound)
    source: str = "journey_enrollment count"

    def _at(self, instant: float) -> LagSample | None:
        before = [s for s in self.samples if s.at <= instant]
        return before[-1] if before else (self.samples[0] if self.samples else None)

    def entered_during_burst(self) -> int:
        first, last = self._at(self.burst_began), self._at(self.burst_ended)
        return last.enrolled - first.enrolled if first and last else 0

    def entered_rate_burst(self) -> float:
        wall = self.burst_ended - self.burst_began
        return self.entered_during_burst() / wall if wall > 0 else 0.0

    def entered_rate_overall(self, matched: int) -> float:
        """Journeys entered per second from the first batch until the lag drained."""
        end = self.drained_at if self.drained_at is not None else self.burst_ended
        return matched / (end - self.burst_began) if end > self.burst_began else 0.0

    def drain_seconds(self) -> float | None:
        return None if self.drained_at is None else max(self.drained_at - self.burst_ended, 0.0)

    def max_pending(self) -> int | None:
        values = [s.pending for s in self.samples if s.pending is not None]
        return max(values) if values else None

    def max_oldest(self) -> float | None:
        values = [s.oldest_seconds for s in self.samples if s.oldest_seconds is not None]
        return max(values) if values else None

    def peak_dispatch_rate(self) -> float | None:
        """Highest mauntic_dispatched_total increase per second between consecutive samples, when exported."""
        points = [(s.at, s.dispatched_total) for s in self.samples if s.dispatched_total is not None]
        rates = [(b - a) / (tb - ta) for (ta, a), (tb, b) in itertools.pairwise(points) if tb > ta]
        return max(rates) if rates else None


def metric_total(exposition: str, name: str) -> float | None:
    """Sum of a metric's samples (all labels) in a Prometheus text exposition; None when absent."""
    values = [
        float(line.rsplit(" ", 1)[1])
        for line in exposition.splitlines()
        if line.startswith(name) and not line.startswith("#") and line[len(name) : len(name) + 1] in ("{", " ")
    ]
    return sum(values) if values else None


class LagMonitor:
    """Samples in the background from `start()` until `stop()`."""

    def __init__(self, api_url: str, database_url: str, workspace_id: str) -> None:
        self.report = LagReport()
        self._api_url = api_url
        self._database_url = database_url
        self._workspace_id = workspace_id
        self._task: asyncio.Task[None] | None = None
        self._engine: AsyncEngine | None = None
        self._http: httpx.AsyncClient | None = None
        self._metrics = True

    async def start(self) -> None:
        self._engine = create_async_db_engine(self._database_url)
        self._http = httpx.AsyncClient(base_url=self._api_url, timeout=5)
        await self._sample()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._http is not None:
            await self._http.aclose()
        if self._engine is not None:
            await self._engine.dispose()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(INTERVAL)
            await self._sample()

    async def _sample(self) -> None:
        assert self._engine is not None
        assert self._http is not None
        async with session_factory(self._engine)() as session:
            query = text("SELECT count(*) FROM journey_enrollment WHERE workspace_id = :ws")
            enrolled = int((await session.execute(query, {"ws": self._workspace_id})).scalar_one())
        dispatch: dict[str, Any] = {}
        try:
            body = (await self._http.get("/health")).json()  # 503 when degraded: the body still says why
            dispatch = body.get("dispatch") or {} if isinstance(body, dict) else {}
        except (httpx.HTTPError, ValueError):
            pass
        total = None
        if self._metrics:
            try:
                total = metric_total((await self._http.get("/metrics")).text, "mauntic_dispatched_total")
            except httpx.HTTPError:
                pass
            self._metrics = total is not None  # not exported: stop asking
        pending = dispatch.get("pending")
        oldest = dispatch.get("oldest_seconds")
        self.report.samples.append(
            LagSample(
                time.monotonic(),
                enrolled,
                int(pending) if isinstance(pending, int) else None,
                float(oldest) if isinstance(oldest, int | float) else None,
                total,
            )
        )
        if isinstance(pending, int):
            self.report.source = "/health dispatch section"

    async def drained(self, matched: int, timeout: float) -> None:
        """Wait until the lag is 0 (pending 0 on /health, or all `matched` entered without it), within `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            last = self.report.samples[-1]
            if (last.pending == 0 if last.pending is not None else last.enrolled >= matched) and last.at >= (
                self.report.burst_ended
            ):
                self.report.drained_at = last.at
                return
            await asyncio.sleep(INTERVAL / 2)
