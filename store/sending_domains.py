"""Sending domains: rows, their key material, and the result of each DNS check."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from domain.sending_domains.evaluation import DomainCheck
from domain.sending_domains.records import ExpectedRecord, RecordKind
from domain.sending_domains.status import regressed_records, status_after_check, status_after_timeout
from mauntic.dkim_keys import private_key_pem
from mauntic.secrets import SecretBox
from store.models import SendingDomain
from store.queries import workspace_page


async def get_sending_domain(session: AsyncSession, workspace_id: str, domain_id: str) -> SendingDomain | None:
    row = await session.get(SendingDomain, domain_id)
    return row if row is not None and row.workspace_id == workspace_id else None


async def find_sending_domain(session: AsyncSession, workspace_id: str, domain: str) -> SendingDomain | None:
    result = await session.execute(
        select(SendingDomain).where(
            col(SendingDomain.workspace_id) == workspace_id, col(SendingDomain.domain) == domain.lower()
        )
    )
    return result.scalar_one_or_none()


async def list_sending_domains(
    session: AsyncSession, workspace_id: str, *, after: str | None, limit: int
) -> list[SendingDomain]:
    return await workspace_page(session, SendingDomain, workspace_id, after=after, limit=limit)


async def verified_domain(session: AsyncSession, workspace_id: str, domain: str) -> SendingDomain | None:
    """The workspace's sending domain `domain` if its records were verified: status `verified`, or `failing` (it was
    verified and a re-check found a regression; its key stays the one to sign with while that is fixed)."""
    row = await find_sending_domain(session, workspace_id, domain)
    return row if row is not None and row.status in ("verified", "failing") else None


def dkim_private_key_pem(row: SendingDomain, box: SecretBox) -> bytes:
    """The decrypted DKIM private key (PKCS#8 PEM) of a sending domain; selector is row.dkim_selector."""
    return private_key_pem(box, row.dkim_private_key)


def expected_records_of(row: SendingDomain) -> list[ExpectedRecord]:
    return [ExpectedRecord.model_validate(record) for record in row.records]


def last_check_of(row: SendingDomain) -> DomainCheck | None:
    if not row.last_check:
        return None
    try:
        return DomainCheck.model_validate(row.last_check)
    except ValidationError:
        return None


@dataclass(frozen=True)
class CheckSaved:
    previous_status: str
    status: str
    regressed: list[RecordKind]


async def save_check(session: AsyncSession, row: SendingDomain, check: DomainCheck, now: datetime) -> CheckSaved:
    """Store a check's result and move the status; a regression (verified records that no longer verify) is
    recorded in last_check["regression"] and kept while the domain stays failing. Commits."""
    previous_status = row.status
    regressed = regressed_records(last_check_of(row), check)
    status = status_after_check(previous_status, check)
    last_check: dict[str, Any] = {**check.model_dump(mode="json", by_alias=True), "checked_at": now.isoformat()}
    if regressed and status == "failing":
        last_check["regression"] = {"records": [kind.value for kind in regressed], "detected_at": now.isoformat()}
    elif status == "failing" and "regression" in row.last_check:
        last_check["regression"] = row.last_check["regression"]
    row.status, row.last_check, row.checked_at = status, last_check, now
    if status == "verified" and previous_status != "verified":
        row.verified_at = now
    session.add(row)
    await session.commit()
    return CheckSaved(previous_status=previous_status, status=status, regressed=regressed)


async def mark_timed_out(session: AsyncSession, workspace_id: str, domain_id: str) -> str | None:
    """The verification window ended: a still-pending domain becomes failed. Returns the status (None if gone)."""
    row = await get_sending_domain(session, workspace_id, domain_id)
    if row is None:
        return None
    row.status = status_after_timeout(row.status)
    session.add(row)
    await session.commit()
    return row.status


async def delete_sending_domain(session: AsyncSession, row: SendingDomain) -> None:
    await session.delete(row)
    await session.commit()
