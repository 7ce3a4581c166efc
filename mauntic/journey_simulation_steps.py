"""Stand-ins for the step activities a simulation runs (beside mauntic/journey_simulation.py SimulatedWorld):
what each step would have decided for the synthetic contact, with nothing written and nothing sent.

- a split decides with the real domain logic over the synthetic contact's attributes (segments, scores, event
  history and engagement are unknown to a synthetic contact: not a member, 0, none);
- update_contact changes the synthetic attributes, so later splits and waits see the change; adjust_score keeps
  a score per group;
- calendar waits compute their deadline with the real arithmetic, in the synthetic contact's time zone (no
  workspace holiday calendar: only weekends are skipped);
- the send gate applies the journey's and the workspace's send policy with the real rules: quiet hours in the
  contact's zone, and frequency caps over this contact's simulated sends (other journeys' sends are unknown);
- tasks are created and never completed by anyone (they expire at `due`); webhooks are recorded, and a waited
  one answers 2xx.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.journeys.contracts import (
    ADJUST_SCORE,
    CHECK_SEND_GATE,
    COMPUTE_WAIT_DEADLINE,
    EVALUATE_SPLIT,
    FIND_EARLIER_EVENT,
    UPDATE_CONTACT,
    AdjustScoreInput,
    AdjustScoreOutput,
    ComputeWaitDeadlineInput,
    ComputeWaitDeadlineOutput,
    EvaluateSplitInput,
    EvaluateSplitOutput,
    FindEarlierEventInput,
    FindEarlierEventOutput,
    SendGateInput,
    SendGateOutput,
    UpdateContactInput,
    UpdateContactOutput,
)
from activities.tasks.contracts import (
    CANCEL_JOURNEY_TASK,
    CREATE_JOURNEY_TASK,
    ESCALATE_JOURNEY_TASK,
    EXPIRE_JOURNEY_TASK,
    CancelTaskInput,
    CancelTaskOutput,
    CreateTaskInput,
    CreateTaskOutput,
    EscalateTaskInput,
    EscalateTaskOutput,
    ExpireTaskInput,
    ExpireTaskOutput,
)
from activities.webhooks.contracts import (
    CALL_JOURNEY_WEBHOOK,
    QUEUE_JOURNEY_WEBHOOK,
    CallJourneyWebhookOutput,
    JourneyWebhookInput,
    QueueJourneyWebhookOutput,
)
from domain.journeys.holiday_calendar import HolidayCalendar
from domain.journeys.local_time import contact_zone
from domain.journeys.send_policy import WorkspaceSendPolicy, cap_hit, effective_policy, iso_duration, quiet_until
from domain.journeys.steps.split_conditions import SplitFacts, attribute_facts, decide, needs
from domain.journeys.wait_deadlines import wait_deadline

SIMULATED_ASSIGNEE = "simulated"


@dataclass
class SimulatedSteps:
    """The synthetic contact's state as the run changes it, and the stand-ins that read and change it."""

    attributes: dict[str, Any]
    timezone: str | None
    workspace_policy: WorkspaceSendPolicy | None = None
    workspace_timezone: str | None = None
    reserved: dict[str, tuple[str, datetime]] = field(default_factory=dict)  # send key -> (channel, when)
    scores: dict[str, float] = field(default_factory=dict)
    applied: set[str] = field(default_factory=set)  # idempotency keys: a retried step applies once, as for real
    tasks: dict[str, str] = field(default_factory=dict)  # task id -> assignee
    webhooks: list[str] = field(default_factory=list)  # step ids called or queued

    @activity.defn(name=EVALUATE_SPLIT)
    async def evaluate_split(self, request: EvaluateSplitInput) -> EvaluateSplitOutput:
        conditions = [branch.condition for branch in request.branches]
        facts = SplitFacts(attributes=attribute_facts(self.attributes, needs(conditions).attributes))
        decision = decide(conditions, facts)
        return EvaluateSplitOutput(branch=decision.branch, reason=decision.reason, facts=facts)

    @activity.defn(name=UPDATE_CONTACT)
    async def update_contact(self, request: UpdateContactInput) -> UpdateContactOutput:
        changed: dict[str, Any] = {**request.set, **dict.fromkeys(request.unset)}
        if request.idempotency_key in self.applied:
            return UpdateContactOutput(status="already_applied", changed=changed)
        self.applied.add(request.idempotency_key)
        self.attributes.update(request.set)  # templates are shown unrendered: nothing is rendered for real
        for name in request.unset:
            self.attributes.pop(name, None)
        return UpdateContactOutput(status="updated", changed=changed)

    @activity.defn(name=ADJUST_SCORE)
    async def adjust_score(self, request: AdjustScoreInput) -> AdjustScoreOutput:
        if request.idempotency_key not in self.applied:
            self.applied.add(request.idempotency_key)
            self.scores[request.group] = self.scores.get(request.group, 0.0) + request.delta
        return AdjustScoreOutput(status="applied", score=self.scores.get(request.group, 0.0))

    @activity.defn(name=COMPUTE_WAIT_DEADLINE)
    async def compute_wait_deadline(self, request: ComputeWaitDeadlineInput) -> ComputeWaitDeadlineOutput:
        zone = contact_zone(self.timezone, self.workspace_timezone)
        try:
            deadline = wait_deadline(request.step, request.started_at, zone, self.attributes, HolidayCalendar())
        except ValueError as err:
            raise ApplicationError(str(err), type="NotACalendarWait", non_retryable=True) from err
        return ComputeWaitDeadlineOutput(until=deadline.until, reason=deadline.reason, timezone=zone.key)

    @activity.defn(name=CHECK_SEND_GATE)
    async def check_send_gate(self, request: SendGateInput) -> SendGateOutput:
        policy = effective_policy(self.workspace_policy, request.journey_policy)
        if policy.quiet_hours is not None:
            zone = contact_zone(self.timezone, self.workspace_timezone)
            until = quiet_until(request.now, zone, policy.quiet_hours)
            if until is not None:
                reason = f"quiet hours {policy.quiet_hours.start}-{policy.quiet_hours.end} in {zone.key}"
                return SendGateOutput(decision="quiet", until=until, on_capped=policy.on_capped, reason=reason)
        if request.idempotency_key not in self.reserved:
            sent = [at for channel, at in self.reserved.values() if channel == request.channel]
            hit = cap_hit(policy.caps, request.channel, sent, request.now)
            if hit is not None:
                detail = {"rule": hit.rule, "count": hit.count, "window": iso_duration(hit.window)}
                return SendGateOutput(
                    decision="capped", until=hit.frees_at, on_capped=policy.on_capped, reason=hit.describe(),
                    detail=detail,
                )  # fmt: skip
            self.reserved[request.idempotency_key] = (request.channel, request.now)
        return SendGateOutput(decision="allowed", on_capped=policy.on_capped)

    @activity.defn(name=FIND_EARLIER_EVENT)
    async def find_earlier_event(self, request: FindEarlierEventInput) -> FindEarlierEventOutput:
        return FindEarlierEventOutput()  # a synthetic contact did nothing before it entered

    @activity.defn(name=CREATE_JOURNEY_TASK)
    async def create_task(self, request: CreateTaskInput) -> CreateTaskOutput:
        task_id = f"simulated:{request.idempotency_key}"
        created = task_id not in self.tasks
        self.tasks.setdefault(task_id, SIMULATED_ASSIGNEE)
        return CreateTaskOutput(task_id=task_id, assignee=self.tasks[task_id], created=created)

    @activity.defn(name=ESCALATE_JOURNEY_TASK)
    async def escalate_task(self, request: EscalateTaskInput) -> EscalateTaskOutput:
        previous = self.tasks.get(request.task_id, SIMULATED_ASSIGNEE)
        assignee = request.reassign_to or previous
        self.tasks[request.task_id] = assignee
        return EscalateTaskOutput(status="open", assignee=assignee, previous_assignee=previous, notified=False)

    @activity.defn(name=EXPIRE_JOURNEY_TASK)
    async def expire_task(self, request: ExpireTaskInput) -> ExpireTaskOutput:
        return ExpireTaskOutput(status="expired")

    @activity.defn(name=CANCEL_JOURNEY_TASK)
    async def cancel_task(self, request: CancelTaskInput) -> CancelTaskOutput:
        return CancelTaskOutput(status="cancelled")

    @activity.defn(name=QUEUE_JOURNEY_WEBHOOK)
    async def queue_webhook(self, request: JourneyWebhookInput) -> QueueJourneyWebhookOutput:
        self.webhooks.append(request.step_id)
        return QueueJourneyWebhookOutput(queued=True, reason="simulated: nothing was sent")

    @activity.defn(name=CALL_JOURNEY_WEBHOOK)
    async def call_webhook(self, request: JourneyWebhookInput) -> CallJourneyWebhookOutput:
        self.webhooks.append(request.step_id)
        return CallJourneyWebhookOutput(status_class="2xx", status_code=200)  # simulated: nothing was sent

    def step_activities(self) -> list[Any]:
        return [
            self.evaluate_split,
            self.update_contact,
            self.adjust_score,
            self.compute_wait_deadline,
            self.check_send_gate,
            self.find_earlier_event,
            self.create_task,
            self.escalate_task,
            self.expire_task,
            self.cancel_task,
            self.queue_webhook,
            self.call_webhook,
        ]
