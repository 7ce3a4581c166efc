"""Record histories of the branching and contact steps for the replay test: `python -m tests.replay.record_steps v6`.

One run goes through a condition split (score and engagement), an A/B split, a holdout, update_contact,
adjust_score and a goal; another through the split's default to an exit step."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from domain.journeys.steps.split_conditions import SplitFacts
from tests.replay.recording import recording_env, write_histories
from tests.workflows.steps.conftest import StepHarness
from tests.workflows.steps.journeys import journey, send

EVERY_STEP = journey(
    "welcome",
    send("welcome", "split"),
    {
        "id": "split",
        "type": "split",
        "branches": [
            {
                "condition": {
                    "all": [
                        {"score": {"group": "lead", "op": "gte", "value": 10}},
                        {"engagement": {"step": "welcome", "action": "opened"}},
                    ]
                },
                "next": "ab",
            }
        ],
        "default": "out",
    },
    {
        "id": "ab",
        "type": "ab_split",
        "arms": [{"id": "A", "weight": 1, "next": "hold"}, {"id": "B", "weight": 1, "next": "hold"}],
    },
    {"id": "hold", "type": "holdout", "percent": 50, "next": "mark"},
    {"id": "mark", "type": "update_contact", "set": {"stage": "hot"}, "unset": ["cold"], "next": "bump"},
    {"id": "bump", "type": "adjust_score", "group": "lead", "delta": 5, "next": "won"},
    {"id": "won", "type": "goal", "name": "hot_lead"},
    {"id": "out", "type": "exit", "reason": "not engaged"},
)


async def record(version: str) -> list[Path]:
    env = await recording_env()
    try:
        harness = StepHarness(env)
        async with harness.worker():
            hot = harness.journey_input()
            harness.facts[hot.contact_id] = SplitFacts(scores={"lead": 12.0}, engagement={"welcome": ["opened"]})
            converted = await harness.start(EVERY_STEP, hot)
            await converted.result()
            exited = await harness.start(EVERY_STEP)
            await exited.result()
            written = await write_histories(version, (("split_to_goal", converted), ("split_to_exit", exited)))
    finally:
        await env.shutdown()
    return written


if __name__ == "__main__":
    for written_path in asyncio.run(record(sys.argv[1] if len(sys.argv) > 1 else "v6")):
        print(written_path)  # noqa: T201
