"""How a domain's status moves with each check.

pending  -- never fully verified yet; stays pending until every record resolves, `failed` when the window ends
verified -- every record resolved at the last check
failing  -- was verified, a later check found a record gone or wrong (the regression is recorded)
failed   -- the verification window ended before every record resolved; a later successful check verifies it
"""

from __future__ import annotations

from typing import Literal

from domain.sending_domains.evaluation import DomainCheck
from domain.sending_domains.records import RecordKind

DomainStatus = Literal["pending", "verified", "failing", "failed"]


def status_after_check(current: str, check: DomainCheck) -> DomainStatus:
    if check.all_verified:
        return "verified"
    if current in ("verified", "failing"):
        return "failing"
    return "failed" if current == "failed" else "pending"


def status_after_timeout(current: str) -> DomainStatus:
    """The verification window ended: a domain still pending has failed; any other status stands."""
    if current == "pending":
        return "failed"
    return current if current in ("verified", "failing", "failed") else "pending"  # type: ignore[return-value]


def regressed_records(previous: DomainCheck | None, current: DomainCheck) -> list[RecordKind]:
    """Records verified at the previous check and not at this one."""
    if previous is None:
        return []
    return [
        record.kind
        for record in current.records
        if record.status != "verified" and previous.status_of(record.kind) == "verified"
    ]
