"""How a domain's status moves with each check.

pending  -- never fully verified yet; stays pending until every record resolves, `failed` when the window ends
verified -- every record resolved at the last check
failing  -- was verified, a later check found a record gone or wrong (the regression is recorded); a check whose
            only failures are lookup errors (our resolver timing out, a SERVFAIL) is inconclusive and flags nothing
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
    if current == "verified" and check.inconclusive:
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
    """Records verified at the previous check and found missing or wrong at this one (lookup errors prove nothing)."""
    if previous is None:
        return []
    return [
        record.kind
        for record in current.records
        if record.status in ("missing", "mismatch") and previous.status_of(record.kind) == "verified"
    ]
