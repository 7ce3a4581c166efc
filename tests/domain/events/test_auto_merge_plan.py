"""Automatic merges planned by the ingestion planner (domain/events/resolution.py): an anonymous contact a message
links to a known user is planned into that user's contact, never two users, never on a unique identifier's
conflict, never with the policy's auto_merge off."""

from __future__ import annotations

from domain.events.resolution import ContactPlanner, KeyedIndex, KnownContact, NewIdentity

USER_AND_VISITOR = [KnownContact("ct_user", "u1"), KnownContact("ct_anon", None)]


def _planner(
    contacts: list[KnownContact] = USER_AND_VISITOR, keyed: KeyedIndex | None = None, auto_merge: bool = True
) -> ContactPlanner:
    return ContactPlanner(contacts, {"u1": "ct_user"}, {"a1": "ct_anon"}, keyed, auto_merge)


def test_an_identify_linking_a_visitor_to_a_known_user_plans_the_merge() -> None:
    planner = _planner()
    assert planner.resolve(None, "a1") == "ct_anon"
    assert planner.resolve("u1", "a1") == "ct_user"
    assert planner.plan.merges == {"ct_anon": "ct_user"}
    assert planner.plan.new_identities == []  # a1 moves with the merge, not here
    assert planner.resolve("u1", "a1") == "ct_user"  # the same message again plans nothing more
    assert planner.plan.merges == {"ct_anon": "ct_user"}


def test_an_alias_whose_previous_id_is_a_visitor_plans_the_merge() -> None:
    planner = _planner()
    assert planner.alias("a1", "u1") == "ct_user"
    assert planner.plan.merges == {"ct_anon": "ct_user"}


def test_two_users_are_never_merged() -> None:
    contacts = [KnownContact("ct_user", "u1"), KnownContact("ct_anon", "u2")]
    planner = _planner(contacts)
    assert planner.resolve("u1", "a1") == "ct_user"
    renamed = ContactPlanner(contacts, {"u1": "ct_user", "u2": "ct_anon"})
    assert renamed.alias("u2", "u1") == "ct_user"
    assert planner.plan.merges == renamed.plan.merges == {}


def test_auto_merge_off_plans_nothing() -> None:
    planner = _planner(auto_merge=False)
    assert planner.resolve("u1", "a1") == "ct_user"
    assert planner.alias("a1", "u1") == "ct_user"
    assert planner.plan.merges == {}


def test_a_conflicting_unique_email_the_request_knows_of_plans_nothing() -> None:
    holders = {"email": {"a@x.test": {"ct_user"}, "b@x.test": {"ct_anon"}}}
    planner = _planner(keyed=KeyedIndex(frozenset({"email"}), [["external_id"]], holders))
    assert planner.resolve("u1", "a1") == "ct_user"
    assert planner.plan.merges == {}
    same = {"email": {"a@x.test": {"ct_user", "ct_anon"}}}
    agreeing = _planner(keyed=KeyedIndex(frozenset({"email"}), [["external_id"]], same))
    assert agreeing.resolve("u1", "a1") == "ct_user"
    assert agreeing.plan.merges == {"ct_anon": "ct_user"}


def test_a_contact_is_in_one_merge_at_most_and_never_both_sides() -> None:
    contacts = [*USER_AND_VISITOR, KnownContact("ct_other", "u2"), KnownContact("ct_anon2", None)]
    planner = ContactPlanner(contacts, {"u1": "ct_user", "u2": "ct_other"}, {"a1": "ct_anon", "a2": "ct_anon2"})
    assert planner.resolve("u1", "a1") == "ct_user"
    assert planner.resolve("u2", "a1") == "ct_other"  # a1's contact goes to u1 already
    assert planner.alias("u1", "u2") == "ct_other"  # two users: nothing
    assert planner.resolve("u1", "a2") == "ct_user"
    assert planner.plan.merges == {"ct_anon": "ct_user", "ct_anon2": "ct_user"}


def test_a_visitor_first_seen_in_the_same_request_is_merged_too() -> None:
    planner = ContactPlanner([KnownContact("ct_user", "u1")], {"u1": "ct_user"})
    visitor = planner.resolve(None, "fresh")
    assert planner.resolve("u1", "fresh") == "ct_user"
    assert planner.plan.merges == {visitor: "ct_user"}
    assert planner.plan.new_identities == [NewIdentity("anonymous", "fresh", visitor)]
