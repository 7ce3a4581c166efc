"""Response bodies of the ingestion API's inspection routes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from store.models import IngestRejection


class IngestRejectionPublic(BaseModel):
    id: int
    endpoint: str = Field(description="Where it came: `batch`, or `identify`, `track` ... for a single message.")
    batch_index: int | None = Field(description="Its position in the batch (null for a single message).")
    message_id: str | None = Field(description="The message's `messageId`, when it had one.")
    code: str = Field(description="Why it was refused: invalid_message, invalid_email, message_too_large ...")
    reason: str
    raw: str = Field(
        description="The message as received, as JSON text (non-ASCII characters escaped, so a NUL or a lone "
        "surrogate shows as \\\\u0000 or \\\\udcff); cut at 32 KB, see `raw_truncated`."
    )
    raw_truncated: bool
    received_at: datetime

    @classmethod
    def of(cls, row: IngestRejection) -> IngestRejectionPublic:
        return cls.model_validate(row, from_attributes=True)
