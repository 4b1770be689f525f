"""Consent in a real headless Chromium against a real server: the MSP admin asks to
manage Initech, Initech's owner approves giving less, narrows, and ends the link; both
see the history. Screenshots at laptop and phone widths go to /tmp/shots/links-*.png.

SQLite only: the pages are the same on both databases (tests/links covers PostgreSQL)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tenantry.app import create_app
from tenantry.config import Settings
from tenantry.db.engine import Database
from tenantry.db.migrate import upgrade
from tests.factories import PASSWORD, make_tenant, make_user
from tests.links.conftest import add_customer, delegate

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SHOTS = Path("/tmp/shots")
LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
ALEX = "alex@northwind.example"
IAN = "ian@initech.example"


async def _seed(settings: Settings) -> None:
    await upgrade(settings)
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
    path = tmp_path_factory.mktemp("links-browser") / "tenantry.db"
    settings = Settings(
        database_url=f"sqlite:///{path}",
        secret_key="links-browser-secret-0123456789abcdefghij",
        log_level="WARNING",
    )
    # Its own thread: Playwright's sync API keeps an event loop running in this one.
    seeding = threading.Thread(target=asyncio.run, args=(_seed(settings),))
    seeding.start()
    seeding.join()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    uv_server = uvicorn.Server(
        uvicorn.Config(create_app(settings), log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=uv_server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv_server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        uv_server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def sign_in(browser: Browser, url: str, email: str, viewport: dict[str, int]) -> Page:
    page = browser.new_page(viewport=viewport)  # type: ignore[arg-type]
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url + "/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("main h1")).to_be_visible()
    page.errors = errors  # type: ignore[attr-defined]
    return page


def check_layout(page: Page) -> None:
    """No sideways scrolling, and a label on every visible input."""
    wide: bool = page.evaluate(
        "() => document.documentElement.scrollWidth > document.documentElement.clientWidth + 1"
    )
    assert not wide, page.url
    unlabelled: list[str] = page.evaluate(
        """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
            .filter(el => el.offsetParent !== null)
            .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
            .map(el => el.outerHTML)"""
    )
    assert unlabelled == [], unlabelled


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"links-{name}.png"), full_page=True)


def test_consent_from_request_to_the_end(browser: Browser, server: str) -> None:
    alex = sign_in(browser, server, ALEX, LAPTOP)
    alex.get_by_role("link", name="Client links").click()
    expect(alex.locator("h1")).to_have_text("Client links")
    expect(alex.locator("tbody tr")).to_have_count(1)  # Contoso, created by Northwind
    check_layout(alex)
    shot(alex, "laptop-1-msp-links")

    # A slug that matches nothing: the error sits under the field, the ticks are kept.
    alex.get_by_label("The tenant's slug").fill("initek")
    alex.get_by_label("Technician —", exact=False).check()
    alex.get_by_role("button", name="Send request").click()
    expect(alex.locator("#f-customer-error")).to_have_text("The slug matches no tenant")
    expect(alex.get_by_label("The tenant's slug")).to_have_value("initek")
    expect(alex.get_by_label("Technician —", exact=False)).to_be_checked()
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
    alex.get_by_role("button", name="Send request").click()
    expect(alex.locator("#ceiling-error")).to_contain_text("at least one")
    check_layout(alex)
    shot(alex, "phone-2-request-error")
    alex.get_by_label("Read-only —", exact=False).check()
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
