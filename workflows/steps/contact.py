"""The update_contact and adjust_score steps (workflow code): one local activity each, keyed by the step's
idempotency key, so a retried activity or a replayed run changes the contact once."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.journeys.contracts import (
        ADJUST_SCORE,
        UPDATE_CONTACT,
        AdjustScoreInput,
        AdjustScoreOutput,
        UpdateContactInput,
        UpdateContactOutput,
    )
    from domain.journeys.steps import AdjustScoreStep, UpdateContactStep
    from workflows.steps.context import JourneyRun, StepOutcome
    from workflows.steps.local import run_step_activity


async def run_update_contact(journey: JourneyRun, step: UpdateContactStep) -> StepOutcome:
    request = UpdateContactInput(
        workspace_id=journey.input.workspace_id,
        journey_id=journey.input.journey_id,
        contact_id=journey.input.contact_id,
        step_id=step.id,
        idempotency_key=journey.idempotency_key(step.id),
        set=step.set,
        unset=step.unset,
    )
    done = await run_step_activity(step.id, UPDATE_CONTACT, request, UpdateContactOutput)
    if done.status == "contact_missing":
        return StepOutcome("skipped", step.next, reason="the contact no longer exists")
    names = ", ".join(sorted(done.changed)) or "nothing"
    return StepOutcome(done.status, step.next, reason=f"wrote {names}", detail={"changed": done.changed})


async def run_adjust_score(journey: JourneyRun, step: AdjustScoreStep) -> StepOutcome:
    request = AdjustScoreInput(
        workspace_id=journey.input.workspace_id,
        journey_id=journey.input.journey_id,
        contact_id=journey.input.contact_id,
        step_id=step.id,
        idempotency_key=journey.idempotency_key(step.id),
        group=step.group,
        delta=step.delta,
    )
    done = await run_step_activity(step.id, ADJUST_SCORE, request, AdjustScoreOutput)
    if done.status == "contact_missing":
        return StepOutcome("skipped", step.next, reason="the contact no longer exists")
    sign = "+" if step.delta > 0 else ""
    score = f": now {done.score:g}" if done.score is not None else ""
    detail = {"group": step.group, "delta": step.delta, "score": done.score}
    return StepOutcome(done.status, step.next, reason=f"score {step.group} {sign}{step.delta:g}{score}", detail=detail)
