"""The condition split, A/B split, holdout, goal and exit steps (workflow code).

The split reads the contact in one local activity (activities/journeys/conditions.py), which answers with the
branch and the facts it saw; A/B arms and the holdout are hashes (domain/journeys/assignment.py), so they need no
activity and no randomness; a goal or exit step ends the run where it stands, as a definition goal or exit
criterion does (the workflow records converted or exited).
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.journeys.contracts import EVALUATE_SPLIT, EvaluateSplitInput, EvaluateSplitOutput
    from domain.journeys.assignment import ab_arm, holdout_bucket, in_holdout
    from domain.journeys.runtime import JourneyExit
    from domain.journeys.steps import AbSplitStep, ExitStep, GoalStep, HoldoutStep, SplitStep
    from workflows.steps.context import Interrupted, JourneyRun, StepOutcome
    from workflows.steps.local import run_step_activity


async def run_split(journey: JourneyRun, step: SplitStep) -> StepOutcome:
    request = EvaluateSplitInput(
        workspace_id=journey.input.workspace_id,
        journey_id=journey.input.journey_id,
        contact_id=journey.input.contact_id,
        step_id=step.id,
        branches=step.branches,
        engagement_keys={send: journey.idempotency_key(send) for send in step.sends_read().values()},
        at=workflow.now(),
    )
    decided = await run_step_activity(step.id, EVALUATE_SPLIT, request, EvaluateSplitOutput)
    facts = decided.facts.model_dump(mode="json", exclude_defaults=True)
    if decided.branch is None or not 0 <= decided.branch < len(step.branches):
        return StepOutcome("default", step.default, reason=decided.reason, detail={"facts": facts})
    target = step.branches[decided.branch].next
    detail = {"branch": decided.branch, "facts": facts}
    return StepOutcome(f"branch:{decided.branch}", target, reason=decided.reason, detail=detail)


async def run_ab_split(journey: JourneyRun, step: AbSplitStep) -> StepOutcome:
    weights = [arm.weight for arm in step.arms]
    arm = step.arms[ab_arm(journey.input.journey_id, step.id, journey.input.contact_id, weights)]
    reason = f"arm {arm.id} (weight {arm.weight} of {sum(weights)})"
    return StepOutcome(f"arm:{arm.id}", arm.next, reason=reason, detail={"arm": arm.id})


async def run_holdout(journey: JourneyRun, step: HoldoutStep) -> StepOutcome:
    contact, journey_id = journey.input.contact_id, journey.input.journey_id
    held = in_holdout(journey_id, contact, step.percent)
    detail = {"holdout": held, "percent": step.percent, "bucket": holdout_bucket(journey_id, contact)}
    if held:
        journey.state.holdout = True  # every send step skips from here on; goals still count
        return StepOutcome(
            "holdout", step.next, reason=f"in the {step.percent:g}% holdout: sent nothing", detail=detail
        )
    return StepOutcome("treatment", step.next, reason=f"not in the {step.percent:g}% holdout", detail=detail)


async def run_goal(journey: JourneyRun, step: GoalStep) -> StepOutcome:
    raise Interrupted(JourneyExit(kind="goal", reason=f"reached goal step {step.id!r}", goal_id=step.name))


async def run_exit(journey: JourneyRun, step: ExitStep) -> StepOutcome:
    raise Interrupted(JourneyExit(kind="exit", reason=step.reason))
