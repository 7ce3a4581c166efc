"""The double opt-in confirmation email: composed and started as the worker's test-send workflow (the workspace's
provider chain and DKIM, no journey books; activities/journeys/sample_send.py).

Durable: the API does not send it. It writes a `consent_confirmation` outbox row in the transaction that records
the pending consent (api/consent/service.apply_changes), so a process killed after that commit still has the row,
and a dispatcher (dispatch/consent.py) calls `ConfirmationMail.start` for it later. Idempotent: the workflow id is
the request's id (the row's event id) and is never reused, so a row dispatched twice (a dispatcher killed after the
start, before deleting the row) sends one email.
"""

from __future__ import annotations

import html

from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities.journeys.contracts import TEST_SEND_WORKFLOW, SendTestEmailInput
from mauntic.consent_links import confirm_url
from mauntic.secrets import SecretBox
from mauntic.temporal import TemporalGateway

CONFIRM_SUBJECT = "Please confirm your subscription"


def workflow_id(workspace_id: str, request_id: str) -> str:
    return f"consent-confirm:{workspace_id}:{request_id}"


class ConfirmationMail:
    def __init__(self, temporal: TemporalGateway, secrets: SecretBox, base_url: str) -> None:
        self._temporal, self._secrets, self._base_url = temporal, secrets, base_url

    def message(self, workspace_id: str, contact_id: str, request_id: str, to: str) -> SendTestEmailInput:
        link = confirm_url(self._secrets, self._base_url, workspace_id, contact_id, "email")
        return SendTestEmailInput(
            workspace_id=workspace_id, journey_id="consent", step_id="double_opt_in", test_id=request_id, to=to,
            subject=CONFIRM_SUBJECT, text=f"Please confirm that you want to receive our emails:\n\n{link}\n",
            html=f'<p>Please confirm that you want to receive our emails.</p><p><a href="{html.escape(link)}">'
            "Confirm my subscription</a></p>",
        )  # fmt: skip

    async def start(self, workspace_id: str, contact_id: str, request_id: str, to: str) -> bool:
        """Start the send for this request; False when it was started before (nothing sent again)."""
        client = await self._temporal.client()
        try:
            await client.start_workflow(
                TEST_SEND_WORKFLOW, self.message(workspace_id, contact_id, request_id, to),
                id=workflow_id(workspace_id, request_id), task_queue=self._temporal.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )  # fmt: skip
        except WorkflowAlreadyStartedError:
            return False
        return True
