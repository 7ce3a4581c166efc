"""Field-level controls: per role, each contact field is visible, masked, hidden or read-only.

A policy names contact columns (`email`, `phone`, `first_name`, `last_name`, `timezone`, `external_id`) and custom
attributes (`attributes.<name>`, or `attributes.*` for every attribute not named on its own). A field it does not
name is visible. Modes:

- `visible`: read and written as stored;
- `read_only`: read as stored, any write of it refused;
- `masked`: read masked (`j***@example.com`, `+33******78`, `J***`), writes refused (a masked read cannot be
  edited back safely);
- `hidden`: absent from every representation, writes refused, and lookups by it refused.

Everything here is pure: `apply_read` on a contact's representation (a dict with the columns and an `attributes`
mapping), `check_write` on the names a write changes. The API, the webhook payloads and the explain timeline
all go through these two functions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

ROLE_PATTERN = r"^[a-z][a-z0-9_-]{0,63}$"
BUILT_IN_ROLES = ("owner", "admin", "marketer", "analyst", "viewer")
COLUMNS = ("external_id", "email", "phone", "first_name", "last_name", "timezone")
ATTRIBUTES = "attributes"
ATTRIBUTE_WILDCARD = "attributes.*"
MAX_POLICY_FIELDS = 500
_ATTRIBUTE_NAME = re.compile(r"^[A-Za-z0-9_$][A-Za-z0-9_$.\-]{0,127}$")
_PHONE_KEPT = 2  # trailing digits a masked phone keeps


class FieldMode(StrEnum):
    VISIBLE = "visible"
    MASKED = "masked"
    HIDDEN = "hidden"
    READ_ONLY = "read_only"


class FieldPolicyError(ValueError):
    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field_name = field_name


def valid_field_name(name: str) -> bool:
    if name in COLUMNS or name == ATTRIBUTE_WILDCARD:
        return True
    prefix, dot, rest = name.partition(".")
    return prefix == ATTRIBUTES and bool(dot) and bool(_ATTRIBUTE_NAME.fullmatch(rest))


@dataclass(frozen=True)
class FieldPolicy:
    """One role's modes per field (what it does not name is visible)."""

    fields: Mapping[str, FieldMode] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: Mapping[str, str]) -> FieldPolicy:
        """From `{"email": "masked", ...}`; FieldPolicyError naming the first bad field or mode."""
        if len(raw) > MAX_POLICY_FIELDS:
            raise FieldPolicyError("fields", f"at most {MAX_POLICY_FIELDS} fields")
        parsed: dict[str, FieldMode] = {}
        for name, mode in raw.items():
            if not valid_field_name(name):
                raise FieldPolicyError(
                    name, f"{name[:100]!r} is not a contact field (one of {', '.join(COLUMNS)}, attributes.<name>, "
                    "attributes.*)"
                )  # fmt: skip
            try:
                parsed[name] = FieldMode(mode)
            except ValueError as exc:
                modes = ", ".join(m.value for m in FieldMode)
                raise FieldPolicyError(name, f"{str(mode)[:50]!r} is not a field mode ({modes})") from exc
        return cls({name: mode for name, mode in parsed.items() if mode is not FieldMode.VISIBLE})

    def as_json(self) -> dict[str, str]:
        return {name: mode.value for name, mode in sorted(self.fields.items())}

    @property
    def unrestricted(self) -> bool:
        return not self.fields

    def mode(self, name: str) -> FieldMode:
        """The mode of a column or `attributes.<name>` (the wildcard covers attributes not named)."""
        found = self.fields.get(name)
        if found is not None:
            return found
        if name.startswith(ATTRIBUTES + "."):
            return self.fields.get(ATTRIBUTE_WILDCARD, FieldMode.VISIBLE)
        return FieldMode.VISIBLE

    def mode_of_path(self, path: str) -> FieldMode:
        """A condition's property path (`email`, `plan`, `attributes.plan`, `address.city`): a column, else the
        attribute it starts with (conditions read columns over attributes, as domain.scoring.rules does)."""
        if path in COLUMNS:
            return self.mode(path)
        head = path.removeprefix(ATTRIBUTES + ".").split(".", 1)[0]
        return self.mode(f"{ATTRIBUTES}.{head}")


UNRESTRICTED = FieldPolicy()


def mask_email(value: str) -> str:
    local, at, domain = value.rpartition("@")
    if not at:
        return mask_text(value)
    return f"{local[:1]}***@{domain}"


def mask_phone(value: str) -> str:
    """Keeps the `+` and the country code's first digits (up to 2) and the last 2 digits; others become `*`."""
    digits = [c for c in value if c.isdigit()]
    if len(digits) <= _PHONE_KEPT + 2:
        return "*" * len(digits)
    head = 2 if value.startswith("+") else 0
    kept_tail = digits[-_PHONE_KEPT:]
    middle = len(digits) - head - _PHONE_KEPT
    return ("+" if value.startswith("+") else "") + "".join(digits[:head]) + "*" * middle + "".join(kept_tail)


def mask_text(value: str) -> str:
    return f"{value[:1]}***" if value else value


