"""The public preference page in a real browser: Debian's chromium (/usr/bin/chromium) driven by Playwright, with
JavaScript disabled, so what is tested is the plain HTML forms a mail client's link opens. The API hands out the
signed link; the contact unticks a topic and saves, then unsubscribes from everything; each change is in the
contact's consent history with the source `preference_center`.

In CI the browser is required (`.ci/run` installs it); elsewhere the test is skipped when it is missing."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI

from store.workspaces import NewWorkspace
from tests.servers import serve_api

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium for this test")
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)

from playwright.async_api import Browser, async_playwright  # noqa: E402


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        # root in a container: chromium's sandbox needs user namespaces it may not have
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            await launched.close()


async def history(api: httpx.AsyncClient, contact_id: str) -> list[dict[str, Any]]:
    response = await api.get(f"/v1/contacts/{contact_id}/consent/history")
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["data"]
    return rows


async def test_a_contact_manages_topics_and_unsubscribes_from_the_page(
    app: FastAPI, workspace: NewWorkspace, browser: Browser
) -> None:
    headers = {"Authorization": f"Bearer {workspace.api_key}"}
    async with serve_api(app) as base_url, httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as api:
        for key, name in (("newsletter", "Monthly newsletter"), ("product", "Product updates")):
            created = await api.post("/v1/consent/topics", json={"key": key, "name": name})
            assert created.status_code == 201, created.text
        contact = await api.post("/v1/contacts", json={"email": "ada@example.test", "first_name": "Ada"})
        assert contact.status_code == 201, contact.text
        contact_id = contact.json()["id"]
        link = await api.post(f"/v1/contacts/{contact_id}/consent/link")
        assert link.status_code == 200, link.text
        signed = urlsplit(link.json()["url"])
        page_url = base_url + signed.path  # the deployment's public URL, served here on a loopback port

        context = await browser.new_context(java_script_enabled=False)
        page = await context.new_page()
        response = await page.goto(page_url)
        assert response is not None
        assert response.status == 200
        assert "ada@example.test" in await page.inner_text("body")
        assert await page.is_checked("#topic-newsletter")  # opt-out workspace: nothing recorded means yes
        assert await page.is_checked("#channel-email")

        await page.uncheck("#topic-newsletter")
        await page.click("#save")
        await page.wait_for_selector("#status")
        assert "saved" in await page.inner_text("#status")
        assert page.url.endswith("?saved=1")  # redirect-after-post: a reload does not post again
        assert not await page.is_checked("#topic-newsletter")
        assert await page.is_checked("#topic-product")

        changes = await history(api, contact_id)
        # the topic is withdrawn on each channel it is sent on, and nothing else changed
        assert {(c["topic"], c["status"], c["source"]) for c in changes} == {
            ("newsletter", "withdrawn", "preference_center")
        }
        assert "email" in {c["channel"] for c in changes}

        await page.click("#unsubscribe")
        await page.wait_for_selector("#status")
        assert "unsubscribed from everything" in await page.inner_text("#status")
        for box in ("#channel-email", "#topic-product"):
            assert not await page.is_checked(box)
        await context.close()

        changes = await history(api, contact_id)
        assert all(c["source"] == "preference_center" for c in changes)
        withdrawn = {(c["channel"], c["topic"]) for c in changes if c["status"] == "withdrawn"}
        assert {("email", None), ("sms", None), ("push", None)} <= withdrawn
        consent = (await api.get(f"/v1/contacts/{contact_id}/consent")).json()
        assert consent["effective"] == {"email": False, "sms": False, "push": False}


async def test_a_forged_or_truncated_link_is_refused_in_the_browser(
    app: FastAPI, workspace: NewWorkspace, browser: Browser
) -> None:
    async with serve_api(app) as base_url:
        page = await (await browser.new_context(java_script_enabled=False)).new_page()
        response = await page.goto(base_url + "/preferences/not-a-token-of-ours")
        assert response is not None
        assert response.status == 400
        assert "not valid" in await page.inner_text("body")
