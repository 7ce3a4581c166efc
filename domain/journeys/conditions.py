"""Property filters on event properties (and the strict base model of every definition node): what triggers,
wait-for-event steps and scoring rules match events with."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints, field_validator, model_validator

from domain.json_limits import require_storable

FilterOp = Literal["eq", "neq", "gt", "gte", "lt", "lte", "contains", "exists", "in"]

_MISSING = object()


class Strict(BaseModel):
    """Every node refuses text the database cannot store (NUL, lone surrogates) and over-deep JSON."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        return require_storable(value, bounded=False)


def _resolve(properties: dict[str, Any], path: str) -> Any:
    """The value at a dotted path ("plan.tier") in nested dicts, or _MISSING."""
    value: Any = properties
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def is_number(value: object) -> bool:
    # bool is an int subclass, but `true > 0` in a filter is a designer's mistake, not a match.
    return isinstance(value, int | float) and not isinstance(value, bool)


def _same(a: object, b: object) -> bool:
    if is_number(a) and is_number(b):
        return a == b
    return type(a) is type(b) and a == b


def _ordered(actual: object, expected: object, op: str) -> bool:
    comparable = (is_number(actual) and is_number(expected)) or (isinstance(actual, str) and isinstance(expected, str))
    if not comparable:
        return False
    a: Any = actual
    b: Any = expected
    return bool({"gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b}[op])


class PropertyFilter(Strict):
    """One condition on event properties.

    A missing property matches nothing except `exists` with value false. Comparisons across types are simply
    false (never an error): numbers compare with numbers, strings with strings; `neq` is the negation of `eq`.
    """

    property: Annotated[str, StringConstraints(min_length=1)]
    op: FilterOp
    value: Annotated[Any, AfterValidator(require_storable)] = None

    @model_validator(mode="after")
    def _value_fits_op(self) -> PropertyFilter:
        if self.op == "in" and not isinstance(self.value, list):
            raise ValueError("op 'in' needs a list value")
        if self.op == "exists" and not isinstance(self.value, bool | None):
            raise ValueError("op 'exists' takes true, false or no value")
        if self.op in ("gt", "gte", "lt", "lte") and not (is_number(self.value) or isinstance(self.value, str)):
            raise ValueError(f"op '{self.op}' needs a number or string value")
        return self

    def matches(self, properties: dict[str, Any]) -> bool:
        actual = _resolve(properties, self.property)
        if self.op == "exists":
            present = actual is not _MISSING and actual is not None
            return present is (self.value is not False)
        if actual is _MISSING:
            return False
        if self.op == "eq":
            return _same(actual, self.value)
        if self.op == "neq":
            return not _same(actual, self.value)
        if self.op == "in":
            return isinstance(self.value, list) and any(_same(actual, option) for option in self.value)
        if self.op == "contains":
            if isinstance(actual, str):
                return isinstance(self.value, str) and self.value in actual
            return isinstance(actual, list) and any(_same(item, self.value) for item in actual)
        return _ordered(actual, self.value, self.op)


def all_match(filters: list[PropertyFilter], properties: dict[str, Any]) -> bool:
    return all(condition.matches(properties) for condition in filters)
