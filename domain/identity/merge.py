"""Merging two contacts, the pure part: which unique identifiers conflict, and which value of each field survives.

Identifier values of a contact: `email`, `phone`, `external_id` from its columns, `anonymous_id` and `ext:<source>`
from its recorded identities (kind `anonymous`, `ext:<source>`). Survivorship per field (a column or an attribute):
`most_recent` takes the value of the more recently updated contact when it is not null, else the other's;
`union` (and, by default, any attribute whose two values are lists) keeps the survivor's items then the merged
contact's new ones; `source_priority` has no per-field source on a contact yet and falls back to `most_recent`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.identity.policy import MergePolicy, Survivorship

COLUMN_IDENTIFIERS = ("email", "phone", "external_id")
CONTACT_FIELDS = ("email", "phone", "external_id", "first_name", "last_name", "timezone")


def identity_kind(identifier: str) -> str:
    """The contact_identity kind an identifier is recorded under."""
    return "anonymous" if identifier == "anonymous_id" else identifier


def conflicting(policy: MergePolicy, survivor: Mapping[str, set[str]], merged: Mapping[str, set[str]]) -> list[str]:
    """The unique identifiers for which both contacts have values and the values differ."""
    return [
        name
        for name in policy.unique
        if survivor.get(name) and merged.get(name) and survivor.get(name) != merged.get(name)
    ]


def _union(first: list[Any], second: list[Any]) -> list[Any]:
    out = list(first)
    out.extend(item for item in second if item not in out)
    return out


def _pick(policy: MergePolicy, name: str, kept: Any, other: Any, survivor_newer: bool) -> Any:
    rule = policy.rule_for(name).rule
    both_lists = isinstance(kept, list) and isinstance(other, list)
    if both_lists and (rule is Survivorship.UNION or name not in policy.survivorship):
        return _union(kept, other)
    if kept is None:
        return other
    if other is None:
        return kept
    return kept if survivor_newer else other


def survive(
    policy: MergePolicy,
    survivor: Mapping[str, Any],
    merged: Mapping[str, Any],
    *,
    survivor_newer: bool,
) -> dict[str, Any]:
    """The survivor's fields (CONTACT_FIELDS and `attributes`) after the merge."""
    fields = {
        name: _pick(policy, name, survivor.get(name), merged.get(name), survivor_newer) for name in CONTACT_FIELDS
    }
    mine, theirs = dict(survivor.get("attributes") or {}), dict(merged.get("attributes") or {})
    attributes = {
        key: _pick(policy, key, mine.get(key), theirs.get(key), survivor_newer)
        for key in [*mine, *(k for k in theirs if k not in mine)]
    }
    return {**fields, "attributes": attributes}
