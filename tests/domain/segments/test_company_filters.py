"""Company conditions in segment filters: what parses, what is refused, what they depend on, and how the
reference evaluator reads a contact's company (no company: no company condition holds)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from domain.segments.analysis import dependencies
from domain.segments.filters import INVALID, SegmentFilterError, parse_filter, to_json
from domain.segments.reference import RefCompany, RefContact, World, members

NOW = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ({"company": {"field": "revenue", "op": "eq", "value": 1}}, "filter.company"),
        ({"company": {"field": "attributes.", "op": "eq", "value": 1}}, "filter.company"),
        ({"company": {"field": "attributes", "op": "exists"}}, "filter.company"),
        ({"company": {"field": "name", "op": "in", "value": "x"}}, "filter.company"),
        ({"company": {"field": "name", "op": "eq", "value": "x", "extra": 1}}, "filter.company.extra"),
        ({"company": "acme"}, "filter.company"),
        ({"and": [{"company": {"op": "eq", "value": "x"}}]}, "filter.and[0].company.field"),
    ],
)
def test_bad_company_conditions_name_the_path(raw: Any, path: str) -> None:
    with pytest.raises(SegmentFilterError) as caught:
        parse_filter(raw)
    assert (caught.value.path, caught.value.code) == (path, INVALID)


def test_company_conditions_parse_back_and_are_a_dependency() -> None:
    raw = {"and": [{"company": {"field": "attributes.plan.tier", "op": "eq", "value": "pro"}},
                   {"company": {"field": "domain", "op": "contains", "value": "acme"}}]}  # fmt: skip
    node = parse_filter(raw)
    assert parse_filter(to_json(node)) == node
    assert dependencies(node).companies
    assert not dependencies(parse_filter({"attribute": "a", "op": "exists"})).companies


def test_reference_reads_the_contacts_company() -> None:
    world = World(
        contacts=[
            RefContact(id="big", company_id="co_1"),
            RefContact(id="small", company_id="co_2"),
            RefContact(id="alone"),
            RefContact(id="dangling", company_id="co_gone"),
        ],
        companies={
            "co_1": RefCompany(id="co_1", name="Acme", domain="acme.io", attributes={"plan": "enterprise", "n": 500}),
            "co_2": RefCompany(id="co_2", name="Tiny", attributes={"plan": "free", "n": 3}),
        },
    )

    def picked(condition: dict[str, Any]) -> set[str]:
        return members(world, parse_filter(condition), NOW)

    assert picked({"company": {"field": "name", "op": "eq", "value": "Acme"}}) == {"big"}
    assert picked({"company": {"field": "attributes.n", "op": "gte", "value": 10}}) == {"big"}
    assert picked({"company": {"field": "attributes.plan", "op": "neq", "value": "enterprise"}}) == {"small"}
    # a contact without a company (or whose company is gone) matches no company condition, even `exists: false`
    assert picked({"company": {"field": "domain", "op": "exists", "value": False}}) == {"small"}
    assert picked({"not": {"company": {"field": "id", "op": "exists"}}}) == {"alone", "dangling"}
