"""The base of every request body: no field may carry what the database cannot store.

One `field_validator("*")` walks every field's value (strings inside dicts and lists included, e.g. contact
attributes, journey definitions, provider configurations) and refuses NUL and lone surrogates, and JSON nested
deeper than the shared bound, with a 422 `validation_error` whose `loc` names the field. `JsonAttributes` adds
the key-count and string-length bounds for free-form JSON (the same limits ingestion applies to traits).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, field_validator

from domain.json_limits import require_storable


class SafeInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        return require_storable(value, bounded=False)


JsonAttributes = Annotated[dict[str, Any], AfterValidator(require_storable)]
