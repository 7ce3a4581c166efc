"""Lead scoring as the API offers it: rules, group settings, thresholds, scores, history, leaderboard, alerts and
the on-demand recompute. Raises api.errors; the routes only translate HTTP."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from api.dispatch_interest import DispatchInterest
from api.errors import NotFound, Unprocessable
from api.schemas.scoring import ContactScorePublic
from domain.clock import utcnow
from domain.scoring.rules import GROUP_PATTERN, TOTAL, RuleSpec, ThresholdSpec
from domain.scoring.runtime import RECOMPUTE_WORKFLOW, RecomputeInput, recompute_workflow_id
from mauntic.temporal import TemporalGateway
from store import scoring_rules
from store.contacts import get_contact
from store.models_scoring import ScoreAlert, ScoreRule, ScoreThreshold
from store.outbox_wake import DispatchWaker
from store.score_alerts import acknowledge, get_alert
from store.scoring_reads import contact_scores

RPC_TIMEOUT = timedelta(seconds=10)


class ScoringService:
    """Built per request from the app's collaborators (all built once at start-up)."""

    def __init__(self, session: AsyncSession, interest: DispatchInterest, waker: DispatchWaker) -> None:
        self._session = session
        self._interest = interest
        self._waker = waker

    async def _changed(self, workspace_id: str) -> None:
        """Rules changed: what ingestion queues and what dispatchers cached of the workspace."""
        self._interest.forget(workspace_id)
        await self._waker.workspace_changed(self._session, workspace_id)

    async def rule(self, workspace_id: str, rule_id: str) -> ScoreRule:
        row = await scoring_rules.get_rule(self._session, workspace_id, rule_id)
        if row is None:
            raise NotFound(f"no scoring rule {rule_id!r}", code="score_rule_not_found")
        return row

    async def create_rule(self, workspace_id: str, spec: RuleSpec) -> ScoreRule:
        row = await scoring_rules.create_rule(self._session, workspace_id, spec, utcnow())
        await self._session.commit()
        await self._changed(workspace_id)
        return row

    async def update_rule(self, workspace_id: str, rule_id: str, spec: RuleSpec) -> ScoreRule:
        row = await scoring_rules.update_rule(self._session, await self.rule(workspace_id, rule_id), spec, utcnow())
        await self._session.commit()
        await self._changed(workspace_id)
        return row

    async def delete_rule(self, workspace_id: str, rule_id: str) -> None:
        await scoring_rules.delete_rule(self._session, await self.rule(workspace_id, rule_id))
        await self._session.commit()
        await self._changed(workspace_id)

    async def set_group(self, workspace_id: str, group: str, half_life_hours: int | None) -> None:
        if group == TOTAL or not re.match(GROUP_PATTERN, group):
            raise Unprocessable(f"{group!r} is not a score group name", code="invalid_score_group")
        await scoring_rules.set_group_half_life(self._session, workspace_id, group, half_life_hours, utcnow())
        await self._session.commit()
        await self._changed(workspace_id)

    async def create_threshold(self, workspace_id: str, spec: ThresholdSpec) -> ScoreThreshold:
        row = await scoring_rules.create_threshold(self._session, workspace_id, spec, utcnow())
        await self._session.commit()
        await self._changed(workspace_id)
        return row

    async def delete_threshold(self, workspace_id: str, threshold_id: str) -> None:
        if not await scoring_rules.delete_threshold(self._session, workspace_id, threshold_id):
            raise NotFound(f"no threshold {threshold_id!r}", code="score_threshold_not_found")
        await self._session.commit()
        await self._changed(workspace_id)

    async def contact_score(self, workspace_id: str, contact_id: str) -> ContactScorePublic:
        await self.owned_contact(workspace_id, contact_id)
        scores = await contact_scores(self._session, workspace_id, contact_id)
        total = scores.pop(TOTAL, 0.0)
        return ContactScorePublic(contact_id=contact_id, total=total, groups=dict(sorted(scores.items())))

    async def owned_contact(self, workspace_id: str, contact_id: str) -> None:
        contact = await get_contact(self._session, workspace_id, contact_id)
        if contact is None:
            raise NotFound(f"no contact {contact_id!r}", code="contact_not_found")

    async def acknowledge(self, workspace_id: str, alert_id: int) -> ScoreAlert:
        row = await get_alert(self._session, workspace_id, alert_id)
        if row is None:
            raise NotFound(f"no alert {alert_id}", code="score_alert_not_found")
        row = await acknowledge(self._session, row, utcnow())
        await self._session.commit()
        return row


async def start_recompute(temporal: TemporalGateway, workspace_id: str, chunk_size: int) -> tuple[str, str | None]:
    """Start the workspace's recompute, or join the one under way (one per workspace at a time)."""
    client = await temporal.client()
    workflow_id = recompute_workflow_id(workspace_id)
    handle = await client.start_workflow(
        RECOMPUTE_WORKFLOW,
        RecomputeInput(workspace_id=workspace_id, chunk_size=chunk_size),
        id=workflow_id,
        task_queue=temporal.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        rpc_timeout=RPC_TIMEOUT,
    )
    return workflow_id, handle.result_run_id
