"""The evidence panel in a real headless Chromium (SQLite): the client's own admin
uploads a file and adds a link, both are listed, the file downloads as an attachment,
and a refused file shows its error beside the field. Screenshots at laptop and phone
widths go to /tmp/shots/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tenantry.config import Settings
from tenantry.db.engine import Database
from tests.harness.browser import LAPTOP, PHONE, check_layout, serve, shot, sign_in
from tests.harness.world import CAROL, seed_world

from .helpers import EXE, PDF, seed_assessment

pytestmark = pytest.mark.browser

SEEDED: dict[str, str] = {}


async def _seed(settings: Settings) -> None:
    db = Database(settings)
    try:
        people = await seed_world(db)
        assessment = await seed_assessment(db, people.customers["contoso-ltd"].id)
        SEEDED["evidence"] = f"/t/contoso-ltd/compliance/assessments/{assessment}/evidence"
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve(tmp_path_factory, _seed) as url:
        yield url


def test_the_clients_admin_adds_a_file_and_a_link(
    browser: Browser, server: str, tmp_path: Path
) -> None:
    page = sign_in(browser, server, CAROL)
    page.goto(server + SEEDED["evidence"])
    expect(page.get_by_role("heading", name="Evidence", exact=True).first).to_be_visible()
    check_layout(page)

    refused = tmp_path / "invoice.pdf"
    refused.write_bytes(EXE)
    page.get_by_label("Upload a file", exact=True).set_input_files(str(refused))
    page.get_by_role("button", name="Upload file", exact=True).click()
    expect(page.locator("#ev-file-error")).to_contain_text("not accepted")
    shot(page, "evidence-refused-laptop")

    good = tmp_path / "MFA report Q3.pdf"
    good.write_bytes(PDF)
    page.get_by_label("Upload a file", exact=True).set_input_files(str(good))
    page.get_by_role("button", name="Upload file", exact=True).click()
    # Lands on the assessment page (helper B's); the evidence page lists it.
    page.goto(server + SEEDED["evidence"])
    expect(page.get_by_role("link", name="MFA report Q3.pdf")).to_be_visible()

    page.get_by_label("Link", exact=True).fill("https://share.contoso.example/it/mfa-rollout")
    page.get_by_label("Title").fill("MFA rollout plan")
    page.get_by_role("button", name="Add link").click()
    page.goto(server + SEEDED["evidence"])
    expect(page.get_by_role("link", name="MFA rollout plan")).to_be_visible()

    with page.expect_download() as download:
        page.get_by_role("link", name="MFA report Q3.pdf").click()
    saved = tmp_path / "saved.pdf"
    download.value.save_as(saved)
    assert saved.read_bytes() == PDF
    assert download.value.suggested_filename == "MFA report Q3.pdf"

    check_layout(page)
    shot(page, "evidence-panel-laptop")
    phone = sign_in(browser, server, CAROL, PHONE)
    phone.goto(server + SEEDED["evidence"])
    check_layout(phone)
    shot(phone, "evidence-panel-phone")
    assert LAPTOP["width"] > PHONE["width"]
