"""A journey definition drawn: as a Mermaid flowchart, and as SVG laid out here, without a browser.

Both read the graph through `step.successors()` (so every step type draws, whoever wrote it) and label each edge
with the successor's field (`next`, `on_event`, `on_timeout`, `branches[0]`...). Counts, when given, are the live
number of contacts at each node (the journey's stats) and appear in the node's label.

The SVG layout is layered: each step sits on the layer of its longest path from the trigger (a DAG: validation
refuses cycles), steps of a layer side by side in the order the definition lists them, edges straight arrows from
the bottom of a box to the top of the next, labelled at their middle. Every label is escaped.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass

from domain.journeys.definition import JourneyDefinition

TRIGGER_NODE = "__trigger__"
BOX_WIDTH = 190
BOX_HEIGHT = 52
H_GAP = 40
V_GAP = 70
MARGIN = 20
_MAX_LABEL = 40


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str


@dataclass(frozen=True)
class Box:
    node: str
    x: int
    y: int
    title: str
    subtitle: str

    @property
    def center(self) -> int:
        return self.x + BOX_WIDTH // 2


def edges(definition: JourneyDefinition) -> list[Edge]:
    """Every edge: from the trigger to `start`, then each step's successors by field."""
    found = [Edge(TRIGGER_NODE, definition.start, "start")]
    for step in definition.steps:
        found.extend(Edge(step.id, target, field) for field, target in step.successors().items())
    return found


def layers(definition: JourneyDefinition) -> list[list[str]]:
    """Longest-path layering from the trigger (layer 0); within a layer, the definition's order. A step the
    trigger cannot reach (refused by validation, tolerated here) sits in layer 1."""
    order = [TRIGGER_NODE, *(step.id for step in definition.steps)]
    incoming: dict[str, int] = dict.fromkeys(order, 0)
    outgoing: dict[str, list[str]] = {node: [] for node in order}
    for edge in edges(definition):
        if edge.target in incoming:
            outgoing[edge.source].append(edge.target)
            incoming[edge.target] += 1
    depth: dict[str, int] = dict.fromkeys(order, 0)
    ready = [node for node in order if incoming[node] == 0]
    seen: set[str] = set()
    while ready:
        node = ready.pop(0)
        seen.add(node)
        for target in outgoing[node]:
            depth[target] = max(depth[target], depth[node] + 1)
            incoming[target] -= 1
            if incoming[target] == 0:
                ready.append(target)
    for node in order:  # only a cycle leaves nodes unseen: draw them below the trigger rather than fail
        if node not in seen or (node != TRIGGER_NODE and depth[node] == 0):
            depth[node] = max(depth[node], 1)
    grouped: list[list[str]] = [[] for _ in range(max(depth.values()) + 1)]
    for node in order:
        grouped[depth[node]].append(node)
    return [layer for layer in grouped if layer]


def _short(text: str) -> str:
    return text if len(text) <= _MAX_LABEL else text[: _MAX_LABEL - 1] + "…"


def _subtitle(kind: str, counts: Mapping[str, int] | None, node: str) -> str:
    if counts is None:
        return kind
    return f"{kind} · {counts.get(node, 0)} here"


def _trigger_label(definition: JourneyDefinition) -> str:
    return f"trigger: {definition.trigger.label}"


def _mermaid_text(text: str) -> str:
    """Text inside a quoted Mermaid label: quotes and markup as entity codes."""
    replaced = html.escape(text, quote=True).replace("&quot;", "#quot;").replace("&#x27;", "#39;")
    return replaced.replace("|", "#124;")


def mermaid(definition: JourneyDefinition, counts: Mapping[str, int] | None = None) -> str:
    """`flowchart TD`: one node per step (its id, type and, with counts, the contacts at it), edges labelled."""
    ids = {TRIGGER_NODE: "trigger"} | {step.id: f"n{index}" for index, step in enumerate(definition.steps)}
    lines = ["flowchart TD", f'    trigger(["{_mermaid_text(_short(_trigger_label(definition)))}"])']
    for step in definition.steps:
        label = f"{_mermaid_text(step.id)}<br/>{_mermaid_text(_subtitle(step.type, counts, step.id))}"
        lines.append(f'    {ids[step.id]}["{label}"]')
    for edge in edges(definition):
        if edge.target in ids:
            lines.append(f'    {ids[edge.source]} -->|"{_mermaid_text(edge.label)}"| {ids[edge.target]}')
    return "\n".join(lines) + "\n"


def layout(definition: JourneyDefinition, counts: Mapping[str, int] | None = None) -> tuple[list[Box], int, int]:
    """The boxes of the picture and its width and height: layers top to bottom, each centred."""
    kinds = {step.id: step.type for step in definition.steps}
    grouped = layers(definition)
    widest = max(len(layer) for layer in grouped)
    width = 2 * MARGIN + widest * BOX_WIDTH + (widest - 1) * H_GAP
    boxes: list[Box] = []
    for depth, layer in enumerate(grouped):
        row = len(layer) * BOX_WIDTH + (len(layer) - 1) * H_GAP
        left = (width - row) // 2
        for index, node in enumerate(layer):
            x, y = left + index * (BOX_WIDTH + H_GAP), MARGIN + depth * (BOX_HEIGHT + V_GAP)
            if node == TRIGGER_NODE:
                boxes.append(Box(node, x, y, _short(_trigger_label(definition)), "entry"))
            else:
                boxes.append(Box(node, x, y, _short(node), _short(_subtitle(kinds[node], counts, node))))
    height = 2 * MARGIN + len(grouped) * BOX_HEIGHT + (len(grouped) - 1) * V_GAP
    return boxes, width, height


def _text(x: float, y: float, text: str, css: str) -> str:
    return f'<text x="{x:g}" y="{y:g}" class="{css}">{html.escape(text, quote=True)}</text>'


def svg(definition: JourneyDefinition, counts: Mapping[str, int] | None = None, title: str | None = None) -> str:
    """A standalone SVG document of the journey (no script, no external reference)."""
    boxes, width, height = layout(definition, counts)
    at = {box.node: box for box in boxes}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img">',
        f"<title>{html.escape(title or 'journey', quote=True)}</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
        'markerHeight="8" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>',
        "<style>.box{fill:#f7f9fc;stroke:#4a6fa5;stroke-width:1.5}.entry{fill:#eef7ee;stroke:#4a8a4a}"
        ".t{font:600 13px sans-serif;text-anchor:middle}.s{font:11px sans-serif;fill:#555;text-anchor:middle}"
        ".e{stroke:#555;stroke-width:1.2;fill:none}.l{font:10px sans-serif;fill:#333;text-anchor:middle}</style>",
    ]
    for edge in edges(definition):
        source, target = at.get(edge.source), at.get(edge.target)
        if source is None or target is None:
            continue
        x1, y1, x2, y2 = source.center, source.y + BOX_HEIGHT, target.center, target.y
        parts.append(f'<line class="e" x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" marker-end="url(#arrow)"/>')
        parts.append(_text((x1 + x2) / 2 + 4, (y1 + y2) / 2, _short(edge.label), "l"))
    for box in boxes:
        css = "box entry" if box.node == TRIGGER_NODE else "box"
        parts.append(f'<g data-node="{html.escape(box.node, quote=True)}">')
        parts.append(f'<rect class="{css}" x="{box.x}" y="{box.y}" width="{BOX_WIDTH}" height="{BOX_HEIGHT}" rx="6"/>')
        parts.append(_text(box.center, box.y + 21, box.title, "t"))
        parts.append(_text(box.center, box.y + 39, box.subtitle, "s"))
        parts.append("</g>")
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
