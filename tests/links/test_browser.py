"""Consent in a real headless Chromium against a real server: the MSP admin asks to
manage Initech, Initech's owner approves giving less, narrows, and ends the link; both
see the history. Screenshots at laptop and phone widths go to /tmp/shots/links-*.png.

SQLite only: the pages are the same on both databases (tests/links covers PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tenantry.config import Settings
from tenantry.db.engine import Database
from tests.factories import make_tenant, make_user
from tests.harness import browser as harness
from tests.harness.browser import LAPTOP, PHONE, check_layout, serve, sign_in
from tests.harness.world import add_customer, delegate

pytestmark = pytest.mark.browser

ALEX = "alex@northwind.example"
IAN = "ian@initech.example"


async def _seed(settings: Settings) -> None:
    db = Database(settings)
    try:
        msp = await make_tenant(db, "northwind", is_msp=True, display_name="Northwind IT")
        alex = await make_user(db, msp, ALEX, role="admin", display_name="Alex Admin")
        tina = await make_user(
            db, msp, "tina@northwind.example", role="technician", display_name="Tina Tech"
        )
        await add_customer(db, msp, alex, "Contoso Ltd")
        initech = await make_tenant(db, "initech", display_name="Initech")
        await make_user(db, initech, IAN, role="owner", display_name="Ian Initech")
        await delegate(db, msp, tina, initech, "technician")
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve(tmp_path_factory, _seed) as url:
        yield url


def shot(page: Page, name: str) -> None:
    harness.shot(page, f"links-{name}")


def test_consent_from_request_to_the_end(browser: Browser, server: str) -> None:
    alex = sign_in(browser, server, ALEX, LAPTOP)
    alex.get_by_role("link", name="Client links").click()
    expect(alex.locator("h1")).to_have_text("Client links")
    expect(alex.locator("tbody tr")).to_have_count(1)  # Contoso, created by Northwind
    check_layout(alex)
    shot(alex, "laptop-1-msp-links")

    # A slug that matches nothing: the error sits under the field, the ticks are kept.
    alex.get_by_label("The tenant's slug").fill("initek")
    alex.get_by_label("Full management —", exact=False).check()
    alex.get_by_role("button", name="Send request").click()
    expect(alex.locator("#f-customer-error")).to_have_text("The slug matches no tenant")
    expect(alex.get_by_label("The tenant's slug")).to_have_value("initek")
    expect(alex.get_by_label("Full management —", exact=False)).to_be_checked()
    shot(alex, "laptop-2-request-error")

    alex.get_by_label("The tenant's slug").fill("initech")
    alex.get_by_label("Duration in days").fill("30")
    alex.get_by_label("Renew automatically at the end of each period").check()
    alex.get_by_role("button", name="Send request").click()
    expect(alex.locator(".banner-notice")).to_contain_text("Request sent to Initech")
    expect(alex.locator("h1")).to_have_text("Initech")
    check_layout(alex)
    shot(alex, "laptop-3-request-sent")

    # Initech's owner finds the request on "Your MSP".
    ian = sign_in(browser, server, IAN, LAPTOP)
    ian.get_by_role("link", name="Your MSP").click()
    expect(ian.locator("#ask-h")).to_have_text("Northwind IT asks to manage Initech")
    check_layout(ian)
    shot(ian, "laptop-4-customer-pending")
    ian.get_by_label("Change controls, policies and risk assessments").uncheck()
    ian.get_by_label("Renew automatically every 30 days").check()
    ian.get_by_role("button", name="Approve").click()
    expect(ian.locator(".banner-notice")).to_contain_text("You approved Northwind IT's request")
    expect(ian.locator("#msp-h")).to_have_text("Managed by Northwind IT")
    check_layout(ian)
    shot(ian, "laptop-5-customer-active")

    # Narrow: the audit trail is taken away.
    ian.get_by_label("Read the audit trail").uncheck()
    ian.get_by_role("button", name="Save permissions").click()
    expect(ian.locator(".banner-notice")).to_contain_text("can do only what is ticked")
    expect(ian.get_by_label("Read the audit trail")).to_have_count(0)

    # Ending the link asks for the box to be ticked first.
    ian.get_by_role("button", name="End link with Northwind IT").click()
    expect(ian.locator("#f-revoke-confirm-error")).to_contain_text("Tick the box")
    shot(ian, "laptop-6-revoke-unconfirmed")
    ian.get_by_label("Yes, end the link").check()
    ian.get_by_role("button", name="End link with Northwind IT").click()
    expect(ian.locator(".banner-notice")).to_contain_text("Link ended")
    expect(ian.get_by_text("No MSP manages Initech")).to_be_visible()
    ian.get_by_role("link", name="Northwind IT").first.click()
    expect(ian.locator("#history-h")).to_be_visible()
    expect(ian.locator(".history tbody tr")).to_have_count(4)
    shot(ian, "laptop-7-customer-history")

    alex.reload()
    expect(alex.locator(".history tbody tr")).to_have_count(4)
    check_layout(alex)
    shot(alex, "laptop-8-msp-history")
    assert alex.errors == [] and ian.errors == []  # type: ignore[attr-defined]
    alex.close()
    ian.close()


def test_phone_layouts(browser: Browser, server: str) -> None:
    alex = sign_in(browser, server, ALEX, PHONE)
    alex.goto(server + "/msp/links")
    check_layout(alex)
    shot(alex, "phone-1-msp-links")
    alex.get_by_label("The tenant's slug").fill("initech")
    alex.get_by_label("No template —", exact=False).check()
    alex.get_by_role("button", name="Send request").click()
    expect(alex.locator("#ceiling-error")).to_contain_text("at least one")
    check_layout(alex)
    shot(alex, "phone-2-request-error")
    alex.get_by_label("Helpdesk —", exact=False).check()
    alex.get_by_role("button", name="Send request").click()
    expect(alex.locator(".banner-notice")).to_contain_text("Request sent to Initech")
    check_layout(alex)
    shot(alex, "phone-3-request-sent")

    ian = sign_in(browser, server, IAN, PHONE)
    ian.goto(server + "/t/initech/msp")
    check_layout(ian)
    shot(ian, "phone-4-customer-pending")
    ian.get_by_role("button", name="Approve").click()
    expect(ian.locator("#msp-h")).to_have_text("Managed by Northwind IT")
    check_layout(ian)
    shot(ian, "phone-5-customer-active")
    assert alex.errors == [] and ian.errors == []  # type: ignore[attr-defined]
    alex.close()
    ian.close()
