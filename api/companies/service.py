"""Companies (accounts): create, read, update, delete, list, and the contacts linked to one.

Routes call this service; it raises ApiError subclasses with stable codes (`company_not_found`,
`company_exists`). Deleting a company unlinks its contacts (their `company_id` becomes null) in the same
transaction. Domains are stored lower-cased, so `Acme.com` and `acme.com` are one company.

Segments reading companies follow their changes in real time: when the workspace's dispatch interest asks for
contact changes, an update queues one `company` outbox row (the dispatcher re-evaluates those segments for the
company's contacts in one set-based pass) and a delete one `contact` row per contact it unlinks, in the
transaction that writes the change. The caller wakes the dispatcher after the commit when `True` comes back.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.errors import Conflict, NotFound
from domain.clock import utcnow
from domain.events.interest import Interest, OutboxKind
from domain.ids import new_id
from store.models import Contact
from store.models_companies import Company
from store.outbox import OutboxEvent, enqueue
from store.queries import workspace_page


def _normalized(values: dict[str, Any]) -> dict[str, Any]:
    if values.get("domain") is not None:
        values["domain"] = values["domain"].strip().lower()
    return values


async def owned_company(session: AsyncSession, workspace_id: str, company_id: str) -> Company:
    company = await session.get(Company, company_id)
    if company is None or company.workspace_id != workspace_id:
        raise NotFound(f"no company {company_id}", code="company_not_found")
    return company


async def _commit(session: AsyncSession) -> None:
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise Conflict("a company with that domain or external_id already exists", code="company_exists") from exc


class CompanyService:
    async def create(
        self, session: AsyncSession, workspace_id: str, *, name: str, domain: str | None,
        external_id: str | None, attributes: dict[str, Any],
    ) -> Company:  # fmt: skip
        values = _normalized({"name": name, "domain": domain, "external_id": external_id})
        company = Company(id=new_id("co"), workspace_id=workspace_id, attributes=attributes, **values)
        session.add(company)
        await _commit(session)
        return company

    async def update(
        self, session: AsyncSession, workspace_id: str, company_id: str, changes: dict[str, Any],
        interest: Interest | None = None,
    ) -> tuple[Company, bool]:  # fmt: skip
        """The updated company, and whether a change row was queued."""
        company = await owned_company(session, workspace_id, company_id)
        attributes = changes.pop("attributes", None)
        if changes.get("name", "") is None:
            changes.pop("name")  # name is required: null leaves it as is
        for name, value in _normalized(changes).items():
            setattr(company, name, value)
        if attributes is not None:
            merged = {**company.attributes, **attributes}
            company.attributes = {k: v for k, v in merged.items() if v is not None}
        now = company.updated_at = utcnow()
        session.add(company)
        queued = interest is not None and interest.contacts
        if queued:
            row = OutboxEvent(workspace_id, company.id, new_id("cc"), company.id, {}, now, OutboxKind.COMPANY)
            await enqueue(session, [row], now)
        await _commit(session)
        return company, queued

    async def delete(
        self, session: AsyncSession, workspace_id: str, company_id: str, interest: Interest | None = None
    ) -> bool:
        """Delete and unlink; whether change rows were queued."""
        company = await owned_company(session, workspace_id, company_id)
        linked = (col(Contact.workspace_id) == workspace_id, col(Contact.company_id) == company.id)
        now = utcnow()
        rows: list[OutboxEvent] = []
        if interest is not None and interest.contacts:
            ids = (await session.execute(select(col(Contact.id)).where(*linked))).scalars()
            rows = [OutboxEvent(workspace_id, cid, new_id("cc"), "updated", {}, now, OutboxKind.CONTACT) for cid in ids]
        await session.execute(update(Contact).where(*linked).values(company_id=None, updated_at=now))
        await enqueue(session, rows, now)
        await session.delete(company)
        await session.commit()
        return bool(rows)

    async def page(self, session: AsyncSession, workspace_id: str, *, after: str | None, limit: int) -> list[Company]:
        return await workspace_page(session, Company, workspace_id, after=after, limit=limit)

    async def contacts(
        self, session: AsyncSession, workspace_id: str, company_id: str, *, after: str | None, limit: int
    ) -> list[Contact]:
        await owned_company(session, workspace_id, company_id)
        query = select(Contact).where(col(Contact.workspace_id) == workspace_id, col(Contact.company_id) == company_id)
        if after is not None:
            query = query.where(col(Contact.id) > after)
        return list((await session.execute(query.order_by(col(Contact.id)).limit(limit))).scalars())
