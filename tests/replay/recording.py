"""What every history-recording script shares (tests/replay/record*.py): the time-skipping server they record on,
with the search attributes registered, and writing each recorded run as `journey_<version>_<shape>.json`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from tests.workflows.conftest import _test_server_path
from workflows.search_attributes import register_search_attributes

HISTORIES = Path(__file__).parent / "histories"


async def recording_env() -> WorkflowEnvironment:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=_test_server_path(), data_converter=pydantic_data_converter
    )
    await register_search_attributes(env.client)
    return env


async def write_histories(
    version: str, shapes: Sequence[tuple[str, WorkflowHandle[Any, Any]]], only: str | None = None
) -> list[Path]:
    written = []
    for name, handle in shapes:
        if only is not None and name != only:
            continue
        path = HISTORIES / f"journey_{version}_{name}.json"
        path.write_text((await handle.fetch_history()).to_json())
        written.append(path)
    return written
