"""A migration's node map checked against both versions, and what it does to each node of the old one."""

from __future__ import annotations

from itertools import pairwise

import pytest

from domain.journeys.definition import JourneyDefinition, JourneyDefinitionError, validate_definition
from domain.journeys.migration import plan_migration


def definition(*ids: str) -> JourneyDefinition:
    steps: list[dict[str, object]] = [
        {"id": step_id, "type": "wait", "duration": "P1D", "next": nxt} for step_id, nxt in pairwise(ids)
    ]
    steps.append({"id": ids[-1], "type": "end"})
    return validate_definition({"trigger": {"event": "e"}, "start": ids[0], "steps": steps})


OLD = definition("a", "b", "c")
NEW = definition("x", "y")


def test_mapped_nodes_move_and_unmapped_ones_exit_or_stay() -> None:
    exits = plan_migration(OLD, NEW, {"b": "y"}, "exit")
    stays = plan_migration(OLD, NEW, {"b": "y"}, "stay")

    assert exits.invalid == ()
    assert exits.mapped == ["b"]
    assert exits.unmapped_nodes == ["a", "c"]
    assert [exits.fate(n) for n in ("a", "b", "c")] == ["exits", "moves", "exits"]
    assert [stays.fate(n) for n in ("a", "b", "c")] == ["stays", "moves", "stays"]


def test_every_entry_naming_a_missing_node_is_reported_and_the_first_refuses_the_plan() -> None:
    plan = plan_migration(OLD, NEW, {"b": "nowhere", "zz": "x"}, "exit")

    assert [(i.node, i.code) for i in plan.invalid] == [
        ("nowhere", "migration_unknown_target"),
        ("zz", "migration_unknown_node"),
    ]
    with pytest.raises(JourneyDefinitionError) as raised:
        plan.check()
    assert raised.value.node == "nowhere"
    assert raised.value.code == "migration_unknown_target"
