"""Record histories of the calendar waits and the wait_for_event lookback for the replay test:
`python -m tests.replay.record_waits v6` (beside tests/replay/record.py, which records the other shapes)."""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta
from pathlib import Path

from domain.journeys.holiday_calendar import HolidayCalendar
from tests.replay.recording import recording_env, write_histories
from tests.workflows.steps.test_waits import StoredEvent, WaitHarness, journey, wait_for_order


async def record(version: str) -> list[Path]:
    env = await recording_env()
    try:
        harness = WaitHarness(env)
        async with harness.worker():
            now = await env.get_current_time()
            harness.calendar = HolidayCalendar(country="US", extra_dates=[(now + timedelta(days=1)).date()])
            harness.attributes = {"renewal_date": (now + timedelta(days=10)).date().isoformat()}
            business = await harness.start(journey({"business_days": {"days": 2, "time": "09:00"}}))
            await business.result()
            renewal = await harness.start(
                journey({"until_attribute": {"attribute": "renewal_date", "offset": "-P3D", "time": "09:00"}})
            )
            await renewal.result()
            earlier = await env.get_current_time() - timedelta(days=1)
            harness.events = [StoredEvent("evt-earlier", "Order Completed", earlier, {"total": 20})]
            looked_back = await harness.start(wait_for_order(lookback="P7D"))
            await looked_back.result()
            shapes = (("business_days_wait", business), ("until_attribute_wait", renewal), ("lookback", looked_back))
            written = await write_histories(version, shapes)
    finally:
        await env.shutdown()
    return written


if __name__ == "__main__":
    arguments = sys.argv[1:]
    for written_path in asyncio.run(record(arguments[0] if arguments else "v6")):
        print(written_path)  # noqa: T201
