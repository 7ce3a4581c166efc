"""The README's journey, exactly as printed there, is accepted by the API and publishes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx

README = Path(__file__).resolve().parents[2] / "README.md"


def _printed_journey() -> dict[str, object]:
    match = re.search(r"<<'JSON'\n(.*?)\nJSON\n", README.read_text(), re.S)
    assert match, "the README no longer shows the journey body"
    body: dict[str, object] = json.loads(match.group(1))
    return body


async def test_the_readme_journey_posts_and_publishes_as_printed(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    created = await client.post("/v1/journeys", headers=admin_headers, json=_printed_journey())
    assert created.status_code == 201, created.text
    published = await client.post(f"/v1/journeys/{created.json()['id']}/publish", headers=admin_headers)
    assert published.status_code == 200, published.text
    assert published.json()["status"] == "published"


def test_the_readme_step_table_names_every_step_type() -> None:
    from domain.journeys.definition import STEP_TYPES

    text = README.read_text()
    for step_type in STEP_TYPES:
        assert f"| `{step_type}` |" in text, step_type
