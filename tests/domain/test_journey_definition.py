"""The journey DSL: parsing, filters, trigger matching and every validation error code."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest

from domain.journeys.conditions import PropertyFilter
from domain.journeys.definition import (
    EndStep,
    JourneyDefinition,
    JourneyDefinitionError,
    SendEmailStep,
    WaitForEventStep,
    WaitStep,
    validate_definition,
)
from domain.journeys.triggers import Trigger


def welcome_journey() -> dict[str, Any]:
    """welcome -> wait 3 days -> wait for a click (2 days) -> thanks | nudge -> done."""
    return {
        "trigger": {"event": "signed_up", "where": [{"property": "plan", "op": "eq", "value": "pro"}]},
        "start": "welcome",
        "steps": [
            {
                "id": "welcome",
                "type": "send_email",
                "subject": "Hi {{ first_name }}",
                "html": "<p>Hi</p>",
                "next": "pause",
            },
            {"id": "pause", "type": "wait", "duration": "P3D", "next": "wait_click"},
            {
                "id": "wait_click",
                "type": "wait_for_event",
                "event": "clicked",
                "timeout": 172800,
                "where": [{"property": "link", "op": "contains", "value": "pricing"}],
                "on_event": "thanks",
                "on_timeout": "nudge",
            },
            {"id": "thanks", "type": "send_email", "subject": "Thanks", "text": "Thanks!", "next": "done"},
            {"id": "nudge", "type": "send_email", "subject": "Still there?", "text": "Hello?"},
            {"id": "done", "type": "end"},
        ],
    }


def rejected(raw: object) -> JourneyDefinitionError:
    with pytest.raises(JourneyDefinitionError) as caught:
        validate_definition(raw)
    return caught.value


# --- valid definitions ------------------------------------------------------------------------------------


def test_a_complete_journey_parses_into_typed_steps() -> None:
    definition = validate_definition(welcome_journey())

    assert definition.start == "welcome"
    assert [type(step) for step in definition.steps] == [
        SendEmailStep,
        WaitStep,
        WaitForEventStep,
        SendEmailStep,
        SendEmailStep,
        EndStep,
    ]
    assert definition.step("pause") == WaitStep(id="pause", duration=timedelta(days=3), next="wait_click")
    wait_click = definition.step("wait_click")
    assert isinstance(wait_click, WaitForEventStep)
    assert wait_click.timeout == timedelta(days=2)


def test_a_single_send_without_next_is_a_complete_journey() -> None:
    definition = validate_definition(
        {
            "trigger": {"event": "x"},
            "start": "only",
            "steps": [{"id": "only", "type": "send_email", "subject": "s", "text": "t"}],
        }
    )
    assert definition.step("only").type == "send_email"


def test_a_definition_survives_a_json_round_trip() -> None:
    definition = validate_definition(welcome_journey())
    dumped = definition.model_dump(mode="json")

    assert dumped["steps"][1]["duration"] == "P3D"
    assert validate_definition(dumped) == definition
    assert validate_definition(definition) == definition


def test_step_lookup_of_a_missing_id_raises_key_error() -> None:
    with pytest.raises(KeyError, match="ghost"):
        validate_definition(welcome_journey()).step("ghost")


def test_wait_event_names_lists_the_events_waits_wait_for() -> None:
    raw = welcome_journey()
    raw["steps"][4] = {
        "id": "nudge",
        "type": "wait_for_event",
        "event": "opened",
        "timeout": "PT1H",
        "on_event": "done",
        "on_timeout": "done",
    }

    assert validate_definition(raw).wait_event_names() == {"clicked", "opened"}
    no_waits = {"trigger": {"event": "x"}, "start": "e", "steps": [{"id": "e", "type": "end"}]}
    assert validate_definition(no_waits).wait_event_names() == set()


# --- durations --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("duration", "expected"),
    [
        ("P3D", timedelta(days=3)),
        (259200, timedelta(days=3)),
        ("PT90M", timedelta(minutes=90)),
        (1.5, timedelta(seconds=1.5)),
        ("P366D", timedelta(days=366)),
        ("P1DT12H", timedelta(days=1, hours=12)),
        ("P2W", timedelta(weeks=2)),
        ("PT1.5S", timedelta(seconds=1.5)),
        ("P1Y1D", timedelta(days=366)),  # how a stored definition writes 366 days: a year is 365 days
    ],
)
def test_wait_durations_accept_iso_8601_and_seconds(duration: object, expected: timedelta) -> None:
    assert WaitStep.model_validate({"id": "w", "duration": duration}).duration == expected


@pytest.mark.parametrize(
    ("duration", "reason"),
    [
        (0, "must be positive"),
        ("-P1D", "must be positive"),
        ("P367D", "at most 366 days"),
        ("soon", "not an ISO-8601 duration"),
        # (a null duration is an absent one: tests/domain/journeys/test_wait_validation.py)
        # Forms pydantic alone would take, refused so a definition means the same to every reader.
        ("3 days", "not an ISO-8601 duration"),
        ("1d", "not an ISO-8601 duration"),
        ("01:00:00", "not an ISO-8601 duration"),
        ("3600", "not an ISO-8601 duration"),
        # Months have no fixed length, and P1M is one letter from PT1M (a minute).
        ("P1M", "not an ISO-8601 duration"),
        ("PT", "not an ISO-8601 duration"),
        (True, "number of seconds"),
    ],
)
def test_bad_wait_durations_are_invalid_steps(duration: object, reason: str) -> None:
    raw = welcome_journey()
    raw["steps"][1]["duration"] = duration

    error = rejected(raw)

    assert (error.node, error.code) == ("pause", "invalid_step")
    assert "field 'duration'" in error.message
    assert reason in error.message


def test_bad_wait_for_event_timeout_is_an_invalid_step() -> None:
    raw = welcome_journey()
    raw["steps"][2]["timeout"] = "P2Y"

    error = rejected(raw)

    assert (error.node, error.code) == ("wait_click", "invalid_step")
    assert "field 'timeout'" in error.message


# --- filters and triggers ---------------------------------------------------------------------------------

PROPERTIES: dict[str, Any] = {
    "plan": {"tier": "pro", "seats": 5},
    "country": "FR",
    "score": 7.5,
    "tags": ["beta", "vip"],
    "active": True,
    "deleted_at": None,
}


@pytest.mark.parametrize(
    ("prop", "op", "value", "expected"),
    [
        ("country", "eq", "FR", True),
        ("country", "eq", "fr", False),
        ("plan.tier", "eq", "pro", True),
        ("plan.seats", "eq", 5.0, True),
        ("active", "eq", True, True),
        ("active", "eq", 1, False),  # a bool is not the number 1
        ("country", "neq", "DE", True),
        ("country", "neq", "FR", False),
        ("plan.seats", "gt", 4, True),
        ("plan.seats", "gt", 5, False),
        ("plan.seats", "gte", 5, True),
        ("score", "lt", 8, True),
        ("score", "lte", 7.5, True),
        ("score", "lte", 7, False),
        ("country", "gt", "DE", True),  # strings compare with strings
        ("country", "contains", "R", True),
        ("tags", "contains", "vip", True),
        ("tags", "contains", "alpha", False),
        ("country", "in", ["FR", "DE"], True),
        ("country", "in", ["US"], False),
        ("plan.seats", "in", [1, 5], True),
        ("country", "exists", None, True),
        ("plan.tier", "exists", True, True),
        ("missing", "exists", None, False),
        ("missing", "exists", False, True),
        ("deleted_at", "exists", None, False),  # null counts as absent
        ("country", "exists", False, False),
    ],
)
def test_filter_ops(prop: str, op: str, value: object, expected: bool) -> None:
    condition = PropertyFilter.model_validate({"property": prop, "op": op, "value": value})
    assert condition.matches(PROPERTIES) is expected


@pytest.mark.parametrize(
    ("prop", "op", "value"),
    [
        ("country", "gt", 3),  # string against number
        ("plan.seats", "gt", "3"),  # number against string
        ("active", "gt", 0),  # bool is not a number
        ("plan", "lt", 10),  # dict against number
        ("plan.seats", "contains", "5"),  # number has no members
        ("tags", "contains", 5),
        ("missing", "eq", None),  # missing matches nothing but exists:false
        ("missing", "neq", "x"),
        ("country.code", "eq", "FR"),  # walking into a string
        ("plan.tier.name", "exists", None),
    ],
)
def test_filters_on_mismatched_types_or_missing_paths_are_false(prop: str, op: str, value: object) -> None:
    condition = PropertyFilter.model_validate({"property": prop, "op": op, "value": value})
    assert condition.matches(PROPERTIES) is False


@pytest.mark.parametrize(("op", "value"), [("in", "FR"), ("gt", None), ("lte", [1]), ("exists", "yes")])
def test_filter_values_must_fit_their_op(op: str, value: object) -> None:
    raw = welcome_journey()
    raw["steps"][2]["where"] = [{"property": "country", "op": op, "value": value}]

    error = rejected(raw)

    assert (error.node, error.code) == ("wait_click", "invalid_step")
    assert "where[0]" in error.message


def test_trigger_matches_event_name_and_all_filters() -> None:
    trigger = Trigger.model_validate(
        {
            "event": "signed_up",
            "where": [{"property": "plan", "op": "eq", "value": "pro"}, {"property": "seats", "op": "gte", "value": 2}],
        }
    )

    assert trigger.matches("signed_up", {"plan": "pro", "seats": 3})
    assert not trigger.matches("signed_up", {"plan": "pro", "seats": 1})
    assert not trigger.matches("signed_up", {"plan": "free", "seats": 3})
    assert not trigger.matches("logged_in", {"plan": "pro", "seats": 3})
    assert Trigger(event="x").matches("x", {})


def test_wait_for_event_accepts_only_its_event_with_matching_properties() -> None:
    step = validate_definition(welcome_journey()).step("wait_click")
    assert isinstance(step, WaitForEventStep)

    assert step.accepts("clicked", {"link": "https://x.test/pricing"})
    assert not step.accepts("clicked", {"link": "https://x.test/blog"})
    assert not step.accepts("opened", {"link": "https://x.test/pricing"})


# --- error codes and nodes --------------------------------------------------------------------------------


def test_unknown_step_type_names_the_step_and_lists_the_allowed_types() -> None:
    raw = welcome_journey()
    raw["steps"][1]["type"] = "sms"

    error = rejected(raw)

    assert (error.node, error.code) == ("pause", "unknown_step_type")
    assert "'sms'" in error.message
    for allowed in ("send_email", "wait", "wait_for_event", "end"):
        assert allowed in error.message


def test_a_step_without_type_or_usable_id_is_named_by_position() -> None:
    raw = welcome_journey()
    raw["steps"][3] = {"id": "not a valid id!", "subject": "x"}

    error = rejected(raw)

    assert (error.node, error.code) == ("steps[3]", "unknown_step_type")


def test_field_errors_inside_a_step_name_the_field() -> None:
    raw = welcome_journey()
    del raw["steps"][0]["subject"]

    error = rejected(raw)

    assert (error.node, error.code) == ("welcome", "invalid_step")
    assert "field 'subject'" in error.message


def test_send_email_needs_html_or_text() -> None:
    raw = welcome_journey()
    del raw["steps"][0]["html"]

    error = rejected(raw)

    assert (error.node, error.code) == ("welcome", "invalid_step")
    assert "html or text" in error.message


@pytest.mark.parametrize("sender", ["news@acme.test", "Acme News <news@acme.test>"])
def test_send_email_accepts_a_from_mailbox(sender: str) -> None:
    raw = welcome_journey()
    raw["steps"][0]["from_address"] = sender
    step = validate_definition(raw).step("welcome")
    assert isinstance(step, SendEmailStep)
    assert step.from_address == sender


@pytest.mark.parametrize("sender", ["news", "news@localhost", "@acme.test", "A <a@acme.test>\r\nBcc: x@y.test"])
def test_a_bad_from_mailbox_names_the_field(sender: str) -> None:
    raw = welcome_journey()
    raw["steps"][0]["from_address"] = sender

    error = rejected(raw)

    assert (error.node, error.code) == ("welcome", "invalid_step")
    assert "field 'from_address'" in error.message


@pytest.mark.parametrize("bad_id", ["has space", "", "x" * 65, "dot.ted"])
def test_step_ids_must_be_short_slugs(bad_id: str) -> None:
    raw = welcome_journey()
    raw["steps"][5]["id"] = bad_id
    raw["steps"][3]["next"] = None

    error = rejected(raw)

    assert (error.node, error.code) == ("steps[5]", "invalid_step")
    assert "field 'id'" in error.message


def test_unknown_fields_are_rejected_everywhere() -> None:
    raw = welcome_journey()
    raw["steps"][1]["delay"] = "P1D"
    assert (rejected(raw).node, rejected(raw).code) == ("pause", "invalid_step")

    raw = welcome_journey()
    raw["trigger"]["where"][0]["negate"] = True
    assert rejected(raw).code == "invalid_trigger"

    raw = welcome_journey()
    raw["owner"] = "me"
    assert (rejected(raw).node, rejected(raw).code) == ("owner", "invalid_definition")


def test_invalid_trigger() -> None:
    raw = welcome_journey()
    raw["trigger"]["event"] = ""

    error = rejected(raw)

    assert (error.node, error.code) == ("trigger", "invalid_trigger")
    assert "field 'event'" in error.message


def test_duplicate_step_ids() -> None:
    raw = welcome_journey()
    raw["steps"][4]["id"] = "thanks"

    error = rejected(raw)

    assert (error.node, error.code) == ("thanks", "duplicate_step_id")


@pytest.mark.parametrize(("index", "field"), [(0, "next"), (2, "on_event"), (2, "on_timeout")])
def test_references_to_missing_steps_name_the_referring_step(index: int, field: str) -> None:
    raw = welcome_journey()
    raw["steps"][index][field] = "ghost"

    error = rejected(raw)

    assert (error.node, error.code) == (raw["steps"][index]["id"], "unknown_step_reference")
    assert f"'{field}'" in error.message
    assert "'ghost'" in error.message


def test_start_pointing_nowhere() -> None:
    raw = welcome_journey()
    raw["start"] = "ghost"

    error = rejected(raw)

    assert (error.node, error.code) == ("start", "unknown_step_reference")


def test_unreachable_step() -> None:
    raw = welcome_journey()
    raw["steps"].append({"id": "orphan", "type": "end"})

    error = rejected(raw)

    assert (error.node, error.code) == ("orphan", "unreachable_step")


def test_cycles_are_rejected() -> None:
    raw = welcome_journey()
    raw["steps"][4]["next"] = "pause"  # nudge -> pause -> wait_click -> nudge

    error = rejected(raw)

    assert error.code == "cycle"
    assert error.node == "nudge"
    assert "pause -> wait_click -> nudge -> pause" in error.message


def test_a_step_pointing_at_itself_is_a_cycle() -> None:
    raw = welcome_journey()
    raw["steps"][1]["next"] = "pause"
    raw["steps"][2:] = []
    raw["steps"].append({"id": "unused", "type": "end"})

    error = rejected(raw)

    assert (error.node, error.code) == ("pause", "cycle")


def test_branches_that_rejoin_are_not_cycles() -> None:
    raw = welcome_journey()
    raw["steps"][4]["next"] = "done"  # thanks and nudge both lead to done

    assert validate_definition(raw).step("nudge") == SendEmailStep(
        id="nudge", subject="Still there?", text="Hello?", next="done"
    )


@pytest.mark.parametrize(
    ("field", "source"), [("subject", "Hi {{ name"), ("html", "{% if x %}open"), ("html", "{{ name | shout }}")]
)
def test_liquid_errors_are_invalid_templates(field: str, source: str) -> None:
    raw = welcome_journey()
    raw["steps"][0][field] = source

    error = rejected(raw)

    assert (error.node, error.code) == ("welcome", "invalid_template")
    assert f"field '{field}'" in error.message


@pytest.mark.parametrize(
    ("raw", "node"),
    [
        ([], "definition"),
        ("journey", "definition"),
        (None, "definition"),
        ({"trigger": {"event": "x"}, "steps": [{"id": "e", "type": "end"}]}, "start"),
        ({"trigger": {"event": "x"}, "start": "e", "steps": []}, "steps"),
        ({"trigger": {"event": "x"}, "start": "e", "steps": [{"id": "e", "type": "end"}] * 201}, "steps"),
    ],
)
def test_malformed_definitions(raw: object, node: str) -> None:
    error = rejected(raw)
    assert (error.node, error.code) == (node, "invalid_definition")


def test_errors_carry_node_code_and_message() -> None:
    error = JourneyDefinitionError("pause", "invalid_step", "field 'duration': bad")

    assert isinstance(error, Exception)
    assert str(error) == "pause: field 'duration': bad"


def test_validation_does_not_modify_its_input() -> None:
    raw = welcome_journey()
    before = copy.deepcopy(raw)

    validate_definition(raw)

    assert raw == before


def test_direct_construction_skips_graph_checks_but_not_field_checks() -> None:
    # The workflow relies on this: a stored definition is re-parsed but not re-validated as a graph.
    loose = JourneyDefinition(trigger=Trigger(event="x"), start="a", steps=[WaitStep(id="a", duration=1, next="b")])
    assert loose.step("a").type == "wait"
    with pytest.raises(ValueError, match="must be positive"):
        WaitStep(id="a", duration=timedelta(0))


@pytest.mark.parametrize(
    "seconds", [0.001, 1, 59.5, 60, 5400, 86399.25, 86400, 30 * 86400, 364 * 86400, 365 * 86400, 366 * 86400]
)
def test_a_stored_definition_reads_back_its_own_durations(seconds: float) -> None:
    """Published versions keep pydantic's canonical form (366 days is "P1Y1D"); the strict input rule must
    still accept every duration it writes, or an in-flight journey could not load its version."""
    step = WaitStep.model_validate({"id": "w", "duration": seconds})
    dumped = step.model_dump(mode="json")["duration"]
    assert WaitStep.model_validate({"id": "w", "duration": dumped}).duration == step.duration


def test_a_definition_over_the_size_limit_is_refused_whatever_its_shape() -> None:
    from domain.journeys.definition import MAX_DEFINITION_BYTES, definition_size

    raw = welcome_journey()
    raw["steps"][0]["text"] = "x" * MAX_DEFINITION_BYTES  # one huge step
    with pytest.raises(JourneyDefinitionError) as err:
        validate_definition(raw)
    assert (err.value.node, err.value.code) == ("definition", "definition_too_large")
    many = welcome_journey()
    many["steps"][0]["text"] = "y" * (MAX_DEFINITION_BYTES // 2)
    many["steps"][2]["text"] = "z" * (MAX_DEFINITION_BYTES // 2)  # two halves: together over
    with pytest.raises(JourneyDefinitionError, match="at most"):
        validate_definition(many)
    fits = welcome_journey()
    fits["steps"][0]["text"] = "w" * (MAX_DEFINITION_BYTES - definition_size(welcome_journey()) - 1000)
    assert definition_size(validate_definition(fits).model_dump(mode="json", exclude_none=True)) <= MAX_DEFINITION_BYTES
