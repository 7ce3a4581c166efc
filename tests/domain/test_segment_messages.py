"""Segment message validation, timestamps and contact resolution planning: pure functions, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from domain.events.fields import Checks, SegmentError
from domain.events.resolution import ANONYMOUS, USER, ContactPlanner, KnownContact, NewIdentity
from domain.events.segment import (
    MAX_MESSAGE_BYTES,
    MessageType,
    ParsedBatch,
    parse_batch,
    parse_single,
)
from domain.events.timestamps import TimestampError, corrected_timestamp, parse_timestamp

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)


def error_of(call: Any, *args: Any, **kwargs: Any) -> SegmentError:
    with pytest.raises(SegmentError) as caught:
        call(*args, **kwargs)
    return caught.value


# --- messages ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "raw", "name", "properties"),
    [
        ("track", {"event": "Signed Up", "properties": {"plan": "pro"}}, "Signed Up", {"plan": "pro"}),
        ("page", {"name": "Home", "properties": {"path": "/"}}, "Home", {"path": "/"}),
        ("page", {}, None, {}),
        ("screen", {"name": "Settings"}, "Settings", {}),
        ("identify", {"traits": {"email": "a@b.io"}}, None, {"email": "a@b.io"}),
        ("group", {"groupId": "g-1", "traits": {"size": 3}}, "g-1", {"size": 3}),
        ("alias", {"previousId": "old"}, "old", {}),
    ],
)
def test_where_each_type_puts_its_name_and_properties(
    kind: str, raw: dict[str, Any], name: str | None, properties: dict[str, Any]
) -> None:
    message = parse_single({"userId": "u", **raw}, kind, NOW)
    assert message.type == MessageType(kind)
    assert (message.name, message.properties, message.user_id) == (name, properties, "u")
    assert message.timestamp == NOW


def test_the_endpoint_decides_the_type_and_a_message_id_is_generated() -> None:
    first = parse_single({"type": "identify", "anonymousId": "a", "event": "E"}, "track", NOW)
    second = parse_single({"anonymousId": "a", "event": "E"}, "track", NOW)
    assert first.type is MessageType.TRACK
    assert first.message_id != second.message_id
    assert parse_single({"anonymousId": "a", "event": "E", "messageId": 12}, "track", NOW).message_id == "12"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("abc", "abc"), (42, "42"), (3.0, "3"), (2.5, "2.5"), ("", None), (None, None)],
)
def test_ids_are_strings_and_numbers_become_strings(value: object, expected: str | None) -> None:
    message = parse_single({"userId": value, "anonymousId": "anon", "event": "E"}, "track", NOW)
    assert message.user_id == expected


@pytest.mark.parametrize(
    ("kind", "raw", "fragment"),
    [
        ("track", {"userId": "u"}, "event name"),
        ("track", {"userId": "u", "event": 5}, "event name"),
        ("track", {"event": "E"}, "userId or an anonymousId"),
        ("track", {"userId": "", "anonymousId": "", "event": "E"}, "userId or an anonymousId"),
        ("track", {"userId": False, "event": "E"}, "string or a number"),
        ("track", {"userId": ["u"], "event": "E"}, "string or a number"),
        ("track", {"userId": "x" * 256, "event": "E"}, "longer than 255"),
        ("track", {"userId": "a\x00b", "event": "E"}, "NUL"),
        ("track", {"userId": "u", "event": "E", "properties": "p"}, "properties must be a JSON object"),
        ("track", {"userId": "u", "event": "E", "integrations": 1}, "integrations"),
        ("track", {"userId": "u", "event": "E", "timestamp": "soon"}, "timestamp"),
        ("track", {"userId": "u", "event": "E", "sentAt": 17}, "sentAt"),
        ("identify", {"userId": "u", "traits": [1]}, "traits must be a JSON object"),
        ("identify", {"userId": "u", "traits": {"lastName": "x\x00"}}, "NUL"),
        ("group", {"userId": "u"}, "groupId"),
        ("alias", {"userId": "u"}, "previousId and userId"),
        ("alias", {"previousId": "p", "anonymousId": "a"}, "previousId and userId"),
        ("page", {"userId": "u", "name": {"n": 1}}, "name must be a string"),
    ],
)
def test_invalid_messages_say_why(kind: str, raw: dict[str, Any], fragment: str) -> None:
    error = error_of(parse_single, raw, kind, NOW)
    assert error.code == "invalid_message"
    assert fragment in error.message
    assert error.index is None


@pytest.mark.parametrize("raw", [None, [], "track", 3, True])
def test_a_message_must_be_an_object(raw: object) -> None:
    assert error_of(parse_single, raw, "track", NOW).code == "invalid_message"


def test_identify_email_is_checked_and_normalized_for_the_contact_only() -> None:
    checks = Checks(normalize_email=lambda value: value.lower() if "@" in value else None)
    message = parse_single({"userId": "u", "traits": {"email": " Ada@X.IO "}}, "identify", NOW, checks)
    assert message.traits == {"email": "ada@x.io"}
    assert message.properties == {"email": " Ada@X.IO "}  # the event keeps what was sent
    assert parse_single({"userId": "u", "traits": {"email": ""}}, "identify", NOW, checks).traits == {"email": ""}
    assert parse_single({"userId": "u", "traits": {"email": 7}}, "identify", NOW, checks).traits == {"email": 7}
    assert error_of(parse_single, {"userId": "u", "traits": {"email": "nope"}}, "identify", NOW, checks).code == (
        "invalid_email"
    )


@pytest.mark.parametrize("email", ["plain", "a@", "@b.io", "A <a@b.io>", "a b@c.io"])
def test_the_default_email_rule_wants_a_bare_address(email: str) -> None:
    assert error_of(parse_single, {"userId": "u", "traits": {"email": email}}, "identify", NOW).code == (
        "invalid_email"
    )


def test_size_is_measured_by_the_given_measure() -> None:
    checks = Checks(measure=lambda _: MAX_MESSAGE_BYTES + 1)
    assert error_of(parse_single, {"userId": "u", "event": "E"}, "track", NOW, checks).code == "message_too_large"
    assert error_of(parse_single, {"userId": "u", "event": "E", "p": "x" * MAX_MESSAGE_BYTES}, "track", NOW).code == (
        "message_too_large"
    )


def test_context_timezone_is_offered_only_when_real() -> None:
    def tz(value: object) -> str | None:
        return parse_single({"userId": "u", "event": "E", "context": {"timezone": value}}, "track", NOW).timezone

    assert tz("America/New_York") == "America/New_York"
    assert tz("Mars/Olympus") is None
    assert tz(5) is None


# --- batches -----------------------------------------------------------------------------------------------------


def test_a_batch_lends_its_context_and_sent_at_to_its_messages() -> None:
    sent = NOW + timedelta(hours=3)  # the device clock is three hours fast
    body = {
        "context": {"ip": "1.1.1.1", "locale": "fr"},
        "sentAt": sent.isoformat(),
        "batch": [
            {"type": "track", "userId": "u", "event": "A", "timestamp": (sent - timedelta(seconds=30)).isoformat()},
            {"type": "identify", "userId": "u", "context": {"ip": "2.2.2.2"}},
            {
                "type": "page",
                "userId": "u",
                "sentAt": (sent + timedelta(seconds=10)).isoformat(),
                "timestamp": sent.isoformat(),
            },
        ],
    }
    track, identify, page = parse_batch(body, NOW).messages
    assert track.context == {"ip": "1.1.1.1", "locale": "fr"}
    assert identify.context == {"ip": "2.2.2.2", "locale": "fr"}
    assert track.timestamp == NOW - timedelta(seconds=30)
    assert identify.timestamp == NOW
    assert page.timestamp == NOW - timedelta(seconds=10)  # its own sentAt wins


def test_a_batch_sets_its_bad_messages_aside_and_keeps_the_good_ones() -> None:
    bad_email = {"type": "identify", "userId": "u", "traits": {"email": "not an address"}}
    body = {
        "batch": [
            {"type": "track", "userId": "u", "event": "E"},
            {"type": "track", "userId": "u"},
            {"type": "nope"},
            bad_email,
            {"type": "track", "userId": "u", "event": "E", "p": "x" * MAX_MESSAGE_BYTES},
            "not an object",
            {"type": "identify", "userId": "u", "traits": {"email": "ok@example.com"}},
        ]
    }
    parsed = parse_batch(body, NOW)
    assert [m.type.value for m in parsed.messages] == ["track", "identify"]
    assert [(r.index, r.code) for r in parsed.rejected] == [
        (1, "invalid_message"),
        (2, "invalid_message"),
        (3, "invalid_email"),
        (4, "message_too_large"),
        (5, "invalid_message"),
    ]
    assert parsed.rejected[0].reason.startswith("batch[1]: ")
    assert parsed.rejected[2].raw == bad_email  # the message as it came, for inspection


@pytest.mark.parametrize(
    "body",
    [[], {"batch": None}, {"batch": {"type": "track"}}, {"batch": [], "context": "c"}, {"batch": [], "sentAt": "x"}],
)
def test_a_batch_body_must_be_well_formed(body: object) -> None:
    assert error_of(parse_batch, body, NOW).code == "invalid_message"


def test_an_empty_batch_is_fine() -> None:
    assert parse_batch({"batch": []}, NOW) == ParsedBatch([], [])


# --- timestamps --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2012-12-02T00:30:08.276Z", datetime(2012, 12, 2, 0, 30, 8, 276000, tzinfo=UTC)),
        ("2015-2-02T00:30:08.276Z", datetime(2015, 2, 2, 0, 30, 8, 276000, tzinfo=UTC)),  # from Segment's docs
        ("2020-01-01", datetime(2020, 1, 1, tzinfo=UTC)),
        ("2020-01-01T10:00:00", datetime(2020, 1, 1, 10, tzinfo=UTC)),  # no offset: UTC
        ("2020-01-01T10:00:00+02:00", datetime(2020, 1, 1, 8, tzinfo=UTC)),
        ("2020-1-1 9:05:03.1234567-0130", datetime(2020, 1, 1, 10, 35, 3, 123456, tzinfo=UTC)),
    ],
)
def test_timestamps_parse_leniently_to_utc(text: str, expected: datetime) -> None:
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize(
    "text", ["", "yesterday", "2020-13-01T00:00:00Z", "2020-02-30", "0001-01-01T00:00:00+01:00", "9" * 100]
)
def test_bad_timestamps_raise(text: str) -> None:
    with pytest.raises(TimestampError):
        parse_timestamp(text)


def test_clock_skew_correction() -> None:
    client_clock = datetime(2030, 1, 1, tzinfo=timezone(timedelta(hours=5)))
    assert corrected_timestamp(NOW, client_clock - timedelta(minutes=2), client_clock) == NOW - timedelta(minutes=2)
    assert corrected_timestamp(NOW, client_clock, None) == client_clock
    assert corrected_timestamp(NOW, None, client_clock) == NOW
    with pytest.raises(TimestampError):
        corrected_timestamp(NOW, datetime(1, 1, 2, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC))


def test_original_timestamp_stands_in_for_timestamp() -> None:
    raw = {"userId": "u", "event": "E", "originalTimestamp": "2024-01-01T00:00:00Z"}
    assert parse_single(raw, "track", NOW).timestamp == datetime(2024, 1, 1, tzinfo=UTC)


# --- contact resolution ------------------------------------------------------------------------------------------


def test_new_ids_make_one_new_contact_with_every_identity() -> None:
    planner = ContactPlanner([])
    contact = planner.resolve("u1", "a1")
    assert planner.resolve("u1", "a1") == contact == planner.resolve("u1", None) == planner.resolve(None, "a1")
    assert planner.plan.new_contacts == {contact: "u1"}
    assert planner.plan.new_identities == [NewIdentity(USER, "u1", contact), NewIdentity(ANONYMOUS, "a1", contact)]


def test_user_id_wins_over_anonymous_id() -> None:
    planner = ContactPlanner(
        [KnownContact("c-user", "u1"), KnownContact("c-anon", None)], {"u1": "c-user"}, {"a1": "c-anon"}
    )
    assert planner.resolve("u1", "a1") == "c-user"
    assert planner.plan.new_identities == []  # a1 keeps naming its own contact, which is merged into c-user
    assert planner.plan.merges == {"c-anon": "c-user"}


def test_an_anonymous_visitor_who_identifies_becomes_that_user() -> None:
    planner = ContactPlanner([KnownContact("c-anon", None)], {}, {"a1": "c-anon"})
    assert planner.resolve(None, "a1") == "c-anon"
    assert planner.resolve("u1", "a1") == "c-anon"
    assert planner.plan.gained_external_ids == {"c-anon": "u1"}
    assert planner.resolve(None, "a1") == "c-anon"  # still theirs once it has a user id
    assert planner.plan.new_identities == [NewIdentity(USER, "u1", "c-anon")]


def test_an_anonymous_id_already_used_by_someone_else_means_a_new_person() -> None:
    planner = ContactPlanner([KnownContact("c-1", "u1")], {"u1": "c-1"}, {"shared-device": "c-1"})
    contact = planner.resolve("u2", "shared-device")
    assert contact != "c-1"
    assert planner.plan.new_contacts == {contact: "u2"}
    assert planner.plan.new_identities == [NewIdentity(USER, "u2", contact)]


def test_a_contact_known_only_by_external_id_gets_its_identity_row() -> None:
    planner = ContactPlanner([KnownContact("c-rest", "u9")])
    assert planner.resolve("u9", None) == "c-rest"
    assert planner.plan.new_contacts == {}
    assert planner.plan.new_identities == [NewIdentity(USER, "u9", "c-rest")]


def test_alias_links_a_new_previous_id_under_both_kinds() -> None:
    planner = ContactPlanner([KnownContact("c-1", "u1")], {"u1": "c-1"})
    assert planner.alias("old", "u1") == "c-1"
    assert planner.plan.new_identities == [NewIdentity(USER, "old", "c-1"), NewIdentity(ANONYMOUS, "old", "c-1")]
    assert planner.resolve("old", None) == planner.resolve(None, "old") == "c-1"


def test_alias_gives_an_unknown_user_id_to_the_previous_ids_contact() -> None:
    planner = ContactPlanner([KnownContact("c-anon", None)], {}, {"visitor": "c-anon"})
    assert planner.alias("visitor", "member") == "c-anon"
    assert planner.plan.gained_external_ids == {"c-anon": "member"}

    renamed = ContactPlanner([KnownContact("c-old", "old-user")], {"old-user": "c-old"})
    assert renamed.alias("old-user", "new-user") == "c-old"
    assert renamed.plan.gained_external_ids == {}  # keeps its external id; the new one is another name
    assert renamed.plan.new_identities == [NewIdentity(USER, "new-user", "c-old")]


def test_alias_of_unknown_ids_creates_one_contact_and_never_duplicates_identities() -> None:
    planner = ContactPlanner([])
    contact = planner.alias("same", "same")
    assert planner.plan.new_contacts == {contact: "same"}
    assert planner.plan.new_identities == [NewIdentity(USER, "same", contact), NewIdentity(ANONYMOUS, "same", contact)]
