"""Replaying a dead-lettered send (mauntic/dead_letters/replayers.py starts it; id `dead-letter-replay:<id>`).

A workflow rather than a call from the API or the CLI: a send must survive the process that asked for it, and it
gets the journey's own retry policy (a provider outage is retried for up to a day). It runs the journey's send
activity under the original idempotency key, so a message that was sent meanwhile is answered `already_sent` and
nothing goes out twice. If the send fails for good again, the dead letter is recorded again (open once more).
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.dead_letters.contracts import (
        RECORD_DEAD_LETTER,
        REPLAY_SEND_WORKFLOW,
        RecordDeadLetterOutput,
        ReplaySendInput,
    )
    from activities.journeys.contracts import SEND_JOURNEY_EMAIL, SendJourneyEmailInput, SendJourneyEmailOutput
    from workflows.journey_failures import DEAD_LETTER_RETRY, DEAD_LETTER_TIMEOUT, send_dead_letter
    from workflows.steps.send_email import (
        SEND_GIVE_UP_AFTER,
        SEND_RETRY,
        SEND_TIMEOUT,
    )


@workflow.defn(name=REPLAY_SEND_WORKFLOW)
class ReplaySend:
    @workflow.run
    async def run(self, request: ReplaySendInput) -> SendJourneyEmailOutput:
        send = SendJourneyEmailInput(
            workspace_id=request.workspace_id,
            journey_id=request.journey_id,
            version=request.version,
            step_id=request.step_id,
            contact_id=request.contact_id,
            idempotency_key=request.idempotency_key,
        )
        try:
            result: SendJourneyEmailOutput = await workflow.execute_activity(
                SEND_JOURNEY_EMAIL,
                send,
                result_type=SendJourneyEmailOutput,
                start_to_close_timeout=SEND_TIMEOUT,
                schedule_to_close_timeout=SEND_GIVE_UP_AFTER,
                retry_policy=SEND_RETRY,
            )
        except (ActivityError, ApplicationError) as err:
            info = workflow.info()
            await workflow.execute_activity(
                RECORD_DEAD_LETTER,
                send_dead_letter(send, err, info.workflow_id, info.run_id),
                result_type=RecordDeadLetterOutput,
                start_to_close_timeout=DEAD_LETTER_TIMEOUT,
                retry_policy=DEAD_LETTER_RETRY,
                schedule_to_close_timeout=timedelta(hours=1),
            )
            raise ApplicationError(
                f"replaying dead letter {request.dead_letter_id} failed", type="ReplayFailed", non_retryable=True
            ) from err
        return result
