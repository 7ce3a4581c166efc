"""The column mapping of a CSV import, checked against the file's header before anything is stored.

A mapping is a JSON object from CSV column (as the header spells it) to a target:
- a contact field: `email`, `phone`, `external_id`, `first_name`, `last_name`, `timezone`;
- a custom attribute: `attributes.<name>`;
- an identifier kept in the identity table: `anonymous_id`, `ext:<source>` (`ext:crm`).
Columns the mapping does not name are ignored. Each target is mapped from one column at most, and a mapping names
at least one of email, phone or external_id (the identifiers a contact is created with, as through the API).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FIELDS = ("email", "phone", "external_id", "first_name", "last_name", "timezone")
CREATING_IDENTIFIERS = ("email", "phone", "external_id")
IDENTITY_KINDS = re.compile(r"^(anonymous_id|ext:[a-z][a-z0-9_]{0,11})$")
ATTRIBUTE = re.compile(r"^attributes\.([A-Za-z0-9_][A-Za-z0-9_.\-]{0,99})$")
MAX_COLUMNS = 500
MAX_COLUMN_NAME = 200


class MappingError(ValueError):
    """A mapping that cannot be applied; `column` names the CSV column (or target) at fault."""

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(f"{column!r}: {reason}")
        self.column = column
        self.reason = reason


@dataclass(frozen=True)
class Target:
    kind: str  # "field" | "attribute" | "identity"
    name: str  # the field, the attribute name, or the identity kind (`ext:crm`, `anonymous_id`)


def target_of(column: str, value: object) -> Target:
    if not isinstance(value, str):
        raise MappingError(column, "a target is a string")
    if value in FIELDS:
        return Target("field", value)
    if match := ATTRIBUTE.match(value):
        return Target("attribute", match.group(1))
    if IDENTITY_KINDS.match(value):
        return Target("identity", value)
    raise MappingError(
        column,
        f"unknown target {value[:100]!r}: use one of {', '.join(FIELDS)}, attributes.<name>, anonymous_id "
        "or ext:<source>",
    )


@dataclass(frozen=True)
class ImportMapping:
    targets: dict[str, Target]  # column -> target

    @classmethod
    def parse(cls, raw: object) -> ImportMapping:
        if not isinstance(raw, dict) or not raw:
            raise MappingError("mapping", "a mapping is a non-empty JSON object from CSV column to target")
        if len(raw) > MAX_COLUMNS:
            raise MappingError("mapping", f"at most {MAX_COLUMNS} columns")
        targets: dict[str, Target] = {}
        seen: dict[Target, str] = {}
        for column, value in raw.items():
            if not column or len(column) > MAX_COLUMN_NAME or "\x00" in column:
                raise MappingError(column[:MAX_COLUMN_NAME], "a column name is 1 to 200 characters, without NUL")
            target = target_of(column, value)
            if target in seen:
                raise MappingError(column, f"{value} is already mapped from column {seen[target]!r}")
            seen[target] = column
            targets[column] = target
        if not any(t.kind == "field" and t.name in CREATING_IDENTIFIERS for t in targets.values()):
            raise MappingError("mapping", "map at least one identifier column: email, phone or external_id")
        return cls(targets)

    def to_json(self) -> dict[str, str]:
        return {column: _target_json(t) for column, t in self.targets.items()}

    def positions(self, header: list[str]) -> list[tuple[int, str, Target]]:
        """(index, column, target) of every mapped column in the header; a mapped column missing from it is an
        error naming the column."""
        index = {name: i for i, name in reversed(list(enumerate(header)))}
        out = []
        for column, target in self.targets.items():
            if column not in index:
                raise MappingError(column, "the file's header has no such column")
            out.append((index[column], column, target))
        return out


def _target_json(target: Target) -> str:
    return f"attributes.{target.name}" if target.kind == "attribute" else target.name
