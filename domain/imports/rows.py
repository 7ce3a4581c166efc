"""One CSV record to the values an import writes, or the errors that refuse it.

Empty cells set nothing (they never clear a stored value). Values are kept as strings (attributes included);
email and phone go through `domain.imports.normalize`, which the integrator may point at the contact rules.
A row is refused as a whole when one of its mapped cells is refused; every refused cell is reported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from domain.contacts.traits import is_valid_timezone
from domain.imports.mapping import CREATING_IDENTIFIERS, Target
from domain.imports.normalize import normalize_email, normalize_phone
from domain.json_limits import MAX_JSON_STRING_CHARS

MAX_LENGTH = {"email": 320, "phone": 64, "external_id": 255, "first_name": 200, "last_name": 200, "timezone": 64}
MAX_IDENTITY = 255


@dataclass
class ParsedRow:
    row: int  # 1-based data row (the header is row 0)
    fields: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)
    identities: dict[str, str] = field(default_factory=dict)  # `ext:crm` / `anonymous_id` -> value

    def identifier(self, name: str) -> str | None:
        return self.fields.get(name) if name in MAX_LENGTH else self.identities.get(name)


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    reason: str


Normalizer = Callable[[str], str | None]


@dataclass
class RowParser:
    positions: list[tuple[int, str, Target]]
    email: Normalizer = normalize_email
    phone: Normalizer = normalize_phone

    def parse(self, row: int, cells: list[str]) -> ParsedRow | list[RowError]:
        parsed = ParsedRow(row)
        errors: list[RowError] = []
        width = len(cells)
        for index, column, target in self.positions:
            raw = cells[index].strip() if index < width else ""
            if not raw:
                continue
            reason = _unsafe(raw)
            if reason is None:
                reason = self._put(parsed, target, raw)
            if reason is not None:
                errors.append(RowError(row, column, reason))
        if errors:
            return errors
        if not any(name in parsed.fields for name in CREATING_IDENTIFIERS):
            return [RowError(row, "", "a contact needs at least one identifier: email, external_id or phone")]
        return parsed

    def _put(self, parsed: ParsedRow, target: Target, raw: str) -> str | None:
        name = target.name
        if target.kind == "attribute":
            if len(raw) > MAX_JSON_STRING_CHARS:
                return f"longer than {MAX_JSON_STRING_CHARS} characters"
            parsed.attributes[name] = raw
            return None
        if target.kind == "identity":
            if len(raw) > MAX_IDENTITY:
                return f"longer than {MAX_IDENTITY} characters"
            parsed.identities[name] = raw
            return None
        if len(raw) > MAX_LENGTH[name]:
            return f"longer than {MAX_LENGTH[name]} characters"
        value: str | None = raw
        if name == "email":
            value = self.email(raw)
            if value is None:
                return "not a valid email address"
        elif name == "phone":
            value = self.phone(raw)
            if value is None:
                return "not a valid phone number (give it in international form, +<country code><number>)"
        elif name == "timezone" and not is_valid_timezone(raw):
            return "unknown time zone"
        parsed.fields[name] = value  # type: ignore[assignment]
        return None


def _unsafe(value: str) -> str | None:
    if "\x00" in value:
        return "contains a NUL byte"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "not valid UTF-8"
    return None
