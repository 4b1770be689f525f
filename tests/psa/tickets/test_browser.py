"""Tickets in a real headless Chromium: log a ticket from the form, see it listed with
its SLA counting down, reply, and check the pages at laptop and phone widths (labels
on every input, no sideways scrolling). Screenshots go to /tmp/shots/."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.test_switch_and_create import (  # noqa: F401 - the module's server
    Server,
    server,
    signed_in_page,
)
from tests.harness.browser import LAPTOP, PHONE, SHOTS, overflows_sideways, unlabelled_inputs

pytestmark = pytest.mark.browser


def test_log_a_ticket_and_follow_its_sla(browser: Browser, server: Server) -> None:  # noqa: F811
    page = signed_in_page(browser, server, LAPTOP)
    page.goto(server.url + "/t/contoso-ltd/tickets")
    page.get_by_text("New ticket").click()
    page.get_by_label("Title").fill("Printer on fire")
    page.get_by_label("Priority").first.select_option("P1")
    page.get_by_role("button", name="Create ticket").click()
    expect(page).to_have_url(f"{server.url}/t/contoso-ltd/tickets/1001")
    expect(page.locator("[data-due]").first).to_contain_text("in ")
    page.get_by_label("Reply or note").fill("On our way with an extinguisher.")
    page.get_by_role("button", name="Add").click()
    expect(page.locator(".tk-timeline")).to_contain_text("extinguisher")
    assert unlabelled_inputs(page) == []
    page.screenshot(path=str(SHOTS / "ticket-laptop.png"), full_page=True)
    page.goto(server.url + "/t/contoso-ltd/tickets")
    expect(page.get_by_role("link", name="Printer on fire")).to_be_visible()
    # The bulk bar's "all" box (static/tickets.js, loaded under the strict CSP).
    page.locator("[data-check-all]").check()
    expect(page.locator("input[name=numbers]").first).to_be_checked()
    assert unlabelled_inputs(page) == []
    page.screenshot(path=str(SHOTS / "tickets-laptop.png"), full_page=True)
    assert not page.errors  # type: ignore[attr-defined]

    phone = signed_in_page(browser, server, PHONE)
    for path, name in (
        ("/t/contoso-ltd/tickets", "tickets-phone"),
        ("/t/contoso-ltd/tickets/1001", "ticket-phone"),
        ("/msp/tickets", "msp-tickets-phone"),
        ("/t/contoso-ltd/contacts", "contacts-phone"),
    ):
        phone.goto(server.url + path)
        assert not overflows_sideways(phone), path
        phone.screenshot(path=str(SHOTS / f"{name}.png"))
    assert not phone.errors  # type: ignore[attr-defined]
