"""One DNS check of a sending domain: look every expected record up, follow SPF includes, look up the organizational
domain's DMARC record when the domain has none, evaluate, save.

Shared by the check activity and the API's `verify` endpoint, so both see exactly the same result.
"""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession

from activities.sending_domains.resolver import DnsResolver
from domain.clock import utcnow
from domain.sending_domains.evaluation import DnsAnswer, DnsSnapshot, DomainCheck, evaluate, org_dmarc_host
from domain.sending_domains.records import ExpectedRecord, RecordKind
from domain.sending_domains.spf import spf_names_to_fetch, spf_records
from store.models import SendingDomain
from store.sending_domains import CheckSaved, expected_records_of, save_check

MAX_SPF_NAMES = 30  # included names fetched at most: far past the 10-lookup limit already


class SendingDomainChecker:
    def __init__(self, resolver: DnsResolver) -> None:
        self._resolver = resolver

    async def snapshot(self, domain: str, expected: list[ExpectedRecord]) -> DnsSnapshot:
        answers = await asyncio.gather(*(self._lookup(record) for record in expected))
        by_kind = {record.kind: answer for record, answer in zip(expected, answers, strict=True)}
        includes, org_dmarc = await asyncio.gather(
            self._spf_includes(by_kind.get(RecordKind.SPF)), self._org_dmarc(domain, by_kind.get(RecordKind.DMARC))
        )
        return DnsSnapshot(answers=by_kind, spf_includes=includes, org_dmarc=org_dmarc)

    async def _lookup(self, record: ExpectedRecord) -> DnsAnswer:
        return await (self._resolver.txt(record.host) if record.type == "TXT" else self._resolver.cname(record.host))

    async def _spf_includes(self, answer: DnsAnswer | None) -> dict[str, DnsAnswer]:
        """The TXT answers of every name the domain's SPF record reaches through include/redirect, level by
        level (the lookups behind the RFC 7208 §4.6.4 count)."""
        found = spf_records(answer.values) if answer is not None else []
        if not found:
            return {}
        fetched: dict[str, DnsAnswer] = {}
        while len(fetched) < MAX_SPF_NAMES:
            known = {name: _only_spf(included) for name, included in fetched.items()}
            wanted = spf_names_to_fetch(found[0], known)[: MAX_SPF_NAMES - len(fetched)]
            if not wanted:
                break
            for name, included in zip(wanted, await asyncio.gather(*map(self._resolver.txt, wanted)), strict=True):
                fetched[name] = included
        return fetched

    async def _org_dmarc(self, domain: str, own: DnsAnswer | None) -> DnsAnswer | None:
        """The organizational domain's DMARC answer, asked only when receivers would (see `org_dmarc_host`)."""
        host = org_dmarc_host(domain, own) if own is not None else None
        return await self._resolver.txt(host) if host is not None else None

    async def check(self, domain: str, expected: list[ExpectedRecord], from_domain: str | None = None) -> DomainCheck:
        return evaluate(domain, expected, await self.snapshot(domain, expected), from_domain)

    async def check_and_save(
        self, session: AsyncSession, row: SendingDomain, from_domain: str | None = None
    ) -> tuple[DomainCheck, CheckSaved]:
        """Check `row` and save the result. The session's transaction is ended first, so no database connection
        is held while DNS answers (up to the resolver timeout); the session must not expire rows on commit."""
        await session.commit()
        check = await self.check(row.domain, expected_records_of(row), from_domain)
        return check, await save_check(session, row, check, utcnow())


def _only_spf(answer: DnsAnswer) -> str | None:
    found = spf_records(answer.values) if answer.outcome == "answer" else []
    return found[0] if len(found) == 1 else None
