"""Impossible waits are refused when a definition is validated, naming the node and the reason."""

from __future__ import annotations

from typing import Any

import pytest

from domain.journeys.definition import JourneyDefinitionError, WaitForEventStep, WaitStep, validate_definition


def journey(wait: dict[str, Any]) -> dict[str, Any]:
    step = {"id": "pause", **wait} | ({"next": "done"} if wait.get("type") == "wait" else {})
    return {"trigger": {"event": "signed_up"}, "start": "pause", "steps": [step, {"id": "done", "type": "end"}]}


def refusal(wait: dict[str, Any]) -> JourneyDefinitionError:
    with pytest.raises(JourneyDefinitionError) as caught:
        validate_definition(journey(wait))
    return caught.value


def wait_for(**fields: Any) -> dict[str, Any]:
    return {"type": "wait_for_event", "event": "clicked", "on_event": "done", "on_timeout": "done", **fields}


@pytest.mark.parametrize(
    "wait",
    [
        {"duration": "P3D"},
        {"until": {"time": "09:00"}},
        {"until": {"time": "23:59", "weekdays": ["mon", "fri"]}},
        {"until_attribute": {"attribute": "renewal_date", "offset": "-P3D", "time": "09:00"}},
        {"until_attribute": {"attribute": "renewal_date"}},
        {"until_attribute": {"attribute": "trial_ends_at", "offset": "PT2H"}},
        {"business_days": {"days": 2}},
        {"business_days": {"days": 365, "time": "00:00"}},
    ],
)
def test_every_wait_form_is_accepted(wait: dict[str, Any]) -> None:
    step = validate_definition(journey({"type": "wait", **wait})).step("pause")
    assert isinstance(step, WaitStep)
    assert step.form == next(iter(wait))


def test_a_wait_form_round_trips_as_it_was_written() -> None:
    raw = {"type": "wait", "until_attribute": {"attribute": "renewal_date", "offset": "-P3D", "time": "09:00"}}
    definition = validate_definition(journey(raw))
    dumped = definition.model_dump(mode="json", exclude_none=True)
    assert dumped["steps"][0]["until_attribute"] == raw["until_attribute"]
    assert validate_definition(dumped) == definition


@pytest.mark.parametrize(
    ("wait", "reason"),
    [
        ({}, "exactly one of duration, until, until_attribute, business_days"),
        ({"duration": None}, "exactly one of duration, until, until_attribute, business_days"),
        ({"duration": "P1D", "until": {"time": "09:00"}}, "(given: duration, until)"),
        ({"until": {"time": "09:00", "weekdays": []}}, "field 'until.weekdays'"),
        ({"until": {"time": "9:00"}}, "field 'until.time'"),
        ({"until": {"time": "24:00"}}, "field 'until.time'"),
        ({"until": {"time": "09:60"}}, "field 'until.time'"),
        ({"until": {"time": "09:00", "weekdays": ["monday"]}}, "field 'until.weekdays[0]'"),
        ({"until": {"time": "09:00", "zone": "UTC"}}, "field 'until.zone'"),
        ({"until_attribute": {"attribute": "renewal_date", "offset": "-3d"}}, "not an ISO-8601 duration"),
        ({"until_attribute": {"attribute": "renewal_date", "offset": "-P400D"}}, "at most 366 days"),
        ({"until_attribute": {"attribute": "", "offset": "-P3D"}}, "field 'until_attribute.attribute'"),
        ({"until_attribute": {"attribute": "renewal_date", "time": "noon"}}, "field 'until_attribute.time'"),
        ({"business_days": {"days": 0}}, "field 'business_days.days'"),
        ({"business_days": {"days": 366}}, "field 'business_days.days'"),
        ({"business_days": {"days": 2, "time": "25:00"}}, "field 'business_days.time'"),
        ({"duration": "P367D"}, "at most 366 days"),
        ({"duration": "PT0S"}, "must be positive"),
    ],
)
def test_an_impossible_wait_is_refused_naming_the_node(wait: dict[str, Any], reason: str) -> None:
    error = refusal({"type": "wait", **wait})
    assert (error.node, error.code) == ("pause", "invalid_step")
    assert reason in error.message


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"timeout": "PT0S"}, "field 'timeout': must be positive"),
        ({"timeout": 0}, "field 'timeout': must be positive"),
        ({"timeout": "P1D", "lookback": "P0D"}, "field 'lookback': must be positive"),
        ({"timeout": "P1D", "lookback": "7d"}, "field 'lookback'"),
        ({"timeout": "P1D", "lookback": "P400D"}, "field 'lookback': must be at most 366 days"),
    ],
)
def test_an_impossible_wait_for_event_is_refused(fields: dict[str, Any], reason: str) -> None:
    error = refusal(wait_for(**fields))
    assert (error.node, error.code) == ("pause", "invalid_step")
    assert reason in error.message


def test_a_lookback_is_optional_and_kept() -> None:
    with_lookback = validate_definition(journey(wait_for(timeout="P1D", lookback="P7D"))).step("pause")
    without = validate_definition(journey(wait_for(timeout="P1D"))).step("pause")
    assert isinstance(with_lookback, WaitForEventStep)
    assert isinstance(without, WaitForEventStep)
    assert with_lookback.lookback is not None
    assert with_lookback.lookback.days == 7
    assert without.lookback is None
