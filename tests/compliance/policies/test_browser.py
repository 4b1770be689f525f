"""Policies in a real headless Chromium: Carol (Contoso's admin) writes a policy with a
hostile line in it, approves and publishes it and acknowledges it; the pages reflow on a
phone, every input has a label, and no script ran from the text. Screenshots go to
/tmp/shots/. SQLite only: the same pages run on both databases in test_pages.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tenantry.config import Settings
from tenantry.db.engine import Database
from tests.harness.browser import PHONE, check_layout, serve, shot, sign_in
from tests.harness.browser import browser as browser
from tests.harness.world import CAROL, seed_world

pytestmark = pytest.mark.browser


async def _seed(settings: Settings) -> None:
    db = Database(settings)
    try:
        await seed_world(db)
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve(tmp_path_factory, _seed) as url:
        yield url


def test_carol_writes_approves_publishes_and_acknowledges_a_policy(
    browser: Browser, server: str
) -> None:
    page = sign_in(browser, server, CAROL)
    page.goto(f"{server}/t/contoso-ltd/compliance/policies")
    check_layout(page)
    page.get_by_text("New policy").click()
    page.get_by_label("Title").fill("Backups")
    page.get_by_role("button", name="Create draft").click()
    expect(page.locator("main h1")).to_have_text("Edit Backups")
    page.get_by_label("Text (Markdown)").fill(
        "# Backups\n\n- Test a restore every month\n\n<script>window.pwned = 1</script>\n\n"
        "[run](javascript:window.pwned=2)"
    )
    page.get_by_role("button", name="Save").click()
    page.get_by_role("button", name="Approve version 1").click()
    page.get_by_role("button", name="Publish version 1").click()
    page.get_by_role("button", name="I have read and accept version 1").click()
    expect(page.get_by_text("You acknowledged version 1.")).to_be_visible()
    assert page.evaluate("window.pwned") is None
    assert page.locator(".pol-body script, .pol-body a[href^='javascript']").count() == 0
    check_layout(page)
    shot(page, "policy-laptop")
    phone = sign_in(browser, server, CAROL, PHONE)
    phone.goto(page.url)
    check_layout(phone)
    shot(phone, "policy-phone")
