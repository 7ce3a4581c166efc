"""Applying an import, chunk by chunk, each chunk's writes and its progress checkpoint in one transaction.

Synchronous (a worker thread runs it, see activities/imports/): each chunk is a few set-based statements — one
read per identifier the policy looks at (`IN json_each(:values)` on SQLite, `= ANY(:values)` on PostgreSQL),
then executemany inserts and updates — never a query or an ORM object per row.

No row is applied twice: a chunk's first statement moves the checkpoint from where the chunk started to where it
ends, and only if the checkpoint still is where it started (`UPDATE .. WHERE cursor_offset = :start`). A worker
killed mid-chunk rolls the whole chunk back; an attempt that finds the checkpoint moved (another attempt did the
chunk) stops with `StaleCheckpoint` and the retry resumes from the stored checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, Table, insert, text, update
from sqlalchemy.sql.expression import bindparam
from sqlmodel import SQLModel

from domain.clock import utcnow
from domain.events.resolution import ANONYMOUS, USER
from domain.identity.identifiers import KEYED, key_of, keys_for
from domain.identity.policy import DEFAULT_MERGE_POLICY, MergePolicy
from domain.ids import IdBatch
from domain.imports.mapping import ImportMapping
from domain.imports.reader import ImportFileError, records
from domain.imports.resolve import COLUMN_IDENTIFIERS, CONTACT_FIELDS, ChunkPlan, ChunkResolver, Entity
from domain.imports.rows import ParsedRow, RowError, RowParser
from store.models import Contact, ContactIdentity
from store.models_imports import ContactImportError

CONTACT: Table = SQLModel.metadata.tables[Contact.__tablename__]
IDENTITY: Table = SQLModel.metadata.tables[ContactIdentity.__tablename__]
ERRORS: Table = SQLModel.metadata.tables[ContactImportError.__tablename__]
PARTS_PER_READ = 8
_KEYS = ("email_key", "phone_key")
_SELECTED = "id, email, phone, external_id, first_name, last_name, timezone, attributes, email_key, phone_key"


class StaleCheckpoint(Exception):
    """Another attempt applied this chunk first."""


@dataclass
class Progress:
    rows_done: int
    imported: int
    updated: int
    failed: int
    status: str


def identity_kind(target: str) -> str:
    return ANONYMOUS if target == "anonymous_id" else target


def _in(dialect: str, column: str) -> str:
    if dialect == "postgresql":
        return f"{column} = ANY(:values)"
    return f"{column} IN (SELECT value FROM json_each(:values))"


def _values(dialect: str, values: list[str]) -> Any:
    return values if dialect == "postgresql" else orjson.dumps(values).decode()


def blocks(engine: Engine, import_id: str, part_bytes: int, offset: int) -> Iterator[bytes]:
    """The upload's bytes from `offset` on, a few parts per read, on a connection of its own."""
    seq, skip = divmod(offset, part_bytes)
    query = text(
        "SELECT seq, data FROM contact_import_part WHERE import_id = :id AND seq >= :seq ORDER BY seq LIMIT :n"
    )
    while True:
        with engine.connect() as connection:
            rows = connection.execute(query, {"id": import_id, "seq": seq, "n": PARTS_PER_READ}).all()
        if not rows:
            return
        for part_seq, data in rows:
            if part_seq != seq:
                raise ImportFileError(f"part {seq} of the upload is missing")
            yield bytes(data[skip:])
            skip = 0
            seq += 1


def _load_policy(connection: Connection, workspace_id: str) -> MergePolicy:
    raw = connection.execute(
        text("SELECT policy FROM merge_policy WHERE workspace_id = :ws"), {"ws": workspace_id}
    ).scalar()
    if raw is None:
        return DEFAULT_MERGE_POLICY
    return MergePolicy.model_validate(orjson.loads(raw) if isinstance(raw, str | bytes) else raw)


