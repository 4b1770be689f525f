"""The MSP dashboard in a real headless Chromium (SQLite): the MSP admin lands on it after
signing in and sees every client with its figures linking to the pages behind them; a
delegated technician sees only the client delegated to them; a client's own admin gets
404. Screenshots at laptop and phone widths go to /tmp/shots/."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tenantry.config import Settings
from tenantry.db.engine import Database
from tests.browser.test_switch_and_create import Server
from tests.factories import PASSWORD, make_tenant, make_user
from tests.harness.browser import LAPTOP, PHONE, SHOTS, serve
from tests.harness.world import add_customer, delegate

pytestmark = pytest.mark.browser

ADMIN = "alex@northwind.example"
TECH = "tina@northwind.example"
CLIENT_ADMIN = "carol@contoso.example"


async def _seed(settings: Settings) -> None:
    db = Database(settings)
    try:
        msp = await make_tenant(db, "northwind-it", is_msp=True, display_name="Northwind IT")
        admin = await make_user(db, msp, ADMIN, role="admin", display_name="Alex Admin")
        tech = await make_user(db, msp, TECH, role="technician", display_name="Tina Tech")
        contoso = await add_customer(db, msp, admin, "Contoso Ltd")
        await add_customer(db, msp, admin, "Fabrikam Inc")
        await delegate(db, msp, tech, contoso, "technician")
        await make_user(db, contoso, CLIENT_ADMIN, role="admin", display_name="Carol Client")
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serve(tmp_path_factory, _seed) as url:
        yield Server(url)


def _sign_in(browser: Browser, server: Server, email: str, viewport: dict[str, int]) -> Page:
    page = browser.new_page(viewport=viewport)  # type: ignore[arg-type]
    page.set_default_timeout(10_000)
    page.goto(server.url + "/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    return page


def test_the_admin_lands_on_the_dashboard_and_a_technician_sees_their_clients(
    browser: Browser, server: Server
) -> None:
    alex = _sign_in(browser, server, ADMIN, LAPTOP)
    expect(alex).to_have_url(re.compile(r"/msp/dashboard$"))
    expect(alex.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()
    rows = alex.locator("#dash-clients tbody tr")
    expect(rows).to_have_count(2)
    expect(alex.get_by_role("link", name="Contoso Ltd")).to_be_visible()
    expect(alex.get_by_role("link", name="Fabrikam Inc")).to_be_visible()
    # The sidebar names it first among the MSP's pages.
    expect(alex.locator("#sidebar").get_by_role("link", name="Dashboard")).to_be_visible()
    alex.screenshot(path=str(SHOTS / "dashboard-admin-laptop.png"), full_page=True)
    # Search keeps to the query string.
    alex.get_by_label("Search clients").fill("fabr")
    alex.get_by_role("button", name="Filter").click()
    expect(alex).to_have_url(re.compile(r"q=fabr"))
    expect(rows).to_have_count(1)
    # A figure leads to the page behind it.
    alex.locator('tr[data-client="fabrikam-inc"] a[href$="/tickets"]').first.click()
    expect(alex).to_have_url(re.compile(r"/t/fabrikam-inc/tickets$"))
    alex.close()

    phone = _sign_in(browser, server, ADMIN, PHONE)
    expect(phone).to_have_url(re.compile(r"/msp/dashboard$"))
    phone.screenshot(path=str(SHOTS / "dashboard-admin-phone.png"), full_page=True)
    phone.close()

    tina = _sign_in(browser, server, TECH, LAPTOP)
    expect(tina).to_have_url(re.compile(r"/msp/dashboard$"))
    expect(tina.locator("#dash-clients tbody tr")).to_have_count(1)
    expect(tina.get_by_role("link", name="Contoso Ltd")).to_be_visible()
    expect(tina.get_by_text("Fabrikam Inc")).to_have_count(0)
    tina.screenshot(path=str(SHOTS / "dashboard-technician-laptop.png"), full_page=True)
    tina.close()

    carol = _sign_in(browser, server, CLIENT_ADMIN, LAPTOP)
    expect(carol).to_have_url(re.compile(r"/t/contoso-ltd/$"))
    answer = carol.goto(server.url + "/msp/dashboard")
    assert answer is not None and answer.status == 404
    carol.close()
