"""MSP self sign-up in a real headless Chromium against a real server that mails through a
real local SMTP server: fill the form, get the link by mail, set the password, land in
the new MSP signed in as its Owner; the link then refuses a second use. Screenshots at
laptop and phone widths go to /tmp/shots/.

SQLite only: the pages are the same on both databases (tests/signup covers PostgreSQL)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import Browser, Page, expect

from tenantry.config import Settings
from tests.harness.browser import LAPTOP, PHONE, ZOOMED, check_layout, new_page, serve, shot
from tests.harness.mailbox import Mailbox, free_port

pytestmark = pytest.mark.browser

EMAIL = "gina@globex-services.example"
PASSPHRASE = "globex runs every client from here"


@dataclass(frozen=True)
class Server:
    url: str
    mailbox: Mailbox


async def _nothing(settings: Settings) -> None:
    return None


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    box = Mailbox(free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        with serve(
            tmp_path_factory,
            _nothing,
            signup_enabled=True,
            smtp_host="127.0.0.1",
            smtp_port=box.port,
            smtp_starttls="false",
        ) as url:
            yield Server(url, box)
    finally:
        controller.stop()


def _verify_path(server: Server) -> str:
    found = server.mailbox.link(EMAIL, r"/signup/verify/[A-Za-z0-9_-]+")
    return found


def _ask(page: Page, server: Server, slug: str = "") -> None:
    page.goto(server.url + "/signup")
    page.get_by_label("Organisation name").fill("Globex Services")
    if slug:
        page.get_by_label("Address (slug)").fill(slug)
    page.get_by_label("Your name").fill("Gina Globex")
    page.get_by_label("Your work email").fill(EMAIL)
    page.get_by_role("button", name="Sign up").click()


def test_an_msp_signs_itself_up_end_to_end(browser: Browser, server: Server) -> None:
    page = new_page(browser, LAPTOP)
    # The sign-in page offers sign-up while the operator has it on.
    page.goto(server.url + "/sign-in")
    page.get_by_role("link", name="Sign up your MSP").click()
    expect(page.locator("main h1")).to_have_text("Sign up your MSP")
    check_layout(page)
    shot(page, "laptop-signup-1-form")

    # A reserved slug is refused next to its field, and the input is kept.
    _ask(page, server, slug="admin")
    expect(page.locator("#slug-error")).to_contain_text("reserved")
    expect(page.get_by_label("Organisation name")).to_have_value("Globex Services")
    assert server.mailbox.messages == []
    shot(page, "laptop-signup-2-reserved-slug")

    _ask(page, server)
    expect(page.locator("main h1")).to_have_text("Check your email")
    shot(page, "laptop-signup-3-check-email")

    path = _verify_path(server)
    page.goto(server.url + path)
    expect(page.locator("main h1")).to_have_text("Create Globex Services")
    expect(page.locator("main")).to_contain_text("globex-services")
    check_layout(page)
    shot(page, "laptop-signup-4-set-password")
    page.get_by_label("Password", exact=True).fill(PASSPHRASE)
    page.get_by_label("Password again").fill("not the same passphrase")
    page.get_by_role("button", name="Create Globex Services").click()
    expect(page.locator("#confirm_password-error")).to_contain_text("does not match")
    page.get_by_label("Password", exact=True).fill(PASSPHRASE)
    page.get_by_label("Password again").fill(PASSPHRASE)
    page.get_by_role("button", name="Create Globex Services").click()

    # Signed in: an MSP's people land on its dashboard; home is one step away.
    expect(page).to_have_url(re.compile(r"/msp/dashboard$"))
    page.goto(server.url + "/t/globex-services/")
    expect(page.locator(".context-bar")).to_contain_text("Globex Services")
    expect(page.locator(".context-bar")).to_contain_text("MSP (home)")
    shot(page, "laptop-signup-5-signed-in")
    assert page.errors == []  # type: ignore[attr-defined]

    # The link worked once.
    again = new_page(browser, LAPTOP)
    again.goto(server.url + path)
    expect(again.locator("main h1")).to_have_text("This sign-up link cannot be used")
    expect(again.locator("[role=alert]")).to_contain_text("already used")


def test_the_sign_up_form_fits_a_phone_and_400_percent_zoom(
    browser: Browser, server: Server
) -> None:
    for name, viewport in (("phone", PHONE), ("zoomed", ZOOMED)):
        page = new_page(browser, viewport)
        page.goto(server.url + "/signup")
        check_layout(page)
        shot(page, f"{name}-signup-form")
