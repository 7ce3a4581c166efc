"""WebhookDeliveries: the long-lived workflow that keeps outbound webhook deliveries moving.

One per deployment (id `webhook-deliveries:<task queue>`), started and woken by the dispatcher's webhook consumer with
signal-with-start. Each turn runs the `deliver_due` activity (which delivers chunks until nothing is due), then
sleeps until the earliest retry is due or a wake signal arrives. Deliveries are rows, so a killed worker loses
nothing: the activity is retried (heartbeat timeout) and the rows it held come due again when their lease ends."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.webhooks.contracts import (
        DELIVER_DUE,
        DELIVERY_WORKFLOW,
        WAKE_SIGNAL,
        DeliverDueInput,
        DeliverDueOutput,
        Wake,
        WebhookDeliveriesInput,
    )

_TURNS_PER_RUN = 200  # continue as new this often: a short history replays fast after a worker restart


@workflow.defn(name=DELIVERY_WORKFLOW)
class WebhookDeliveries:
    @workflow.init
    def __init__(self, request: WebhookDeliveriesInput) -> None:
        self._woken = False

    @workflow.signal(name=WAKE_SIGNAL)
    def wake(self, signal: Wake) -> None:
        self._woken = True

    @workflow.run
    async def run(self, request: WebhookDeliveriesInput) -> None:
        turns = 0
        while True:
            self._woken = False
            out: DeliverDueOutput = await workflow.execute_activity(
                DELIVER_DUE,
                DeliverDueInput(chunk_size=request.chunk_size, lease_seconds=request.lease_seconds),
                result_type=DeliverDueOutput,
                # the activity stops claiming after its budget (20 s); a chunk in flight heartbeats every third
                # of the lease, so a killed worker's activity is retried after the heartbeat timeout
                start_to_close_timeout=timedelta(minutes=10),
                heartbeat_timeout=timedelta(seconds=max(2.0, request.lease_seconds)),
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(seconds=1),
                    backoff_coefficient=2.0,
                    maximum_interval=timedelta(seconds=30),
                ),
            )
            turns += 1
            if turns >= _TURNS_PER_RUN or workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(request.model_copy(update={"iterations": request.iterations + turns}))
            if out.more or self._woken:
                continue
            sleep = (
                request.idle_seconds
                if out.next_due_seconds is None
                else min(out.next_due_seconds, request.idle_seconds)
            )
            if sleep <= 0:
                continue
            try:
                await workflow.wait_condition(lambda: self._woken, timeout=timedelta(seconds=max(sleep, 0.05)))
            except TimeoutError:
                pass


WORKFLOWS = [WebhookDeliveries]
