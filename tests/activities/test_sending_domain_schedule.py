"""The re-check Schedule on the real Temporal dev server: created once, updated in place, deleted."""

from __future__ import annotations

import uuid
from datetime import timedelta

from temporalio.client import Client, ScheduleActionStartWorkflow

from activities.sending_domains.activities import SendingDomainActivities
from activities.sending_domains.contracts import DeleteRecheckScheduleInput, EnsureRecheckScheduleInput
from domain.sending_domains.runtime import RECHECK_WORKFLOW, RecheckInput, recheck_schedule_id
from tests.dns_server import DnsTestServer
from tests.sending_domain_fixtures import Sessions, checker_for


async def test_ensure_creates_then_updates_and_delete_removes(
    sessions: Sessions, dns: DnsTestServer, temporal_client: Client
) -> None:
    acts = SendingDomainActivities(sessions, checker_for(dns), temporal_client, "domains-queue")
    workspace_id, domain_id = "ws_sched", f"sd_{uuid.uuid4().hex[:8]}"
    ensure = EnsureRecheckScheduleInput(workspace_id=workspace_id, domain_id=domain_id, interval_hours=24)

    first = await acts.ensure_recheck_schedule(ensure)
    second = await acts.ensure_recheck_schedule(ensure.model_copy(update={"interval_hours": 6}))

    assert (first.created, second.created) == (True, False)
    assert first.schedule_id == recheck_schedule_id(workspace_id, domain_id)
    described = await temporal_client.get_schedule_handle(first.schedule_id).describe()
    assert [spec.every for spec in described.schedule.spec.intervals] == [timedelta(hours=6)]
    action = described.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert (action.workflow, action.task_queue) == (RECHECK_WORKFLOW, "domains-queue")
    started_with = await temporal_client.data_converter.decode(action.args, [RecheckInput])
    assert started_with == [RecheckInput(workspace_id=workspace_id, domain_id=domain_id)]

    remove = DeleteRecheckScheduleInput(workspace_id=workspace_id, domain_id=domain_id)
    assert (await acts.delete_recheck_schedule(remove)).deleted is True
    assert (await acts.delete_recheck_schedule(remove)).deleted is False
