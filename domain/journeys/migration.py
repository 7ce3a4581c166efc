"""Moving a journey's running contacts from one version to another: the node map a designer gives, checked
against both versions, and what it does to each node of the old version (pure: the counts come from Temporal's
visibility, the move from the control signal)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from domain.journeys.definition import JourneyDefinition, JourneyDefinitionError

Unmapped = Literal["exit", "stay"]
NodeFate = Literal["moves", "exits", "stays"]


@dataclass(frozen=True)
class InvalidMapping:
    node: str  # the node the problem is about (an old node, or a target missing from the new version)
    code: str
    message: str


@dataclass(frozen=True)
class MigrationPlan:
    """What a migration does to each node of the old version: its contacts move to the mapped node of the new
    version, exit, or stay on their version (unmapped "stay")."""

    node_map: dict[str, str]
    unmapped: Unmapped
    old_nodes: tuple[str, ...]
    invalid: tuple[InvalidMapping, ...]

    @property
    def mapped(self) -> list[str]:
        return [node for node in self.old_nodes if node in self.node_map]

    @property
    def unmapped_nodes(self) -> list[str]:
        return [node for node in self.old_nodes if node not in self.node_map]

    def fate(self, node: str) -> NodeFate:
        if node in self.node_map:
            return "moves"
        return "exits" if self.unmapped == "exit" else "stays"

    def check(self) -> None:
        """Refuse the plan at its first invalid entry (422 naming the node)."""
        if self.invalid:
            first = self.invalid[0]
            raise JourneyDefinitionError(first.node, first.code, first.message)


def plan_migration(
    old: JourneyDefinition, new: JourneyDefinition, node_map: dict[str, str], unmapped: Unmapped
) -> MigrationPlan:
    """Every entry of the map must name a node of the old version and a node of the new one."""
    old_nodes = tuple(step.id for step in old.steps)
    new_nodes = {step.id for step in new.steps}
    invalid: list[InvalidMapping] = []
    for source, target in node_map.items():
        if source not in old_nodes:
            invalid.append(
                InvalidMapping(source, "migration_unknown_node", f"the old version has no node {source!r} to map")
            )
        if target not in new_nodes:
            message = f"{source!r} maps to {target!r}, which the new version does not have"
            invalid.append(InvalidMapping(target, "migration_unknown_target", message))
    return MigrationPlan(dict(node_map), unmapped, old_nodes, tuple(invalid))
