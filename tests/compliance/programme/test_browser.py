"""The programme in a real headless Chromium (SQLite): the MSP admin adopts the baseline
for a client, marks a requirement implemented inline and sees the score and its trend;
every page passes the layout checks at laptop and phone widths (screenshots in
/tmp/shots/compliance-*)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tenantry.config import Settings
from tenantry.db.engine import Database
from tests.factories import make_tenant, make_user
from tests.harness.browser import PHONE, check_layout, serve, shot, sign_in
from tests.harness.world import add_customer

pytestmark = pytest.mark.browser

ADMIN = "alex@northwind.example"
HOME = "/t/contoso-ltd/compliance"


async def _seed(settings: Settings) -> None:
    db = Database(settings)
    try:
        msp = await make_tenant(db, "northwind-it", is_msp=True, display_name="Northwind IT")
        admin = await make_user(db, msp, ADMIN, role="admin", display_name="Alex Admin")
        await add_customer(db, msp, admin, "Contoso Ltd")
        await add_customer(db, msp, admin, "Fabrikam Inc")
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve(tmp_path_factory, _seed) as url:
        yield url


def test_adopt_assess_and_see_the_score(browser: Browser, server: str) -> None:
    page = sign_in(browser, server, ADMIN)
    page.goto(server + HOME)
    expect(page.get_by_role("heading", name="No framework adopted yet")).to_be_visible()
    page.get_by_label("Framework", exact=True).select_option("msp-baseline@1")
    page.get_by_role("button", name="Adopt").click()
    expect(page.locator("main h1")).to_contain_text("baseline", ignore_case=True)
    first = page.locator("form.inline-assess").first
    first.locator("select").select_option("implemented")
    first.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Assessment saved.")).to_be_visible()
    expect(page.locator("td.eff-implemented").first).to_be_visible()
    check_layout(page)
    shot(page, "compliance-framework-laptop")
    page.goto(server + HOME)
    expect(page.locator("svg.sparkline")).to_have_count(1)
    check_layout(page)
    shot(page, "compliance-home-laptop")
    page.goto(server + "/msp/compliance/apply")
    page.get_by_label("Framework", exact=True).fill("msp-baseline@1")
    page.get_by_label("All clients").check()
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("Already adopted")).to_be_visible()
    check_layout(page)
    shot(page, "compliance-apply-laptop")

    phone = sign_in(browser, server, ADMIN, PHONE)
    for path, name in (
        (HOME, "home"),
        (HOME + "/report", "report"),
        (HOME + "/measures", "measures"),
    ):
        phone.goto(server + path)
        check_layout(phone)
        shot(phone, f"compliance-{name}-phone")
    phone.goto(server + HOME)
    phone.get_by_role("link", name="MSP security baseline", exact=False).first.click()
    check_layout(phone)
    shot(phone, "compliance-framework-phone")
