"""Sending one message on a channel through the workspace's fallback chain (`deadline`: see chain.deliver_through).

The chain's rows are read per workspace and channel and kept for a few seconds, so a burst of sends costs one
query, and an edit through the API reaches every worker within `CHAIN_CACHE_SECONDS`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.delivery.breaker import CircuitBreaker
from activities.delivery.chain import ChainLink, ChainResult, deliver_through
from activities.delivery.registry import ProviderRegistry
from domain.delivery.outbound import OutboundEmail, OutboundPush, OutboundSms
from domain.delivery.providers import Channel
from mauntic.ttl_cache import TtlCache
from store.models import DeliveryProvider
from store.providers import provider_chain

CHAIN_CACHE_SECONDS = 5.0
OnAttempt = Callable[[ChainLink[Any]], Awaitable[None]]


class Delivery:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], registry: ProviderRegistry, breaker: CircuitBreaker
    ) -> None:
        self._sessions = sessions
        self._registry = registry
        self._breaker = breaker
        self._rows: TtlCache[tuple[str, Channel], list[DeliveryProvider]] = TtlCache(CHAIN_CACHE_SECONDS)

    async def send_email(
        self,
        workspace_id: str,
        message: OutboundEmail,
        deadline: float | None = None,
        on_attempt: OnAttempt | None = None,
    ) -> ChainResult:
        """`on_attempt` runs right before each provider's send call (chain.deliver_through)."""
        links = self._registry.email_chain(await self._chain_rows(workspace_id, Channel.EMAIL))
        return await deliver_through(
            links, lambda provider: provider.send_email(message), self._breaker, deadline, on_attempt
        )

    async def send_sms(
        self,
        workspace_id: str,
        message: OutboundSms,
        deadline: float | None = None,
        on_attempt: OnAttempt | None = None,
    ) -> ChainResult:
        links = self._registry.sms_chain(await self._chain_rows(workspace_id, Channel.SMS))
        return await deliver_through(
            links, lambda provider: provider.send_sms(message), self._breaker, deadline, on_attempt
        )

    async def send_push(
        self,
        workspace_id: str,
        message: OutboundPush,
        deadline: float | None = None,
        on_attempt: OnAttempt | None = None,
    ) -> ChainResult:
        links = self._registry.push_chain(await self._chain_rows(workspace_id, Channel.PUSH))
        return await deliver_through(
            links, lambda provider: provider.send_push(message), self._breaker, deadline, on_attempt
        )

    async def _chain_rows(self, workspace_id: str, channel: Channel) -> list[DeliveryProvider]:
        return await self._rows.get((workspace_id, channel), lambda: self._load_chain(workspace_id, channel))

    async def _load_chain(self, workspace_id: str, channel: Channel) -> list[DeliveryProvider]:
        async with self._sessions() as session:
            return await provider_chain(session, workspace_id, channel.value)
