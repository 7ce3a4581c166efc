"""Every recorded history must replay against today's workflow code: a non-deterministic change (one not
guarded by `workflow.patched()`) fails here before it can break workflows running in production. Journey histories
come from `python -m tests.replay.record`; sending-domain, dead-letter replay and contact-merge histories from the
workflow tests, run with MAUNTIC_RECORD_HISTORIES=1."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.contact_merge import ContactMergeWorkflow
from workflows.dead_letter_replay import ReplaySend
from workflows.journey import JourneyWorkflow
from workflows.runner import workflow_runner
from workflows.sending_domain import SendingDomainCheck, SendingDomainRecheck, SendingDomainVerification

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_histories_of_every_workflow_are_recorded() -> None:
    assert {p.stem.split("_v")[0] for p in HISTORIES} == {
        "journey",
        "sending_domain",
        "sending_domain_check",
        "dead_letter_replay_send",
        "contact_merge",
    }


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    replayer = Replayer(
        workflows=[
            JourneyWorkflow,
            ReplaySend,
            SendingDomainVerification,
            SendingDomainRecheck,
            SendingDomainCheck,
            ContactMergeWorkflow,
        ],
        workflow_runner=workflow_runner(),
        data_converter=pydantic_data_converter,
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None
