"""The send replay workflow on the time-skipping server: it runs the send under the original key (an email sent
meanwhile is answered already_sent), and a send failing for good again records the dead letter again."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from temporalio import activity
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from activities.dead_letters.contracts import (
    RECORD_DEAD_LETTER,
    RecordDeadLetterInput,
    RecordDeadLetterOutput,
    ReplaySendInput,
)
from activities.journeys.contracts import SEND_JOURNEY_EMAIL, SendJourneyEmailInput, SendJourneyEmailOutput
from workflows.dead_letter_replay import ReplaySend
from workflows.runner import workflow_runner

HISTORIES = Path(__file__).parents[1] / "replay" / "histories"


class Fakes:
    def __init__(self, outcome: str | None) -> None:
        self.outcome = outcome  # None: the provider refuses for good
        self.sends: list[SendJourneyEmailInput] = []
        self.recorded: list[RecordDeadLetterInput] = []

    @activity.defn(name=SEND_JOURNEY_EMAIL)
    async def send(self, request: SendJourneyEmailInput) -> SendJourneyEmailOutput:
        self.sends.append(request)
        if self.outcome is None:
            raise ApplicationError("550 no such user", type="PermanentDeliveryError", non_retryable=True)
        return SendJourneyEmailOutput(message_log_id="msg_1", status=self.outcome)

    @activity.defn(name=RECORD_DEAD_LETTER)
    async def record(self, request: RecordDeadLetterInput) -> RecordDeadLetterOutput:
        self.recorded.append(request)
        return RecordDeadLetterOutput(recorded=True)


REQUEST = ReplaySendInput(
    dead_letter_id=7, workspace_id="ws1", journey_id="jr1", version=2, step_id="welcome", contact_id="ct1",
    idempotency_key="journey:ws1:jr1:ct1:welcome",
)  # fmt: skip


async def run(env: WorkflowEnvironment, fakes: Fakes) -> WorkflowHandle[ReplaySend, SendJourneyEmailOutput]:
    queue = f"replay-{uuid.uuid4().hex[:8]}"
    async with Worker(
        env.client, task_queue=queue, workflows=[ReplaySend], activities=[fakes.send, fakes.record],
        workflow_runner=workflow_runner(),
    ):  # fmt: skip
        handle = await env.client.start_workflow(
            ReplaySend.run, REQUEST, id=f"dead-letter-replay:{uuid.uuid4().hex[:8]}", task_queue=queue
        )
        try:
            await handle.result()
        except WorkflowFailureError:
            pass
    return handle


async def replays(handle: WorkflowHandle[ReplaySend, SendJourneyEmailOutput], record_as: str) -> None:
    history = await handle.fetch_history()
    replayer = Replayer(
        workflows=[ReplaySend], workflow_runner=workflow_runner(), data_converter=pydantic_data_converter
    )
    assert (await replayer.replay_workflow(history, raise_on_replay_failure=False)).replay_failure is None
    if os.environ.get("MAUNTIC_RECORD_HISTORIES") == "1":
        (HISTORIES / f"{record_as}.json").write_text(history.to_json())


async def test_an_email_sent_meanwhile_is_answered_already_sent_under_the_original_key(
    env: WorkflowEnvironment,
) -> None:
    fakes = Fakes("already_sent")
    handle = await run(env, fakes)

    assert (await handle.result()).status == "already_sent"
    assert [s.idempotency_key for s in fakes.sends] == ["journey:ws1:jr1:ct1:welcome"]
    assert fakes.recorded == []
    await replays(handle, "dead_letter_replay_send_v1_already_sent")


async def test_a_send_failing_again_records_its_dead_letter_again(env: WorkflowEnvironment) -> None:
    fakes = Fakes(None)
    handle = await run(env, fakes)

    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()
    assert isinstance(failure.value.cause, ApplicationError)
    assert failure.value.cause.type == "ReplayFailed"
    [again] = fakes.recorded
    assert (again.kind, again.subject_id, again.error_type) == (
        "send",
        REQUEST.idempotency_key,
        "PermanentDeliveryError",
    )
    await replays(handle, "dead_letter_replay_send_v1_failed_again")
