from __future__ import annotations

from domain.identity.merge import conflicting, survive
from domain.identity.policy import MergePolicy

POLICY = MergePolicy.model_validate({"unique": ["email", "ext:crm"], "survivorship": {"tags": {"rule": "union"}}})


def test_conflicts_only_on_differing_unique_values() -> None:
    assert conflicting(POLICY, {"email": {"a@x.io"}}, {"email": {"b@x.io"}}) == ["email"]
    assert conflicting(POLICY, {"email": {"a@x.io"}}, {"email": {"a@x.io"}}) == []
    assert conflicting(POLICY, {"email": {"a@x.io"}}, {}) == []
    assert conflicting(POLICY, {"phone": {"+1"}}, {"phone": {"+2"}}) == []  # phone not unique here
    assert conflicting(POLICY, {"ext:crm": {"c1"}}, {"ext:crm": {"c2"}}) == ["ext:crm"]


def test_most_recent_non_null_and_union_of_lists() -> None:
    survivor = {"email": "a@x.io", "first_name": "Ann", "last_name": None,
                "attributes": {"plan": "free", "tags": ["a"], "seen": [1]}}  # fmt: skip
    merged = {"email": None, "first_name": "Annie", "last_name": "Lee", "phone": "+14155550123",
              "attributes": {"plan": "pro", "tags": ["b", "a"], "city": "Lyon", "seen": [2]}}  # fmt: skip
    newer = survive(POLICY, survivor, merged, survivor_newer=True)
    assert (newer["email"], newer["first_name"], newer["last_name"], newer["phone"]) == (
        "a@x.io", "Ann", "Lee", "+14155550123",
    )  # fmt: skip
    assert newer["attributes"] == {"plan": "free", "tags": ["a", "b"], "seen": [1, 2], "city": "Lyon"}
    older = survive(POLICY, survivor, merged, survivor_newer=False)
    assert (older["email"], older["first_name"], older["attributes"]["plan"]) == ("a@x.io", "Annie", "pro")
    assert older["attributes"]["tags"] == ["a", "b"]
