"""Webhook API fixtures: the app with a public URL (Twilio signs it) and a fake SNS fetcher, a session factory."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI

from api.webhooks.service import SNS_FETCHER_KEY
from mauntic.settings import Settings
from store.db import create_async_db_engine, session_factory
from tests.conftest import make_settings
from tests.webhooks.rows import Sessions
from tests.webhooks.signing import SnsSigner, sns_signer

PUBLIC_URL = "https://hooks.example.test"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url, public_url=PUBLIC_URL)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Sessions]:
    engine = create_async_db_engine(database_url)
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture
def sns(app: FastAPI) -> SnsSigner:
    signer = sns_signer()
    app.state.context.extras[SNS_FETCHER_KEY] = signer
    return signer
