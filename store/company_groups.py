"""Segment `group` calls applied to companies, in the ingestion transaction (synchronous, like store/events.py).

The company is keyed by the groupId (`company.external_id`, unique per workspace): created when first seen
(INSERT .. ON CONFLICT DO NOTHING, so two transactions naming the same new groupId both end up with the one
company), then updated from the traits in message order, and the message's contact linked to it. A domain
another company of the workspace already holds is left alone (the company keeps its own, and the trait stays
among the attributes only as `website` would), so one trait never fails the batch on the unique domain.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session
from sqlmodel import SQLModel, col

from domain.companies.traits import MAX_NAME, CompanyTraits
from domain.events.segment import SegmentMessage
from domain.ids import new_id
from store.event_contacts import chunks, dialect_of
from store.models import Contact
from store.models_companies import Company
from store.queries import insert_ignoring

COMPANY: Table = SQLModel.metadata.tables[Company.__tablename__]


def _by_external_id(session: Session, workspace_id: str, keys: Sequence[str]) -> dict[str, Company]:
    found: dict[str, Company] = {}
    for chunk in chunks(keys):
        query = select(Company).where(col(Company.workspace_id) == workspace_id, col(Company.external_id).in_(chunk))
        found.update((str(c.external_id), c) for c in session.execute(query).scalars())
    return found


def _domain_holders(session: Session, workspace_id: str, domains: Sequence[str]) -> dict[str, str]:
    holders: dict[str, str] = {}
    for chunk in chunks(domains):
        query = select(col(Company.domain), col(Company.id)).where(
            col(Company.workspace_id) == workspace_id, col(Company.domain).in_(chunk)
        )
        holders.update((str(domain), str(cid)) for domain, cid in session.execute(query))
    return holders


def _apply(company: Company, traits: CompanyTraits, holders: dict[str, str], now: datetime) -> bool:
    """Set what the traits say; True when something changed."""
    before: tuple[Any, ...] = (company.name, company.domain, company.attributes)
    if traits.name is not None:
        company.name = traits.name
    if traits.domain is not None and holders.get(traits.domain, company.id) == company.id:
        if company.domain is not None:
            holders.pop(company.domain, None)
        company.domain = traits.domain
        holders[traits.domain] = company.id
    if traits.attributes:
        merged = {**company.attributes, **traits.attributes}
        company.attributes = {k: v for k, v in merged.items() if v is not None}
    changed = (company.name, company.domain, company.attributes) != before
    if changed:
        company.updated_at = now
    return changed


def apply_groups(
    session: Session, workspace_id: str, groups: Sequence[tuple[SegmentMessage, Contact | None]], now: datetime
) -> set[str]:
    """Create or update the companies the group messages name and link their contacts (in order); the ids of the
    companies that existed before and changed (their other contacts' segments may have to follow)."""
    keys = sorted({str(m.name) for m, _ in groups})
    companies = _by_external_id(session, workspace_id, keys)
    missing = [k for k in keys if k not in companies]
    if missing:
        session.flush()
        rows = [
            {"id": new_id("co"), "workspace_id": workspace_id, "name": key[:MAX_NAME], "external_id": key,
             "attributes": {}, "created_at": now, "updated_at": now}
            for key in missing
        ]  # fmt: skip
        session.execute(insert_ignoring(dialect_of(session), COMPANY, "workspace_id", "external_id"), rows)
        companies.update(_by_external_id(session, workspace_id, missing))
    created = {companies[k].id for k in missing if k in companies}
    domains = sorted({m.company.domain for m, _ in groups if m.company is not None and m.company.domain})
    holders = _domain_holders(session, workspace_id, domains) if domains else {}
    changed: set[str] = set()
    for message, contact in groups:
        company = companies[str(message.name)]
        if message.company is not None and _apply(company, message.company, holders, now):
            changed.add(company.id)
        if contact is not None and contact.company_id != company.id:
            contact.company_id = company.id
            contact.updated_at = now
    return changed - created
