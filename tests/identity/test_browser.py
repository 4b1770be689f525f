"""Sign-in and account security in a real headless Chromium against a real server: set up
an authenticator app from the page, keep the recovery codes, sign in again with the
second step, create an API token shown once, and check the pages reflow on a phone.
Screenshots go to /tmp/shots/ for people to look at.

SQLite only: the same pages run on PostgreSQL in test_pages.py."""

from __future__ import annotations

from collections.abc import Iterator

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect

from tenantry.config import Settings
from tenantry.db.engine import Database
from tests.factories import PASSWORD, make_tenant, make_user

# The real browser, not tests/identity/conftest.py's HTTP client of the same name.
from tests.harness.browser import LAPTOP, PHONE, SHOTS, serve
from tests.harness.browser import browser as browser

pytestmark = pytest.mark.browser

USER = "mia@identity.example"


async def _seed(settings: Settings) -> None:
    db = Database(settings)
    try:
        home = await make_tenant(db, "identity-msp", is_msp=True, display_name="Identity MSP")
        await make_user(db, home, USER, role="admin", display_name="Mia Admin")
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve(tmp_path_factory, _seed) as url:
        yield url


def fits(page: Page) -> None:
    """Nothing sticks out sideways (a phone, or 400% zoom)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], page.url  # type: ignore[index]


def sign_in_with_password(page: Page, server: str, next_path: str) -> None:
    page.goto(f"{server}{next_path}")
    expect(page).to_have_url(f"{server}/sign-in?next={next_path}")
    page.get_by_label("Email").fill(USER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_enrol_sign_in_with_the_code_and_make_a_token(browser: Browser, server: str) -> None:
    page = browser.new_page(viewport=LAPTOP)  # type: ignore[arg-type]
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # A wrong password: the message, the email kept, focus ready for another try.
    page.goto(f"{server}/sign-in")
    page.get_by_label("Email").fill(USER)
    page.get_by_label("Password").fill("not my password at all")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Email or password is incorrect.")
    expect(page.get_by_label("Email")).to_have_value(USER)

    sign_in_with_password(page, server, "/account/security")
    expect(page).to_have_url(f"{server}/account/security")
    page.get_by_role("link", name="Set up an authenticator app").click()
    expect(page.get_by_role("heading", name="Set up an authenticator app")).to_be_visible()
    assert page.locator("figure.qr svg").count() == 1
    page.screenshot(path=str(SHOTS / "identity-enrol-laptop.png"), full_page=True)
    secret = page.get_by_label("Setup key").inner_text().strip()
    page.get_by_label("6-digit code").fill("000000")
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    expect(page.locator("#code-error")).to_contain_text("not the current code")
    page.get_by_label("6-digit code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    expect(page.get_by_role("heading", name="Two-step sign-in is on")).to_be_visible()
    codes = page.locator("ol.recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    page.get_by_role("link", name="I have saved them").click()
    expect(page.locator("#mfa-h + p")).to_contain_text("10 unused recovery codes left")

    # Sign out, then back in: the second step asks for a code; a recovery code works.
    page.get_by_role("button", name="Sign out", exact=True).first.click()
    expect(page).to_have_url(f"{server}/sign-in")
    sign_in_with_password(page, server, "/account/security")
    expect(page).to_have_url(f"{server}/sign-in/totp?next=/account/security")
    page.screenshot(path=str(SHOTS / "identity-second-step-laptop.png"), full_page=True)
    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(f"{server}/account/security")
    expect(page.locator("#mfa-h + p")).to_contain_text("9 unused recovery codes left")

    # A token: shown once, then only its prefix.
    page.get_by_label("Token name").fill("nightly export")
    page.get_by_role("button", name="Create token").click()
    secret_field = page.get_by_label("Token", exact=True)
    token = secret_field.input_value()
    assert token.startswith("tnt_")
    page.goto(f"{server}/account/security")
    expect(page.get_by_role("cell", name="nightly export", exact=True)).to_be_visible()
    assert token not in page.content()
    page.screenshot(path=str(SHOTS / "identity-security-laptop.png"), full_page=True)

    page.set_viewport_size(PHONE)  # type: ignore[arg-type]
    for path in ("/account/security", "/account/security/totp", "/settings/security"):
        page.goto(f"{server}{path}")
        fits(page)
    page.goto(f"{server}/account/security")
    page.screenshot(path=str(SHOTS / "identity-security-phone.png"), full_page=True)
    assert not errors, errors
    page.close()
