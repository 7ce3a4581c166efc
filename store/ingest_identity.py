"""The email and phone traits of a request's identify messages, as the workspace merge policy sees them.

Nothing is read unless some identify message carries an email or a phone trait (a request of track events costs
nothing more). Then one statement reads the policy and the phone region together, each message's phone is put
in E.164 (a message with a phone that is no valid number is refused, `invalid_phone`), and the keys the policy
looks at (unique identifiers, match groups) are collected for the planner (store/event_contacts.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import orjson
from sqlalchemy import text
from sqlalchemy.orm import Session

from domain.contacts.traits import split_traits
from domain.events.resolution import Refusal
from domain.events.segment import MessageType, SegmentMessage
from domain.identity.identifiers import INVALID_PHONE, KEYED, e164, key_of
from domain.identity.policy import DEFAULT_MERGE_POLICY, MergePolicy
from store.event_contacts import KeyedLookup

_SETTINGS = text(
    "SELECT (SELECT policy FROM merge_policy WHERE workspace_id = :ws) AS policy,"
    " (SELECT country FROM workspace_calendar WHERE workspace_id = :ws) AS region"
)
_POLICY = text("SELECT policy FROM merge_policy WHERE workspace_id = :ws")
_PHONE_TRAITS = ("phone",)


@dataclass
class Prepared:
    messages: list[SegmentMessage]  # those not refused, phones in E.164
    refused: list[tuple[SegmentMessage, Refusal]]
    lookup: KeyedLookup | None
    unique: tuple[str, ...]  # the policy's unique identifiers (for the keys written with the contacts)
    auto_merge: bool | None = None  # the policy's, when it was read (None: not read, a merge planned reads it)


def _carries(message: SegmentMessage) -> bool:
    traits = message.traits
    return message.type is MessageType.IDENTIFY and traits is not None and ("email" in traits or "phone" in traits)


def prepare(session: Session, workspace_id: str, messages: list[SegmentMessage]) -> Prepared:
    if not any(_carries(m) for m in messages):
        return Prepared(messages, [], None, ())
    row = session.execute(_SETTINGS, {"ws": workspace_id}).one()
    policy = _policy(row.policy)
    looked_at = {*policy.unique, *(name for group in policy.match for name in group)}
    wanted = [name for name in KEYED if name in looked_at]
    out: list[SegmentMessage] = []
    refused: list[tuple[SegmentMessage, Refusal]] = []
    keyed_of: list[dict[str, str]] = []
    written: dict[str, set[str]] = {}
    for message in messages:
        keyed: dict[str, str] = {}
        if _carries(message) and message.traits is not None:
            columns = split_traits(message.traits).columns
            phone = columns.get("phone")
            if phone is not None:
                normalized = e164(phone, None if phone.startswith("+") else row.region)
                if normalized is None:
                    refused.append((message, Refusal(INVALID_PHONE, f"traits.phone is not a valid number: {phone!r}")))
                    continue
                traits = {k: v for k, v in message.traits.items() if k not in _PHONE_TRAITS}
                message = replace(message, traits={**traits, "phone": normalized})
                columns["phone"] = normalized
            for name in wanted:
                value = columns.get(name)
                key = key_of(name, value)
                if value is not None and key is not None:
                    keyed[name] = key
                    written.setdefault(name, set()).add(value)
        out.append(message)
        keyed_of.append(keyed)
    unique = frozenset(n for n in KEYED if n in policy.unique)
    groups = [list(group) for group in policy.match]
    lookup = KeyedLookup(unique, groups, keyed_of, written)
    return Prepared(out, refused, lookup, tuple(policy.unique), policy.auto_merge)


def _policy(raw: object) -> MergePolicy:
    if raw is None:
        return DEFAULT_MERGE_POLICY
    return MergePolicy.model_validate(orjson.loads(raw) if isinstance(raw, str | bytes) else raw)


def merge_policy_sync(session: Session, workspace_id: str) -> MergePolicy:
    """The workspace merge policy, in the ingestion transaction."""
    return _policy(session.execute(_POLICY, {"ws": workspace_id}).scalar())
