"""The compliance overview in a real headless Chromium at laptop and phone widths: rows
with their sparklines, the filters (labelled, kept in the URL), no sideways scrolling,
nothing refused by the CSP. Screenshots go to /tmp/shots/."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tenantry.config import Settings
from tenantry.db.engine import Database
from tests.browser.test_switch_and_create import ADMIN, Server, signed_in_page
from tests.compliance.overview.seed import adopt
from tests.factories import make_tenant, make_user
from tests.harness.browser import LAPTOP, PHONE, SHOTS, overflows_sideways, serve, unlabelled_inputs
from tests.harness.world import add_customer

pytestmark = pytest.mark.browser

PROGRAMMES = {
    "Contoso Ltd": [("msp-baseline", 4250, [1500, 2500, 3000, 4250])],
    "Fabrikam Inc": [("msp-baseline", 8800, [7000, 8800]), ("nist-csf", 3100, [3100])],
    "Tailspin Toys": [("msp-baseline", None, [])],
    "Umbrella Corp": [],
}


async def _seed(settings: Settings) -> None:
    db = Database(settings)
    try:
        msp = await make_tenant(db, "northwind-it", is_msp=True, display_name="Northwind IT")
        admin = await make_user(db, msp, ADMIN, role="admin", display_name="Alex Admin")
        for name, programmes in PROGRAMMES.items():
            customer = await add_customer(db, msp, admin, name)
            for key, score, recent in programmes:
                await adopt(db, customer, key, score, recent=recent, due=[(-3, "partial")])
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serve(tmp_path_factory, _seed) as url:
        yield Server(url)


def test_the_overview_at_laptop_and_phone_widths(browser: Browser, server: Server) -> None:
    page = signed_in_page(browser, server, LAPTOP)
    page.get_by_role("link", name="Compliance overview", exact=True).click()
    expect(page).to_have_url(f"{server.url}/msp/compliance")
    expect(page.locator("main h1")).to_have_text("Compliance overview")
    expect(page.locator("svg.cov-spark").first).to_be_visible()
    assert unlabelled_inputs(page) == []
    page.screenshot(path=str(SHOTS / "compliance-overview-laptop.png"), full_page=True)
    page.get_by_label("Score below (%)").fill("50")
    page.get_by_label("Sort").select_option("name")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(
        f"{server.url}/msp/compliance?framework=&client_group=&score_below=50&sort=name"
    )
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Contoso Ltd")
    page.get_by_role("link", name="1 not started").click()
    expect(page.get_by_role("heading", name="Not started (1)")).to_be_visible()
    assert not page.errors  # type: ignore[attr-defined]

    phone = signed_in_page(browser, server, PHONE)
    phone.goto(server.url + "/msp/compliance")
    assert not overflows_sideways(phone)
    phone.screenshot(path=str(SHOTS / "compliance-overview-phone.png"), full_page=True)
    assert not phone.errors  # type: ignore[attr-defined]
