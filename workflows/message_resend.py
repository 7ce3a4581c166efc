"""Resending one uncertain message, once, on an operator's request (api/messages/service.py).

Id `message-resend:<message id>`, so a repeated request runs the same workflow. It runs the journey's own send
activity under the message's idempotency key, with the journey's retry policy: the row was set back to `pending`
by the resolution, so the activity sends it; if this attempt is cut off in turn, the row is `uncertain` again.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.journeys.contracts import (
        RESEND_MESSAGE_WORKFLOW,
        SEND_JOURNEY_EMAIL,
        ResendMessageInput,
        SendJourneyEmailOutput,
    )
    from workflows.steps.send_email import SEND_GIVE_UP_AFTER, SEND_RETRY, SEND_TIMEOUT


@workflow.defn(name=RESEND_MESSAGE_WORKFLOW)
class MessageResend:
    @workflow.run
    async def run(self, request: ResendMessageInput) -> SendJourneyEmailOutput:
        result: SendJourneyEmailOutput = await workflow.execute_activity(
            SEND_JOURNEY_EMAIL,
            request.send,
            result_type=SendJourneyEmailOutput,
            start_to_close_timeout=SEND_TIMEOUT,
            schedule_to_close_timeout=SEND_GIVE_UP_AFTER,
            retry_policy=SEND_RETRY,
        )
        return result
