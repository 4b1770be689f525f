"""Blocks in a real headless Chromium (issue #14): Northwind asks Initech again after an
earlier link ended; Ian sees who would regain access, approves while blocking Tina, then
unblocks her from "who can act now". Screenshots at laptop and phone widths go to
/tmp/shots/blocks-*.png. SQLite only: tests/links covers both databases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tenantry.config import Settings
from tests.harness import browser as harness
from tests.harness.browser import LAPTOP, PHONE, check_layout, serve, sign_in
from tests.links.test_browser import ALEX, IAN
from tests.links.test_browser import _seed as seed_links

pytestmark = pytest.mark.browser


async def _seed(settings: Settings) -> None:
    await seed_links(settings)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve(tmp_path_factory, _seed) as url:
        yield url


def shot(page: Page, name: str) -> None:
    harness.shot(page, f"blocks-{name}")


def test_relink_with_a_block_then_unblock(browser: Browser, server: str) -> None:
    alex = sign_in(browser, server, ALEX, LAPTOP)
    ian = sign_in(browser, server, IAN, LAPTOP)
    for round_ in (1, 2):
        alex.goto(f"{server}/msp/links")
        alex.get_by_label("The tenant's slug").fill("initech")
        alex.get_by_label("Helpdesk —", exact=False).check()
        alex.get_by_role("button", name="Send request").click()
        ian.goto(f"{server}/t/initech/msp")
        if round_ == 1:
            ian.get_by_role("button", name="Approve").click()
            ian.get_by_label("Yes, end the link").check()
            ian.get_by_role("button", name="End link with Northwind IT").click()
    expect(ian.get_by_text("Had access")).to_have_count(2)
    check_layout(ian)
    shot(ian, "laptop-1-would-gain")
    ian.get_by_label("Block Tina Tech").check()
    ian.get_by_role("button", name="Approve").click()
    expect(
        ian.get_by_role("heading", name="Who from Northwind IT can act here now")
    ).to_be_visible()
    expect(ian.get_by_role("button", name="Unblock Tina Tech")).to_be_visible()
    check_layout(ian)
    shot(ian, "laptop-2-acting-now")
    phone = sign_in(browser, server, IAN, PHONE)
    phone.goto(f"{server}/t/initech/msp")
    check_layout(phone)
    shot(phone, "phone-acting-now")
    ian.get_by_role("button", name="Unblock Tina Tech").click()
    expect(ian.get_by_role("button", name="Block Tina Tech")).to_be_visible()
