"""Issue #16 end to end in a real headless Chromium (SQLite): the MSP admin applies the
baseline to a client group; a technician delegated to one of those clients opens it,
assesses a requirement with an evidence file, approves and publishes a policy and adds a
risk; the client's score and the MSP's overview show the change; a client outside the
group and a client's own admin each see only what is theirs. Screenshots: /tmp/shots/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tenantry.config import Settings
from tenantry.db.engine import Database
from tests.compliance.evidence.helpers import PDF
from tests.factories import make_tenant, make_user
from tests.harness.browser import check_layout, serve, shot, sign_in
from tests.harness.world import add_customer, delegate

pytestmark = pytest.mark.browser

ADMIN = "alex@northwind.example"
TECH = "tina@northwind.example"
CAROL = "carol@contoso.example"
CONTOSO = "/t/contoso-ltd/compliance"


async def _seed(settings: Settings) -> None:
    db = Database(settings)
    try:
        msp = await make_tenant(db, "northwind-it", is_msp=True, display_name="Northwind IT")
        admin = await make_user(db, msp, ADMIN, role="admin", display_name="Alex Admin")
        tech = await make_user(db, msp, TECH, role="technician", display_name="Tina Tech")
        contoso = await add_customer(db, msp, admin, "Contoso Ltd")
        await add_customer(db, msp, admin, "Fabrikam Inc")
        await add_customer(db, msp, admin, "Tailspin Toys")
        # A senior technician: the client's Admin role holds compliance:approve.
        await delegate(db, msp, tech, contoso, "admin")
        await make_user(db, contoso, CAROL, role="owner", display_name="Carol Owner")
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve(tmp_path_factory, _seed) as url:
        yield url


def _api(page: Page, server: str, method: str, path: str, body: object) -> dict[str, object]:
    """An API call with the page's session (and its CSRF token), as a script of the UI would."""
    token = page.request.get(server + "/api/v1/me").json()["csrf_token"]
    made = page.request.fetch(
        server + path, method=method, data=body, headers={"x-csrf-token": token}
    )
    assert made.ok, made.text()
    found: dict[str, object] = made.json()
    return found


def _contoso_score(page: Page) -> str:
    row = page.locator("tr", has=page.get_by_role("link", name="MSP security baseline"))
    return row.locator("td").nth(2).inner_text()


def test_baseline_to_a_group_then_a_technicians_work_moves_the_score(
    browser: Browser, server: str, tmp_path: Path
) -> None:
    alex = sign_in(browser, server, ADMIN)
    group = _api(
        alex, server, "POST", "/api/v1/tenants/northwind-it/tenant-groups", {"name": "Healthcare"}
    )
    for slug in ("contoso-ltd", "fabrikam-inc"):
        _api(
            alex,
            server,
            "POST",
            f"/api/v1/tenants/northwind-it/tenant-groups/{group['id']}/members",
            {"customer": slug},
        )

    # The MSP admin applies the baseline to the group: one result per client.
    alex.goto(server + "/msp/compliance/apply")
    alex.get_by_label("Framework", exact=True).fill("msp-baseline@1")
    alex.get_by_label("A client group").check()
    alex.get_by_label("Client group", exact=True).select_option(label="Healthcare")
    alex.get_by_role("button", name="Apply").click()
    results = alex.get_by_role("status")
    expect(results).to_contain_text("Contoso Ltd")
    expect(results).to_contain_text("Fabrikam Inc")
    expect(results).not_to_contain_text("Tailspin Toys")
    expect(results.get_by_text("Adopted", exact=True)).to_have_count(2)
    check_layout(alex)
    shot(alex, "compliance-flow-apply")
    alex.goto(server + "/msp/compliance")
    contoso_row = alex.locator("tr", has=alex.get_by_role("link", name="Contoso Ltd"))
    expect(contoso_row).to_contain_text("0.0%")
    expect(alex.locator("tr", has=alex.get_by_role("link", name="Tailspin Toys"))).to_have_count(0)

    # The technician opens Contoso and assesses MFA with an evidence file.
    tina = sign_in(browser, server, TECH)
    tina.goto(server + CONTOSO)
    expect(tina.locator("main h1")).to_have_text("Compliance")
    before = _contoso_score(tina)
    tina.get_by_role("link", name="MSP security baseline").click()
    tina.get_by_role("link", name=re.compile("MSP-01")).first.click()
    tina.get_by_label("Status").select_option("implemented")
    tina.get_by_role("button", name="Save assessment").click()
    pdf = tmp_path / "mfa-report.pdf"
    pdf.write_bytes(PDF)
    tina.get_by_label("Upload a file", exact=True).set_input_files(str(pdf))
    tina.get_by_role("button", name="Upload file", exact=True).click()
    expect(tina.get_by_role("link", name=re.compile("mfa-report.pdf"))).to_be_visible()
    check_layout(tina)
    shot(tina, "compliance-flow-assessment")

    # … approves and publishes a policy …
    tina.goto(server + CONTOSO + "/policies")
    tina.get_by_text("New policy").click()
    tina.get_by_label("Title").fill("Acceptable use")
    tina.get_by_role("button", name="Create draft").click()
    tina.get_by_label("Text (Markdown)").fill("# Acceptable use\n\n- Sign in with MFA")
    tina.get_by_role("button", name="Save").click()
    tina.get_by_role("button", name="Approve version 1").click()
    tina.get_by_role("button", name="Publish version 1").click()
    expect(tina.get_by_text("Published", exact=False).first).to_be_visible()

    # … and adds a risk.
    tina.goto(server + CONTOSO + "/risks")
    tina.get_by_text("Add a risk").click()
    form = tina.locator("form", has=tina.get_by_label("Title"))
    form.get_by_label("Title").fill("Phishing takes over a mailbox")
    form.get_by_label("Likelihood", exact=True).select_option("4")
    form.get_by_label("Impact", exact=True).select_option("4")
    form.get_by_label("Treatment", exact=True).select_option("mitigate")
    form.get_by_role("button", name=re.compile("Add")).click()
    expect(tina.get_by_text("Phishing takes over a mailbox").first).to_be_visible()

    # The client's score moved, and so did the MSP's overview.
    tina.goto(server + CONTOSO)
    after = _contoso_score(tina)
    assert after != before and after != "0.0%", (before, after)
    alex.goto(server + "/msp/compliance")
    expect(contoso_row).to_contain_text(after)
    check_layout(alex)
    shot(alex, "compliance-flow-overview")

    # Tina reaches nothing of a client she is not delegated to.
    refused = tina.goto(server + "/t/fabrikam-inc/compliance")
    assert refused is not None and refused.status == 404

    # Contoso's own admin sees the work in her tenant, and no MSP page.
    carol = sign_in(browser, server, CAROL)
    carol.goto(server + CONTOSO)
    assert _contoso_score(carol) == after
    carol.goto(server + CONTOSO + "/policies")
    expect(carol.get_by_text("Acceptable use").first).to_be_visible()
    msp_page = carol.goto(server + "/msp/compliance")
    assert msp_page is not None and msp_page.status == 404
