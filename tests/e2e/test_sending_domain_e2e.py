"""A sending domain end to end: the API under uvicorn, a real worker on the Temporal dev server, the database,
and DNS answered by a dnslib server on loopback. Created through the API, verified by its workflow once the
records are published, re-checked by its Schedule (which flags a regression), deleted with its Schedule."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from temporalio.client import Client
from temporalio.service import RPCError

from domain.sending_domains.runtime import (
    CHECK_NOW_SIGNAL,
    PROGRESS_QUERY,
    CheckNowSignal,
    VerificationProgress,
    VerificationResult,
    recheck_schedule_id,
    verification_workflow_id,
)
from mauntic.settings import Settings
from store.workspaces import NewWorkspace
from tests.conftest import make_settings
from tests.dns_server import DnsTestServer, publish

pytestmark = pytest.mark.e2e


@pytest.fixture
def stack_settings(database_url: str, dns: DnsTestServer) -> Settings:
    return make_settings(database_url, dns_nameservers=[dns.host], dns_port=dns.port, dns_timeout_seconds=2.0)


async def domain_when(api: httpx.AsyncClient, domain_id: str, status: str) -> dict[str, Any]:
    for _ in range(600):
        body: dict[str, Any] = (await api.get(f"/v1/sending-domains/{domain_id}")).json()
        if body["status"] == status:
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"the domain never became {status}: {body['status']}")


async def test_a_domain_is_verified_by_its_workflow_and_rechecked_by_its_schedule(
    base_url: str, workspace: NewWorkspace, dns: DnsTestServer, temporal_client: Client
) -> None:
    headers = {"Authorization": f"Bearer {workspace.api_key}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as api:
        created = await api.post("/v1/sending-domains", json={"domain": "e2e.example.com"})
        assert created.status_code == 201, created.text
        domain = created.json()
        workflow = temporal_client.get_workflow_handle(
            verification_workflow_id(workspace.workspace.id, domain["id"]), result_type=VerificationResult
        )
        for _ in range(600):  # the first check runs at once and finds nothing published
            progress = await workflow.query(PROGRESS_QUERY, result_type=VerificationProgress)
            if progress.checks >= 1:
                break
            await asyncio.sleep(0.05)
        assert (progress.checks, progress.last_status) == (1, "pending")

        publish(dns.zone, domain["records"])
        await workflow.signal(CHECK_NOW_SIGNAL, CheckNowSignal(reason="records published"))

        result = await workflow.result()
        assert result == VerificationResult(outcome="verified", checks=2)
        verified = await domain_when(api, domain["id"], "verified")
        assert verified["last_check"]["allVerified"] is True
        schedule = temporal_client.get_schedule_handle(recheck_schedule_id(workspace.workspace.id, domain["id"]))
        assert (await schedule.describe()).schedule.spec.intervals[0].every.total_seconds() == 24 * 3600

        tracking = next(r for r in domain["records"] if r["kind"] == "tracking")
        dns.zone.remove(tracking["host"])
        await schedule.trigger()
        failing = await domain_when(api, domain["id"], "failing")
        assert failing["last_check"]["regression"]["records"] == ["tracking"]
        assert [r["kind"] for r in failing["last_check"]["missingRecords"]] == ["tracking"]

        assert (await api.delete(f"/v1/sending-domains/{domain['id']}")).status_code == 204
        with pytest.raises(RPCError):
            await schedule.describe()