def mask_value(name: str, value: Any) -> Any:
    """A masked value: None stays None (absence is no secret); email and phone keep their useful shape;
    any other value becomes its first character and `***` (non-strings: `***`)."""
    if value is None:
        return None
    if not isinstance(value, str):
        return "***"
    if name == "email":
        return mask_email(value)
    if name == "phone":
        return mask_phone(value)
    return mask_text(value)


def _read(mode: FieldMode, name: str, value: Any) -> tuple[bool, Any]:
    if mode is FieldMode.HIDDEN:
        return False, None
    if mode is FieldMode.MASKED:
        return True, mask_value(name, value)
    return True, value


def apply_read(policy: FieldPolicy, contact: Mapping[str, Any]) -> dict[str, Any]:
    """The contact as this policy lets it be read: hidden fields absent, masked fields masked. Keys that are not
    contact fields (id, timestamps) pass through."""
    if policy.unrestricted:
        return dict(contact)
    out: dict[str, Any] = {}
    for key, value in contact.items():
        if key == ATTRIBUTES and isinstance(value, Mapping):
            out[key] = apply_attributes(policy, value)
            continue
        keep, shown = _read(policy.mode(key), key, value) if key in COLUMNS else (True, value)
        if keep:
            out[key] = shown
    return out


def apply_attributes(policy: FieldPolicy, attributes: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in attributes.items():
        keep, shown = _read(policy.mode(f"{ATTRIBUTES}.{name}"), f"{ATTRIBUTES}.{name}", value)
        if keep:
            out[name] = shown
    return out


def apply_paths(policy: FieldPolicy, values: Mapping[str, Any]) -> dict[str, Any]:
    """Values keyed by condition paths (a split's facts, an update step's changes) as this policy shows them."""
    out: dict[str, Any] = {}
    for path, value in values.items():
        keep, shown = _read(policy.mode_of_path(path), path, value)
        if keep:
            out[path] = shown
    return out


@dataclass(frozen=True)
class Violation:
    field: str
    mode: FieldMode


def changed_fields(columns: Iterable[str], attributes: Iterable[str] = ()) -> list[str]:
    """The policy names of a write: its columns and `attributes.<name>` per attribute key."""
    return [*columns, *(f"{ATTRIBUTES}.{name}" for name in attributes)]


def check_write(policy: FieldPolicy, changes: Iterable[str]) -> list[Violation]:
    """The fields of a write this policy refuses (read-only, masked or hidden), in the order given."""
    if policy.unrestricted:
        return []
    return [Violation(name, mode) for name in changes if (mode := policy.mode(name)) is not FieldMode.VISIBLE]


# The contact field a message's recipient address comes from, per channel (the push token is an attribute the app
# sets; activities/journeys/channel_messages.py reads it there).
PUSH_TOKEN_ATTRIBUTE = "push_token"
ADDRESS_FIELDS = {"email": "email", "sms": "phone", "push": f"{ATTRIBUTES}.{PUSH_TOKEN_ATTRIBUTE}"}


def read_address(policy: FieldPolicy, channel: str, address: str) -> str | None:
    """A message's recipient address as this policy shows the field it came from: None when hidden."""
    name = ADDRESS_FIELDS.get(channel)
    if name is None or policy.unrestricted:
        return address
    keep, shown = _read(policy.mode(name), name.removeprefix(f"{ATTRIBUTES}."), address)
    return shown if keep else None


def redact_text(policy: FieldPolicy, contact: Mapping[str, Any], text: str) -> str:
    """Text rendered from the contact's fields (a task's instructions, a message draft) as this policy lets it be
    read: each value of a hidden field replaced by `[hidden]`, of a masked one by its mask. Values shorter than 3
    characters are left (they would match by chance, and tell little)."""
    if policy.unrestricted or not text:
        return text
    values: list[tuple[str, FieldMode, str]] = []
    for key, value in contact.items():
        if key in COLUMNS and isinstance(value, str):
            values.append((key, policy.mode(key), value))
    attributes = contact.get(ATTRIBUTES)
    if isinstance(attributes, Mapping):
        for name, value in attributes.items():
            if isinstance(value, str):
                values.append((name, policy.mode(f"{ATTRIBUTES}.{name}"), value))
    for name, mode, value in sorted(values, key=lambda item: -len(item[2])):  # longest first: no partial hits
        if len(value) >= 3 and mode in (FieldMode.HIDDEN, FieldMode.MASKED):
            text = text.replace(value, "[hidden]" if mode is FieldMode.HIDDEN else mask_value(name, value))
    return text


_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")


def redact_quoted(policy: FieldPolicy, text: str) -> str:
    """A message that quotes the values it is about (an import row's error: `email 'j@x.io' belongs to contact
    ...`), for a role with any field hidden or masked: every quoted value becomes '[hidden]'. The message does not
    say which field a value came from, so a restricted role reads none of them."""
    if policy.unrestricted:
        return text
    return _QUOTED.sub("'[hidden]'", text)


def readable(policy: FieldPolicy, name: str) -> bool:
    """Whether a filter or lookup may use the field (a hidden field must not be probed)."""
    return policy.mode(name) is not FieldMode.HIDDEN