class ImportRun:
    def __init__(self, engine: Engine, import_id: str, chunk_rows: int) -> None:
        self.engine = engine
        self.import_id = import_id
        self.chunk_rows = chunk_rows
        self.dialect = engine.dialect.name
        self.unique: tuple[str, ...] = ()  # the policy's unique identifiers: the keys written (identity_keys.py)
        self._keys: dict[str, tuple[str | None, str | None, str | None, str | None]] = {}  # stored email, key, ...

    def _row(self, connection: Connection) -> Any:
        return (
            connection.execute(text("SELECT * FROM contact_import WHERE id = :id"), {"id": self.import_id})
            .mappings()
            .one()
        )

    def run(self, on_chunk: Callable[[Progress], None]) -> Progress:
        with self.engine.begin() as connection:
            state = self._row(connection)
            if state["status"] in ("completed", "failed"):
                return _progress(state)
            connection.execute(
                text("UPDATE contact_import SET status = 'running', started_at = COALESCE(started_at, :now) "
                     "WHERE id = :id"),
                {"id": self.import_id, "now": utcnow()},
            )  # fmt: skip
            policy = _load_policy(connection, state["workspace_id"])
        self.unique = tuple(policy.unique)
        mapping = ImportMapping.parse(_json(state["mapping"]))
        parser = RowParser(mapping.positions(_json(state["columns"])))
        identity_targets = [t.name for t in mapping.targets.values() if t.kind == "identity"]
        mapped = [t.name for t in mapping.targets.values() if t.kind in ("field", "identity")]
        offset, row = int(state["cursor_offset"]), int(state["cursor_row"])
        ids = IdBatch("ct", self.chunk_rows)
        stream = records(blocks(self.engine, self.import_id, int(state["part_bytes"]), offset), offset)
        try:
            while True:
                parsed: list[ParsedRow] = []
                errors: list[RowError] = []
                end = offset
                for record in islice(stream, self.chunk_rows):
                    row += 1
                    end = record.end
                    if record.cells is None:
                        errors.append(RowError(row, "", record.error or "not valid CSV"))
                        continue
                    outcome = parser.parse(row, record.cells)
                    if isinstance(outcome, list):
                        errors.extend(outcome)
                    else:
                        parsed.append(outcome)
                if end == offset:
                    break
                resolver = ChunkResolver(policy, identity_targets, ids)
                self._apply(state["workspace_id"], offset, end, row, parsed, errors, resolver, mapped)
                offset = end
                with self.engine.connect() as connection:
                    on_chunk(_progress(self._row(connection)))
        except ImportFileError as exc:
            return self._finish("failed", str(exc))
        return self._finish("completed", None)

    def _finish(self, status: str, error: str | None) -> Progress:
        with self.engine.begin() as connection:
            connection.execute(
                text("UPDATE contact_import SET status = :status, error = :error, finished_at = :now WHERE id = :id"),
                {"id": self.import_id, "status": status, "error": error, "now": utcnow()},
            )
            return _progress(self._row(connection))

    def _apply(
        self,
        workspace_id: str,
        start: int,
        end: int,
        row: int,
        parsed: list[ParsedRow],
        errors: list[RowError],
        resolver: ChunkResolver,
        mapped: list[str],
    ) -> None:
        with self.engine.begin() as connection:
            moved = connection.execute(
                text("UPDATE contact_import SET cursor_offset = :end, cursor_row = :row "
                     "WHERE id = :id AND cursor_offset = :start"),
                {"id": self.import_id, "start": start, "end": end, "row": row},
            )  # fmt: skip
            if moved.rowcount != 1:
                raise StaleCheckpoint(self.import_id)
            self._read_known(connection, workspace_id, parsed, resolver, resolver.lookup_kinds(mapped))
            plan = resolver.resolve(parsed)
            self._write(connection, workspace_id, plan, [*errors, *plan.errors])
            connection.execute(
                text("UPDATE contact_import SET rows_done = rows_done + :n, imported = imported + :imported, "
                     "updated = updated + :updated, failed = failed + :failed WHERE id = :id"),
                {"id": self.import_id, "n": len(parsed) + len(errors), "imported": plan.imported,
                 "updated": plan.updated, "failed": len(errors) + len(plan.errors)},
            )  # fmt: skip

    def _read_known(
        self,
        connection: Connection,
        workspace_id: str,
        rows: list[ParsedRow],
        resolver: ChunkResolver,
        kinds: list[str],
    ) -> None:
        contact_ids: set[str] = set()
        for kind in kinds:
            values = sorted({v for r in rows if (v := r.identifier(kind))})
            if not values:
                continue
            params = {"ws": workspace_id, "values": _values(self.dialect, values)}
            if kind in COLUMN_IDENTIFIERS:
                column = kind
                if kind in KEYED and kind in self.unique:  # by the unique key: every spelling of the value
                    column = f"{kind}_key"
                    keys = sorted({k for v in values if (k := key_of(kind, v))})
                    params["values"] = _values(self.dialect, keys)
                found = connection.execute(
                    text(f"SELECT {_SELECTED} FROM contact WHERE workspace_id = :ws AND merged_into IS NULL "
                         f"AND {_in(self.dialect, column)}"),
                    params,
                ).mappings()  # fmt: skip
                for contact in found:
                    self._know(resolver, contact)
                continue
            linked = connection.execute(
                text("SELECT value, contact_id FROM contact_identity WHERE workspace_id = :ws AND kind = :kind "
                     f"AND {_in(self.dialect, 'value')}"),
                {**params, "kind": identity_kind(kind)},
            )  # fmt: skip
            for value, contact_id in linked:
                resolver.know_identity(kind, value, contact_id)
                contact_ids.add(contact_id)
        if contact_ids:
            params = {"ws": workspace_id, "values": _values(self.dialect, sorted(contact_ids))}
            found = connection.execute(
                text(f"SELECT {_SELECTED} FROM contact WHERE workspace_id = :ws AND {_in(self.dialect, 'id')}"), params
            ).mappings()
            for contact in found:
                self._know(resolver, contact)

    def _know(self, resolver: ChunkResolver, contact: Any) -> None:
        self._keys[contact["id"]] = (contact["email"], contact["email_key"], contact["phone"], contact["phone_key"])
        _know(resolver, contact)

    def _keys_of(self, entity: Entity) -> tuple[str | None, str | None]:
        """The keys an entity's row carries: a new contact's by the policy; a stored contact keeps its own for a
        value that did not change (an older duplicate left without a key stays without one)."""
        email, phone = entity.fields.get("email"), entity.fields.get("phone")
        email_key, phone_key = keys_for(self.unique, email, phone, None)
        stored = self._keys.get(entity.id)
        if stored is not None and not entity.new:
            if stored[0] == email:
                email_key = stored[1]
            if stored[2] == phone:
                phone_key = stored[3]
        return email_key, phone_key

    def _write(self, connection: Connection, workspace_id: str, plan: ChunkPlan, errors: list[RowError]) -> None:
        now = utcnow()
        inserts = plan.inserts()
        if inserts:
            # The DBAPI's executemany with the statement written once: no per-row parameter processing by
            # SQLAlchemy (the timestamp is processed once, the attributes serialized here).
            stamp = CONTACT.c.created_at.type._cached_bind_processor(connection.dialect)
            at = stamp(now) if stamp else now
            dumps = orjson.dumps
            connection.exec_driver_sql(
                _insert_contacts(self.dialect),
                [
                    (e.id, workspace_id, *[e.fields[name] for name in CONTACT_FIELDS], *self._keys_of(e),
                     dumps(e.attributes).decode(), at, at)
                    for e in inserts
                ],
            )  # fmt: skip
        updates = plan.updates()
        if updates:
            statement = (
                update(CONTACT)
                .where(CONTACT.c.id == bindparam("_id"))
                .values({name: bindparam(name) for name in (*CONTACT_FIELDS, *_KEYS, "attributes", "updated_at")})
            )
            connection.execute(
                statement,
                [
                    {"_id": e.id, **e.fields, **dict(zip(_KEYS, self._keys_of(e), strict=True)),
                     "attributes": e.attributes, "updated_at": now}
                    for e in updates
                ],
            )  # fmt: skip
        at = stamp(now) if (stamp := IDENTITY.c.created_at.type._cached_bind_processor(connection.dialect)) else now
        links = [
            (workspace_id, USER, external_id, e.id, at)
            for e in plan.entities.values() if (external_id := e.fields.get("external_id"))
        ] + [
            (workspace_id, identity_kind(kind), value, e.id, at)
            for e in plan.entities.values() for kind, value in sorted(e.identities)
        ]  # fmt: skip
        if links:
            connection.exec_driver_sql(_insert_links(self.dialect), links)
        if errors:
            connection.execute(
                insert(ERRORS),
                [{"import_id": self.import_id, "row": e.row, "column": e.column, "reason": e.reason[:2000]}
                 for e in sorted(errors, key=lambda e: e.row)],
            )  # fmt: skip


def _insert_contacts(dialect: str) -> str:
    columns = ("id", "workspace_id", *CONTACT_FIELDS, *_KEYS, "attributes", "created_at", "updated_at")
    mark = "%s" if dialect == "postgresql" else "?"
    return f"INSERT INTO contact ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"


def _insert_links(dialect: str) -> str:
    mark = "%s" if dialect == "postgresql" else "?"
    return (
        f"INSERT INTO contact_identity (workspace_id, kind, value, contact_id, created_at) VALUES "
        f"({', '.join([mark] * 5)}) ON CONFLICT (workspace_id, kind, value) DO NOTHING"
    )


def _json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def _know(resolver: ChunkResolver, contact: Any) -> None:
    fields = {name: contact[name] for name in CONTACT_FIELDS}
    resolver.know(contact["id"], fields, _json(contact["attributes"]) or {})


def _progress(state: Any) -> Progress:
    return Progress(
        rows_done=int(state["rows_done"]),
        imported=int(state["imported"]),
        updated=int(state["updated"]),
        failed=int(state["failed"]),
        status=str(state["status"]),
    )
