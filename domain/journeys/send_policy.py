"""Send policies that hold across every journey of a workspace: frequency caps per contact and channel, and quiet
hours in the contact's time zone. Pure computation: the gate activity (activities/journeys/send_gate.py) reads the
rows and the clock, these functions decide.

- A cap `{"channel": "email", "limit": 3, "window": "P7D"}` allows a send when fewer than `limit` sends of that
  channel were reserved for the contact in the `window` before now. When it is reached, the send may go once the
  oldest counted send leaves the window (`CapHit.frees_at`): a journey with `on_capped: "defer"` waits until then
  and asks again, one with `"skip"` moves on.
- Quiet hours `{"start": "21:00", "end": "08:00"}` are local wall-clock times (a start after the end spans
  midnight). A send due inside them is held until the next local `end`, computed with zoneinfo so a night with a
  DST change lasts what it lasts: an `end` that does not exist that night (inside a spring-forward gap) is taken
  as the instant after the gap, an ambiguous one (fall-back) as its first occurrence.
- A journey's `send_policy` overrides the workspace default: `caps` replaces the default caps (null: the
  default's), `quiet_hours` replaces the default quiet hours (null: the default's). Transactional steps bypass both.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, Field, model_validator

from domain.journeys.conditions import Strict
from domain.journeys.durations import WaitDuration

SendChannel = Literal["email", "sms", "push"]
OnCapped = Literal["skip", "defer"]
MAX_CAPS = 20


def _clock_time(value: str) -> str:
    hours, sep, minutes = value.partition(":")
    if not (sep and len(hours) == 2 and len(minutes) == 2 and hours.isdigit() and minutes.isdigit()):
        raise ValueError("must be a local time of day as HH:MM, e.g. 21:00")
    if int(hours) > 23 or int(minutes) > 59:
        raise ValueError("must be a local time of day between 00:00 and 23:59")
    return value


ClockTime = Annotated[str, AfterValidator(_clock_time)]


def _parse_clock(value: str) -> time:
    hours, _, minutes = value.partition(":")
    return time(int(hours), int(minutes))


class FrequencyCap(Strict):
    channel: SendChannel
    limit: int = Field(ge=1, le=10_000)
    window: WaitDuration


class QuietHours(Strict):
    start: ClockTime
    end: ClockTime

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHours:
        if self.start == self.end:
            raise ValueError("start and end must differ (quiet hours of no length or of the whole day)")
        return self


class WorkspaceSendPolicy(Strict):
    """The workspace default (GET/PUT /v1/workspace/send-policy)."""

    caps: list[FrequencyCap] = Field(default_factory=list, max_length=MAX_CAPS)
    quiet_hours: QuietHours | None = None

    @property
    def empty(self) -> bool:
        return not self.caps and self.quiet_hours is None


class JourneySendPolicy(Strict):
    """A journey definition's top-level `send_policy`."""

    caps: list[FrequencyCap] | None = Field(None, max_length=MAX_CAPS)
    on_capped: OnCapped = "defer"
    quiet_hours: QuietHours | None = None


class EffectivePolicy(Strict):
    caps: list[FrequencyCap] = Field(default_factory=list)
    quiet_hours: QuietHours | None = None
    on_capped: OnCapped = "defer"


def effective_policy(workspace: WorkspaceSendPolicy | None, journey: JourneySendPolicy | None) -> EffectivePolicy:
    default = workspace or WorkspaceSendPolicy()
    if journey is None:
        return EffectivePolicy(caps=default.caps, quiet_hours=default.quiet_hours)
    return EffectivePolicy(
        caps=journey.caps if journey.caps is not None else default.caps,
        quiet_hours=journey.quiet_hours if journey.quiet_hours is not None else default.quiet_hours,
        on_capped=journey.on_capped,
    )


def _local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The instant `at` happens on `day` in `zone`. fold=0: an ambiguous time is its first occurrence, and a time
    in a spring-forward gap maps (with the offset from before the gap) to the instant just after it."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def in_quiet_hours(now: datetime, zone: ZoneInfo, quiet: QuietHours) -> bool:
    local = now.astimezone(zone).time().replace(tzinfo=None)
    start, end = _parse_clock(quiet.start), _parse_clock(quiet.end)
    if start < end:
        return start <= local < end
    return local >= start or local < end


def quiet_until(now: datetime, zone: ZoneInfo, quiet: QuietHours | None) -> datetime | None:
    """The next instant a send may go when `now` (aware) is inside quiet hours in `zone`; None when it may go now."""
    if quiet is None or not in_quiet_hours(now, zone, quiet):
        return None
    local = now.astimezone(zone)
    start, end = _parse_clock(quiet.start), _parse_clock(quiet.end)
    day = local.date()
    if start > end and local.time().replace(tzinfo=None) >= start:
        day += timedelta(days=1)  # quiet since this evening: allowed from tomorrow's end
    resume = _local_instant(day, end, zone)
    return resume if resume > now else None


class CapHit(Strict):
    """The cap that holds a send back: which rule (`caps[i]`), how many sends it counted, and when it frees."""

    rule: str
    channel: SendChannel
    limit: int
    count: int
    window: timedelta
    frees_at: datetime

    def describe(self) -> str:
        return (
            f"frequency cap {self.rule} ({self.limit} {self.channel} per {iso_duration(self.window)}): "
            f"{self.count} already sent in the window"
        )


def cap_hit(caps: Sequence[FrequencyCap], channel: str, sent_at: Sequence[datetime], now: datetime) -> CapHit | None:
    """The first cap of this channel that the contact's earlier sends (`sent_at`, any order) already fill, or None
    when the send is allowed. Of several filled caps the one freeing last is reported (the send waits for all)."""
    worst: CapHit | None = None
    for index, cap in enumerate(caps):
        if cap.channel != channel:
            continue
        # No upper bound: another journey's clock (its workflow time) may be a little ahead of this one's, and its
        # reservation is a send all the same.
        counted = sorted(moment for moment in sent_at if moment > now - cap.window)
        if len(counted) < cap.limit:
            continue
        # the send may go once all but limit-1 of the counted sends have left the window
        frees_at = counted[len(counted) - cap.limit] + cap.window
        hit = CapHit(
            rule=f"caps[{index}]", channel=cap.channel, limit=cap.limit, count=len(counted),
            window=cap.window, frees_at=frees_at,
        )  # fmt: skip
        if worst is None or hit.frees_at > worst.frees_at:
            worst = hit
    return worst


def longest_window(caps: Sequence[FrequencyCap], channel: str) -> timedelta | None:
    windows = [cap.window for cap in caps if cap.channel == channel]
    return max(windows) if windows else None


def iso_duration(value: timedelta) -> str:
    """P7D, PT12H, P1DT30M: how a window is spelled in a definition (durations.py)."""
    seconds = int(value.total_seconds())
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    clock = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (secs, "S")) if n)
    return "P" + (f"{days}D" if days else "") + (f"T{clock}" if clock else "") if seconds else "PT0S"
