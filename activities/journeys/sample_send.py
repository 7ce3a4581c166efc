"""A journey step's email sent once to a test address (POST /v1/journeys/{id}/steps/{step}/test-send).

Through the workspace's provider chain like any send, composed the same way (DKIM, unsubscribe headers), but
outside the journey's books: no message-log row, not counted by caps, the subject marked as a test. A provider
that refuses it for good fails the activity without retries; a chain with no provider able to take it now is
retried by the workflow's policy, a few times only (someone is waiting for the answer).
"""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.delivery.chain import ChainExhausted, OutcomeUncertain, PermanentlyRefused
from activities.delivery.composer import ComposeError, EmailComposer, RenderedEmail
from activities.delivery.service import Delivery
from activities.journeys.contracts import SEND_TEST_EMAIL, SendTestEmailInput, SendTestEmailOutput


class JourneyTestSendActivities:
    def __init__(self, composer: EmailComposer, delivery: Delivery, default_from: str) -> None:
        self._composer = composer
        self._delivery = delivery
        self._default_from = default_from

    @activity.defn(name=SEND_TEST_EMAIL)
    async def send_test_email(self, request: SendTestEmailInput) -> SendTestEmailOutput:
        key = f"test-send:{request.workspace_id}:{request.test_id}"
        rendered = RenderedEmail(
            workspace_id=request.workspace_id,
            message_log_id=request.test_id,
            idempotency_key=key,
            sender=request.sender or self._default_from,
            to=request.to,
            subject=request.subject,
            html=request.html,
            text=request.text,
        )
        try:
            outbound = await self._composer.compose(rendered)
            result = await self._delivery.send_email(request.workspace_id, outbound)
        except ComposeError as exc:
            raise ApplicationError(str(exc), type="ComposeError", non_retryable=True) from exc
        except (PermanentlyRefused, OutcomeUncertain) as exc:  # a test is not sent twice on a doubt either
            raise ApplicationError(str(exc), type="TestSendFailed", non_retryable=True) from exc
        except ChainExhausted as exc:
            raise ApplicationError(str(exc), type="ChainExhausted") from exc
        return SendTestEmailOutput(
            provider=result.provider_id, provider_message_id=result.acceptance.provider_message_id
        )
