"""Send policies as pure computation: quiet hours in the contact's zone across both DST transitions, frequency caps
and when they free, and how a journey's policy overrides the workspace default."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from domain.journeys.definition import JourneyDefinitionError, validate_definition
from domain.journeys.send_policy import (
    FrequencyCap,
    JourneySendPolicy,
    QuietHours,
    WorkspaceSendPolicy,
    cap_hit,
    effective_policy,
    iso_duration,
    quiet_until,
)

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
NIGHT = QuietHours(start="21:00", end="08:00")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_a_send_outside_quiet_hours_goes_now() -> None:
    assert quiet_until(utc(2026, 6, 1, 16), NEW_YORK, NIGHT) is None  # 12:00 EDT
    assert quiet_until(utc(2026, 6, 1, 12), NEW_YORK, NIGHT) is None  # 08:00 EDT: the end is allowed


def test_a_send_late_in_the_evening_is_held_until_the_next_morning() -> None:
    assert quiet_until(utc(2026, 6, 2, 2), NEW_YORK, NIGHT) == utc(2026, 6, 2, 12)  # 22:00 EDT -> 08:00 EDT
    assert quiet_until(utc(2026, 6, 1, 1), NEW_YORK, NIGHT) == utc(2026, 6, 1, 12)  # 21:00 EDT is quiet


def test_a_send_after_midnight_is_held_until_that_morning() -> None:
    assert quiet_until(utc(2026, 6, 1, 9), NEW_YORK, NIGHT) == utc(2026, 6, 1, 12)  # 05:00 EDT


def test_the_spring_forward_night_is_an_hour_shorter() -> None:
    # 2026-03-08: New York goes from EST (-5) to EDT (-4) at 02:00. 22:00 EST on the 7th is 03:00 UTC; 08:00 EDT
    # on the 8th is 12:00 UTC, not 13:00 (what a fixed -5 offset would say).
    held = quiet_until(utc(2026, 3, 8, 3), NEW_YORK, NIGHT)
    assert held == utc(2026, 3, 8, 12)
    assert held is not None
    assert held.astimezone(NEW_YORK).hour == 8


def test_the_fall_back_night_is_an_hour_longer() -> None:
    # 2026-11-01: New York goes from EDT (-4) to EST (-5) at 02:00. 23:00 EDT on Oct 31 is 03:00 UTC; 08:00 EST
    # on Nov 1 is 13:00 UTC.
    held = quiet_until(utc(2026, 11, 1, 3), NEW_YORK, NIGHT)
    assert held == utc(2026, 11, 1, 13)
    assert held is not None
    assert held.astimezone(NEW_YORK).hour == 8
    # the repeated hour (01:30 happens twice) is inside quiet hours both times
    assert quiet_until(utc(2026, 11, 1, 5, 30), NEW_YORK, NIGHT) == utc(2026, 11, 1, 13)  # 01:30 EDT
    assert quiet_until(utc(2026, 11, 1, 6, 30), NEW_YORK, NIGHT) == utc(2026, 11, 1, 13)  # 01:30 EST


def test_an_end_inside_the_spring_forward_gap_is_the_instant_after_it() -> None:
    # 02:30 does not exist in New York on 2026-03-08 (02:00 EST is followed by 03:00 EDT). It is read with the
    # offset from before the gap (fold 0): 07:30 UTC, i.e. 03:30 EDT, after the gap and never before the end.
    early = QuietHours(start="22:00", end="02:30")
    held = quiet_until(utc(2026, 3, 8, 4), NEW_YORK, early)  # 23:00 EST
    assert held == utc(2026, 3, 8, 7, 30)
    assert held is not None
    assert held.astimezone(NEW_YORK).isoformat() == "2026-03-08T03:30:00-04:00"


def test_european_transitions_use_their_own_dates() -> None:
    # Berlin springs forward on 2026-03-29 (CET +1 -> CEST +2): 08:00 CEST is 06:00 UTC
    assert quiet_until(utc(2026, 3, 28, 22), BERLIN, NIGHT) == utc(2026, 3, 29, 6)
    # and falls back on 2026-10-25: 08:00 CET is 07:00 UTC
    assert quiet_until(utc(2026, 10, 24, 21), BERLIN, NIGHT) == utc(2026, 10, 25, 7)


def test_daytime_quiet_hours_do_not_span_midnight() -> None:
    lunch = QuietHours(start="12:00", end="13:30")
    assert quiet_until(utc(2026, 6, 1, 12, 15), UTC_ZONE(), lunch) == utc(2026, 6, 1, 13, 30)
    assert quiet_until(utc(2026, 6, 1, 13, 30), UTC_ZONE(), lunch) is None
    assert quiet_until(utc(2026, 6, 1, 11, 59), UTC_ZONE(), lunch) is None


def UTC_ZONE() -> ZoneInfo:
    return ZoneInfo("UTC")


@pytest.mark.parametrize("bad", [{"start": "25:00", "end": "08:00"}, {"start": "9pm", "end": "08:00"},
                                 {"start": "08:00", "end": "08:00"}])  # fmt: skip
def test_impossible_quiet_hours_are_refused(bad: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        QuietHours.model_validate(bad)


WEEK = FrequencyCap(channel="email", limit=3, window=timedelta(days=7))


def test_a_cap_allows_sends_below_its_limit() -> None:
    now = utc(2026, 6, 10)
    assert cap_hit([WEEK], "email", [now - timedelta(days=1), now - timedelta(days=2)], now) is None


def test_a_full_cap_names_its_rule_and_when_it_frees() -> None:
    now = utc(2026, 6, 10)
    sent = [now - timedelta(days=6), now - timedelta(days=1), now - timedelta(days=3), now - timedelta(days=9)]
    hit = cap_hit([WEEK], "email", sent, now)
    assert hit is not None
    assert (hit.rule, hit.count, hit.limit) == ("caps[0]", 3, 3)
    assert hit.frees_at == now + timedelta(days=1)  # the send 6 days ago leaves the 7-day window then
    assert "caps[0]" in hit.describe()
    assert "P7D" in hit.describe()


def test_a_send_reserved_by_a_journey_whose_clock_is_ahead_counts() -> None:
    # two journeys' workflow times differ by milliseconds: the other reserved "after" this one's now
    now = utc(2026, 6, 10)
    hit = cap_hit([WEEK], "email", [now + timedelta(milliseconds=12)] * 3, now)
    assert hit is not None
    assert hit.frees_at == now + timedelta(days=7, milliseconds=12)


def test_caps_count_only_their_channel() -> None:
    now = utc(2026, 6, 10)
    sms = FrequencyCap(channel="sms", limit=1, window=timedelta(days=1))
    assert cap_hit([sms], "email", [now - timedelta(hours=1)], now) is None
    assert cap_hit([sms], "sms", [now - timedelta(hours=1)], now) is not None


def test_of_two_full_caps_the_one_freeing_last_holds() -> None:
    now = utc(2026, 6, 10)
    daily = FrequencyCap(channel="email", limit=1, window=timedelta(days=1))
    sent = [now - timedelta(hours=2), now - timedelta(days=2), now - timedelta(days=4)]
    hit = cap_hit([daily, WEEK], "email", sent, now)
    assert hit is not None
    assert hit.rule == "caps[1]"
    assert hit.frees_at == now + timedelta(days=3)


def test_a_journey_policy_overrides_the_workspace_default() -> None:
    default = WorkspaceSendPolicy(caps=[WEEK], quiet_hours=NIGHT)
    assert effective_policy(default, None).caps == [WEEK]
    inherit = effective_policy(default, JourneySendPolicy(on_capped="skip"))
    assert (inherit.caps, inherit.quiet_hours, inherit.on_capped) == ([WEEK], NIGHT, "skip")
    own = FrequencyCap(channel="email", limit=1, window=timedelta(days=1))
    replaced = effective_policy(default, JourneySendPolicy(caps=[own]))
    assert replaced.caps == [own]
    assert replaced.on_capped == "defer"
    assert effective_policy(default, JourneySendPolicy(caps=[])).caps == []  # a journey without caps


def test_windows_are_spelled_as_definitions_spell_them() -> None:
    assert [iso_duration(timedelta(days=7)), iso_duration(timedelta(hours=36)), iso_duration(timedelta(minutes=90))] \
        == ["P7D", "P1DT12H", "PT1H30M"]  # fmt: skip


def _journey(send_policy: object) -> dict[str, object]:
    return {"trigger": {"event": "Signed Up"}, "start": "hi", "send_policy": send_policy,
            "steps": [{"id": "hi", "type": "send_sms", "body": "Hi {{ contact.first_name }}"}]}  # fmt: skip


def test_a_definition_carries_its_send_policy() -> None:
    definition = validate_definition(
        _journey({"caps": [{"channel": "sms", "limit": 2, "window": "P1D"}], "on_capped": "skip"})
    )
    assert definition.send_policy is not None
    assert definition.send_policy.caps == [FrequencyCap(channel="sms", limit=2, window=timedelta(days=1))]


@pytest.mark.parametrize(
    "policy",
    [{"caps": [{"channel": "fax", "limit": 1, "window": "P1D"}]}, {"caps": [{"channel": "sms", "limit": 0,
     "window": "P1D"}]}, {"caps": [{"channel": "sms", "limit": 1, "window": "7d"}]}, {"on_capped": "later"},
     {"quiet_hours": {"start": "21:00"}}],
)  # fmt: skip
def test_a_bad_send_policy_is_refused_naming_it(policy: object) -> None:
    with pytest.raises(JourneyDefinitionError) as refused:
        validate_definition(_journey(policy))
    assert refused.value.node == "send_policy"
