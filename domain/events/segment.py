"""Segment Tracking API messages (identify, track, page, screen, group, alias): validation and normalization.

Input is already-decoded JSON (dicts, lists, str, int, float, bool, None); output is a `SegmentMessage` whose
fields are safe to store: ids are non-empty strings of at most 255 characters without NUL, timestamps are aware
UTC datetimes corrected for clock skew, objects are dicts. Anything else raises `SegmentError` with a stable
code and, inside a batch, the index of the offending message.

Where a message's fields land in the event log (`SegmentMessage.name` / `.properties`):

| type     | name                  | properties |
|----------|-----------------------|------------|
| track    | `event`               | `properties` |
| page     | `name` (optional)     | `properties` |
| screen   | `name` (optional)     | `properties` |
| identify | -                     | `traits` |
| group    | `groupId`             | `traits` (and `company`: domain/companies/traits.py) |
| alias    | `previousId`          | `{}` |
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from domain.companies.traits import CompanyTraits, CompanyTraitsError, company_traits
from domain.contacts.traits import is_valid_timezone
from domain.events.fields import (
    DEFAULT_CHECKS,
    MAX_NAME_LENGTH,
    Checks,
    SegmentError,
    contact_traits,
    event_time,
    identifier,
    invalid,
    json_object,
    optional_name,
    optional_time,
    text_field,
)

MAX_MESSAGE_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024


class MessageType(StrEnum):
    IDENTIFY = "identify"
    TRACK = "track"
    PAGE = "page"
    SCREEN = "screen"
    GROUP = "group"
    ALIAS = "alias"


_TYPES = {t.value: t for t in MessageType}
_PROPERTIES_KEY = {
    MessageType.TRACK: "properties",
    MessageType.PAGE: "properties",
    MessageType.SCREEN: "properties",
    MessageType.IDENTIFY: "traits",
    MessageType.GROUP: "traits",
}


@dataclass(frozen=True, slots=True)
class SegmentMessage:
    type: MessageType
    message_id: str
    user_id: str | None
    anonymous_id: str | None
    name: str | None
    properties: dict[str, Any]
    context: dict[str, Any]
    timestamp: datetime
    received_at: datetime
    previous_id: str | None = None  # alias only
    traits: dict[str, Any] | None = None  # identify only: `properties` as applied to the contact
    company: CompanyTraits | None = None  # group only: what `traits` say of the company named `name` (groupId)

    @property
    def timezone(self) -> str | None:
        """`context.timezone` when it names a real IANA zone."""
        value = self.context.get("timezone")
        return value if isinstance(value, str) and is_valid_timezone(value) else None


@dataclass(frozen=True, slots=True)
class BatchDefaults:
    """What a batch request's top level lends to its messages."""

    context: dict[str, Any] | None = None
    sent_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RejectedMessage:
    """A message that failed validation: where it stood in its batch (None when sent alone), why, and what it
    was."""

    index: int | None
    code: str
    reason: str
    raw: object


@dataclass(frozen=True, slots=True)
class ParsedBatch:
    messages: list[SegmentMessage]
    rejected: list[RejectedMessage]


def parse_single(body: object, kind: str, received_at: datetime, checks: Checks = DEFAULT_CHECKS) -> SegmentMessage:
    """The body of /v1/identify, /v1/track ...: the endpoint decides the type (a `type` in the body is ignored)."""
    _check_size(body, checks)
    return parse_message(body, received_at, kind=kind, checks=checks)


