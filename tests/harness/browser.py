"""One browser harness for every UI test: a real server on a free port in a thread, a
real headless Chromium (Debian's, driven by Playwright), and the checks every page must
pass (no sideways scrolling, a label on every input). scripts/test installs Chromium.

    @pytest.fixture(scope="module")
    def server(tmp_path_factory) -> Iterator[str]:
        with serve(tmp_path_factory, seed) as url:
            yield url

The ``browser`` fixture (module scope) comes from this module through tests/conftest.py.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tenantry.app import create_app
from tenantry.config import Settings
from tenantry.db.migrate import upgrade
from tests.factories import PASSWORD

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
# 400 % zoom of a 1280-pixel-wide window leaves 320 CSS pixels (WCAG 1.4.10 reflow).
ZOOMED = {"width": 320, "height": 256}
SECRET = "browser-test-secret-0123456789abcdefghij"

Seed = Callable[[Settings], Awaitable[None]]


def browser_settings(path: Path, **overrides: object) -> Settings:
    return Settings(
        database_url=f"sqlite:///{path}",
        secret_key=SECRET,
        log_level="WARNING",
        **overrides,  # type: ignore[arg-type]
    )


@contextmanager
def serve(
    tmp_path_factory: pytest.TempPathFactory, seed: Seed, **settings: object
) -> Iterator[str]:
    """Migrate a new SQLite database, seed it, serve the app; yields the base URL."""
    path = tmp_path_factory.mktemp("browser") / "tenantry.db"
    config = browser_settings(path, **settings)

    async def prepare() -> None:
        await upgrade(config)
        await seed(config)

    # Its own thread: Playwright's sync API keeps an event loop running in this one.
    seeding = threading.Thread(target=asyncio.run, args=(prepare(),))
    seeding.start()
    seeding.join()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))  # a free port, held until uvicorn takes the socket
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(config), log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/test installs it (apt-get install chromium)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def new_page(browser: Browser, viewport: dict[str, int]) -> Page:
    """A page that collects script errors in ``page.errors``."""
    page = browser.new_page(viewport=viewport)  # type: ignore[arg-type]
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors  # type: ignore[attr-defined]
    return page


def sign_in(
    browser: Browser,
    url: str,
    email: str,
    viewport: dict[str, int] = LAPTOP,
    *,
    password: str = PASSWORD,
) -> Page:
    """A new page signed in with a password (no second factor)."""
    page = new_page(browser, viewport)
    page.goto(url + "/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("main h1")).to_be_visible()
    return page


def overflows_sideways(page: Page) -> bool:
    result: bool = page.evaluate(
        "() => document.documentElement.scrollWidth > document.documentElement.clientWidth + 1"
    )
    return result


def unlabelled_inputs(page: Page) -> list[str]:
    result: list[str] = page.evaluate(
        """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
            .filter(el => el.offsetParent !== null)
            .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
            .map(el => el.outerHTML)"""
    )
    return result


def check_layout(page: Page) -> None:
    """No sideways scrolling, and a label on every visible input."""
    assert not overflows_sideways(page), page.url
    assert unlabelled_inputs(page) == [], unlabelled_inputs(page)


def shot(page: Page, name: str) -> None:
    """A full-page screenshot in /tmp/shots for people to look at."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
