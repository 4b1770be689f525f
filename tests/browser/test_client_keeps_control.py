"""Issue #14 in a real headless Chromium, as the three people on the seeded world:

* Carol, Contoso's own Owner, sees who from Northwind can act in Contoso, blocks Tina,
  narrows the link, and finds the MSP's SLA targets readable but not editable;
* Tina, a delegated technician, is told who blocked her and when;
* Alex, Northwind's admin, sees the notification badge, reads both notices, and the
  banner saying what Contoso took away; he can still change the SLA targets.

Screenshots go to /tmp/shots/control-*.png. SQLite only: the rules are tested on both
databases in tests/links, tests/web and tests/notifications."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tenantry.config import Settings
from tenantry.db.engine import Database
from tests.harness import browser as harness
from tests.harness.browser import LAPTOP, PHONE, check_layout, serve, sign_in
from tests.harness.world import ALEX, CAROL, TINA, seed_world

pytestmark = pytest.mark.browser

CONTOSO = "/t/contoso-ltd"


async def _seed(settings: Settings) -> None:
    db = Database(settings)
    try:
        await seed_world(db)
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve(tmp_path_factory, _seed) as url:
        yield url


def shot(page: Page, name: str) -> None:
    harness.shot(page, f"control-{name}")


def test_a_client_blocks_a_technician_and_narrows_and_the_msp_is_told(
    browser: Browser, server: str
) -> None:
    # Tina works in Contoso through her delegation, and Alex has nothing unread.
    tina = sign_in(browser, server, TINA, LAPTOP)
    tina.goto(f"{server}{CONTOSO}/tickets")
    expect(tina.locator("main h1")).to_have_text("Tickets")
    alex = sign_in(browser, server, ALEX, LAPTOP)
    expect(alex.locator(".nav-count")).to_have_count(0)

    # Carol sees who can act now, and blocks Tina alone.
    carol = sign_in(browser, server, CAROL, LAPTOP)
    carol.goto(f"{server}{CONTOSO}/msp")
    acting = carol.get_by_role("heading", name="Who from Northwind IT can act here now")
    expect(acting).to_be_visible()
    expect(carol.get_by_role("button", name="Block Tina Tech")).to_be_visible()
    expect(carol.get_by_role("button", name="Block Alex Admin")).to_be_visible()
    check_layout(carol)
    shot(carol, "laptop-1-who-can-act")
    carol.get_by_role("button", name="Block Tina Tech").click()
    expect(carol.get_by_role("button", name="Unblock Tina Tech")).to_be_visible()
    expect(carol.get_by_role("button", name="Block Alex Admin")).to_be_visible()

    # ... and narrows the link: no more approving time for Northwind.
    approve_time = carol.get_by_label("Approve other people's time entries")
    expect(approve_time).to_be_checked()
    approve_time.uncheck()
    carol.get_by_role("button", name="Save permissions").click()
    # Taken away, it leaves the form: giving it back needs a new request from Northwind.
    expect(carol.get_by_label("Approve other people's time entries")).to_have_count(0)
    expect(carol.get_by_text(re.compile(r"Asked for but not allowed now \(1\)"))).to_be_visible()
    shot(carol, "laptop-2-blocked-and-narrowed")

    # The SLA targets are Northwind's: Carol reads them and has nothing to save.
    carol.goto(f"{server}{CONTOSO}/settings/sla")
    expect(carol.locator("main h1")).to_be_visible()
    expect(carol.get_by_role("button", name="Save SLA policy")).to_have_count(0)
    phone = sign_in(browser, server, CAROL, PHONE)
    phone.goto(f"{server}{CONTOSO}/msp")
    check_layout(phone)
    shot(phone, "phone-who-can-act")

    # Tina's next click in Contoso says who blocked her, and when.
    tina.goto(f"{server}{CONTOSO}/tickets")
    expect(
        tina.get_by_text(re.compile(r"Contoso Ltd blocked your access on .*Carol"))
    ).to_be_visible()
    shot(tina, "laptop-3-blocked")

    # Alex sees the badge, reads both notices, and the banner in Contoso.
    alex.goto(f"{server}/msp/links")
    badge = alex.locator(".nav-count")
    expect(badge).to_have_attribute("data-unread", "2")
    check_layout(alex)
    alex.get_by_role("link", name=re.compile(r"^Notifications")).click()
    expect(alex.get_by_text("Contoso Ltd blocked Tina Tech").first).to_be_visible()
    expect(alex.get_by_text(re.compile(r"Contoso Ltd narrowed")).first).to_be_visible()
    shot(alex, "laptop-4-notifications")
    alex.get_by_role("button", name=re.compile(r"Mark all")).click()
    expect(alex.locator(".nav-count")).to_have_count(0)
    alex.goto(f"{server}{CONTOSO}/")
    expect(
        alex.get_by_text(re.compile(r"Contoso Ltd narrowed Northwind IT.s access"))
    ).to_be_visible()
    alex.goto(f"{server}{CONTOSO}/settings/sla")
    expect(alex.get_by_role("button", name="Save SLA policy")).to_be_visible()
    shot(alex, "laptop-5-msp-keeps-the-sla")
    for page in (alex, carol, tina, phone):
        assert not page.errors, page.errors  # type: ignore[attr-defined]
