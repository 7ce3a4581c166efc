"""Names and input/output models of the sending-domain activities (imported by workflows and worker)."""

from __future__ import annotations

from pydantic import BaseModel

CHECK_SENDING_DOMAIN = "sending_domains.check"
# takes domain.sending_domains.runtime.CheckRequest, returns CheckReport (the whole check, for the API's answer)
CHECK_SENDING_DOMAIN_NOW = "sending_domains.check_now"
MARK_VERIFICATION_TIMED_OUT = "sending_domains.mark_timed_out"
ENSURE_RECHECK_SCHEDULE = "sending_domains.ensure_recheck_schedule"
DELETE_RECHECK_SCHEDULE = "sending_domains.delete_recheck_schedule"


class CheckSendingDomainInput(BaseModel):
    workspace_id: str
    domain_id: str


class CheckSendingDomainOutput(BaseModel):
    exists: bool
    status: str | None = None
    all_verified: bool = False
    regressed: list[str] = []


class MarkTimedOutInput(BaseModel):
    workspace_id: str
    domain_id: str


class MarkTimedOutOutput(BaseModel):
    status: str | None  # None: the domain was deleted


class EnsureRecheckScheduleInput(BaseModel):
    workspace_id: str
    domain_id: str
    interval_hours: float


class EnsureRecheckScheduleOutput(BaseModel):
    schedule_id: str
    created: bool


class DeleteRecheckScheduleInput(BaseModel):
    workspace_id: str
    domain_id: str


class DeleteRecheckScheduleOutput(BaseModel):
    deleted: bool
