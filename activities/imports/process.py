"""The import activity: runs store/import_chunks.py on a worker thread (CPU and synchronous database work) and
heartbeats after every chunk with the counts so far. The checkpoint lives in the database, committed with each
chunk's writes, so an attempt retried after a killed worker resumes from the last committed chunk."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import Engine
from temporalio import activity

from activities.imports.contracts import PROCESS_IMPORT, ImportInput, ImportResult
from store.db import create_sync_db_engine
from store.import_chunks import ImportRun, Progress


class ImportActivities:
    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._engine: Engine | None = None

    def all(self) -> list[Any]:
        return [self.process]

    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = create_sync_db_engine(self._url)
        return self._engine

    @activity.defn(name=PROCESS_IMPORT)
    async def process(self, request: ImportInput) -> ImportResult:
        loop = asyncio.get_running_loop()

        def beat(progress: Progress) -> None:
            loop.call_soon_threadsafe(activity.heartbeat, progress.__dict__)

        run = ImportRun(self.engine(), request.import_id, request.chunk_rows)
        progress = await asyncio.to_thread(run.run, beat)
        return ImportResult(import_id=request.import_id, **progress.__dict__)
