"""The access pages in a real headless Chromium: an MSP admin delegates a technician to
a customer from the customer's page, then looks at roles, grants, groups, the review and
an explanation; every page is checked at laptop and phone widths (labels on every input,
nothing wider than the screen). A technician delegated as 1st Level Support then signs in
in a browser of their own: the switcher offers exactly their home and that customer, they
read its tickets and contacts, and what the role lacks is neither offered nor allowed.
Screenshots go to /tmp/shots/access-*.png.

SQLite only: the pages are the same on both databases (test_pages.py covers PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tenantry.access.admin import CLIENT_GROUPS, USER_GROUPS, AccessAdmin
from tenantry.access.permissions import BUILTIN_ROLES
from tenantry.access.service import operator_scope, tenant_ref
from tenantry.audit.schemas import OPERATOR
from tenantry.config import Settings
from tenantry.db.engine import Database
from tenantry.identity.service import principal_of
from tenantry.psa.tickets.demo import seed_tickets
from tests.factories import PASSWORD, make_tenant, make_user
from tests.harness.browser import (
    LAPTOP,
    PHONE,
    SHOTS,
    overflows_sideways,
    serve,
    unlabelled_inputs,
)
from tests.harness.world import add_customer

pytestmark = pytest.mark.browser

ADMIN = "alex@northwind.example"
FINN = "finn@northwind.example"  # a technician who signs in himself


async def _seed(settings: Settings) -> None:
    db = Database(settings)
    try:
        msp = await make_tenant(db, "northwind", is_msp=True, display_name="Northwind IT")
        admin = await make_user(db, msp, ADMIN, role="admin", display_name="Alex Admin")
        await make_user(
            db,
            msp,
            "tina@northwind.example",
            role="technician",
            password=None,
            display_name="Tina Technician",
        )
        await make_user(
            db,
            msp,
            "sam@northwind.example",
            role="technician",
            password=None,
            display_name="Sam Support",
        )
        await make_user(db, msp, FINN, role="technician", display_name="Finn First-line")
        for name in ("Contoso Ltd", "Fabrikam Inc", "Tailspin Toys"):
            customer = await add_customer(db, msp, admin, name)
            if name != "Tailspin Toys":  # contacts and tickets to read
                async with db.unit_of_work(operator_scope([customer.id])) as session:
                    await seed_tickets(
                        session, customer, principal_of(admin, msp, auth_method="cli")
                    )
        async with db.unit_of_work(operator_scope([msp.id])) as session:
            admin_svc = AccessAdmin(session, tenant_ref(msp))
            await admin_svc.create_role(
                name="Patch crew",
                description="Patching and the tickets that come with it",
                permissions=["tenant:read", "tickets:read", "tickets:write", "software:request"],
                actor=OPERATOR,
            )
            group = await admin_svc.create_group(USER_GROUPS, name="Service desk", actor=OPERATOR)
            await admin_svc.add_member(
                USER_GROUPS, str(group.id), "sam@northwind.example", actor=OPERATOR
            )
            tgroup = await admin_svc.create_group(
                CLIENT_GROUPS, name="Healthcare clients", actor=OPERATOR
            )
            await admin_svc.add_member(
                CLIENT_GROUPS, str(tgroup.id), "fabrikam-inc", actor=OPERATOR
            )
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve(tmp_path_factory, _seed) as url:
        yield url


def sign_in(browser: Browser, url: str, viewport: dict[str, int], email: str = ADMIN) -> Page:
    """A new browser context (its own cookies), signed in as ``email``."""
    page = browser.new_page(viewport=viewport)  # type: ignore[arg-type]
    page.set_default_timeout(10_000)
    page.goto(url + "/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # An MSP's people land on its dashboard.
    expect(page).to_have_url(f"{url}/msp/dashboard")
    return page


def test_an_admin_delegates_from_the_customer_page(browser: Browser, server: str) -> None:
    page = sign_in(browser, server, LAPTOP)
    page.goto(server + "/msp/customers/contoso-ltd")
    page.get_by_role("link", name="Who acts in Contoso Ltd").click()
    expect(page).to_have_url(f"{server}/msp/customers/contoso-ltd/access")
    expect(page.locator("h1")).to_have_text("Who acts in Contoso Ltd")
    page.get_by_label("Technician or group").select_option(
        label="Tina Technician (tina@northwind.example)"
    )
    page.get_by_label("Role").select_option(label="Patch crew (custom)")
    page.get_by_label("Expires (UTC time) (optional)").fill("2999-01-31T18:00")
    page.get_by_role("button", name="Delegate").click()
    expect(page.locator(".banner-notice")).to_contain_text(
        "Tina Technician can now act in Contoso Ltd as Patch crew until 2999-01-31 18:00 UTC."
    )
    row = page.locator("tbody tr", has_text="Tina Technician").first
    expect(row).to_contain_text("Patch crew")
    assert unlabelled_inputs(page) == []
    page.screenshot(path=str(SHOTS / "access-laptop-delegations.png"), full_page=True)

    # A bad expiry stays in its field, with the error next to it.
    page.get_by_label("Technician or group").select_option(
        label="Sam Support (sam@northwind.example)"
    )
    page.get_by_label("Expires (UTC time) (optional)").fill("2001-01-01T00:00")
    page.get_by_role("button", name="Delegate").click()
    expect(page.locator("#f-expires_at-error")).to_contain_text("must be in the future")
    expect(page.get_by_label("Expires (UTC time) (optional)")).to_have_value("2001-01-01T00:00")
    page.screenshot(path=str(SHOTS / "access-laptop-delegation-error.png"), full_page=True)

    page.get_by_role("button", name="Revoke Patch crew from Tina Technician").click()
    expect(page.locator(".banner-notice")).to_contain_text("Delegation revoked")
    page.close()


def test_a_first_level_technician_sees_and_does_only_what_the_role_gives(
    browser: Browser, server: str
) -> None:
    # The admin delegates Finn to Contoso as the built-in 1st Level Support, from the
    # customer's page. That role reads contacts but cannot write them (the catalog).
    first_level = BUILTIN_ROLES["first_level_support"].permissions
    assert "contacts:read" in first_level and "contacts:write" not in first_level
    admin = sign_in(browser, server, LAPTOP)
    admin.goto(server + "/msp/customers/contoso-ltd")
    admin.get_by_role("link", name="Who acts in Contoso Ltd").click()
    admin.get_by_label("Technician or group").select_option(label=f"Finn First-line ({FINN})")
    admin.get_by_label("Role").select_option(label="1st Level Support")
    admin.get_by_role("button", name="Delegate").click()
    expect(admin.locator(".banner-notice")).to_contain_text(
        "Finn First-line can now act in Contoso Ltd as 1st Level Support."
    )
    admin.close()

    # Finn, in a browser context of his own, lands on the dashboard and goes home.
    page = sign_in(browser, server, LAPTOP, email=FINN)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(server + "/t/northwind/tickets")

    # The switcher lists his home and exactly that customer, not the MSP's others.
    page.keyboard.press("Control+k")
    options = page.locator("#switcher-list [role=option]")
    expect(options).to_have_count(2)
    expect(options.nth(0)).to_contain_text("Northwind IT")
    expect(options.nth(1)).to_contain_text("Contoso Ltd")
    expect(options.nth(1)).to_contain_text("contoso-ltd")
    page.screenshot(path=str(SHOTS / "access-laptop-first-level-switcher.png"))
    page.locator("#switcher-q").fill("fabri")
    expect(page.locator("#switcher-panel .switcher-status")).to_contain_text("No tenant matches")
    expect(options).to_have_count(0)
    page.locator("#switcher-q").fill("contoso")
    expect(options).to_have_count(1)
    expect(options.first).to_contain_text("Contoso Ltd")

    # Switching keeps the page: Contoso's tickets, read with the delegation.
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{server}/t/contoso-ltd/tickets")
    expect(page.locator(".context-bar")).to_contain_text("Contoso Ltd")
    expect(page.locator(".banner-acting")).to_contain_text(
        "Acting in Contoso Ltd as 1st Level Support"
    )
    expect(page.locator("tbody tr").first).to_be_visible()
    assert page.locator("tbody tr").count() >= 3
    page.screenshot(path=str(SHOTS / "access-laptop-first-level-tickets.png"), full_page=True)

    # The sidebar offers only what the role reads; Contacts lists the client's people.
    sidebar = page.locator("#nav-tenant + ul")
    expect(sidebar.get_by_role("link", name="Contacts")).to_be_visible()
    for missing in ("Invoices", "Audit trail", "Users & access", "Invitations"):
        expect(sidebar.get_by_role("link", name=missing, exact=True)).to_have_count(0)
    sidebar.get_by_role("link", name="Contacts").click()
    expect(page).to_have_url(f"{server}/t/contoso-ltd/contacts")
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(4)
    expect(page.locator("tbody")).to_contain_text("ann@contoso-ltd.example")
    # No contacts:write: no form to add or import, on the list nor on a contact's page.
    expect(page.get_by_text("Add a contact or import a file")).to_have_count(0)
    expect(page.get_by_role("button", name="Add contact")).to_have_count(0)
    expect(page.locator("form[method=post][action^='/t/contoso-ltd/contacts']")).to_have_count(0)
    assert unlabelled_inputs(page) == []
    page.screenshot(path=str(SHOTS / "access-laptop-first-level-contacts.png"), full_page=True)
    rows.first.get_by_role("link").first.click()
    expect(page.locator("form[method=post][action^='/t/contoso-ltd/contacts']")).to_have_count(0)
    expect(page.get_by_role("button", name="Save")).to_have_count(0)
    page.go_back()

    # Trying anyway is refused, naming the permission: the page's form URL (with the
    # session's CSRF token, so only the permission is missing) and the API.
    attempt = page.evaluate(
        """async () => {
            const token = document.querySelector("input[name=csrf_token]").value;
            const form = new URLSearchParams({csrf_token: token, name: "Eve Intruder",
                                              email: "eve@contoso-ltd.example"});
            const page = await fetch("/t/contoso-ltd/contacts", {method: "POST", body: form,
                                     headers: {Accept: "text/html"}});
            const api = await fetch("/api/v1/tenants/contoso-ltd/contacts", {
                method: "POST",
                headers: {"Content-Type": "application/json", "X-CSRF-Token": token},
                body: JSON.stringify({name: "Eve Intruder", email: "eve@contoso-ltd.example"}),
            });
            return {page: [page.status, await page.text()],
                    api: [api.status, api.headers.get("content-type"), await api.json()]};
        }"""
    )
    status, html = attempt["page"]
    assert status == 403, attempt["page"]
    assert "Missing permission: <code>contacts:write</code>" in html
    status, kind, problem = attempt["api"]
    assert status == 403 and kind.startswith("application/problem+json"), attempt["api"]
    assert problem["permission"] == "contacts:write", problem
    page.reload()
    expect(rows).to_have_count(4)  # nothing was added
    expect(page.locator("tbody")).not_to_contain_text("Eve Intruder")

    # A page the role cannot read at all answers 403 too, naming what it needs.
    response = page.goto(server + "/t/contoso-ltd/invoices")
    assert response is not None and response.status == 403
    expect(page.locator("main")).to_contain_text("invoices:read")
    # And the MSP's other customers do not exist for him (404, not 403).
    response = page.goto(server + "/t/fabrikam-inc/tickets")
    assert response is not None and response.status == 404
    assert errors == []
    page.close()


PAGES = {
    "grants": "/t/northwind/access",
    "groups": "/t/northwind/access/groups",
    "review": "/t/contoso-ltd/access/review",
    "explain": "/t/northwind/access/explain?user=sam%40northwind.example",
    "roles": "/t/northwind/roles",
    "role": "/t/northwind/roles/technician",
    "compare": "/t/northwind/roles/compare?a=technician&b=first_level_support",
    "client-groups": "/msp/client-groups",
    "delegations": "/msp/customers/fabrikam-inc/access",
}


@pytest.mark.parametrize("size", ["laptop", "phone"])
def test_every_access_page_fits_and_labels_its_inputs(
    browser: Browser, server: str, size: str
) -> None:
    page = sign_in(browser, server, LAPTOP if size == "laptop" else PHONE)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    for name, path in PAGES.items():
        response = page.goto(server + path)
        assert response is not None and response.status == 200, (name, response)
        assert unlabelled_inputs(page) == [], name
        assert not overflows_sideways(page), f"{name} is wider than the {size} screen"
        page.screenshot(path=str(SHOTS / f"access-{size}-{name}.png"), full_page=True)
    # The custom role's page, with its edit form of checkboxes.
    page.goto(server + "/t/northwind/roles")
    page.get_by_role("link", name="Patch crew").click()
    expect(page.get_by_label("tickets:write")).to_be_checked()
    assert not overflows_sideways(page)
    page.screenshot(path=str(SHOTS / f"access-{size}-custom-role.png"), full_page=True)
    assert errors == []
    page.close()
