"""The MSP's own level in a real headless Chromium (issue #17): from inside a client,
the sidebar's MSP section reaches the team in one click, without the switcher; the
service plans page puts the client on a plan. Screenshots at laptop and phone widths go
to /tmp/shots/. SQLite only: the pages are the same on both databases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tenantry.config import Settings
from tenantry.db.engine import Database
from tests.factories import PASSWORD, make_tenant, make_user
from tests.harness.browser import LAPTOP, PHONE, SHOTS, overflows_sideways, serve, unlabelled_inputs
from tests.harness.world import add_customer

pytestmark = pytest.mark.browser

ADMIN = "alex@northwind.example"


async def _seed(settings: Settings) -> None:
    db = Database(settings)
    try:
        msp = await make_tenant(db, "northwind-it", is_msp=True, display_name="Northwind IT")
        admin = await make_user(db, msp, ADMIN, role="admin", display_name="Alex Admin")
        for name in ("Contoso Ltd", "Fabrikam Inc"):
            await add_customer(db, msp, admin, name)
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve(tmp_path_factory, _seed) as found:
        yield found


def _signed_in(browser: Browser, url: str, viewport: dict[str, int]) -> Page:
    page = browser.new_page(viewport=viewport)  # type: ignore[arg-type]
    page.set_default_timeout(10_000)
    page.goto(url + "/sign-in")
    page.get_by_label("Email").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # An MSP's people land on its dashboard.
    expect(page).to_have_url(f"{url}/msp/dashboard")
    return page


def test_team_is_one_click_from_a_client_and_plans_are_set_there(
    browser: Browser, url: str
) -> None:
    page = _signed_in(browser, url, LAPTOP)
    page.goto(url + "/t/contoso-ltd/tickets")
    expect(page.locator(".context-bar")).to_contain_text("Contoso Ltd")
    msp_nav = page.locator("nav[aria-labelledby=nav-msp]")
    # One click: the home tenant's people, while the tab was in a client.
    msp_nav.get_by_role("link", name="Team", exact=True).click()
    expect(page).to_have_url(f"{url}/t/northwind-it/access")
    expect(page.locator(".context-bar")).to_contain_text("Northwind IT")
    expect(msp_nav.get_by_role("link", name="Team", exact=True)).to_have_attribute(
        "aria-current", "page"
    )

    # Service plans: define one, then put Contoso on it.
    msp_nav.get_by_role("link", name="Service plans").click()
    expect(page).to_have_url(f"{url}/msp/service-plans")
    form = page.locator("form[action='/msp/service-plans']")
    form.get_by_label("Name").fill("Managed Essentials")
    form.get_by_label("Included users").fill("25")
    form.get_by_label("Price per user and month").fill("-1")
    form.get_by_label("Currency").fill("EUR")
    form.get_by_role("button", name="Create plan").click()
    # Bad input: the error sits next to the field, the rest is kept.
    expect(page.locator("#f-price-error")).to_be_visible()
    expect(page.locator("form[action='/msp/service-plans']").get_by_label("Name")).to_have_value(
        "Managed Essentials"
    )
    page.locator("form[action='/msp/service-plans']").get_by_label("Price per user and month").fill(
        "45.00"
    )
    page.get_by_role("button", name="Create plan").click()
    expect(page.locator(".banner-notice")).to_contain_text("Managed Essentials created")
    page.get_by_label("Plan for Contoso Ltd").select_option(label="Managed Essentials")
    page.get_by_role("button", name="Save plan of Contoso Ltd").click()
    expect(page.locator(".banner-notice")).to_contain_text("contoso-ltd is on Managed Essentials")
    assert unlabelled_inputs(page) == []
    page.screenshot(path=str(SHOTS / "laptop-service-plans.png"), full_page=True)

    phone = _signed_in(browser, url, PHONE)
    phone.goto(url + "/msp/service-plans")
    assert not overflows_sideways(phone)
    phone.screenshot(path=str(SHOTS / "phone-service-plans.png"), full_page=True)
