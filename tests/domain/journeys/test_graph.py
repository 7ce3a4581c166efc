"""The journey drawn: Mermaid text and a server-side SVG, for any step type (through successors())."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from domain.journeys.definition import validate_definition
from domain.journeys.graph import TRIGGER_NODE, edges, layers, layout, mermaid, svg

DEFINITION = validate_definition(
    {
        "trigger": {"event": "Signed Up"},
        "start": "welcome",
        "steps": [
            {"id": "welcome", "type": "send_email", "subject": "Hi", "text": "x", "next": "await"},
            {
                "id": "await",
                "type": "wait_for_event",
                "event": "Activated",
                "timeout": "P3D",
                "on_event": "done",
                "on_timeout": "nudge",
            },
            {"id": "nudge", "type": "send_email", "subject": '<Nudge & "go">', "text": "y", "next": "done"},
            {"id": "done", "type": "end"},
        ],
    }
)
SVG_NS = "{http://www.w3.org/2000/svg}"


def test_layers_follow_the_longest_path() -> None:
    # done is reached from await directly and through nudge: it sits below nudge
    assert layers(DEFINITION) == [[TRIGGER_NODE], ["welcome"], ["await"], ["nudge"], ["done"]]


def test_edges_are_labelled_by_the_successor_field() -> None:
    labelled = {(e.source, e.target): e.label for e in edges(DEFINITION)}
    assert labelled == {
        (TRIGGER_NODE, "welcome"): "start",
        ("welcome", "await"): "next",
        ("await", "done"): "on_event",
        ("await", "nudge"): "on_timeout",
        ("nudge", "done"): "next",
    }


def test_mermaid_flowchart_with_types_counts_and_edge_labels() -> None:
    text = mermaid(DEFINITION, {"await": 3})
    lines = text.splitlines()
    assert lines[0] == "flowchart TD"
    assert '    trigger(["trigger: Signed Up"])' in lines
    assert '    n1["await<br/>wait_for_event · 3 here"]' in lines
    assert '    n0["welcome<br/>send_email · 0 here"]' in lines
    assert '    n1 -->|"on_timeout"| n2' in lines
    assert '    n1 -->|"on_event"| n3' in lines
    assert '    trigger -->|"start"| n0' in lines


def test_mermaid_without_counts_shows_the_type_only() -> None:
    assert '    n3["done<br/>end"]' in mermaid(DEFINITION).splitlines()


def test_svg_is_well_formed_with_one_box_per_step_and_an_arrow_per_edge() -> None:
    document = svg(DEFINITION, {"await": 2}, title='Onboarding <"beta">')
    root = ET.fromstring(document)  # escaped labels: it parses
    assert root.tag == f"{SVG_NS}svg"
    groups = {g.get("data-node"): g for g in root.iter(f"{SVG_NS}g")}
    assert set(groups) == {TRIGGER_NODE, "welcome", "await", "nudge", "done"}
    texts = ["".join(t.itertext()) for t in groups["await"].iter(f"{SVG_NS}text")]
    assert texts == ["await", "wait_for_event · 2 here"]
    assert len(list(root.iter(f"{SVG_NS}line"))) == len(edges(DEFINITION))
    assert root.find(f"{SVG_NS}title").text == 'Onboarding <"beta">'  # type: ignore[union-attr]
    assert "<script" not in document


def test_svg_boxes_of_a_layer_do_not_overlap_and_layers_go_down() -> None:
    branching = validate_definition(
        {
            "trigger": {"event": "E"},
            "start": "w",
            "steps": [
                {
                    "id": "w",
                    "type": "wait_for_event",
                    "event": "X",
                    "timeout": "P1D",
                    "on_event": "a",
                    "on_timeout": "b",
                },
                {"id": "a", "type": "end"},
                {"id": "b", "type": "end"},
            ],
        }
    )
    boxes, width, height = layout(branching)
    by_node = {box.node: box for box in boxes}
    assert by_node["a"].y == by_node["b"].y > by_node["w"].y > by_node[TRIGGER_NODE].y
    assert abs(by_node["a"].x - by_node["b"].x) >= 190
    assert all(0 <= box.x and box.x + 190 <= width and box.y + 52 <= height for box in boxes)
