"""The field policy of the request in flight, and the checks every contact read and write goes through.

The API-key dependency (api/deps.py) binds the key's role's policy here once per request; the contact
serializers (api/schemas/contacts.py), the journey state and explain views and the message log read it, so no
route chooses whether to apply it. Outside a request (a test building a ContactPublic, a worker) it is
unrestricted; webhook payloads are read under the endpoint's recorded role explicitly (dispatch/webhooks.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from typing import Any

from api.errors import Forbidden
from domain.access.fields import UNRESTRICTED, FieldMode, FieldPolicy, apply_read, check_write, readable

current_field_policy: ContextVar[FieldPolicy] = ContextVar("current_field_policy", default=UNRESTRICTED)


def request_policy() -> FieldPolicy:
    return current_field_policy.get()


def contact_view(contact: Mapping[str, Any]) -> dict[str, Any]:
    """The contact representation as the request's role may read it."""
    return apply_read(current_field_policy.get(), contact)


def refuse_restricted_writes(changes: Iterable[str]) -> None:
    """403 `field_read_only` naming the first field the role may not change; called before anything is written."""
    violations = check_write(current_field_policy.get(), changes)
    if violations:
        first = violations[0]
        raise Forbidden(
            f"the key's role may not change `{first.field}` (it is {first.mode.value})",
            code="field_read_only",
            details={"field": first.field, "fields": [v.field for v in violations]},
        )


def refuse_hidden_fields(names: Iterable[str], use: str) -> None:
    """403 `field_hidden` naming the first of `names` the role cannot see: a lookup or a filter by it (a segment,
    its preview count) would tell whether and where a value exists."""
    policy = current_field_policy.get()
    for name in names:
        if not readable(policy, name):
            raise Forbidden(
                f"the key's role cannot see `{name}`, so cannot {use}",
                code="field_hidden",
                details={"field": name, "mode": FieldMode.HIDDEN.value},
            )


def refuse_hidden_lookup(name: str) -> None:
    refuse_hidden_fields([name], "look contacts up by it")
