"""The delivery workflow's activity: claim due deliveries in chunks, send each chunk concurrently over the shared
client (at most N requests per endpoint), record every attempt, and report when the next retry is due.

Why chunks in one activity rather than an activity (or a workflow) per delivery: each Temporal task costs the
2-core embedded server milliseconds of CPU, so 500 deliveries/s as single activities would be 1,500 history events
a second. Here a chunk of 500 costs one heartbeat. Retries live in the rows (their `next_attempt_at`), so a retry
schedule of hours costs nothing while it waits; the workflow sleeps until the earliest is due."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.webhooks.contracts import DELIVER_DUE, DeliverDueInput, DeliverDueOutput
from activities.webhooks.transport import REFUSED
from domain.clock import utcnow
from domain.dead_letters.model import DeadLetterIn, DeadLetterKind
from domain.outbound_webhooks.retry import retryable_status
from domain.outbound_webhooks.signing import signed_headers
from mauntic.secrets import SecretBox, SecretDecryptionError
from store import webhook_deliveries as deliveries
from store.dead_letters import record_dead_letter
from store.webhook_deliveries import Due, Outcome

UNSIGNABLE = "the endpoint's secret does not decrypt with this deployment's MAUNTIC_SECRET_KEY: not sent"
DeadLetterSink = Callable[[AsyncSession, list[Outcome]], Awaitable[None]]


async def record_dead_letters(session: AsyncSession, dead: list[Outcome]) -> None:
    """Each delivery whose attempts are spent becomes a dead letter of kind `webhook_delivery`, subject the delivery
    id (its replay is `mauntic.webhook_wake.redeliver`); the delivery itself is `dead`, with every attempt kept."""
    info = activity.info() if activity.in_activity() else None
    for o in dead:
        await record_dead_letter(
            session,
            DeadLetterIn(
                workspace_id=o.workspace_id, kind=DeadLetterKind.WEBHOOK_DELIVERY, subject_id=o.delivery_id,
                error_type="webhook_delivery_failed" if o.retry else "webhook_delivery_refused",
                error=o.error or "no 2xx answer", failed_at=o.attempted_at, input={"delivery_id": o.delivery_id},
                workflow_id=info.workflow_id if info else None, run_id=info.workflow_run_id if info else None,
                activity_id=info.activity_id if info else None, attempts=o.attempt,
            ),
        )  # fmt: skip


class WebhookDeliveryActivities:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        http: httpx.AsyncClient,
        box: SecretBox,
        *,
        endpoint_concurrency: int,
        retry_scale: float = 1.0,
        dead_letters: DeadLetterSink = record_dead_letters,
    ) -> None:
        self._sessions = sessions
        self._http = http
        self._box = box
        self._per_endpoint = endpoint_concurrency
        self._scale = retry_scale
        self._dead_letters = dead_letters
        self._limits: dict[str, asyncio.Semaphore] = {}
        self._plain: dict[str, str] = {}  # encrypted secret -> secret (Fernet costs ~20 µs a decrypt)

    @activity.defn(name=DELIVER_DUE)
    async def deliver_due(self, request: DeliverDueInput) -> DeliverDueOutput:
        out = DeliverDueOutput()
        lease = timedelta(seconds=request.lease_seconds)
        started = time.monotonic()
        while True:
            async with self._sessions() as session:
                due = await deliveries.claim(session, utcnow(), request.chunk_size, lease)
                await session.commit()
            if not due:
                break
            keeper = asyncio.create_task(self._keep_leases(due, lease))
            try:
                outcomes = await asyncio.gather(*(self._attempt(d) for d in due))
            finally:
                keeper.cancel()
            async with self._sessions() as session:
                dead = await deliveries.settle(session, outcomes, self._scale)
                await self._dead_letters(session, dead)
                await session.commit()
            out.attempted += len(outcomes)
            out.delivered += sum(o.delivered for o in outcomes)
            out.failed += sum(not o.delivered for o in outcomes)
            out.dead += len(dead)
            activity.heartbeat(out.attempted)
            if len(due) < request.chunk_size:
                break
            if time.monotonic() - started > request.budget_seconds:
                out.more = True
                break
        if not out.more:
            async with self._sessions() as session:
                when = await deliveries.next_due(session)
            if when is not None:
                out.next_due_seconds = max(0.0, (when - utcnow()).total_seconds())
        return out

    async def _keep_leases(self, due: list[Due], lease: timedelta) -> None:
        """While a chunk is under way: heartbeat, and renew its rows' lease every third of it, so a lease only
        runs out when this worker is gone (a short lease: a killed worker's chunk is retried soon) however long
        a chunk of slow endpoints takes."""
        interval = max(0.5, lease.total_seconds() / 3)
        while True:
            await asyncio.sleep(interval)
            activity.heartbeat("chunk under way")
            async with self._sessions() as session:
                await deliveries.renew(session, [(d.id, d.attempt) for d in due], utcnow() + lease)
                await session.commit()

    def _limit(self, endpoint_id: str) -> asyncio.Semaphore:
        limit = self._limits.get(endpoint_id)
        if limit is None:
            if len(self._limits) > 10_000:
                self._limits.clear()
            limit = self._limits[endpoint_id] = asyncio.Semaphore(self._per_endpoint)
        return limit

    def _secret(self, encrypted: str) -> str:
        plain = self._plain.get(encrypted)
        if plain is None:
            if len(self._plain) > 10_000:
                self._plain.clear()
            plain = self._plain[encrypted] = self._box.decrypt(encrypted)
        return plain

    async def _attempt(self, due: Due) -> Outcome:
        body = due.body.encode()
        at = utcnow()
        try:
            keys = [self._secret(s) for s in due.secrets]
        except SecretDecryptionError:  # a changed master key: this endpoint waits, the others go on
            return Outcome(due.id, due.workspace_id, due.attempt, due.max_attempts, None, 0.0, UNSIGNABLE, at, False)
        async with self._limit(due.endpoint_id):
            at = utcnow()
            headers = signed_headers(keys, due.id, int(at.timestamp()), body)
            began = time.perf_counter()
            code: int | None = None
            error: str | None = None
            retry = True
            try:
                response = await self._http.post(due.url, content=body, headers=headers)
                code = response.status_code
                if not 200 <= code < 300:
                    error = f"HTTP {code}: {response.text[:200]}"
                    retry = retryable_status(code)
            except httpx.ConnectError as exc:  # httpx wraps the transport's PrivateAddressRefused, message kept
                error = REFUSED if str(exc) == REFUSED else f"ConnectError: {exc}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            latency = (time.perf_counter() - began) * 1000
        return Outcome(
            due.id, due.workspace_id, due.attempt, due.max_attempts, code, latency, error, at, error is None, retry
        )

    def all(self) -> list[Callable[..., Awaitable[DeliverDueOutput]]]:
        return [self.deliver_due]
