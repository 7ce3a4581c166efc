"""The sending-domains API, with the real Temporal dev server and a real worker (check-now runs there, as the
`SendingDomainCheck` workflow the API executes) and DNS answered by a dnslib server on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from activities.sending_domains.schedules import ensure_recheck_schedule
from api.app import create_app
from domain.sending_domains.runtime import (
    VERIFICATION_WORKFLOW,
    check_workflow_id,
    recheck_schedule_id,
    verification_workflow_id,
)
from mauntic.secrets import SecretBox
from mauntic.settings import Settings
from mauntic.temporal import TemporalGateway
from store.sending_domains import get_sending_domain
from store.workspaces import NewWorkspace
from tests.conftest import make_settings
from tests.dns_server import DnsTestServer, publish
from tests.sending_domain_fixtures import Sessions, new_domain_row
from tests.servers import free_port
from worker import running_worker

URL = "/v1/sending-domains"


@pytest.fixture
def domain_settings(database_url: str, dns: DnsTestServer) -> Settings:
    return make_settings(database_url, dns_nameservers=[dns.host], dns_port=dns.port, dns_timeout_seconds=2.0)


@asynccontextmanager
async def serving(settings: Settings, temporal: TemporalGateway) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, temporal)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


@pytest.fixture
async def api(domain_settings: Settings, temporal_client: Client) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        running_worker(domain_settings, temporal_client),
        serving(domain_settings, TemporalGateway(domain_settings, temporal_client)) as http,
    ):
        yield http


async def create(api: httpx.AsyncClient, headers: dict[str, str], domain: str) -> dict[str, Any]:
    response = await api.post(URL, headers=headers, json={"domain": domain})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def waiting_again_after_a_signal(client: Client, workflow_id: str) -> None:
    """Until the verification has handled a signal and waits for its next check again (its timer started last)."""
    for _ in range(500):
        events = await event_types(client, workflow_id)
        signalled = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED in events
        if signalled and events[-1] == EventType.EVENT_TYPE_TIMER_STARTED:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the verification never went back to waiting after the signal")


async def event_types(client: Client, workflow_id: str) -> list[int]:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return [event.event_type for event in history.events]


async def test_create_returns_the_records_and_starts_verification(
    api: httpx.AsyncClient, admin_headers: dict[str, str], workspace: NewWorkspace, temporal_client: Client
) -> None:
    body = await create(api, admin_headers, "Mail.Example.COM.")

    assert body["domain"] == "mail.example.com"
    assert body["status"] == "pending"
    assert body["id"].startswith("sd_")
    records = {r["kind"]: r for r in body["records"]}
    assert set(records) == {"spf", "dkim", "dmarc", "return_path", "tracking"}
    dkim = records["dkim"]
    assert dkim["host"] == f"{body['dkim_selector']}._domainkey.mail.example.com"
    assert dkim["value"].startswith("v=DKIM1; k=rsa; p=MIIBIjANBg")  # 2048-bit SubjectPublicKeyInfo
    assert [len(s) for s in dkim["strings"]] == [255, len(dkim["value"]) - 255]
    assert dkim["zone_value"] == '"{}" "{}"'.format(*dkim["strings"])
    assert records["spf"]["value"] == "v=spf1 include:spf.mauntic.net ~all"
    assert (records["return_path"]["type"], records["return_path"]["host"]) == ("CNAME", "bounces.mail.example.com")
    assert "dkim_private_key" not in body

    described = await temporal_client.get_workflow_handle(
        verification_workflow_id(workspace.workspace.id, body["id"])
    ).describe()
    assert described.workflow_type == VERIFICATION_WORKFLOW
    assert described.status == WorkflowExecutionStatus.RUNNING


async def test_duplicates_conflict_even_when_spelled_differently(
    api: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await create(api, admin_headers, "bücher.example")

    again = await api.post(URL, headers=admin_headers, json={"domain": "XN--BCHER-KVA.example"})

    assert again.status_code == 409
    assert again.json()["error"]["code"] == "sending_domain_exists"


@pytest.mark.parametrize(
    "domain", ["", "localhost", "10.0.0.1", "[2001:db8::1]", "example.com/x", "a..b.com", "x" * 300 + ".com", "é"]
)
async def test_bad_names_are_422_invalid_domain(
    api: httpx.AsyncClient, admin_headers: dict[str, str], domain: str
) -> None:
    response = await api.post(URL, headers=admin_headers, json={"domain": domain})

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_domain"


async def test_malformed_bodies_and_missing_scopes(
    api: httpx.AsyncClient, admin_headers: dict[str, str], workspace: NewWorkspace
) -> None:
    json_headers = {**admin_headers, "content-type": "application/json"}
    assert (await api.post(URL, headers=admin_headers, json={"domain": 5})).status_code == 422
    assert (await api.post(URL, headers=admin_headers, json={"domain": "a.com", "x": 1})).status_code == 422
    assert (await api.post(URL, headers=json_headers, content=b"{")).json()["error"]["code"] == "malformed_json"
    assert (await api.get(URL)).status_code == 401
    issued = await api.post("/v1/api-keys", headers=admin_headers, json={"name": "r", "scopes": ["delivery:read"]})
    reader = {"Authorization": f"Bearer {issued.json()['key']}"}
    assert (await api.get(URL, headers=reader)).status_code == 200
    denied = await api.post(URL, headers=reader, json={"domain": "example.org"})
    assert (denied.status_code, denied.json()["error"]["code"]) == (403, "insufficient_scope")


async def test_list_pages_and_get(api: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    ids = [(await create(api, admin_headers, f"n{i}.example.net"))["id"] for i in range(3)]

    first = (await api.get(URL, headers=admin_headers, params={"limit": 2})).json()
    second = (await api.get(URL, headers=admin_headers, params={"limit": 2, "cursor": first["next_cursor"]})).json()

    assert [d["id"] for d in first["data"] + second["data"]] == ids
    assert second["next_cursor"] is None
    got = await api.get(f"{URL}/{ids[1]}", headers=admin_headers)
    assert got.json()["domain"] == "n1.example.net"
    missing = await api.get(f"{URL}/sd_nope", headers=admin_headers)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "sending_domain_not_found")


async def test_domains_of_another_workspace_are_invisible(
    api: httpx.AsyncClient, admin_headers: dict[str, str], database_url: str
) -> None:
    from tests.conftest import new_workspace

    other = await new_workspace(database_url)
    theirs = await create(api, {"Authorization": f"Bearer {other.api_key}"}, "theirs.example.org")

    assert (await api.get(f"{URL}/{theirs['id']}", headers=admin_headers)).status_code == 404
    assert (await api.post(f"{URL}/{theirs['id']}/verify", headers=admin_headers)).status_code == 404
    assert (await api.delete(f"{URL}/{theirs['id']}", headers=admin_headers)).status_code == 404
    # the same name is free in this workspace
    assert (await api.post(URL, headers=admin_headers, json={"domain": "theirs.example.org"})).status_code == 201


async def test_verify_reports_missing_records_then_verifies_and_signals_the_workflow(
    api: httpx.AsyncClient,
    admin_headers: dict[str, str],
    workspace: NewWorkspace,
    dns: DnsTestServer,
    temporal_client: Client,
) -> None:
    body = await create(api, admin_headers, "shop.example.com")
    url = f"{URL}/{body['id']}/verify"
    publish(dns.zone, [r for r in body["records"] if r["kind"] in ("spf", "dmarc")])

    before = (await api.post(url, headers=admin_headers)).json()

    assert before["allVerified"] is False
    assert before["status"] == "pending"
    missing = {r["kind"]: r for r in before["missingRecords"]}
    assert set(missing) == {"dkim", "return_path", "tracking"}
    dkim = missing["dkim"]
    assert (dkim["status"], dkim["found"]) == ("missing", [])
    assert dkim["expected"] == next(r["value"] for r in body["records"] if r["kind"] == "dkim")
    assert {r["kind"]: r["status"] for r in before["records"]}["spf"] == "verified"
    workflow_id = verification_workflow_id(workspace.workspace.id, body["id"])
    # the worker runs the verification too: let it handle the signal before the rest is published, or its check
    # may see everything, verify and end, and the next signal start a new run
    await waiting_again_after_a_signal(temporal_client, workflow_id)

    publish(dns.zone, [r for r in body["records"] if r["kind"] not in ("spf", "dmarc")])
    after = await api.post(url, headers=admin_headers, json={"from_domain": "news.example.com"})

    assert after.status_code == 200, after.text
    result = after.json()
    assert (result["allVerified"], result["missingRecords"], result["status"]) == (True, [], "verified")
    assert (result["alignment"]["spf_aligned"], result["alignment"]["dkim_aligned"]) == (True, True)
    stored = (await api.get(f"{URL}/{body['id']}", headers=admin_headers)).json()
    assert stored["status"] == "verified"
    assert stored["last_check"]["allVerified"] is True
    assert stored["verified_at"] is not None
    signals = [
        t
        for t in await event_types(temporal_client, workflow_id)
        if t == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    ]
    assert len(signals) == 2


async def test_verify_flags_a_from_domain_that_does_not_align(
    api: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    body = await create(api, admin_headers, "align.example.com")
    url = f"{URL}/{body['id']}/verify"

    result = (await api.post(url, headers=admin_headers, json={"from_domain": "other.example.org"})).json()
    bad = await api.post(url, headers=admin_headers, json={"from_domain": "not a domain"})

    assert "from_not_aligned" in {d["code"] for d in result["diagnostics"]}
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_domain")


async def running(client: Client, workflow_id: str) -> None:
    for _ in range(500):
        try:
            if (await client.get_workflow_handle(workflow_id).describe()).status == WorkflowExecutionStatus.RUNNING:
                return
        except RPCError:  # not started yet
            pass
        await asyncio.sleep(0.02)
    raise AssertionError(f"{workflow_id} never ran")


async def test_concurrent_clicks_join_one_check_and_another_from_domain_gets_its_own(
    api: httpx.AsyncClient,
    admin_headers: dict[str, str],
    workspace: NewWorkspace,
    dns: DnsTestServer,
    temporal_client: Client,
) -> None:
    body = await create(api, admin_headers, "clicks.example.com")
    url = f"{URL}/{body['id']}/verify"
    dns.zone.silent = True  # every lookup waits out the resolver timeout (2 s): the first check stays under way
    first = asyncio.create_task(api.post(url, headers=admin_headers))
    await running(temporal_client, check_workflow_id(workspace.workspace.id, body["id"]))

    second, other = await asyncio.gather(
        api.post(url, headers=admin_headers),
        api.post(url, headers=admin_headers, json={"from_domain": "other.example.org"}),
    )
    joined = await first

    assert [r.status_code for r in (joined, second, other)] == [200, 200, 200]
    assert joined.json() == second.json()  # the same checked_at too: one check answered both
    assert {r["status"] for r in joined.json()["records"]} == {"error"}
    assert other.json()["checked_at"] != joined.json()["checked_at"]
    assert other.json()["alignment"]["from_domain"] == "other.example.org"
    assert "from_not_aligned" in {d["code"] for d in other.json()["diagnostics"]}
    assert "from_not_aligned" not in {d["code"] for d in joined.json()["diagnostics"]}


async def test_verify_is_503_temporal_unavailable_and_checks_nothing_when_temporal_is_down(
    database_url: str, workspace: NewWorkspace, sessions: Sessions, box: SecretBox
) -> None:
    settings = make_settings(database_url, temporal_address=f"127.0.0.1:{free_port()}")
    row = await new_domain_row(sessions, workspace.workspace.id, box)
    headers = {"Authorization": f"Bearer {workspace.api_key}"}

    async with serving(settings, TemporalGateway(settings)) as http:
        response = await http.post(f"{URL}/{row.id}/verify", headers=headers)

    assert (response.status_code, response.json()["error"]["code"]) == (503, "temporal_unavailable")
    async with sessions() as session:
        stored = await get_sending_domain(session, row.workspace_id, row.id)
    assert stored is not None
    assert (stored.status, stored.checked_at) == ("pending", None)


async def test_verify_is_503_when_no_worker_checks_in_time_and_leaves_nothing_running(
    database_url: str, workspace: NewWorkspace, sessions: Sessions, box: SecretBox, temporal_client: Client
) -> None:
    settings = make_settings(database_url, domain_check_timeout_seconds=1.0)  # no worker polls its task queue
    row = await new_domain_row(sessions, workspace.workspace.id, box)
    headers = {"Authorization": f"Bearer {workspace.api_key}"}

    async with serving(settings, TemporalGateway(settings, temporal_client)) as http:
        response = await http.post(f"{URL}/{row.id}/verify", headers=headers)

    assert (response.status_code, response.json()["error"]["code"]) == (503, "sending_domain_check_timed_out")
    check = temporal_client.get_workflow_handle(check_workflow_id(row.workspace_id, row.id))
    assert (await check.describe()).status == WorkflowExecutionStatus.TIMED_OUT


async def test_delete_removes_the_domain_its_schedule_and_cancels_verification(
    api: httpx.AsyncClient, admin_headers: dict[str, str], workspace: NewWorkspace, temporal_client: Client
) -> None:
    body = await create(api, admin_headers, "gone.example.com")
    workspace_id = workspace.workspace.id
    await ensure_recheck_schedule(temporal_client, workspace_id, body["id"], timedelta(hours=24), "unused")

    deleted = await api.delete(f"{URL}/{body['id']}", headers=admin_headers)

    assert deleted.status_code == 204
    assert (await api.get(f"{URL}/{body['id']}", headers=admin_headers)).status_code == 404
    with pytest.raises(RPCError) as raised:
        await temporal_client.get_schedule_handle(recheck_schedule_id(workspace_id, body["id"])).describe()
    assert raised.value.status == RPCStatusCode.NOT_FOUND
    # Cancelled, unless its own check ran between the row's deletion and the cancel, found the domain gone and
    # ended it first (the cancel then finds it closed): either way nothing is left verifying.
    verification = verification_workflow_id(workspace_id, body["id"])
    events = await event_types(temporal_client, verification)
    status = (await temporal_client.get_workflow_handle(verification).describe()).status
    cancelled = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED in events
    assert cancelled or status != WorkflowExecutionStatus.RUNNING, (status, events)
    assert (await api.delete(f"{URL}/{body['id']}", headers=admin_headers)).status_code == 404


async def test_hostile_names_and_ids_are_422(api: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    """Both were 500s: a lone surrogate (valid JSON, not encodable as UTF-8) echoed in the error body, and a NUL in
    an id (PostgreSQL text cannot hold it)."""
    json_type = {**admin_headers, "content-type": "application/json"}
    response = await api.post(URL, headers=json_type, content=b'{"domain": "\\udcff.example.com"}')
    assert (response.status_code, response.json()["error"]["code"]) == (422, "validation_error")
    assert response.json()["error"]["details"][0]["loc"] == ["body", "domain"]
    for method, path in [("GET", f"{URL}/sd_%00"), ("POST", f"{URL}/sd_%00/verify"), ("DELETE", f"{URL}/sd_%00"),
                         ("GET", f"{URL}?cursor=%00")]:  # fmt: skip
        response = await api.request(method, path, headers=admin_headers)
        expected = "invalid_cursor" if "cursor=" in path else "validation_error"
        assert (response.status_code, response.json()["error"]["code"]) == (422, expected), path
