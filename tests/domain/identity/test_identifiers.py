"""Identifier keys and E.164 phones (domain/identity/identifiers.py), and the ingestion planner's use of the merge
policy for email and phone traits (domain/events/resolution.py)."""

from __future__ import annotations

from domain.events.resolution import ContactPlanner, KeyedIndex, KnownContact, Refusal
from domain.identity.identifiers import e164, email_key, has_identifier, keys_for


def test_keys_follow_the_policy_and_the_merge_state() -> None:
    assert email_key(" Ann@Example.TEST ") == "ann@example.test"
    assert email_key("") is None
    assert keys_for(["email"], "A@x.test", "+14155550100", None) == ("a@x.test", None)
    assert keys_for(["email", "phone"], "A@x.test", "+14155550100", None) == ("a@x.test", "+14155550100")
    assert keys_for(["email", "phone"], "A@x.test", "+14155550100", "ct_survivor") == (None, None)


def test_phones_in_e164_with_a_region_for_national_numbers() -> None:
    assert e164("+1 (415) 555-0100", None) == "+14155550100"
    assert e164("020 7946 0958", None) is None
    assert e164("020 7946 0958", "gb") == "+442079460958"
    assert e164("12", "US") is None
    assert not has_identifier(None, None, None, [])
    assert has_identifier(None, None, None, ["crm"])


def _planner(holders: dict[str, set[str]], unique: frozenset[str] = frozenset({"email"})) -> ContactPlanner:
    contacts = [KnownContact("ct_a", None), KnownContact("ct_b", "u-b")]
    index = KeyedIndex(unique, [["external_id"], ["email"]], {"email": dict(holders)})
    return ContactPlanner(contacts, users={"u-b": "ct_b"}, keyed=index)


def test_the_planner_matches_by_email_and_refuses_a_taken_one() -> None:
    planner = _planner({"a@x.test": {"ct_a"}, "b@x.test": {"ct_b"}})
    assert planner.resolve_keyed("u-new", None, {"email": "a@x.test"}) == "ct_a"  # unclaimed: it takes the user
    assert planner.plan.gained_external_ids == {"ct_a": "u-new"}
    refused = planner.resolve_keyed("u-b", None, {"email": "a@x.test"})  # u-b's contact taking ct_a's email
    assert isinstance(refused, Refusal)
    assert refused.code == "identifier_conflict"
    # a contact known as another user is not this person, and the email stays ct_b's: refused, nothing planned
    before = len(planner.plan.new_contacts)
    assert isinstance(planner.resolve_keyed("u-other", None, {"email": "b@x.test"}), Refusal)
    assert len(planner.plan.new_contacts) == before
    # a new email for a new user: a new contact, which then holds it for the rest of the request
    fresh = planner.resolve_keyed("u-c", None, {"email": "c@x.test"})
    assert isinstance(fresh, str)
    assert fresh in planner.plan.new_contacts
    assert isinstance(planner.resolve_keyed("u-d", None, {"email": "c@x.test"}), Refusal)


def test_a_non_unique_email_is_shared() -> None:
    planner = _planner({"b@x.test": {"ct_b"}}, unique=frozenset())
    created = planner.resolve_keyed("u-other", None, {"email": "b@x.test"})
    assert isinstance(created, str)
    assert created != "ct_b"
