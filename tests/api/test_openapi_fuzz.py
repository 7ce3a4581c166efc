"""schemathesis against the app's whole OpenAPI: every operation, a bounded number of derandomized examples
(valid and invalid), authenticated with an admin key, on every test database (PostgreSQL when
MAUNTIC_TEST_DATABASE_URL is set). Each response must not be a 5xx, must use a documented status code and
must match its documented schema.

Cases are drawn with Hypothesis first and then sent through the test's own httpx client on the test's event
loop (the app's database engine and Temporal client live there), so there is no shrinking: a failure is
reported with the case's curl command.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

MAX_EXAMPLES = 20  # per operation and mode; measured below
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


def draw_cases(strategy: st.SearchStrategy[Any], count: int) -> list[Any]:
    cases: list[Any] = []

    @given(strategy)
    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def collect(case: Any) -> None:
        cases.append(case)

    try:
        collect()
    except Unsatisfiable:  # e.g. no invalid input exists for an operation without parameters or body
        return []
    return cases


@pytest.mark.timeout(600)
async def test_every_operation_conforms(app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    schema = schemathesis.openapi.from_dict(app.openapi())
    failures: dict[str, str] = {}  # one reproduction per distinct (operation, status, check)
    sent = 0
    started = time.monotonic()
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # an operation schemathesis cannot read is a defect of our OpenAPI
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for case in draw_cases(operation.as_strategy(generation_mode=mode), MAX_EXAMPLES):
                kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=admin_headers)
                response = await client.request(
                    kwargs["method"],
                    kwargs["url"],
                    headers=kwargs.get("headers"),
                    params=kwargs.get("params"),
                    content=_content(kwargs),
                )
                sent += 1
                try:
                    case.validate_response(response, checks=CHECKS, headers=admin_headers)
                except FailureGroup as exc:
                    titles = ", ".join(sorted({failure.title for failure in exc.exceptions}))
                    key = f"{operation.label} -> {response.status_code}: {titles}"
                    failures.setdefault(key, f"{key}\n{exc}"[:1500])
    elapsed = time.monotonic() - started
    print(f"schemathesis: {sent} requests in {elapsed:.1f}s, {len(failures)} failures")  # noqa: T201
    assert not failures, "\n".join(failures) + "\n\n" + "\n\n".join(failures.values())


def _content(kwargs: dict[str, Any]) -> bytes | None:
    if "json" in kwargs:
        return json.dumps(kwargs["json"]).encode()
    data = kwargs.get("data")
    if isinstance(data, str):
        return data.encode()
    assert data is None or isinstance(data, bytes), data
    return data
