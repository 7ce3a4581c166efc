"""A provider's webhook that reports an uncertain message as delivered, bounced or opened resolves it to `sent`."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select, update
from sqlmodel import col

from domain.delivery.providers import ProviderType
from store.models import MessageLog
from store.workspaces import NewWorkspace
from tests.webhooks.rows import Sessions, create_message_log, create_provider
from tests.webhooks.signing import sendgrid_public_key
from tests.webhooks.test_webhook_api import post_sendgrid, sg


async def uncertain_row(db: Sessions, workspace_id: str, provider: str) -> MessageLog:
    row = await create_message_log(db, workspace_id, None, provider=provider)
    async with db() as session:
        await session.execute(update(MessageLog).where(col(MessageLog.id) == row.id).values(status="uncertain"))
        await session.commit()
    return row


async def status_of(db: Sessions, log_id: str) -> str:
    async with db() as session:
        return str((await session.execute(select(col(MessageLog.status)).where(col(MessageLog.id) == log_id))).one()[0])


@pytest.mark.parametrize("event", ["delivered", "bounce", "open"])
async def test_a_report_on_an_uncertain_message_marks_it_sent(
    client: httpx.AsyncClient, db: Sessions, workspace: NewWorkspace, event: str
) -> None:
    provider = await create_provider(
        db, workspace.workspace.id, ProviderType.SENDGRID, webhook_verification_key=sendgrid_public_key()
    )
    uncertain = await uncertain_row(db, workspace.workspace.id, provider)
    other = await uncertain_row(db, workspace.workspace.id, provider)

    extra = {"type": "bounce", "reason": "550 no such user"} if event == "bounce" else {}
    response = await post_sendgrid(
        client, provider, [sg(event, f"e-{uncertain.id}", message_log_id=uncertain.id, **extra)]
    )

    assert response.status_code == 200, response.text
    assert await status_of(db, uncertain.id) == "sent"
    assert await status_of(db, other.id) == "uncertain", "only the message the event is about"


async def test_a_deferral_does_not_resolve_an_uncertain_message(
    client: httpx.AsyncClient, db: Sessions, workspace: NewWorkspace
) -> None:
    provider = await create_provider(
        db, workspace.workspace.id, ProviderType.SENDGRID, webhook_verification_key=sendgrid_public_key()
    )
    uncertain = await uncertain_row(db, workspace.workspace.id, provider)

    response = await post_sendgrid(client, provider, [sg("deferred", f"d-{uncertain.id}", message_log_id=uncertain.id)])

    assert response.status_code == 200
    assert await status_of(db, uncertain.id) == "uncertain"
