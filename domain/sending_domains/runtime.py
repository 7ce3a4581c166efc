"""Names, ids and input/output models of the sending-domain workflows (shared by API, workflows and worker)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from domain.sending_domains.evaluation import DomainCheck

VERIFICATION_WORKFLOW = "SendingDomainVerification"
RECHECK_WORKFLOW = "SendingDomainRecheck"
CHECK_WORKFLOW = "SendingDomainCheck"
CHECK_NOW_SIGNAL = "check_now"
PROGRESS_QUERY = "progress"


def verification_workflow_id(workspace_id: str, domain_id: str) -> str:
    return f"sending-domain:{workspace_id}:{domain_id}"


def check_workflow_id(workspace_id: str, domain_id: str, from_domain: str | None = None) -> str:
    """One check-now per domain and From domain at a time: a click while one is under way joins it (the API starts
    with USE_EXISTING), a click after it ended starts a new one. The From domain is part of the id because the
    alignment in the result depends on it; it is a normalized domain name, so it holds no colon."""
    base = f"sending-domain-check:{workspace_id}:{domain_id}"
    return f"{base}:{from_domain}" if from_domain else base


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


class CheckRequest(BaseModel):
    """A check-now: check the domain's records and save the result (the API's `verify`)."""

    workspace_id: str
    domain_id: str
    from_domain: str | None = None  # the From domain to judge alignment for; the sending domain by default


class CheckReport(BaseModel):
    """What a check-now found and saved; `exists` is False (and nothing else set) when the domain was deleted."""

    exists: bool
    status: str | None = None  # the domain's status after the check
    check: DomainCheck | None = None
    checked_at: datetime | None = None
