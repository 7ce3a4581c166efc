"""The merge routes: the checks made before a merge starts (404, 422, 409 `merge_conflict`, `contact_merged`,
`merge_in_progress`), the 202 with the merge record and its workflow started on the real dev server, the merge
history, unmerge, and how a merged contact reads. No worker here: the activities are run directly, as the
workflow would run them (tests/e2e/test_contact_merge_e2e.py runs the whole workflow)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from temporalio.client import Client, WorkflowExecutionStatus

from activities.identity.contracts import MergeInput, merge_workflow_id, unmerge_workflow_id
from activities.identity.merge import IdentityActivities
from store.models import Contact
from store.models_identity import ContactMerge
from store.workspaces import NewWorkspace
from tests.api.ingest_support import Sessions
from tests.conftest import new_workspace


@pytest.fixture
def api(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> httpx.AsyncClient:
    client.headers.update(admin_headers)
    return client


async def contact(api: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await api.post("/v1/contacts", json=fields)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def merge(api: httpx.AsyncClient, survivor: str, merged: str) -> httpx.Response:
    return await api.post("/v1/contacts/merge", json={"survivor_id": survivor, "merged_id": merged})


async def applied(db: Sessions, temporal_client: Client, merge_id: str, action: str = "merge") -> None:
    """What the workflow's first activity does; the started workflow (no worker polls its queue) is ended."""
    activities = IdentityActivities(db)
    if action == "merge":
        await activities.merge_rows(MergeInput(merge_id=merge_id))
    else:
        await activities.unmerge_rows(MergeInput(merge_id=merge_id, action="unmerge"))
    async with db() as session:
        row = await session.get(ContactMerge, merge_id)
        assert row is not None
        workflow_id = row.workflow_id if action == "merge" else unmerge_workflow_id(row.workspace_id, row.id)
    await temporal_client.get_workflow_handle(workflow_id).terminate("applied by the test")


async def test_merge_answers_202_starts_the_workflow_and_applies(
    api: httpx.AsyncClient, db: Sessions, temporal_client: Client, workspace: NewWorkspace
) -> None:
    survivor = await contact(api, email="ann@example.test", first_name="Ann")
    merged = await contact(api, external_id="u-ann", last_name="Lee", attributes={"tags": ["a"]})

    response = await merge(api, survivor["id"], merged["id"])
    assert response.status_code == 202, response.text
    record = response.json()
    assert record["status"] == "running"
    assert record["survivor_id"] == survivor["id"]
    assert record["merged_id"] == merged["id"]
    assert record["workflow_id"] == merge_workflow_id(workspace.workspace.id, record["id"])
    described = await temporal_client.get_workflow_handle(record["workflow_id"]).describe()
    assert described.status == WorkflowExecutionStatus.RUNNING

    again = await merge(api, survivor["id"], merged["id"])  # the same merge asked again: the same one
    assert again.status_code == 202
    assert again.json()["id"] == record["id"]
    other = await contact(api, phone="+33612345678")
    busy = await merge(api, other["id"], merged["id"])
    assert busy.status_code == 409
    assert busy.json()["error"]["code"] == "merge_in_progress"

    await applied(db, temporal_client, record["id"])
    done = (await api.get(f"/v1/merges/{record['id']}")).json()
    assert done["status"] == "completed"
    assert done["moved"]["contact_identity"] == 1  # the user id moved to the survivor
    assert done["journeys"] == {"policy": "hand_over", "hand_over": [], "exit": []}

    read = await api.get(f"/v1/contacts/{merged['id']}")
    assert read.status_code == 200
    body = read.json()
    assert body["id"] == survivor["id"]
    assert body["merged_into"] == survivor["id"]
    assert body["email"] == "ann@example.test"
    assert body["external_id"] == "u-ann"  # the survivor had none: the merged contact's survives
    assert (body["first_name"], body["last_name"]) == ("Ann", "Lee")
    assert body["attributes"] == {"tags": ["a"]}
    assert "merged_into" not in (await api.get(f"/v1/contacts/{survivor['id']}")).json()
    listed = [c["id"] for c in (await api.get("/v1/contacts")).json()["data"]]
    assert survivor["id"] in listed
    assert merged["id"] not in listed  # it reads as its survivor
    found = await api.get("/v1/contacts/lookup", params={"external_id": "u-ann"})
    assert found.json()["id"] == survivor["id"]

    for attempt in (merge(api, survivor["id"], merged["id"]), merge(api, merged["id"], other["id"])):
        refused = await attempt
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "contact_merged"
        assert refused.json()["error"]["details"]["merged_into"] == survivor["id"]
    patched = await api.patch(f"/v1/contacts/{merged['id']}", json={"first_name": "X"})
    assert patched.status_code == 409
    assert patched.json()["error"]["code"] == "contact_merged"
    assert (await api.delete(f"/v1/contacts/{merged['id']}")).status_code == 409


