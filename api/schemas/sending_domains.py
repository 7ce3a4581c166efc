"""Request and response bodies of the sending-domains API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.base import SafeInput
from domain.sending_domains.evaluation import Alignment, Diagnostic, DomainCheck, RecordResult
from domain.sending_domains.records import ExpectedRecord, RecordKind
from store.models import SendingDomain


class SendingDomainCreate(SafeInput):
    domain: str = Field(description="The domain to send from, e.g. mail.example.com (internationalized names too).")


class VerifyRequest(SafeInput):
    from_domain: str | None = Field(
        None, description="The From domain to check DMARC alignment for; the sending domain itself by default."
    )


class PublishedRecord(BaseModel):
    kind: RecordKind
    type: Literal["TXT", "CNAME"]
    host: str
    value: str = Field(description="The full value (TXT: the character-strings joined).")
    strings: list[str] = Field(description="TXT: the character-strings to publish, 255 bytes at most each.")
    zone_value: str = Field(description="The value as a zone file takes it (TXT: quoted strings).")

    @classmethod
    def of(cls, record: ExpectedRecord) -> PublishedRecord:
        return cls(**record.model_dump(), zone_value=record.zone_value)


class SendingDomainPublic(BaseModel):
    id: str
    domain: str
    status: Literal["pending", "verified", "failing", "failed"]
    dkim_selector: str
    records: list[PublishedRecord]
    last_check: dict[str, Any] | None
    checked_at: datetime | None
    verified_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, row: SendingDomain) -> SendingDomainPublic:
        return cls(
            id=row.id,
            domain=row.domain,
            status=row.status,
            dkim_selector=row.dkim_selector,
            records=[PublishedRecord.of(ExpectedRecord.model_validate(record)) for record in row.records],
            last_check=row.last_check or None,
            checked_at=row.checked_at,
            verified_at=row.verified_at,
            created_at=row.created_at,
        )


class VerifyResult(BaseModel):
    """`allVerified` and `missingRecords` (expected vs found for each record not verified) as the product names them."""

    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True)

    id: str
    domain: str
    status: Literal["pending", "verified", "failing", "failed"]
    all_verified: bool = Field(alias="allVerified")
    missing_records: list[RecordResult] = Field(alias="missingRecords")
    records: list[RecordResult]
    diagnostics: list[Diagnostic]
    alignment: Alignment
    spf_lookups: int | None
    checked_at: datetime

    @classmethod
    def of(cls, row: SendingDomain, check: DomainCheck, status: str, checked_at: datetime) -> VerifyResult:
        """`status` is the one the check saved (the row in hand was read before the check)."""
        return cls(
            id=row.id,
            domain=row.domain,
            status=status,
            all_verified=check.all_verified,
            missing_records=check.missing_records,
            records=check.records,
            diagnostics=check.diagnostics,
            alignment=check.alignment,
            spf_lookups=check.spf_lookups,
            checked_at=checked_at,
        )
