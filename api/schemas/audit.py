"""Response bodies of the audit-log API."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from domain.audit.chain import Problem


class AuditEntryPublic(BaseModel):
    seq: int = Field(description="Position in the workspace's hash chain (1, 2, ...)")
    at: datetime
    actor: str = Field(description="`key:<key_id>` for an API key, `system:<what>` for the engine's own work")
    action: str = Field(description="e.g. contact.update, journey.publish")
    target_type: str
    target_id: str
    request_id: str | None
    before: Any = Field(description="The audited fields before the write (secrets redacted, email/phone masked)")
    after: Any
    hash: str
    prev_hash: str

    @property
    def id(self) -> int:
        return self.seq

    @classmethod
    def of(cls, row: Any) -> AuditEntryPublic:
        document = json.loads(row.document)
        return cls(
            seq=row.seq,
            at=row.created_at,
            actor=row.actor,
            action=row.action,
            target_type=row.target_type,
            target_id=row.target_id,
            request_id=row.request_id,
            before=document.get("before"),
            after=document.get("after"),
            hash=row.hash,
            prev_hash=row.prev_hash,
        )


class AuditProblem(BaseModel):
    seq: int
    kind: str = Field(description="modified, deleted, reordered or broken")
    detail: str

    @classmethod
    def of(cls, problem: Problem) -> AuditProblem:
        return cls(seq=problem.seq, kind=problem.kind, detail=problem.detail)


class AuditVerification(BaseModel):
    ok: bool
    entries: int
    head_seq: int
    problems: list[AuditProblem]
