"""One measured phase of the journey benchmark: N contacts, each expecting two emails at the sink."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from bench.procstat import CpuUsage, rss_bytes, sample, usage
from bench.smtp_sink import CountingSink


@dataclass
class PhaseResult:
    name: str
    contacts: int
    wall: float
    first_emails_at: float  # seconds after the start when every contact had its first email
    cpu: CpuUsage
    duplicates: int  # emails a contact received more than once (an at-least-once send that was repeated)
    # The worker's resident memory at the start, and when every contact was in its wait (held phases only).
    rss_start: int = 0
    rss_waiting: int = 0

    @property
    def rate(self) -> float:
        return self.contacts / self.wall if self.wall > 0 else 0.0


class PhaseTimeout(RuntimeError):
    pass


class JourneyPhase:
    """Watches the emails sent to `<prefix><index>@<domain>`: calls on_first(index) when a contact's first email
    arrived (that sends its follow-up event or signal); the phase ends when every contact got its follow-up email
    (the one whose subject contains `follow_up_subject`). Any further email to a contact counts as a duplicate.

    `hold`: on_first is called for every contact only once all first emails arrived, so that at that instant every
    contact's workflow is open, in (or entering) its wait; the resident memory of `memory_pid` (the worker) is
    sampled then and at the start."""

    def __init__(
        self,
        name: str,
        sink: CountingSink,
        prefix: str,
        domain: str,
        contacts: int,
        follow_up_subject: str,
        *,
        hold: bool = False,
        memory_pid: int = 0,
    ) -> None:
        self.name = name
        self.contacts = contacts
        self.hold = hold
        self._memory_pid = memory_pid
        self._held: list[int] = []
        self.rss_start = 0
        self.rss_waiting = 0
        self.on_first: Callable[[int], None] = lambda _index: None
        self.on_finished: Callable[[int], None] = lambda _index: None
        self._sink = sink
        self._prefix = prefix
        self._domain = domain
        self._follow_up = b"Subject: " + follow_up_subject.encode()
        self._tasks: set[asyncio.Task[None]] = set()
        self._failure: asyncio.Future[None] | None = None
        self._done = asyncio.Event()
        self._first: set[int] = set()
        self._finished_contacts: set[int] = set()
        self.duplicates = 0
        self.firsts_done_at = 0.0
        self.done_at = 0.0

    def address(self, index: int) -> str:
        return f"{self._prefix}{index}@{self._domain}"

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` as part of the phase; its failure fails the phase."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if task.cancelled() or task.exception() is None:
            return
        if self._failure is not None and not self._failure.done():
            self._failure.set_exception(task.exception())  # type: ignore[arg-type]

    def _on_message(self, recipient: str, content: bytes) -> None:
        local, _, domain = recipient.partition("@")
        if domain != self._domain or not local.startswith(self._prefix):
            return
        index = int(local[len(self._prefix) :])
        now = asyncio.get_running_loop().time()
        seen = self._finished_contacts if self._follow_up in content else self._first
        if index in seen:
            self.duplicates += 1
            return
        seen.add(index)
        if seen is self._first:
            if not self.hold:
                self.on_first(index)
            else:
                self._held.append(index)
            if len(self._first) == self.contacts:
                self.firsts_done_at = now
                self._release()
        else:
            self.on_finished(index)
            if len(self._finished_contacts) == self.contacts:
                self.done_at = now
                self._done.set()

    def _release(self) -> None:
        if self._memory_pid:
            self.rss_waiting = rss_bytes(self._memory_pid)
        held, self._held = self._held, []
        for index in held:
            self.on_first(index)

    @property
    def emails(self) -> int:
        return len(self._first) + len(self._finished_contacts) + self.duplicates

    async def _wait_done(self) -> None:
        await self._done.wait()

    async def run(self, pids: dict[str, int], start: Coroutine[Any, Any, None], timeout: float) -> PhaseResult:
        """Measure from running `start` (which starts every contact) until the last email arrived."""
        loop = asyncio.get_running_loop()
        self._failure = loop.create_future()
        self._sink.subscribe(self._on_message)
        before = sample(pids)
        if self._memory_pid:
            self.rss_start = rss_bytes(self._memory_pid)
        began = loop.time()
        self.spawn(start)
        waiting = asyncio.create_task(self._wait_done())
        try:
            await asyncio.wait({waiting, self._failure}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            if self._failure.done():
                self._failure.result()  # raises the first failure
            if not self._done.is_set():
                raise PhaseTimeout(
                    f"{self.name}: after {timeout:.0f} s {len(self._first)} of {self.contacts} contacts had their "
                    f"first email and {len(self._finished_contacts)} their follow-up ({self.duplicates} duplicates)"
                )
            after = sample(pids)
        finally:
            self._sink.unsubscribe(self._on_message)
            waiting.cancel()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(waiting, *self._tasks, return_exceptions=True)
        wall = self.done_at - began
        cpu = usage(before, after, wall)
        firsts = self.firsts_done_at - began
        rss = (self.rss_start, self.rss_waiting) if self.hold else (0, 0)
        return PhaseResult(self.name, self.contacts, wall, firsts, cpu, self.duplicates, *rss)
