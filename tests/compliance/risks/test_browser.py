"""The risk register in a real headless Chromium (SQLite): Contoso's own admin adds a
risk through the form, sees it on the heat maps, opens its cell, links the risk to a
requirement and lowers its residual rating. Laid out without sideways scrolling and
with a label on every input at laptop, phone and 400 % zoom widths; screenshots go to
/tmp/shots/."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tenantry.config import Settings
from tenantry.db.engine import Database
from tests.harness.browser import PHONE, ZOOMED, check_layout, serve, shot, sign_in
from tests.harness.world import CAROL, seed_world

from .rows import requirement_through

pytestmark = pytest.mark.browser
RISKS = "/t/contoso-ltd/compliance/risks"


async def _seed(settings: Settings) -> None:
    db = Database(settings)
    try:
        people = await seed_world(db)
        await requirement_through(db, people.customers["contoso-ltd"].id)
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve(tmp_path_factory, _seed) as url:
        yield url


def test_a_client_admin_keeps_the_risk_register(browser: Browser, server: str) -> None:
    page = sign_in(browser, server, CAROL)
    page.goto(server + RISKS)
    expect(page.get_by_role("heading", name="Risk register")).to_be_visible()
    page.get_by_text("Add a risk").click()
    form = page.locator(f'form[method="post"][action="{RISKS}"]')
    form.get_by_label("Title").fill("Phishing steals a mailbox")
    form.get_by_label("Likelihood", exact=True).select_option("4")
    form.get_by_label("Impact", exact=True).select_option("5")
    form.get_by_label("Treatment", exact=True).select_option("mitigate")
    form.get_by_label("Next review").fill("2020-01-31")
    form.get_by_role("button", name="Add risk").click()
    expect(page.get_by_role("heading", name="Phishing steals a mailbox")).to_be_visible()
    expect(page.locator(".banner-notice")).to_contain_text("added")

    page.get_by_label("Link to").select_option(label="MSP-01 MFA")
    page.get_by_role("button", name="Link", exact=True).click()
    expect(page.locator("#links")).to_contain_text("MSP-01")
    page.get_by_label("Residual likelihood").select_option("2")
    page.get_by_label("Residual impact").select_option("2")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".page-head")).to_contain_text("low · 4")
    check_layout(page)
    shot(page, "risk-page-laptop")

    page.goto(server + RISKS)
    expect(page.get_by_role("heading", name="Reviews overdue")).to_be_visible()
    cell = page.get_by_role("link", name=re.compile(r"^Likelihood 4, impact 5 .*1 open risk$"))
    check_layout(page)
    shot(page, "risks-laptop")
    cell.click()
    expect(page).to_have_url(re.compile(r"likelihood=4&impact=5"))
    expect(page.locator("table.dense")).to_contain_text("Phishing steals a mailbox")

    for name, viewport in (("phone", PHONE), ("zoomed", ZOOMED)):
        small = sign_in(browser, server, CAROL, viewport)
        small.goto(server + RISKS)
        check_layout(small)
        shot(small, f"risks-{name}")
        small.close()
