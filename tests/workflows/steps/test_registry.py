"""Every step type in the domain registry has exactly one runner, and every runner a step type."""

from __future__ import annotations

from domain.journeys.steps import STEP_MODELS, STEP_TYPES
from workflows.steps import RUNNERS


def test_every_step_type_has_a_runner_and_every_runner_a_step_type() -> None:
    assert set(RUNNERS) == set(STEP_TYPES)
    assert len(STEP_TYPES) == len(set(STEP_TYPES)) == len(STEP_MODELS)