async def test_unmerge_restores_both_contacts(api: httpx.AsyncClient, db: Sessions, temporal_client: Client) -> None:
    survivor = await contact(api, email="bo@example.test", first_name="Bo")
    merged = await contact(api, external_id="u-bo", first_name="Robert", attributes={"plan": "pro"})
    record = (await merge(api, survivor["id"], merged["id"])).json()
    early = await api.post(f"/v1/merges/{record['id']}/unmerge")
    assert early.status_code == 409
    assert early.json()["error"]["code"] == "merge_not_completed"
    await applied(db, temporal_client, record["id"])

    response = await api.post(f"/v1/merges/{record['id']}/unmerge")
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "undoing"
    assert response.json()["unmerge_workflow_id"] == unmerge_workflow_id(record["workspace_id"], record["id"])
    await applied(db, temporal_client, record["id"], "unmerge")

    done = (await api.get(f"/v1/merges/{record['id']}")).json()
    assert done["status"] == "undone"
    assert done["undone_at"] is not None
    back = (await api.get(f"/v1/contacts/{merged['id']}")).json()
    assert back["id"] == merged["id"]
    assert "merged_into" not in back
    assert (back["external_id"], back["first_name"], back["attributes"]) == ("u-bo", "Robert", {"plan": "pro"})
    kept = (await api.get(f"/v1/contacts/{survivor['id']}")).json()
    assert (kept["email"], kept["external_id"], kept["first_name"], kept["attributes"]) == (
        "bo@example.test",
        None,
        "Bo",
        {},
    )
    found = await api.get("/v1/contacts/lookup", params={"external_id": "u-bo"})
    assert found.json()["id"] == merged["id"]
    twice = await api.post(f"/v1/merges/{record['id']}/unmerge")
    assert twice.status_code == 409
    assert twice.json()["error"]["code"] == "merge_not_completed"
    async with db() as session:
        row = await session.get(Contact, merged["id"])
        assert row is not None
        assert row.merged_into is None


async def test_history_of_a_contact_is_a_cursor_page(
    api: httpx.AsyncClient, db: Sessions, temporal_client: Client
) -> None:
    survivor = await contact(api, email="cy@example.test")
    ids = []
    for n in range(3):
        merged = await contact(api, phone=f"+3361234567{n}")
        record = (await merge(api, survivor["id"], merged["id"])).json()
        await applied(db, temporal_client, record["id"])
        ids.append(record["id"])
    first = (await api.get(f"/v1/contacts/{survivor['id']}/merges", params={"limit": 2})).json()
    assert [m["id"] for m in first["data"]] == ids[:2]
    assert first["next_cursor"]
    rest = await api.get(f"/v1/contacts/{survivor['id']}/merges", params={"limit": 2, "cursor": first["next_cursor"]})
    assert [m["id"] for m in rest.json()["data"]] == ids[2:]
    assert rest.json()["next_cursor"] is None
    assert (await api.get(f"/v1/contacts/{survivor['id']}/merges", params={"cursor": "junk"})).status_code == 422
    missing = await api.get("/v1/contacts/ct_nobody/merges")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "contact_not_found"


