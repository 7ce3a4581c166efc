"""Sending-domain verification as workflows.

`SendingDomainVerification` (one per domain, id `sending-domain:{workspace}:{domain}`) checks the DNS records now,
then again with a growing pause (1 minute doubling up to 1 hour), until every record verifies — then it makes sure
the re-check Schedule exists and ends — or until the verification window (72 h by default) passes, when a domain
still pending is marked failed. The `check_now` signal cuts the pause short.

`SendingDomainRecheck` is what the Schedule starts: one check, flagging a verified domain whose records regressed
(the check activity moves it to `failing` and records which records regressed).

`SendingDomainCheck` is the API's check-now (`POST /v1/sending-domains/{id}/verify`): one check, saved, its whole
result returned. The API executes it, so DNS is looked up by the worker and the API imports no activity code. Id
`sending-domain-check:{workspace}:{domain}[:{from domain}]`: concurrent clicks join the check under way. The API
bounds it with an execution timeout, so with no worker polling it ends instead of lingering.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NoReturn

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.sending_domains.contracts import (
        CHECK_SENDING_DOMAIN,
        CHECK_SENDING_DOMAIN_NOW,
        DELETE_RECHECK_SCHEDULE,
        ENSURE_RECHECK_SCHEDULE,
        MARK_VERIFICATION_TIMED_OUT,
        CheckSendingDomainInput,
        CheckSendingDomainOutput,
        DeleteRecheckScheduleInput,
        DeleteRecheckScheduleOutput,
        EnsureRecheckScheduleInput,
        EnsureRecheckScheduleOutput,
        MarkTimedOutInput,
        MarkTimedOutOutput,
    )
    from domain.sending_domains.runtime import (
        CHECK_NOW_SIGNAL,
        CHECK_WORKFLOW,
        PROGRESS_QUERY,
        RECHECK_WORKFLOW,
        VERIFICATION_WORKFLOW,
        CheckNowSignal,
        CheckReport,
        CheckRequest,
        RecheckInput,
        RecheckResult,
        VerificationInput,
        VerificationProgress,
        VerificationResult,
    )

FIRST_PAUSE = timedelta(minutes=1)
LONGEST_PAUSE = timedelta(hours=1)
# A check looks up a handful of names, each bounded by the resolver timeout; retry infrastructure failures
# (database, worker loss) a few times, then let the next scheduled check try again.
CHECK_TIMEOUT = timedelta(minutes=2)
STORE_TIMEOUT = timedelta(seconds=30)
SCHEDULE_TIMEOUT = timedelta(seconds=30)
RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=10,
)

# Someone is waiting for the check-now: retry a failed attempt (database blip) quickly; the API's execution
# timeout ends it when it cannot succeed in time.
CHECK_NOW_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=5),
    maximum_attempts=3,
)


async def _check(workspace_id: str, domain_id: str) -> CheckSendingDomainOutput:
    result: CheckSendingDomainOutput = await workflow.execute_activity(
        CHECK_SENDING_DOMAIN,
        CheckSendingDomainInput(workspace_id=workspace_id, domain_id=domain_id),
        result_type=CheckSendingDomainOutput,
        start_to_close_timeout=CHECK_TIMEOUT,
        retry_policy=RETRY,
    )
    return result


@workflow.defn(name=VERIFICATION_WORKFLOW)
class SendingDomainVerification:
    @workflow.init
    def __init__(self, request: VerificationInput) -> None:
        self._check_requested = False
        self._progress = VerificationProgress(deadline=request.deadline)

    @workflow.signal(name=CHECK_NOW_SIGNAL)
    def check_now(self, _: CheckNowSignal) -> None:
        self._check_requested = True

    @workflow.query(name=PROGRESS_QUERY)
    def progress(self) -> VerificationProgress:
        return self._progress

    @workflow.run
    async def run(self, request: VerificationInput) -> VerificationResult:
        deadline = request.deadline or workflow.now() + timedelta(hours=request.timeout_hours)
        self._progress.deadline = deadline
        pause = FIRST_PAUSE
        while True:
            self._check_requested = False
            checked = await _check(request.workspace_id, request.domain_id)
            self._progress.checks += 1
            self._progress.last_status = checked.status
            if not checked.exists:
                return VerificationResult(outcome="deleted", checks=self._progress.checks)
            if checked.all_verified:
                await self._ensure_schedule(request)
                return VerificationResult(outcome="verified", checks=self._progress.checks)
            remaining = deadline - workflow.now()
            if remaining <= timedelta(0):
                await self._mark_timed_out(request)
                return VerificationResult(outcome="failed", checks=self._progress.checks)
            if workflow.info().is_continue_as_new_suggested():
                await self._continue_as_new(request, deadline)
            wait = min(pause, remaining)
            self._progress.next_check_at = workflow.now() + wait
            try:
                await workflow.wait_condition(lambda: self._check_requested, timeout=wait)
            except TimeoutError:
                pause = min(pause * 2, LONGEST_PAUSE)
            self._progress.next_check_at = None

    async def _ensure_schedule(self, request: VerificationInput) -> None:
        await workflow.execute_activity(
            ENSURE_RECHECK_SCHEDULE,
            EnsureRecheckScheduleInput(
                workspace_id=request.workspace_id,
                domain_id=request.domain_id,
                interval_hours=request.recheck_interval_hours,
            ),
            result_type=EnsureRecheckScheduleOutput,
            start_to_close_timeout=SCHEDULE_TIMEOUT,
            retry_policy=RETRY,
        )

    async def _mark_timed_out(self, request: VerificationInput) -> None:
        await workflow.execute_activity(
            MARK_VERIFICATION_TIMED_OUT,
            MarkTimedOutInput(workspace_id=request.workspace_id, domain_id=request.domain_id),
            result_type=MarkTimedOutOutput,
            start_to_close_timeout=STORE_TIMEOUT,
            retry_policy=RETRY,
        )

    async def _continue_as_new(self, request: VerificationInput, deadline: datetime) -> NoReturn:
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(request.model_copy(update={"deadline": deadline}))


@workflow.defn(name=RECHECK_WORKFLOW)
class SendingDomainRecheck:
    @workflow.run
    async def run(self, request: RecheckInput) -> RecheckResult:
        checked = await _check(request.workspace_id, request.domain_id)
        if not checked.exists:  # deleted while its Schedule lived on: remove the Schedule too
            await workflow.execute_activity(
                DELETE_RECHECK_SCHEDULE,
                DeleteRecheckScheduleInput(workspace_id=request.workspace_id, domain_id=request.domain_id),
                result_type=DeleteRecheckScheduleOutput,
                start_to_close_timeout=SCHEDULE_TIMEOUT,
                retry_policy=RETRY,
            )
            return RecheckResult(outcome="deleted")
        if checked.regressed:
            workflow.logger.warning("sending domain %s regressed: %s", request.domain_id, checked.regressed)
        outcome = checked.status if checked.status in ("verified", "failing", "pending", "failed") else "pending"
        return RecheckResult(outcome=outcome, regressed=checked.regressed)


@workflow.defn(name=CHECK_WORKFLOW)
class SendingDomainCheck:
    @workflow.run
    async def run(self, request: CheckRequest) -> CheckReport:
        report: CheckReport = await workflow.execute_activity(
            CHECK_SENDING_DOMAIN_NOW,
            request,
            result_type=CheckReport,
            start_to_close_timeout=CHECK_TIMEOUT,
            retry_policy=CHECK_NOW_RETRY,
        )
        return report
