"""Activities of the sending-domain workflows: check (and persist), check now (for the API's `verify`, returning
the whole check), end of the window, the re-check Schedule."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.client import Client

from activities.sending_domains import schedules
from activities.sending_domains.checker import SendingDomainChecker
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
from domain.sending_domains.runtime import CheckReport, CheckRequest, recheck_schedule_id
from store.sending_domains import get_sending_domain, mark_timed_out


class SendingDomainActivities:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        checker: SendingDomainChecker,
        client: Client,
        task_queue: str,
    ) -> None:
        self._sessions = sessions
        self._checker = checker
        self._client = client
        self._task_queue = task_queue

    @activity.defn(name=CHECK_SENDING_DOMAIN)
    async def check(self, request: CheckSendingDomainInput) -> CheckSendingDomainOutput:
        async with self._sessions() as session:
            row = await get_sending_domain(session, request.workspace_id, request.domain_id)
            if row is None:
                return CheckSendingDomainOutput(exists=False)
            check, saved = await self._checker.check_and_save(session, row)
        return CheckSendingDomainOutput(
            exists=True,
            status=saved.status,
            all_verified=check.all_verified,
            regressed=[kind.value for kind in saved.regressed],
        )

    @activity.defn(name=CHECK_SENDING_DOMAIN_NOW)
    async def check_now(self, request: CheckRequest) -> CheckReport:
        async with self._sessions() as session:
            row = await get_sending_domain(session, request.workspace_id, request.domain_id)
            if row is None:
                return CheckReport(exists=False)
            check, saved = await self._checker.check_and_save(session, row, request.from_domain)
        return CheckReport(exists=True, status=saved.status, check=check, checked_at=row.checked_at)

    @activity.defn(name=MARK_VERIFICATION_TIMED_OUT)
    async def mark_timed_out(self, request: MarkTimedOutInput) -> MarkTimedOutOutput:
        async with self._sessions() as session:
            return MarkTimedOutOutput(status=await mark_timed_out(session, request.workspace_id, request.domain_id))

    @activity.defn(name=ENSURE_RECHECK_SCHEDULE)
    async def ensure_recheck_schedule(self, request: EnsureRecheckScheduleInput) -> EnsureRecheckScheduleOutput:
        created = await schedules.ensure_recheck_schedule(
            self._client,
            request.workspace_id,
            request.domain_id,
            timedelta(hours=request.interval_hours),
            self._task_queue,
        )
        return EnsureRecheckScheduleOutput(
            schedule_id=recheck_schedule_id(request.workspace_id, request.domain_id), created=created
        )

    @activity.defn(name=DELETE_RECHECK_SCHEDULE)
    async def delete_recheck_schedule(self, request: DeleteRecheckScheduleInput) -> DeleteRecheckScheduleOutput:
        deleted = await schedules.delete_recheck_schedule(self._client, request.workspace_id, request.domain_id)
        return DeleteRecheckScheduleOutput(deleted=deleted)

    def all(self) -> list[Callable[..., Any]]:
        return [
            self.check,
            self.check_now,
            self.mark_timed_out,
            self.ensure_recheck_schedule,
            self.delete_recheck_schedule,
        ]
