"""The audit hook: every row of an audited model (store/audit_registry.py) created, changed or deleted through any
Session is queued as an audit entry, in the flush that writes it — one place, so no write path can forget it.

Why `after_flush`: by then new rows have their primary keys (autoincrement ids included), while the unit of work
still lists the new, dirty and deleted instances and each attribute's history (the value loaded before the
change and the value written). The diff holds the changed columns only (plus a model's identifying columns);
the commit-time listener in store/audit.py masks it and appends it to the workspace's chain in the same
transaction, so a rolled-back write leaves no entry. Several flushes of one row in a transaction (autoflush)
fold into one entry.

What it cannot see, by design: SQLAlchemy Core statements (`session.execute(update(table))`), which carry no
before state. Writes of audited state go through ORM instances for that reason; the bulk, high-rate paths that
use Core (ingested events, CSV import chunks, score ledgers, segment memberships) are the data plane, audited at
the operation level (an import is one entry when it starts, not one per row). A transaction marked
`data_plane(session)` (the Segment ingestion batches, which update contacts as ORM objects at thousands a second)
is skipped whole: its audit trail is the event log itself.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, UOWTransaction

from domain.audit.masking import jsonable
from mauntic.request_context import current_actor, current_request_id, current_workspace
from store.audit_registry import REGISTRY, Audited, Diff, RowChange

QUEUE = "mauntic_audit_queue"  # shared with store/audit.py: explicit entries and row changes, in order
_ROWS = "mauntic_audit_rows"  # (type, workspace, target) -> its RowChange in the queue
_DATA_PLANE = "mauntic_audit_data_plane"


def data_plane(session: Session | AsyncSession) -> None:
    """Mark the session's current transaction as data plane: its row changes are not audited (cleared at its
    commit or rollback)."""
    session.info[_DATA_PLANE] = True


def is_data_plane(session: Session) -> bool:
    return bool(session.info.get(_DATA_PLANE))


def _columns(instance: Any) -> list[str]:
    return [attr.key for attr in inspect(instance).mapper.column_attrs]


def _snapshot(spec: Audited, instance: Any) -> Diff:
    state = inspect(instance)
    loaded = state.dict
    return {name: jsonable(loaded[name]) for name in _columns(instance) if name in loaded and not spec.skipped(name)}


def _changes(spec: Audited, instance: Any) -> tuple[Diff, Diff]:
    state = inspect(instance)
    before: Diff = {}
    after: Diff = {}
    for name in _columns(instance):
        if spec.skipped(name):
            continue
        history = state.attrs[name].history
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if old == new:
            continue
        before[name], after[name] = jsonable(old), jsonable(new)
    if after:
        for name in spec.keep:
            value = jsonable(getattr(instance, name, None))
            before.setdefault(name, value)
            after.setdefault(name, value)
    return before, after


def _target(spec: Audited, instance: Any) -> str:
    if spec.target is not None:
        return str(spec.target(instance))
    key = inspect(instance).mapper.primary_key_from_instance(instance)
    return ":".join(str(part) for part in key)


def _queue(session: Session, spec: Audited, instance: Any, kind: str, before: Diff | None, after: Diff | None) -> None:
    workspace = spec.workspace(instance) if spec.workspace else getattr(instance, "workspace_id", None)
    workspace = workspace or current_workspace.get()
    if workspace is None:
        return  # a row of no workspace written outside any request (a CLI bootstrap): no chain to append to
    target = _target(spec, instance)
    rows: dict[tuple[str, str, str], RowChange] = session.info.setdefault(_ROWS, {})
    key = (spec.target_type, workspace, target)
    queued = rows.get(key)
    if queued is None:
        change = RowChange(
            spec=spec, kind=kind, workspace_id=workspace, target_id=target,
            actor=current_actor.get() or "system", request_id=current_request_id.get(), before=before, after=after,
        )  # fmt: skip
        rows[key] = change
        session.info.setdefault(QUEUE, []).append(change)
        return
    if kind == "deleted":  # (created then deleted in one transaction: the deletion, of what was created)
        queued.before = before if queued.kind == "created" else {**(before or {}), **(queued.before or {})}
        queued.kind, queued.after = "deleted", None
        return
    if queued.kind == "updated":
        queued.before = {**(before or {}), **(queued.before or {})}
    queued.after = {**(queued.after or {}), **(after or {})}


def _audited(instances: Any) -> list[tuple[Audited, Any]]:
    return [(spec, obj) for obj in instances if (spec := REGISTRY.get(type(obj))) is not None]


def _ordered(found: list[tuple[Audited, Any]]) -> list[tuple[Audited, Any]]:
    """The unit of work's sets are unordered: a stable order keeps a flush's entries the same on every database."""
    return sorted(found, key=lambda pair: (pair[0].target_type, _target(*pair)))


@event.listens_for(Session, "after_flush")
def _audit_rows(session: Session, flush_context: UOWTransaction) -> None:
    if session.info.get(_DATA_PLANE):
        return
    created = sorted(_audited(session.new), key=lambda pair: inspect(pair[1]).insert_order or 0)
    for spec, instance in created:  # in the order they were added
        _queue(session, spec, instance, "created", None, _snapshot(spec, instance))
    for spec, instance in _ordered(_audited(session.dirty)):
        before, after = _changes(spec, instance)
        if after:
            _queue(session, spec, instance, "updated", before, after)
    for spec, instance in _ordered(_audited(session.deleted)):
        _queue(session, spec, instance, "deleted", _snapshot(spec, instance), None)


def forget(session: Session) -> None:
    """The transaction ended: its row map and data-plane mark go with it (the queue is store/audit.py's)."""
    session.info.pop(_ROWS, None)
    session.info.pop(_DATA_PLANE, None)
