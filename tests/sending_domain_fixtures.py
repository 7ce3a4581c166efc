"""Fixtures and helpers of the sending-domain tests (a pytest plugin, see tests/conftest.py): a domain row with a
real key, and a DNS server answering for it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.sending_domains.checker import SendingDomainChecker
from activities.sending_domains.resolver import DnsResolver
from domain.clock import utcnow
from domain.ids import new_id
from domain.sending_domains.records import RecordKind, RecordSettings, expected_records
from mauntic.dkim_keys import generate_key_pair
from mauntic.secrets import SecretBox
from store.db import create_async_db_engine, session_factory
from store.models import SendingDomain
from tests.conftest import TEST_SECRET_KEY
from tests.dns_server import DnsTestServer, dns_server

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
def dns() -> Iterator[DnsTestServer]:
    with dns_server() as server:
        yield server


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[Sessions]:
    engine = create_async_db_engine(database_url)
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture(scope="session")
def box() -> SecretBox:
    return SecretBox(TEST_SECRET_KEY)


def checker_for(dns: DnsTestServer, timeout: float = 2.0) -> SendingDomainChecker:
    return SendingDomainChecker(DnsResolver([dns.host], dns.port, timeout))


def unique_domain() -> str:
    return f"d{uuid.uuid4().hex[:10]}.example.test"


async def new_domain_row(sessions: Sessions, workspace_id: str, box: SecretBox, domain: str = "") -> SendingDomain:
    now = utcnow()
    keys = generate_key_pair(box, now)
    domain = domain or unique_domain()
    row = SendingDomain(
        id=new_id("sd"),
        workspace_id=workspace_id,
        domain=domain,
        dkim_selector=keys.selector,
        dkim_private_key=keys.encrypted_private_key,
        dkim_public_key=keys.public_key_b64,
        records=[
            r.model_dump(mode="json")
            for r in expected_records(domain, keys.selector, keys.public_key_b64, RecordSettings())
        ],
        created_at=now,
    )
    async with sessions() as session:
        session.add(row)
        await session.commit()
        await session.refresh(row)
    return row


def record(row: SendingDomain, kind: RecordKind) -> dict[str, Any]:
    return next(r for r in row.records if r["kind"] == kind.value)
