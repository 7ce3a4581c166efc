"""A run's state told as a timeline and as text."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.journeys.explain import explain_text, timeline
from domain.journeys.runtime import JourneyExit, JourneyState, StepRecord

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
T1 = datetime(2026, 1, 5, 9, 1, tzinfo=UTC)


def _state(**changes: object) -> JourneyState:
    values: dict[str, object] = {
        "workspace_id": "ws",
        "journey_id": "jr_1",
        "version": 2,
        "contact_id": "ct_1",
        "status": "running",
        "current_step": "await",
        "waiting_for": "event 'Activated'",
        "wait_until": datetime(2026, 1, 8, 9, 0, tzinfo=UTC),
        "history": [
            StepRecord(
                step_id="welcome",
                type="send_email",
                entered_at=T0,
                finished_at=T1,
                outcome="sent",
                reason="sent through smtp",
                detail={"message_id": "msg_1"},
            ),
            StepRecord(step_id="await", type="wait_for_event", entered_at=T1),
        ],
    }
    values.update(changes)
    return JourneyState.model_validate(values)


def test_timeline_has_one_entry_per_step_with_outcome_reason_and_detail() -> None:
    entries = timeline(_state())
    assert [(e.at, e.node, e.type, e.outcome, e.reason) for e in entries] == [
        (T0, "welcome", "send_email", "sent", "sent through smtp"),
        (T1, "await", "wait_for_event", None, None),
    ]
    assert entries[0].detail == {"message_id": "msg_1"}


def test_text_says_where_it_is_what_it_waits_for_and_each_step() -> None:
    lines = explain_text(_state()).splitlines()
    assert lines[0] == "Contact ct_1 in journey jr_1 v2: running, at step await"
    assert lines[1] == "  waiting for event 'Activated' until 2026-01-08 09:00:00 UTC"
    assert lines[3] == "  2026-01-05 09:00:00 UTC  welcome (send_email) -> sent: sent through smtp [message_id=msg_1]"
    assert lines[4] == "  2026-01-05 09:01:00 UTC  await (wait_for_event) -> in progress"


def test_text_of_an_ended_run_says_how() -> None:
    state = _state(
        status="converted",
        current_step=None,
        waiting_for=None,
        wait_until=None,
        exit=JourneyExit(kind="goal", reason="goal 'bought' reached"),
    )
    text = explain_text(state)
    assert text.startswith("Contact ct_1 in journey jr_1 v2: converted\n")
    assert "  ended by goal: goal 'bought' reached" in text
    failed = explain_text(_state(status="failed", current_step=None, waiting_for=None, wait_until=None, error="boom"))
    assert "  failed: boom" in failed
