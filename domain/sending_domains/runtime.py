"""Names, ids and input/output models of the sending-domain workflows (shared by API, workflows and worker)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

VERIFICATION_WORKFLOW = "SendingDomainVerification"
RECHECK_WORKFLOW = "SendingDomainRecheck"
CHECK_NOW_SIGNAL = "check_now"
PROGRESS_QUERY = "progress"


def verification_workflow_id(workspace_id: str, domain_id: str) -> str:
    return f"sending-domain:{workspace_id}:{domain_id}"


def recheck_schedule_id(workspace_id: str, domain_id: str) -> str:
    return f"sending-domain-recheck:{workspace_id}:{domain_id}"


class VerificationInput(BaseModel):
    workspace_id: str
    domain_id: str
    timeout_hours: float = 72.0
    recheck_interval_hours: float = 24.0
    deadline: datetime | None = None  # carried across continue-as-new


class VerificationResult(BaseModel):
    outcome: Literal["verified", "failed", "deleted"]
    checks: int


class VerificationProgress(BaseModel):
    checks: int = 0
    last_status: str | None = None
    next_check_at: datetime | None = None
    deadline: datetime | None = None


class CheckNowSignal(BaseModel):
    reason: str = "requested"


class RecheckInput(BaseModel):
    workspace_id: str
    domain_id: str


class RecheckResult(BaseModel):
    outcome: Literal["verified", "failing", "deleted", "pending", "failed"]
    regressed: list[str] = []
