"""Alembic environment: runs on the connection handed in by store.migrate, or opens one from the URL."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import store.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from store.db import create_sync_db_engine

config = context.config
target_metadata = SQLModel.metadata


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = create_sync_db_engine(config.attributes["database_url"])
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()
