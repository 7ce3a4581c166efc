"""CSV imports: the upload streamed into the database in parts (any worker reads it), the mapping checked against
the header before anything is stored, then the import workflow started.

The body is read as it arrives: at most one part (`PART_BYTES`) is held at a time. The mapping is refused with a
422 naming the column (`invalid_mapping`) as soon as the header has arrived.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from activities.imports.contracts import IMPORT_WORKFLOW, ImportInput, ImportResult, import_workflow_id
from api.errors import NotFound, Unprocessable
from domain.access.fields import UNRESTRICTED, FieldPolicy, redact_quoted
from domain.clock import utcnow
from domain.ids import new_id
from domain.imports.mapping import ImportMapping, MappingError
from domain.imports.reader import ImportFileError, header_of
from mauntic.temporal import TemporalGateway
from store.imports import add_part, drop_parts, error_page, get_import
from store.models_imports import ContactImport

PART_BYTES = 1024 * 1024
ERRORS_PAGE = 5000


def parsed_mapping(raw: str | None) -> ImportMapping:
    if not raw:
        raise Unprocessable("give the column mapping (Import-Mapping header or ?mapping=)", code="invalid_mapping")
    try:
        return ImportMapping.parse(orjson.loads(raw))
    except orjson.JSONDecodeError as exc:
        raise Unprocessable("the mapping is not valid JSON", code="invalid_mapping") from exc
    except MappingError as exc:
        raise Unprocessable(str(exc), code="invalid_mapping", details={"column": exc.column}) from exc


class ImportService:
    async def upload(
        self,
        session: AsyncSession,
        temporal: TemporalGateway,
        workspace_id: str,
        mapping: ImportMapping,
        filename: str | None,
        body: AsyncIterator[bytes],
        chunk_rows: int,
        heartbeat_seconds: int = 60,
    ) -> ContactImport:
        row: ContactImport | None = None
        buffer = bytearray()
        seq = size = 0
        try:
            async for piece in body:
                buffer += piece
                size += len(piece)
                if row is None:
                    row = await self._start(session, workspace_id, mapping, filename, bytes(buffer), final=False)
                while row is not None and len(buffer) >= PART_BYTES:
                    await add_part(session, row.id, seq, bytes(buffer[:PART_BYTES]))
                    del buffer[:PART_BYTES]
                    seq += 1
            if row is None:
                row = await self._start(session, workspace_id, mapping, filename, bytes(buffer), final=True)
            if row is None:
                raise Unprocessable("the file has no complete header line", code="invalid_csv")
            if buffer:
                await add_part(session, row.id, seq, bytes(buffer))
        except BaseException:
            if row is not None:
                await session.rollback()
                await drop_parts(session, row.id)
                row.status, row.error = "failed", "the upload did not complete"
                session.add(row)
                await session.commit()
            raise
        row.size_bytes, row.status = size, "queued"
        session.add(row)
        await session.commit()
        client = await temporal.client()
        await client.start_workflow(
            IMPORT_WORKFLOW,
            ImportInput(import_id=row.id, chunk_rows=chunk_rows, heartbeat_timeout_seconds=heartbeat_seconds),
            id=import_workflow_id(row.id),
            task_queue=temporal.task_queue,
            result_type=ImportResult,
        )
        return row

    async def _start(
        self,
        session: AsyncSession,
        workspace_id: str,
        mapping: ImportMapping,
        filename: str | None,
        head: bytes,
        final: bool,
    ) -> ContactImport | None:
        """The import row once the header is in `head` (None: read more); the mapping checked against it."""
        if final and not head.endswith(b"\n"):
            head += b"\n"
        try:
            found = header_of(head[: 2 * PART_BYTES])
        except ImportFileError as exc:
            raise Unprocessable(str(exc), code="invalid_csv") from exc
        if found is None:
            if final or len(head) > PART_BYTES:
                raise Unprocessable("the file has no complete header line", code="invalid_csv")
            return None
        columns, offset = found
        try:
            mapping.positions(columns)
        except MappingError as exc:
            raise Unprocessable(str(exc), code="invalid_mapping", details={"column": exc.column}) from exc
        row = ContactImport(
            id=new_id("im"), workspace_id=workspace_id, filename=filename, mapping=mapping.to_json(),
            columns=columns, part_bytes=PART_BYTES, data_offset=offset, cursor_offset=offset, created_at=utcnow(),
        )  # fmt: skip
        session.add(row)
        await session.commit()
        return row

    async def get(self, session: AsyncSession, workspace_id: str, import_id: str) -> ContactImport:
        found = await get_import(session, workspace_id, import_id)
        if found is None:
            raise NotFound(f"no import {import_id}", code="import_not_found")
        return found

    async def errors_csv(
        self, session: AsyncSession, import_id: str, policy: FieldPolicy = UNRESTRICTED
    ) -> AsyncIterator[bytes]:
        """The refused rows; a reason quotes the row's values, which a role with fields hidden or masked reads
        as '[hidden]'."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["row", "column", "reason"])
        after = 0
        while True:
            page = await error_page(session, import_id, after, ERRORS_PAGE)
            for error in page:
                writer.writerow([error.row, error.column, redact_quoted(policy, error.reason)])
            yield out.getvalue().encode()
            out.seek(0)
            out.truncate()
            if len(page) < ERRORS_PAGE:
                return
            after = page[-1].id or 0