async def test_merge_refusals(api: httpx.AsyncClient, database_url: str) -> None:
    ann = await contact(api, email="ann@example.test", external_id="u1")
    other_ann = await contact(api, email="ann.other@example.test", external_id="u2")
    same = await merge(api, ann["id"], ann["id"])
    assert same.status_code == 422
    assert same.json()["error"]["code"] == "merge_same_contact"
    for survivor, merged in ((ann["id"], "ct_nobody"), ("ct_nobody", ann["id"])):
        unknown = await merge(api, survivor, merged)
        assert unknown.status_code == 404
        assert unknown.json()["error"]["code"] == "contact_not_found"
        assert unknown.json()["error"]["details"]["contact_id"] == "ct_nobody"
    conflict = await merge(api, ann["id"], other_ann["id"])
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "merge_conflict"
    assert conflict.json()["error"]["details"]["identifiers"] == ["email", "external_id"]
    # email no longer unique: only external_id conflicts
    policy = await api.put("/v1/identity/merge-policy", json={"unique": ["external_id"]})
    assert policy.status_code == 200
    conflict = await merge(api, ann["id"], other_ann["id"])
    assert conflict.json()["error"]["details"]["identifiers"] == ["external_id"]
    elsewhere = await new_workspace(database_url)
    foreign = await api.post(
        "/v1/contacts", json={"email": "x@example.test"}, headers={"Authorization": f"Bearer {elsewhere.api_key}"}
    )
    stranger = await merge(api, ann["id"], foreign.json()["id"])
    assert stranger.status_code == 404
    for body in ({"survivor_id": ann["id"]}, {"survivor_id": "a" * 41, "merged_id": ann["id"]}, {}):
        invalid = await api.post("/v1/contacts/merge", json=body)
        assert invalid.status_code == 422, body
    assert (await api.get("/v1/merges/mg_nothing")).json()["error"]["code"] == "merge_not_found"
    assert (await api.post("/v1/merges/mg_nothing/unmerge")).status_code == 404


async def test_the_activity_refuses_a_merge_that_became_conflicting(
    api: httpx.AsyncClient, db: Sessions, temporal_client: Client
) -> None:
    survivor = await contact(api, email="dee@example.test")
    merged = await contact(api, external_id="u-dee")
    record = (await merge(api, survivor["id"], merged["id"])).json()
    changed = await api.patch(f"/v1/contacts/{merged['id']}", json={"email": "dee.two@example.test"})
    assert changed.status_code == 200
    await applied(db, temporal_client, record["id"])
    done = (await api.get(f"/v1/merges/{record['id']}")).json()
    assert done["status"] == "refused"
    assert "email" in done["error"]
    assert "merged_into" not in (await api.get(f"/v1/contacts/{merged['id']}")).json()


async def test_merging_needs_identity_write(
    client: httpx.AsyncClient, workspace: NewWorkspace, database_url: str
) -> None:
    response = await client.post(
        "/v1/contacts/merge", json={"survivor_id": "a", "merged_id": "b"}, headers={"Authorization": "Bearer nope"}
    )
    assert response.status_code == 401


async def test_a_start_lost_after_the_commit_is_made_by_the_next_read(
    api: httpx.AsyncClient, db: Sessions, temporal_client: Client, workspace: NewWorkspace
) -> None:
    """An API killed between the merge row's commit and the workflow start: the row is there, the workflow is not;
    the next GET starts it under the same id, and a second GET starts nothing more."""
    ws = workspace.workspace.id
    survivor = await contact(api, email="eve@example.test")
    merged = await contact(api, external_id="u-eve")
    merge_id = "mg_lost" + survivor["id"][-8:]
    async with db() as session:
        session.add(ContactMerge(id=merge_id, workspace_id=ws, survivor_id=survivor["id"], merged_id=merged["id"],
                                 workflow_id=merge_workflow_id(ws, merge_id)))  # fmt: skip
        await session.commit()
    handle = temporal_client.get_workflow_handle(merge_workflow_id(ws, merge_id))
    with pytest.raises(Exception, match="not found"):
        await handle.describe()
    assert (await api.get(f"/v1/merges/{merge_id}")).json()["status"] == "running"
    first = await handle.describe()
    assert first.status == WorkflowExecutionStatus.RUNNING
    await api.get(f"/v1/merges/{merge_id}")
    assert (await handle.describe()).run_id == first.run_id
    await applied(db, temporal_client, merge_id)
