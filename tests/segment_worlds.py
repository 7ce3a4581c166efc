"""Random worlds (contacts, events, scores, suppressions, memberships) and filters for segment tests, and how to
write a world into the database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st
from sqlalchemy import Engine, insert

from domain.segments.reference import RefCompany, RefContact, RefEvent, World
from store.models import Workspace
from store.models_segments import SegmentMembership
from store.segment_sql import COMPANY, CONSENT, CONTACT, EVENT, SCORE, SUPPRESSION

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
OTHER_SEGMENT = "sg_other"
SCALARS = st.one_of(
    st.sampled_from(["a", "b", "ab", "B", "", "é", "/pricing"]),
    st.integers(-2, 3),
    st.sampled_from([1.5, 2.0, -0.5]),
    st.booleans(),
)
VALUES = st.one_of(st.none(), SCALARS, st.lists(SCALARS, max_size=3), st.fixed_dictionaries({"x": SCALARS}))
ATTRIBUTE_NAMES = st.sampled_from(["plan", "n", "tags", "nested", "nested.x"])
CONSENT_CHANNELS = st.sampled_from(["email", "sms", "push"])
CONSENT_TOPICS = st.sampled_from(["", "news"])
CONSENT_STATUSES = st.sampled_from(["granted", "pending", "withdrawn"])
EMAILS = st.sampled_from([None, "a@x.io", "b@x.io", "c@x.io", ""])
COMPANY_IDS = ["co_a", "co_b", "co_c"]
COMPANY_FIELDS = st.sampled_from(["id", "name", "domain", "external_id", "attributes.plan", "attributes.n",
                                  "attributes.tags", "attributes.nested.x"])  # fmt: skip


@st.composite
def companies(draw: st.DrawFn) -> dict[str, RefCompany]:
    """Companies by id; domain and external id unique in the workspace, as the table requires."""
    chosen = draw(st.lists(st.sampled_from(COMPANY_IDS), unique=True, max_size=3))
    domains = draw(st.lists(st.sampled_from(["a", "ab", "acme.io", "é"]), unique=True, min_size=3, max_size=3))
    external = draw(st.lists(st.sampled_from(["g1", "b", "B", ""]), unique=True, min_size=3, max_size=3))
    return {
        cid: RefCompany(
            id=cid,
            name=draw(st.sampled_from(["a", "ab", "Acme", "B"])),
            domain=domains[i] if draw(st.booleans()) else None,
            external_id=external[i] if draw(st.booleans()) else None,
            attributes=draw(st.dictionaries(st.sampled_from(["plan", "n", "tags", "nested"]), VALUES, max_size=3)),
        )
        for i, cid in enumerate(chosen)
    }


@st.composite
def worlds(draw: st.DrawFn) -> World:
    n = draw(st.integers(1, 8))
    contacts = []
    for i in range(n):
        attributes = draw(st.dictionaries(st.sampled_from(["plan", "n", "tags", "nested"]), VALUES, max_size=4))
        contacts.append(
            RefContact(
                id=f"ct_{i:03d}",
                email=draw(EMAILS),
                phone=draw(st.sampled_from([None, "+100", "+200"])),
                first_name=draw(st.sampled_from([None, "Ann", "bob", "Bo"])),
                attributes=attributes,
                created_at=NOW - timedelta(days=draw(st.integers(0, 60))),
                updated_at=NOW - timedelta(hours=draw(st.integers(0, 100))),
                company_id=draw(st.sampled_from([None, *COMPANY_IDS])),  # perhaps a company that is not there
                merged_into="ct_000" if i and draw(st.integers(0, 5)) == 0 else None,  # merged: in no segment
            )
        )
    ids = [c.id for c in contacts]
    events = [
        RefEvent(
            contact_id=draw(st.sampled_from(ids)),
            name=draw(st.sampled_from(["viewed", "clicked"])),
            timestamp=NOW - timedelta(days=draw(st.integers(0, 20)), hours=draw(st.integers(0, 23))),
            properties=draw(st.dictionaries(st.sampled_from(["path", "n"]), VALUES, max_size=2)),
        )
        for _ in range(draw(st.integers(0, 15)))
    ]
    scores = {
        (draw(st.sampled_from(ids)), draw(st.sampled_from(["total", "eng"]))): draw(
            st.sampled_from([-5.0, 0.0, 3.5, 10.0, 20.0])
        )
        for _ in range(draw(st.integers(0, 6)))
    }
    suppressed = {
        (channel, address)
        for channel, address in draw(
            st.lists(st.sampled_from([("email", "a@x.io"), ("email", "b@x.io"), ("sms", "+100")]), max_size=3)
        )
    }
    memberships = {OTHER_SEGMENT: set(draw(st.lists(st.sampled_from(ids), max_size=n)))}
    consents = {
        (draw(st.sampled_from(ids)), draw(CONSENT_CHANNELS), draw(CONSENT_TOPICS)): draw(CONSENT_STATUSES)
        for _ in range(draw(st.integers(0, 6)))
    }
    return World(contacts, events, scores, suppressed, memberships, consents, draw(companies()))


def _comparison(draw: st.DrawFn) -> dict[str, Any]:
    op = draw(st.sampled_from(["eq", "neq", "gt", "gte", "lt", "lte", "contains", "exists", "in"]))
    if op == "exists":
        return {"op": op, "value": draw(st.sampled_from([True, False]))}
    if op == "in":
        return {"op": op, "value": draw(st.lists(SCALARS, min_size=1, max_size=3))}
    if op in ("gt", "gte", "lt", "lte"):
        value = draw(st.one_of(st.sampled_from(["a", "ab", "B", ""]), st.integers(-2, 3), st.just(1.5)))
        return {"op": op, "value": value}
    return {"op": op, "value": draw(SCALARS)}


@st.composite
def leaf_filters(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["attribute", "field", "date", "event", "score", "consent", "segment", "company"]))
    if kind == "attribute":
        return {"attribute": draw(ATTRIBUTE_NAMES), **_comparison(draw)}
    if kind == "field":
        return {"field": draw(st.sampled_from(["email", "first_name", "phone"])), **_comparison(draw)}
    if kind == "date":
        field = draw(st.sampled_from(["created_at", "updated_at"]))
        return {"field": field, "op": draw(st.sampled_from(["older_than", "within"])), "days": draw(st.integers(1, 30))}
    if kind == "event":
        node: dict[str, Any] = {"event": draw(st.sampled_from(["viewed", "clicked"]))}
        if draw(st.booleans()):
            node["where"] = [{"property": draw(st.sampled_from(["path", "n"])), **_comparison(draw)}]
        if draw(st.booleans()):
            node["count"] = {
                "op": draw(st.sampled_from(["eq", "neq", "gt", "gte", "lt", "lte"])),
                "value": draw(st.integers(0, 3)),
            }
        window = draw(st.sampled_from([None, {"days": 7}, {"hours": 30}, {"since": "2026-11-25T00:00:00Z"}]))
        if window is not None:
            node["window"] = window
        return node
    if kind == "score":
        bounds = draw(
            st.dictionaries(st.sampled_from(["gt", "gte", "lt", "lte"]), st.sampled_from([-1, 0, 3.5, 10]), min_size=1)
        )
        return {"score": draw(st.sampled_from(["total", "eng"])), **bounds}
    if kind == "consent" and draw(st.booleans()):
        spec = {"channel": draw(CONSENT_CHANNELS), "status": draw(st.sampled_from(["granted", "withdrawn", "unknown"]))}
        topic = draw(CONSENT_TOPICS)
        return {"consent": {**spec, "topic": topic} if topic else spec}
    if kind == "consent":
        return {
            "consent": draw(st.sampled_from(["email", "sms"])),
            "state": draw(st.sampled_from(["subscribed", "suppressed"])),
        }
    if kind == "company":
        return {"company": {"field": draw(COMPANY_FIELDS), **_comparison(draw)}}
    return {"segment": OTHER_SEGMENT}


def filters() -> st.SearchStrategy[dict[str, Any]]:
    return st.recursive(
        leaf_filters(),
        lambda children: st.one_of(
            st.builds(lambda xs: {"and": xs}, st.lists(children, min_size=1, max_size=3)),
            st.builds(lambda xs: {"or": xs}, st.lists(children, min_size=1, max_size=3)),
            st.builds(lambda x: {"not": x}, children),
        ),
        max_leaves=5,
    )


def write_world(engine: Engine, world: World) -> str:
    """Store the world in a new workspace; its id."""
    ws = f"ws_{uuid.uuid4().hex[:12]}"
    with engine.begin() as conn:
        conn.execute(insert(Workspace.__table__), [{"id": ws, "name": ws, "created_at": NOW}])  # type: ignore[attr-defined]
        if world.companies:
            conn.execute(
                insert(COMPANY),
                [
                    {"id": f"{ws}_{k.id}", "workspace_id": ws, "name": k.name, "domain": k.domain,
                     "external_id": k.external_id, "attributes": k.attributes, "created_at": NOW, "updated_at": NOW}
                    for k in world.companies.values()
                ],
            )  # fmt: skip
        conn.execute(
            insert(CONTACT),
            [
                {
                    "id": f"{ws}_{c.id}",
                    "workspace_id": ws,
                    "email": c.email,
                    "phone": c.phone,
                    "first_name": c.first_name,
                    "attributes": c.attributes,
                    "created_at": c.created_at,
                    "updated_at": c.updated_at,
                    "company_id": f"{ws}_{c.company_id}" if c.company_id else None,
                    "merged_into": f"{ws}_{c.merged_into}" if c.merged_into else None,
                }
                for c in world.contacts
            ],
        )
        if world.events:
            conn.execute(
                insert(EVENT),
                [
                    {
                        "id": f"ev_{uuid.uuid4().hex}",
                        "workspace_id": ws,
                        "message_id": uuid.uuid4().hex,
                        "type": "track",
                        "name": e.name,
                        "contact_id": f"{ws}_{e.contact_id}",
                        "properties": e.properties,
                        "context": {},
                        "timestamp": e.timestamp,
                        "received_at": NOW,
                    }
                    for e in world.events
                ],
            )
        if world.scores:
            conn.execute(
                insert(SCORE),
                [
                    {"workspace_id": ws, "contact_id": f"{ws}_{c}", "score_group": g, "score": s, "updated_at": NOW}
                    for (c, g), s in world.scores.items()
                ],
            )
        if world.suppressed:
            conn.execute(
                insert(SUPPRESSION),
                [
                    {"workspace_id": ws, "channel": ch, "address": a, "reason": "manual", "created_at": NOW}
                    for ch, a in world.suppressed
                ],
            )
        if world.consents:
            conn.execute(
                insert(CONSENT),
                [
                    {"id": f"cns_{uuid.uuid4().hex[:20]}", "workspace_id": ws, "contact_id": f"{ws}_{c}",
                     "channel": ch, "topic": t, "status": st_, "source": "api", "legal_basis": "consent",
                     "updated_at": NOW}
                    for (c, ch, t), st_ in world.consents.items()
                ],
            )  # fmt: skip
        members = world.memberships.get(OTHER_SEGMENT, set())
        if members:
            conn.execute(
                insert(SegmentMembership.__table__),  # type: ignore[attr-defined]
                [
                    {"segment_id": f"{OTHER_SEGMENT}", "contact_id": f"{ws}_{c}", "workspace_id": ws, "entered_at": NOW}
                    for c in members
                ],
            )
    return ws
