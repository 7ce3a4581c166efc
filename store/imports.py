"""Imports as the API sees them: created while the upload streams in (parts committed one by one), read back,
and their row errors read in pages."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store.models_imports import ContactImport, ContactImportError, ContactImportPart


async def get_import(session: AsyncSession, workspace_id: str, import_id: str) -> ContactImport | None:
    found = await session.get(ContactImport, import_id)
    return found if found is not None and found.workspace_id == workspace_id else None


async def add_part(session: AsyncSession, import_id: str, seq: int, data: bytes) -> None:
    session.add(ContactImportPart(import_id=import_id, seq=seq, data=data))
    await session.commit()


async def drop_parts(session: AsyncSession, import_id: str) -> None:
    await session.execute(delete(ContactImportPart).where(col(ContactImportPart.import_id) == import_id))


async def error_page(session: AsyncSession, import_id: str, after: int, limit: int) -> list[ContactImportError]:
    query = (
        select(ContactImportError)
        .where(col(ContactImportError.import_id) == import_id, col(ContactImportError.id) > after)
        .order_by(col(ContactImportError.id))
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())
