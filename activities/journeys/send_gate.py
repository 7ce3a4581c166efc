"""The send gate: one local activity right before a non-transactional send, deciding whether it may go now.

In order: quiet hours (in the contact's time zone, else the workspace's: domain/journeys/local_time.py) hold the send
until the next allowed instant, reserving nothing; then the frequency caps are checked and the send reserved in
one transaction serialised per contact (store/send_policy.check_and_reserve), so two journeys sending to a contact
at the same instant with a cap of 1 get one `allowed` and one `capped`. A workspace without a default and a journey
without a policy cost two cached look-ups and no write.

Consent is not decided here but in the send itself (activities/journeys/email.py, the one consent gate for every
channel, which logs the skip). A policy that could hold or reserve asks it first, though: a message that will not
go must neither wait out quiet hours nor take a cap's slot from a message that will.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col
from temporalio import activity

from activities.journeys.contracts import CHECK_SEND_GATE, SendGateInput, SendGateOutput
from domain.journeys.local_time import contact_zone
from domain.journeys.send_policy import WorkspaceSendPolicy, effective_policy, iso_duration, quiet_until
from mauntic.ttl_cache import TtlCache
from store.consent import send_decision
from store.models import Contact, Workspace
from store.send_policy import check_and_reserve, workspace_send_policy

# The workspace default is read at most this often per worker: a PUT reaches every worker within it.
POLICY_CACHE_SECONDS = 5.0


class SendGateActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._policies: TtlCache[str, tuple[WorkspaceSendPolicy | None, str | None]] = TtlCache(POLICY_CACHE_SECONDS)

    @activity.defn(name=CHECK_SEND_GATE)
    async def check_send_gate(self, request: SendGateInput) -> SendGateOutput:
        default, workspace_zone = await self._policies.get(
            request.workspace_id, lambda: self._workspace(request.workspace_id)
        )
        policy = effective_policy(default, request.journey_policy)
        capped_channel = any(cap.channel == request.channel for cap in policy.caps)
        if (policy.quiet_hours is not None or capped_channel) and not await self._consented(request):
            return SendGateOutput(decision="allowed", on_capped=policy.on_capped)
        if policy.quiet_hours is not None:
            zone = contact_zone(await self._contact_zone(request), workspace_zone)
            until = quiet_until(request.now, zone, policy.quiet_hours)
            if until is not None:
                quiet = policy.quiet_hours
                return SendGateOutput(
                    decision="quiet",
                    until=until,
                    on_capped=policy.on_capped,
                    reason=f"quiet hours {quiet.start}-{quiet.end} in {zone.key}: held until {until.isoformat()}",
                    detail={"rule": "quiet_hours", "start": quiet.start, "end": quiet.end, "timezone": zone.key},
                )
        if not capped_channel:
            return SendGateOutput(decision="allowed", on_capped=policy.on_capped)
        async with self._sessions() as session:
            hit = await check_and_reserve(
                session,
                workspace_id=request.workspace_id,
                contact_id=request.contact_id,
                channel=request.channel,
                idempotency_key=request.idempotency_key,
                journey_id=request.journey_id,
                caps=policy.caps,
                now=request.now,
            )
            await session.commit()
        if hit is None:
            return SendGateOutput(decision="allowed", on_capped=policy.on_capped)
        detail = {
            "rule": hit.rule, "channel": hit.channel, "limit": hit.limit, "count": hit.count,
            "window": iso_duration(hit.window), "frees_at": hit.frees_at.isoformat(),
        }  # fmt: skip
        return SendGateOutput(
            decision="capped", until=hit.frees_at, on_capped=policy.on_capped, reason=hit.describe(), detail=detail
        )

    async def _workspace(self, workspace_id: str) -> tuple[WorkspaceSendPolicy | None, str | None]:
        async with self._sessions() as session:
            zone = (
                await session.execute(select(col(Workspace.timezone)).where(col(Workspace.id) == workspace_id))
            ).scalar_one_or_none()
            return await workspace_send_policy(session, workspace_id), zone

    async def _consented(self, request: SendGateInput) -> bool:
        async with self._sessions() as session:
            decision = await send_decision(
                session, request.workspace_id, request.contact_id, request.channel, request.topic
            )
            return decision.allowed

    async def _contact_zone(self, request: SendGateInput) -> str | None:
        async with self._sessions() as session:
            result = await session.execute(
                select(col(Contact.timezone)).where(
                    col(Contact.id) == request.contact_id, col(Contact.workspace_id) == request.workspace_id
                )
            )
            return result.scalar_one_or_none()
