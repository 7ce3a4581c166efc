"""Definition pieces shared by the step tests."""

from __future__ import annotations

from typing import Any


def send(step_id: str, next_step: str | None = None) -> dict[str, Any]:
    return {"id": step_id, "type": "send_email", "subject": step_id, "text": "hi", "next": next_step}


def journey(start: str, *steps: dict[str, Any]) -> dict[str, Any]:
    return {"trigger": {"event": "signed_up"}, "start": start, "steps": list(steps)}