def parse_batch(body: object, received_at: datetime, checks: Checks = DEFAULT_CHECKS) -> ParsedBatch:
    """The body of /v1/batch. A bad message is set aside, not fatal: the others are accepted, as Segment's own API
    does. Its official libraries treat a 400 as final and drop every message of the batch, so failing the whole
    request for one invalid email would silently lose the valid ones. A body that is no batch at all (not an
    object, no `batch` array, a malformed top-level `context` or `sentAt`) is still a SegmentError.

    A message over MAX_MESSAGE_BYTES (by `checks.measure`) is `message_too_large`. The batch's top-level
    `context` is merged under each message's own (the message's keys win); its `sentAt` applies to messages
    without one.
    """
    if not isinstance(body, dict):
        raise invalid("the body must be a JSON object")
    items = body.get("batch")
    if not isinstance(items, list):
        raise invalid("batch must be a JSON array of messages")
    defaults = BatchDefaults(
        context=json_object(body.get("context"), "context") or None,
        sent_at=optional_time(body.get("sentAt"), "sentAt"),
    )
    json_object(body.get("integrations"), "integrations")
    messages: list[SegmentMessage] = []
    rejected: list[RejectedMessage] = []
    for index, item in enumerate(items):
        try:
            _check_size(item, checks)
            messages.append(parse_message(item, received_at, defaults=defaults, checks=checks))
        except SegmentError as exc:
            rejected.append(RejectedMessage(index, exc.code, exc.at(index).message, item))
    return ParsedBatch(messages, rejected)


def parse_message(
    raw: object,
    received_at: datetime,
    *,
    kind: str | None = None,
    defaults: BatchDefaults | None = None,
    checks: Checks = DEFAULT_CHECKS,
) -> SegmentMessage:
    """Validate one message. `kind` is the endpoint's type (/v1/track); inside a batch the message's own `type`."""
    if not isinstance(raw, dict):
        raise invalid("a message must be a JSON object")
    defaults = defaults or BatchDefaults()
    type_ = _message_type(kind if kind is not None else raw.get("type"))
    user_id = identifier(raw.get("userId"), "userId")
    anonymous_id = identifier(raw.get("anonymousId"), "anonymousId")
    previous_id = None
    if type_ is MessageType.ALIAS:
        previous_id = identifier(raw.get("previousId"), "previousId")
        if previous_id is None or user_id is None:
            raise invalid("alias needs both previousId and userId")
    elif user_id is None and anonymous_id is None:
        raise invalid("a message needs a userId or an anonymousId")
    key = _PROPERTIES_KEY.get(type_)
    properties = json_object(raw.get(key), key) if key else {}
    context = json_object(raw.get("context"), "context")
    json_object(raw.get("integrations"), "integrations")  # accepted (and checked) for compatibility, not stored
    if defaults.context:
        context = {**defaults.context, **context}
    return SegmentMessage(
        type=type_,
        message_id=identifier(raw.get("messageId"), "messageId") or f"api-{uuid.uuid4()}",
        user_id=user_id,
        anonymous_id=anonymous_id,
        name=_name(type_, raw, previous_id),
        properties=properties,
        context=context,
        timestamp=event_time(raw, received_at, defaults.sent_at),
        received_at=received_at,
        previous_id=previous_id,
        traits=contact_traits(properties, checks.normalize_email) if type_ is MessageType.IDENTIFY else None,
        company=_company(properties) if type_ is MessageType.GROUP else None,
    )


def _company(traits: dict[str, Any]) -> CompanyTraits:
    try:
        return company_traits(traits)
    except CompanyTraitsError as exc:
        raise invalid(str(exc)) from None


def _check_size(raw: object, checks: Checks) -> None:
    if checks.measure(raw) > MAX_MESSAGE_BYTES:
        raise SegmentError("message_too_large", f"a message is larger than {MAX_MESSAGE_BYTES} bytes")


def _message_type(value: object) -> MessageType:
    if not isinstance(value, str) or value not in _TYPES:
        raise invalid(f"type must be one of {', '.join(_TYPES)}")
    return _TYPES[value]


def _name(type_: MessageType, raw: dict[str, Any], previous_id: str | None) -> str | None:
    if type_ is MessageType.TRACK:
        event = raw.get("event")
        if not isinstance(event, str) or not event.strip():
            raise invalid("track needs an event name (a non-empty string)")
        return text_field(event, "event", MAX_NAME_LENGTH)
    if type_ in (MessageType.PAGE, MessageType.SCREEN):
        return optional_name(raw.get("name"), "name")
    if type_ is MessageType.GROUP:
        group_id = identifier(raw.get("groupId"), "groupId")
        if group_id is None:
            raise invalid("group needs a groupId")
        return group_id
    return previous_id  # alias: the old id; identify: None
