"""The PSA flow in a real headless Chromium (SQLite): a technician opens a ticket for a
client in the tickets UI and logs time on it, a second user approves the time, the MSP
admin creates and issues the invoice, and the MSP-wide ticket view lists the ticket
under its client. Screenshots at laptop and phone widths go to /tmp/shots/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

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
BOSS = "bea@northwind.example"
TECH = "tina@northwind.example"
CLIENT = "/t/contoso-ltd"


async def _seed(settings: Settings) -> None:
    db = Database(settings)
    try:
        msp = await make_tenant(db, "northwind-it", is_msp=True, display_name="Northwind IT")
        admin = await make_user(db, msp, ADMIN, role="admin", display_name="Alex Admin")
        await make_user(db, msp, BOSS, role="admin", display_name="Bea Boss")
        tech = await make_user(db, msp, TECH, role="technician", display_name="Tina Tech")
        contoso = await add_customer(db, msp, admin, "Contoso Ltd")
        await add_customer(db, msp, admin, "Fabrikam Inc")
        await delegate(db, msp, tech, contoso, "technician")
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serve(tmp_path_factory, _seed) as url:
        yield Server(url)


def sign_in(browser: Browser, server: Server, email: str, viewport: dict[str, int]) -> Page:
    page = browser.new_page(viewport=viewport)  # type: ignore[arg-type]
    page.set_default_timeout(10_000)
    page.goto(server.url + "/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # The MSP's people land on its dashboard (issue #17); these tests start at home.
    expect(page).to_have_url(re.compile(r"/msp/dashboard$"))
    page.goto(server.url + "/t/northwind-it/")
    return page


def test_ticket_time_approval_invoice(browser: Browser, server: Server) -> None:
    # The admin sets a rate for the client (work types are billing data).
    alex = sign_in(browser, server, ADMIN, LAPTOP)
    alex.goto(f"{server.url}{CLIENT}/time")
    wt = alex.locator("#work-types")
    wt.get_by_label("Name").fill("Remote support")
    wt.get_by_label("Hourly rate").fill("95.00")
    wt.get_by_label("Currency").fill("EUR")
    wt.get_by_role("button", name="Add work type").click()
    expect(alex.get_by_role("status")).to_contain_text("Work type Remote support added")

    # The technician opens a ticket for the client in the tickets UI …
    tina = sign_in(browser, server, TECH, LAPTOP)
    tina.goto(f"{server.url}{CLIENT}/tickets")
    tina.locator("summary", has_text="New ticket").click()
    tina.get_by_label("Title").fill("Outlook keeps asking for the password")
    tina.get_by_role("button", name="Create ticket").click()
    expect(tina).to_have_url(re.compile(rf"{CLIENT}/tickets/\d+$"))
    number = tina.url.rsplit("/", 1)[1]

    # … logs time on it, with a mistake first (the error sits by its field, input kept).
    tina.goto(f"{server.url}{CLIENT}/time")
    form = tina.locator("form", has=tina.get_by_role("button", name="Log time"))
    form.get_by_label("Date").fill(date.today().isoformat())
    form.get_by_label("Duration").fill("ninety")
    form.get_by_label("Work type").select_option(label="Remote support (95.00 EUR/h)")
    form.get_by_label("Ticket number").fill(number)
    form.get_by_label("Notes").fill("Rebuilt the mail profile")
    form.get_by_role("button", name="Log time").click()
    expect(tina.locator("#f-duration-error")).to_contain_text("is not a duration")
    expect(tina.get_by_label("Notes")).to_have_value("Rebuilt the mail profile")
    tina.get_by_label("Duration").fill("1:30")
    tina.get_by_role("button", name="Log time").click()
    expect(tina.get_by_role("status")).to_contain_text("Logged 1:30")
    row = tina.locator("tbody tr", has_text="Tina Tech")
    expect(row).to_contain_text(f"#{number}")
    row.get_by_role("button", name="Submit").click()
    expect(tina.get_by_role("status")).to_contain_text("Submitted for approval")
    # Tina cannot approve (no time:approve): no Approve button for her.
    expect(tina.get_by_role("button", name=re.compile("^Approve"))).to_have_count(0)
    tina.screenshot(path=str(SHOTS / "psa-time-laptop.png"), full_page=True)

    # A second user approves.
    bea = sign_in(browser, server, BOSS, LAPTOP)
    bea.goto(f"{server.url}{CLIENT}/time?status=submitted")
    bea.get_by_role("button", name=re.compile("^Approve 1:30 by Tina Tech")).click()
    expect(bea.get_by_role("status")).to_contain_text("Approved")
    expect(bea.get_by_role("heading", name="No time entries match these filters")).to_be_visible()
    bea.goto(f"{server.url}{CLIENT}/time")
    expect(bea.locator("tbody tr", has_text="Tina Tech")).to_contain_text("142.50 EUR")

    # The admin makes the invoice and issues it.
    alex.goto(f"{server.url}{CLIENT}/invoices")
    alex.get_by_label("Tax rate (%)").fill("19")
    alex.get_by_role("button", name="Create draft").click()
    expect(alex.get_by_role("status")).to_contain_text("Draft invoice created")
    expect(alex.locator(".invoice-sheet")).to_contain_text("142.50")
    alex.get_by_role("button", name="Issue invoice").click()
    expect(alex.get_by_role("status")).to_contain_text("Invoice issued")
    year = date.today().year
    expect(alex.locator("#invoice-h")).to_have_text(f"Invoice NI-{year}-0001")
    sheet = alex.locator(".invoice-sheet")
    expect(sheet).to_contain_text("Northwind IT")
    expect(sheet).to_contain_text("169.58 EUR")  # 142.50 + 19 % (27.075 → 27.08)
    alex.screenshot(path=str(SHOTS / "psa-invoice-laptop.png"), full_page=True)
    alex.emulate_media(media="print")
    alex.screenshot(path=str(SHOTS / "psa-invoice-print.png"), full_page=True)
    expect(alex.locator(".sidebar")).to_be_hidden()
    alex.emulate_media(media="screen")

    # Phone widths: the invoice and the time list still read.
    phone = sign_in(browser, server, ADMIN, PHONE)
    phone.goto(alex.url)
    expect(phone.locator("#invoice-h")).to_be_visible()
    phone.screenshot(path=str(SHOTS / "psa-invoice-phone.png"), full_page=True)
    phone.goto(f"{server.url}{CLIENT}/time")
    phone.screenshot(path=str(SHOTS / "psa-time-phone.png"), full_page=True)
    phone.goto(f"{server.url}{CLIENT}/invoices")
    phone.screenshot(path=str(SHOTS / "psa-invoices-phone.png"), full_page=True)
    alex.goto(f"{server.url}{CLIENT}/invoices")
    alex.screenshot(path=str(SHOTS / "psa-invoices-laptop.png"), full_page=True)

    # The MSP-wide ticket view shows the ticket under its client.
    alex.goto(f"{server.url}/msp/tickets")
    row = alex.locator("tr", has_text="Outlook keeps asking for the password")
    expect(row).to_contain_text("Contoso Ltd")
