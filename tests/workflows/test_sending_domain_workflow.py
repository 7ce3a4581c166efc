"""Sending-domain workflows on the time-skipping server, with the real check activities (database + a dnslib
server on loopback); only the Schedule activities are fakes (the test server has no Schedules)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from activities.sending_domains.activities import SendingDomainActivities
from activities.sending_domains.contracts import (
    DELETE_RECHECK_SCHEDULE,
    ENSURE_RECHECK_SCHEDULE,
    DeleteRecheckScheduleInput,
    DeleteRecheckScheduleOutput,
    EnsureRecheckScheduleInput,
    EnsureRecheckScheduleOutput,
)
from domain.sending_domains.records import RecordKind
from domain.sending_domains.runtime import (
    CHECK_NOW_SIGNAL,
    CheckNowSignal,
    CheckReport,
    CheckRequest,
    RecheckInput,
    RecheckResult,
    VerificationInput,
    VerificationProgress,
    VerificationResult,
    check_workflow_id,
    verification_workflow_id,
)
from mauntic.secrets import SecretBox
from store.models import SendingDomain
from store.sending_domains import delete_sending_domain, get_sending_domain
from store.workspaces import NewWorkspace
from tests.dns_server import DnsTestServer, publish
from tests.sending_domain_fixtures import Sessions, checker_for, new_domain_row, record
from workflows.runner import workflow_runner
from workflows.sending_domain import SendingDomainCheck, SendingDomainRecheck, SendingDomainVerification

Handle = WorkflowHandle[SendingDomainVerification, VerificationResult]
WORKFLOWS = [SendingDomainVerification, SendingDomainRecheck, SendingDomainCheck]
HISTORIES = Path(__file__).parents[1] / "replay" / "histories"


@dataclass
class ScheduleCalls:
    ensured: list[EnsureRecheckScheduleInput] = field(default_factory=list)
    deleted: list[DeleteRecheckScheduleInput] = field(default_factory=list)

    @activity.defn(name=ENSURE_RECHECK_SCHEDULE)
    async def ensure(self, request: EnsureRecheckScheduleInput) -> EnsureRecheckScheduleOutput:
        self.ensured.append(request)
        return EnsureRecheckScheduleOutput(schedule_id="fake", created=True)

    @activity.defn(name=DELETE_RECHECK_SCHEDULE)
    async def delete(self, request: DeleteRecheckScheduleInput) -> DeleteRecheckScheduleOutput:
        self.deleted.append(request)
        return DeleteRecheckScheduleOutput(deleted=True)


@dataclass
class Harness:
    client: Client
    sessions: Sessions
    task_queue: str
    schedules: ScheduleCalls

    async def start(self, row: SendingDomain, timeout_hours: float = 72) -> Handle:
        request = VerificationInput(workspace_id=row.workspace_id, domain_id=row.id, timeout_hours=timeout_hours)
        return await self.client.start_workflow(
            SendingDomainVerification.run,
            request,
            id=verification_workflow_id(row.workspace_id, row.id),
            task_queue=self.task_queue,
        )

    async def status(self, row: SendingDomain) -> str | None:
        async with self.sessions() as session:
            found = await get_sending_domain(session, row.workspace_id, row.id)
        return found.status if found else None


@pytest.fixture
async def harness(env: WorkflowEnvironment, sessions: Sessions, dns: DnsTestServer) -> AsyncIterator[Harness]:
    task_queue = f"domains-{uuid.uuid4().hex[:8]}"
    real = SendingDomainActivities(sessions, checker_for(dns), env.client, task_queue)
    schedules = ScheduleCalls()
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        workflow_runner=workflow_runner(),
        activities=[real.check, real.check_now, real.mark_timed_out, schedules.ensure, schedules.delete],
    ):
        yield Harness(env.client, sessions, task_queue, schedules)


async def progress_when(handle: Handle, checks: int) -> VerificationProgress:
    """Poll the progress query (time does not skip while only queries are made) until `checks` checks ran."""
    for _ in range(600):
        progress = await handle.query(SendingDomainVerification.progress)
        if progress.checks >= checks:
            return progress
        await asyncio.sleep(0.05)
    raise AssertionError(f"the workflow never reached {checks} checks")


async def replays(handle: WorkflowHandle[Any, Any], record_as: str) -> None:
    """The run's history replays against the workflow code (no non-deterministic call slipped in). With
    MAUNTIC_RECORD_HISTORIES=1 the history is also written to tests/replay/histories/ under `record_as`, for the
    replay test to hold later versions of the workflow to it."""
    history = await handle.fetch_history()
    replayer = Replayer(
        workflows=WORKFLOWS,
        workflow_runner=workflow_runner(),
        data_converter=pydantic_data_converter,
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None
    if os.environ.get("MAUNTIC_RECORD_HISTORIES") == "1":
        (HISTORIES / f"{record_as}.json").write_text(history.to_json())


async def test_verifies_once_the_records_appear_and_ensures_the_schedule(
    harness: Harness, workspace: NewWorkspace, box: SecretBox, dns: DnsTestServer
) -> None:
    row = await new_domain_row(harness.sessions, workspace.workspace.id, box)
    handle = await harness.start(row)
    first = await progress_when(handle, 1)
    assert first.last_status == "pending"
    assert first.next_check_at is not None

    publish(dns.zone, row.records)
    result = await handle.result()

    # At least one more check (a loaded machine may let the time-skipping server run one before the records land)
    assert result.outcome == "verified"
    assert result.checks >= 2
    assert await harness.status(row) == "verified"
    assert [(e.domain_id, e.interval_hours) for e in harness.schedules.ensured] == [(row.id, 24.0)]
    await replays(handle, "sending_domain_v1_verified")


async def test_check_now_signal_checks_without_waiting_for_the_pause(
    harness: Harness, workspace: NewWorkspace, box: SecretBox, dns: DnsTestServer
) -> None:
    row = await new_domain_row(harness.sessions, workspace.workspace.id, box)
    handle = await harness.start(row)
    await progress_when(handle, 1)
    publish(dns.zone, row.records)

    await handle.signal(CHECK_NOW_SIGNAL, CheckNowSignal())
    await progress_when(handle, 2)  # no time skipped: only the signal can have caused this check

    assert await harness.status(row) == "verified"
    assert (await handle.result()).outcome == "verified"


async def test_times_out_to_failed_when_records_never_appear(
    harness: Harness, workspace: NewWorkspace, box: SecretBox
) -> None:
    row = await new_domain_row(harness.sessions, workspace.workspace.id, box)
    handle = await harness.start(row, timeout_hours=5)

    result = await handle.result()

    # checks at minute 0, then after pauses of 1, 2, 4, 8, 16, 32 (minute 63), 60, 60, 60 (minute 243) and a last
    # one cut to the deadline (minute 300); on a loaded machine the checks' own time can push the tenth pause past
    # the deadline, leaving the last one out
    assert result.outcome == "failed"
    assert 1 + 6 + 3 <= result.checks <= 1 + 6 + 3 + 1
    assert await harness.status(row) == "failed"
    assert harness.schedules.ensured == []
    await replays(handle, "sending_domain_v1_timed_out")


async def test_a_domain_deleted_during_verification_ends_it(
    harness: Harness, workspace: NewWorkspace, box: SecretBox
) -> None:
    row = await new_domain_row(harness.sessions, workspace.workspace.id, box)
    handle = await harness.start(row)
    await progress_when(handle, 1)
    async with harness.sessions() as session:
        stored = await get_sending_domain(session, row.workspace_id, row.id)
        assert stored is not None
        await delete_sending_domain(session, stored)

    assert (await handle.result()).outcome == "deleted"


async def test_recheck_flags_a_regression_and_a_deleted_domain_drops_its_schedule(
    harness: Harness, workspace: NewWorkspace, box: SecretBox, dns: DnsTestServer
) -> None:
    row = await new_domain_row(harness.sessions, workspace.workspace.id, box)
    publish(dns.zone, row.records)
    recheck = RecheckInput(workspace_id=row.workspace_id, domain_id=row.id)

    async def run_recheck() -> RecheckResult:
        return await harness.client.execute_workflow(
            SendingDomainRecheck.run, recheck, id=f"recheck-{uuid.uuid4().hex[:8]}", task_queue=harness.task_queue
        )

    assert await run_recheck() == RecheckResult(outcome="verified")
    dns.zone.remove(record(row, RecordKind.TRACKING)["host"])

    assert await run_recheck() == RecheckResult(outcome="failing", regressed=["tracking"])
    assert await harness.status(row) == "failing"

    async with harness.sessions() as session:
        stored = await get_sending_domain(session, row.workspace_id, row.id)
        assert stored is not None
        await delete_sending_domain(session, stored)
    assert await run_recheck() == RecheckResult(outcome="deleted")
    assert [d.domain_id for d in harness.schedules.deleted] == [row.id]


async def test_check_now_saves_and_reports_the_whole_check(
    harness: Harness, workspace: NewWorkspace, box: SecretBox, dns: DnsTestServer
) -> None:
    row = await new_domain_row(harness.sessions, workspace.workspace.id, box)
    publish(dns.zone, [r for r in row.records if r["kind"] != RecordKind.TRACKING.value])
    request = CheckRequest(workspace_id=row.workspace_id, domain_id=row.id, from_domain="news." + row.domain)

    handle = await harness.client.start_workflow(
        SendingDomainCheck.run,
        request,
        id=check_workflow_id(row.workspace_id, row.id, request.from_domain),
        task_queue=harness.task_queue,
    )
    report = await handle.result()

    assert (report.exists, report.status) == (True, "pending")
    assert report.check is not None
    assert [r.kind for r in report.check.missing_records] == [RecordKind.TRACKING]
    assert report.check.alignment.from_domain == request.from_domain
    assert await harness.status(row) == "pending"
    await replays(handle, "sending_domain_check_v1_pending")

    gone = CheckRequest(workspace_id=row.workspace_id, domain_id="sd_gone")
    gone_id = check_workflow_id(gone.workspace_id, gone.domain_id)
    assert await harness.client.execute_workflow(
        SendingDomainCheck.run, gone, id=gone_id, task_queue=harness.task_queue
    ) == CheckReport(exists=False)
