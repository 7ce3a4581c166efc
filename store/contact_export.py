"""The contacts of a workspace for an export: keyset batches in id order (never one long-held cursor, so an export
of millions of rows holds no transaction open and each batch is one indexed range read), optionally only a
segment's current members or contacts changed since a time. Merged-away contacts are not exported."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store.models import Contact
from store.models_segments import SegmentMembership


async def contact_batches(
    session: AsyncSession,
    workspace_id: str,
    *,
    segment_id: str | None = None,
    updated_since: datetime | None = None,
    batch: int = 1000,
) -> AsyncIterator[list[Contact]]:
    after = ""
    while True:
        query = select(Contact).where(
            col(Contact.workspace_id) == workspace_id, col(Contact.id) > after, col(Contact.merged_into).is_(None)
        )
        if segment_id is not None:
            query = query.join(
                SegmentMembership,
                (col(SegmentMembership.contact_id) == col(Contact.id))
                & (col(SegmentMembership.segment_id) == segment_id),
            )
        if updated_since is not None:
            query = query.where(col(Contact.updated_at) >= updated_since)
        rows = list((await session.execute(query.order_by(col(Contact.id)).limit(batch))).scalars())
        if not rows:
            return
        yield rows
        after = rows[-1].id
        session.expunge_all()  # a batch's rows are written out: do not keep millions in the identity map
        if len(rows) < batch:
            return
