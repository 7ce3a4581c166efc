"""Which contact each row of a chunk lands on, by the workspace merge policy, decided in memory from one read.

The store reads, for every identifier the chunk's rows carry, the contacts already holding those values (one
query per identifier, set-based); `ChunkResolver` then walks the rows in file order against an index of
identifier values -> contacts that it keeps up to date as rows land, so a later row of the same file finds the
contact an earlier row created or changed:

- the policy's match groups (an OR of AND groups) pick the contact: the first group whose identifiers the row
  all carries and some contact all holds; several contacts holding them all: the newest (ids are time-ordered);
- the identifiers that are unique (the policy's, plus `external_id` and the identity-table kinds, which the
  schema keeps unique) must not point at a contact other than the matched one, nor differ from the matched
  contact's own value: such a row is refused (never merged automatically);
- no match: a new contact.

Duplicates inside the file are merged, in file order: each non-empty cell of a later row overwrites, empty cells
keep what earlier rows (or the stored contact) had. The outcome is the same whether the rows share a chunk or not.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from domain.identity.policy import MergePolicy
from domain.imports.rows import ParsedRow, RowError

COLUMN_IDENTIFIERS = ("email", "phone", "external_id")
_NONE: frozenset[str] = frozenset()
CONTACT_FIELDS = ("email", "phone", "external_id", "first_name", "last_name", "timezone")
_BLANK: dict[str, str | None] = dict.fromkeys(CONTACT_FIELDS)


@dataclass
class Entity:
    id: str
    fields: dict[str, str | None]
    attributes: dict[str, Any]
    new: bool
    changed: bool = False
    identities: set[tuple[str, str]] = field(default_factory=set)  # links to add


@dataclass
class ChunkPlan:
    entities: dict[str, Entity]
    errors: list[RowError]
    imported: int = 0  # rows that created a contact
    updated: int = 0  # rows that landed on an existing contact (or one an earlier row of the file created)

    def inserts(self) -> list[Entity]:
        return [e for e in self.entities.values() if e.new]

    def updates(self) -> list[Entity]:
        return [e for e in self.entities.values() if not e.new and e.changed]


def _ix(kind: str, value: str) -> str:
    """The index form of a value: emails case-insensitively, as their unique key (domain/identity/identifiers.py)."""
    return value.lower() if kind == "email" else value


class ChunkResolver:
    def __init__(self, policy: MergePolicy, identity_kinds: Iterable[str], new_id: Callable[[], str]) -> None:
        self.groups = [list(group) for group in policy.match]
        self.unique = [*dict.fromkeys([*policy.unique, "external_id", *identity_kinds])]
        self._new_id = new_id
        self._index: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        self._entities: dict[str, Entity] = {}

    def lookup_kinds(self, mapped: Iterable[str]) -> list[str]:
        """The identifiers to read stored contacts by: every mapped one that matching or uniqueness looks at."""
        wanted = {kind for group in self.groups for kind in group} | set(self.unique)
        return [kind for kind in dict.fromkeys(mapped) if kind in wanted]

    def know(self, contact_id: str, fields: dict[str, str | None], attributes: dict[str, Any]) -> None:
        if contact_id in self._entities:
            return
        self._entities[contact_id] = Entity(contact_id, dict(fields), dict(attributes), new=False)
        for kind in COLUMN_IDENTIFIERS:
            if value := fields.get(kind):
                self._index[kind][_ix(kind, value)].add(contact_id)

    def know_identity(self, kind: str, value: str, contact_id: str) -> None:
        self._index[kind][value].add(contact_id)

    def resolve(self, rows: Iterable[ParsedRow]) -> ChunkPlan:
        plan = ChunkPlan(entities={}, errors=[])
        for row in rows:
            self._apply(row, plan)
        plan.entities = {k: e for k, e in self._entities.items() if e.new or e.changed}
        return plan

    def _holders(self, kind: str, value: str) -> set[str] | frozenset[str]:
        index = self._index.get(kind)
        return _NONE if index is None else index.get(_ix(kind, value), _NONE)

    def _match(self, row: ParsedRow) -> str | None:
        for group in self.groups:
            if len(group) == 1:  # the usual group: one identifier, one dict lookup
                value = row.identifier(group[0])
                if value and (holders := self._holders(group[0], value)):
                    return max(holders)
                continue
            values = [row.identifier(kind) for kind in group]
            if not all(values):
                continue
            found: set[str] | frozenset[str] | None = None
            for kind, value in zip(group, values, strict=True):
                holders = self._holders(kind, value or "")
                found = holders if found is None else found & holders
                if not found:
                    break
            if found:
                return max(found)  # one holder, almost always: max of one
        return None

    def _conflict(self, row: ParsedRow, matched: str | None) -> RowError | None:
        for kind in self.unique:
            value = row.identifier(kind)
            if not value:
                continue
            holders = self._holders(kind, value)
            others = holders if not matched or not holders else holders - {matched}
            if others:
                owner = min(others)
                reason = (
                    f"{kind} {value!r} belongs to contact {owner}, not the contact this row matches ({matched})"
                    if matched
                    else f"{kind} {value!r} belongs to contact {owner}, which the policy's match groups do not match"
                )
                return RowError(row.row, kind, reason)
            if matched and kind in COLUMN_IDENTIFIERS:
                current = self._entities[matched].fields.get(kind)
                if current and _ix(kind, current) != _ix(kind, value):
                    return RowError(
                        row.row, kind, f"{kind} {value!r} differs from {current!r}, the matched contact's (unique)"
                    )
        return None

    def _apply(self, row: ParsedRow, plan: ChunkPlan) -> None:
        matched = self._match(row)
        if error := self._conflict(row, matched):
            plan.errors.append(error)
            return
        if matched is None:  # the common case, without the comparisons below
            contact_id = self._new_id()
            fields: dict[str, str | None] = {**_BLANK, **row.fields}
            entity = Entity(contact_id, fields, dict(row.attributes), new=True, changed=True)
            self._entities[contact_id] = entity
            plan.imported += 1
            index = self._index
            for name in COLUMN_IDENTIFIERS:
                if value := fields[name]:
                    index[name][_ix(name, value)].add(contact_id)
            for kind, value in row.identities.items():
                index[kind][value].add(contact_id)
                entity.identities.add((kind, value))
            return
        entity = self._entities[matched]
        plan.updated += 1
        for name, value in row.fields.items():
            old = entity.fields.get(name)
            if old == value:
                continue
            if name in COLUMN_IDENTIFIERS:
                if old and _ix(name, old) != _ix(name, value):
                    self._index[name][_ix(name, old)].discard(entity.id)
                self._index[name][_ix(name, value)].add(entity.id)
            entity.fields[name] = value
            entity.changed = True
        for name, value in row.attributes.items():
            if entity.attributes.get(name) != value:
                entity.attributes[name] = value
                entity.changed = True
        for kind, value in row.identities.items():
            if entity.id not in self._holders(kind, value):
                self._index[kind][value].add(entity.id)
                entity.identities.add((kind, value))
                entity.changed = True
