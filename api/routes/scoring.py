"""Lead scoring: rules, group decay, thresholds, a contact's score and its history, the leaderboard, alerts, and
the on-demand recompute. Business rules live in api/scoring/service.py; this module translates HTTP."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response

from api.deps import Interest, ScoringDelete, ScoringRead, ScoringWrite, Session, Temporal, Waker
from api.pagination import Cursor, Page, page_of, row_number
from api.schemas.scoring import (
    AlertPublic,
    ContactScorePublic,
    GroupSettings,
    Leaderboard,
    LeaderboardEntry,
    LedgerEntryPublic,
    RecomputeRequest,
    RecomputeStarted,
    RulePublic,
    ThresholdPublic,
)
from api.scoring.service import ScoringService, start_recompute
from api.validation import ResourceId, SerialId
from domain.clock import utcnow
from domain.scoring.rules import GROUP_PATTERN, RuleSpec, ThresholdSpec
from store.score_alerts import list_alerts
from store.scoring_reads import contact_ledger, leaderboard
from store.scoring_rules import list_rules, list_thresholds

router = APIRouter(tags=["scoring"])


def _service(session: Session, interest: Interest, waker: Waker) -> ScoringService:
    return ScoringService(session, interest, waker)


Service = Annotated[ScoringService, Depends(_service)]
Limit = Annotated[int, Query(ge=1, le=500)]


@router.post("/v1/scoring/rules", status_code=201)
async def create_rule(body: RuleSpec, principal: ScoringWrite, service: Service) -> RulePublic:
    """An event rule (`event`, `where`, optional `cap`) or an attribute rule (`attributes`)."""
    return RulePublic.of(await service.create_rule(principal.workspace_id, body))


@router.get("/v1/scoring/rules")
async def rules(principal: ScoringRead, session: Session, cursor: Cursor = None, limit: Limit = 50) -> Page[RulePublic]:
    rows = await list_rules(session, principal.workspace_id, cursor, limit + 1)
    page, next_cursor = page_of(rows, limit)
    return Page[RulePublic](data=[RulePublic.of(r) for r in page], next_cursor=next_cursor)


@router.get("/v1/scoring/rules/{rule_id}")
async def read_rule(rule_id: ResourceId, principal: ScoringRead, service: Service) -> RulePublic:
    return RulePublic.of(await service.rule(principal.workspace_id, rule_id))


@router.put("/v1/scoring/rules/{rule_id}")
async def replace_rule(rule_id: ResourceId, body: RuleSpec, principal: ScoringWrite, service: Service) -> RulePublic:
    """Replace a rule. Ledger rows already granted stay until the next recompute re-derives them."""
    return RulePublic.of(await service.update_rule(principal.workspace_id, rule_id, body))


@router.delete("/v1/scoring/rules/{rule_id}", status_code=204)
async def delete_rule(rule_id: ResourceId, principal: ScoringDelete, service: Service) -> Response:
    await service.delete_rule(principal.workspace_id, rule_id)
    return Response(status_code=204)


@router.put("/v1/scoring/groups/{group}", status_code=204)
async def set_group(group: str, body: GroupSettings, principal: ScoringWrite, service: Service) -> Response:
    """The group's half-life, for its rules that set none (applies to grants from now on, and on recompute)."""
    await service.set_group(principal.workspace_id, group, body.half_life_hours)
    return Response(status_code=204)


@router.post("/v1/scoring/thresholds", status_code=201)
async def create_threshold(body: ThresholdSpec, principal: ScoringWrite, service: Service) -> ThresholdPublic:
    return ThresholdPublic.of(await service.create_threshold(principal.workspace_id, body))


@router.get("/v1/scoring/thresholds")
async def thresholds(principal: ScoringRead, session: Session) -> list[ThresholdPublic]:
    return [ThresholdPublic.of(t) for t in await list_thresholds(session, principal.workspace_id)]


@router.delete("/v1/scoring/thresholds/{threshold_id}", status_code=204)
async def delete_threshold(threshold_id: ResourceId, principal: ScoringDelete, service: Service) -> Response:
    await service.delete_threshold(principal.workspace_id, threshold_id)
    return Response(status_code=204)


@router.get("/v1/contacts/{contact_id}/score")
async def contact_score(contact_id: ResourceId, principal: ScoringRead, service: Service) -> ContactScorePublic:
    return await service.contact_score(principal.workspace_id, contact_id)


@router.get("/v1/contacts/{contact_id}/score/history")
async def score_history(
    contact_id: ResourceId,
    principal: ScoringRead,
    service: Service,
    session: Session,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[LedgerEntryPublic]:
    """Every grant behind the contact's scores, newest first: rule, event and reason."""
    await service.owned_contact(principal.workspace_id, contact_id)
    rows = await contact_ledger(session, principal.workspace_id, contact_id, row_number(cursor), limit + 1)
    page, next_cursor = page_of(rows, limit)
    return Page[LedgerEntryPublic](data=[LedgerEntryPublic.of(r) for r in page], next_cursor=next_cursor)


@router.get("/v1/scoring/leaderboard")
async def top(
    principal: ScoringRead,
    session: Session,
    group: Annotated[str, Query(pattern=GROUP_PATTERN)] = "total",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Leaderboard:
    rows = await leaderboard(session, principal.workspace_id, group, limit)
    return Leaderboard(group=group, data=[LeaderboardEntry(contact_id=c, score=s) for c, s in rows])


@router.get("/v1/scoring/alerts")
async def alerts(
    principal: ScoringRead,
    session: Session,
    state: Literal["active", "expired", "all"] = "active",
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[AlertPublic]:
    now = utcnow()
    rows = await list_alerts(session, principal.workspace_id, state, now, row_number(cursor), limit + 1)
    page, next_cursor = page_of(rows, limit)
    return Page[AlertPublic](data=[AlertPublic.of(r, now) for r in page], next_cursor=next_cursor)


@router.post("/v1/scoring/alerts/{alert_id}/ack")
async def ack(alert_id: SerialId, principal: ScoringWrite, service: Service) -> AlertPublic:
    return AlertPublic.of(await service.acknowledge(principal.workspace_id, alert_id), utcnow())


@router.post("/v1/scoring/recompute", status_code=202)
async def recompute(
    principal: ScoringWrite, temporal: Temporal, body: RecomputeRequest | None = None
) -> RecomputeStarted:
    """Recompute every score of the workspace from its events under the current rules (the ScoreRecompute
    workflow; its `progress` query and memo show where it stands). A recompute under way is joined."""
    workflow_id, run_id = await start_recompute(
        temporal, principal.workspace_id, (body or RecomputeRequest()).chunk_size
    )
    return RecomputeStarted(workflow_id=workflow_id, run_id=run_id)
