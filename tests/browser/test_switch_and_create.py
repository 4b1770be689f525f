"""The web UI in a real headless Chromium against a real server: sign in as the MSP
admin, switch tenant with the keyboard, create a customer, see it listed; screenshots at
laptop and phone widths go to /tmp/shots/ for people to look at.

SQLite only: the pages are the same on both databases (tests/web covers PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Page, expect

from tenantry.config import Settings
from tenantry.db.engine import Database
from tests.factories import PASSWORD, make_tenant, make_user
from tests.harness.browser import (
    LAPTOP,
    PHONE,
    SHOTS,
    ZOOMED,
    overflows_sideways,
    serve,
    unlabelled_inputs,
)
from tests.harness.world import add_customer

pytestmark = pytest.mark.browser

ADMIN = "alex@northwind.example"


@dataclass(frozen=True)
class Server:
    url: str


async def _seed(settings: Settings) -> None:
    db = Database(settings)
    try:
        msp = await make_tenant(db, "northwind-it", is_msp=True, display_name="Northwind IT")
        admin = await make_user(db, msp, ADMIN, role="admin", display_name="Alex Admin")
        for name in ("Contoso Ltd", "Fabrikam Inc", "Tailspin Toys"):
            await add_customer(db, msp, admin, name)
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serve(tmp_path_factory, _seed) as url:
        yield Server(url)


def signed_in_page(browser: Browser, server: Server, viewport: dict[str, int]) -> Page:
    page = browser.new_page(viewport=viewport)  # type: ignore[arg-type]
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # A script or handler the Content-Security-Policy refused is reported here only.
    page.on(
        "console",
        lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    page.goto(server.url + "/")
    expect(page).to_have_url(f"{server.url}/sign-in?next=/")
    page.get_by_label("Email").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # The MSP's people land on its dashboard (issue #17); these tests start at home.
    expect(page).to_have_url(f"{server.url}/msp/dashboard")
    page.goto(server.url + "/t/northwind-it/")
    page.errors = errors  # type: ignore[attr-defined]
    return page




def test_switch_tenant_with_the_keyboard_and_create_a_customer(
    browser: Browser, server: Server
) -> None:
    page = signed_in_page(browser, server, LAPTOP)
    header = page.locator(".context-bar")
    expect(header).to_contain_text("MSP (home)")
    expect(header).to_contain_text("Northwind IT")
    expect(page.locator(".card .figure")).to_have_text("3")
    page.screenshot(path=str(SHOTS / "laptop-1-msp-overview.png"), full_page=True)

    # Ctrl-K opens the switcher with the search box focused; home first, then clients.
    page.keyboard.press("Control+k")
    search = page.locator("#switcher-q")
    expect(search).to_be_focused()
    options = page.locator("#switcher-list [role=option]")
    expect(options).to_have_count(4)
    expect(options.first).to_contain_text("Northwind IT")
    expect(options.first).to_have_attribute("aria-selected", "true")
    page.keyboard.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    expect(options.first).to_have_attribute("aria-selected", "false")
    page.screenshot(path=str(SHOTS / "laptop-2-switcher-open.png"))
    page.keyboard.press("Escape")
    expect(page.locator("#switcher-panel")).to_be_hidden()
    expect(page.locator("[data-switcher-open]")).to_be_focused()

    # Without the shortcut: the focused switcher opens with Enter, like any button.
    page.keyboard.press("Enter")
    expect(search).to_be_focused()
    page.keyboard.press("Escape")

    # Type-ahead is searched on the server; Enter goes.
    page.keyboard.press("Control+k")
    search.type("fabri")
    expect(options).to_have_count(1)
    expect(options.first).to_contain_text("Fabrikam Inc")
    # One request: the recorded switch is a POST with the CSRF token, then the page.
    with page.expect_request(lambda r: r.url.endswith("/t/fabrikam-inc/switch")) as switch:
        page.keyboard.press("Enter")
    assert switch.value.method == "POST"
    assert "csrf_token=" in (switch.value.post_data or "")
    expect(page).to_have_url(f"{server.url}/t/fabrikam-inc/")
    expect(header).to_contain_text("Client")
    expect(header).to_contain_text("Fabrikam Inc")
    expect(page.locator("h1")).to_have_text("Overview")
    page.screenshot(path=str(SHOTS / "laptop-3-client-overview.png"), full_page=True)

    # Back to the MSP's customers page (from the client: MSP links are always there).
    page.get_by_role("link", name="Customers", exact=True).click()
    expect(page).to_have_url(f"{server.url}/msp/customers")
    expect(page.locator("tbody tr")).to_have_count(3)
    assert unlabelled_inputs(page) == []
    page.get_by_label("Name", exact=True).fill("Woodgrove Bank")
    expect(page.locator("#f-name-hint")).to_have_text("The slug is made from it: woodgrove-bank.")
    page.screenshot(path=str(SHOTS / "laptop-4-customers-create.png"), full_page=True)
    page.get_by_role("button", name="Create customer").click()
    expect(page.locator(".banner-notice")).to_have_text(
        "Customer Woodgrove Bank created with the slug woodgrove-bank."
    )
    row = page.locator("tbody tr", has_text="Woodgrove Bank")
    expect(row).to_contain_text("woodgrove-bank")
    expect(row).to_contain_text("active")
    page.goto(server.url + "/msp/customers")
    expect(page.locator("tbody tr")).to_have_count(4)
    page.screenshot(path=str(SHOTS / "laptop-5-customers-listed.png"), full_page=True)

    # A validation error sits next to its field, with the input kept.
    page.get_by_label("Name", exact=True).fill("Contoso Ltd")
    page.get_by_label("Display name").fill("Contoso Again")
    page.get_by_role("button", name="Create customer").click()
    expect(page.locator("#f-name-error")).to_contain_text("contoso-ltd, which is already taken")
    expect(page.get_by_label("Display name")).to_have_value("Contoso Again")
    page.screenshot(path=str(SHOTS / "laptop-6-create-error.png"), full_page=True)

    # The new customer is in the switcher at once.
    page.keyboard.press("Control+k")
    search.type("woodgrove")
    expect(options).to_have_count(1)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{server.url}/t/woodgrove-bank/")
    assert page.errors == []  # type: ignore[attr-defined]
    page.close()


def test_phone_and_zoomed_layouts(browser: Browser, server: Server) -> None:
    page = signed_in_page(browser, server, PHONE)
    sidebar = page.locator("#sidebar")
    expect(sidebar).to_be_hidden()
    expect(page.locator(".topbar")).to_contain_text("Northwind IT")
    assert not overflows_sideways(page)
    page.screenshot(path=str(SHOTS / "phone-1-overview.png"), full_page=True)

    menu = page.get_by_role("button", name="Menu")
    menu.click()
    expect(sidebar).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "true")
    page.screenshot(path=str(SHOTS / "phone-2-menu-open.png"), full_page=True)
    menu.click()

    # The shortcut also works here (a keyboard on a tablet): it opens the menu first.
    page.keyboard.press("Control+k")
    expect(page.locator("#switcher-q")).to_be_focused()
    expect(page.locator("#switcher-list [role=option]").first).to_contain_text("Northwind IT")
    page.screenshot(path=str(SHOTS / "phone-3-switcher.png"))
    page.locator("#switcher-list [role=option]", has_text="Contoso Ltd").click()
    expect(page).to_have_url(f"{server.url}/t/contoso-ltd/")
    expect(page.locator(".topbar")).to_contain_text("Client")

    page.goto(server.url + "/msp/customers")
    assert not overflows_sideways(page)
    page.screenshot(path=str(SHOTS / "phone-4-customers.png"), full_page=True)
    page.goto(server.url + "/msp/customers/contoso-ltd")
    assert not overflows_sideways(page)
    page.screenshot(path=str(SHOTS / "phone-5-manage-customer.png"), full_page=True)
    # Opening a customer from its page is the same recorded switch, as a form.
    page.get_by_role("button", name="Open Contoso Ltd").click()
    expect(page).to_have_url(f"{server.url}/t/contoso-ltd/")

    page.set_viewport_size(ZOOMED)
    for name, path in (
        ("overview", "/t/northwind-it/"),
        ("customers", "/msp/customers"),
        ("manage-customer", "/msp/customers/contoso-ltd"),
        ("tenants", "/tenants"),
    ):
        page.goto(server.url + path)
        assert not overflows_sideways(page), path
        page.screenshot(path=str(SHOTS / f"zoom400-{name}.png"), full_page=True)
    assert page.errors == []  # type: ignore[attr-defined]
    page.close()
