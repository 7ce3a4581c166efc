"""Names and models of the import activity and workflow (imported by workflows, worker, API and tests)."""

from __future__ import annotations

from pydantic import BaseModel

PROCESS_IMPORT = "imports.process"
IMPORT_WORKFLOW = "ContactImport"


def import_workflow_id(import_id: str) -> str:
    return f"contact-import:{import_id}"


class ImportInput(BaseModel):
    import_id: str
    chunk_rows: int = 20_000
    heartbeat_timeout_seconds: int = 60


class ImportResult(BaseModel):
    import_id: str
    status: str
    rows_done: int
    imported: int
    updated: int
    failed: int
