"""The evidence panel and its forms, as a browser posts them (session cookie, CSRF
token in the form), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select

from tenantry.compliance.evidence.models import Evidence
from tests.access.conftest import EMAILS, World
from tests.factories import signed_in_client

from .helpers import EXE, PDF, seed_assessment

T = "/t/contoso-ltd/compliance"


@pytest.fixture
async def alex(world: World) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """Alex's browser: the CSRF token goes in the form field, not a header."""
    async with await signed_in_client(world.app, EMAILS["alex"]) as browser:
        token = str(browser.headers.pop("x-csrf-token"))
        yield browser, token


async def test_upload_link_and_remove_land_back_on_the_assessment(
    world: World, alex: tuple[httpx.AsyncClient, str]
) -> None:
    browser, csrf = alex
    assessment = await seed_assessment(world.database, world.customers["contoso-ltd"].id)
    back = f"{T}/assessments/{assessment}"
    uploaded = await browser.post(
        f"{back}/evidence",
        data={"csrf_token": csrf},
        files={"file": ("../../MFA report.pdf", PDF, "application/pdf")},
    )
    assert uploaded.status_code == 303, uploaded.text
    assert uploaded.headers["location"] == back
    linked = await browser.post(
        f"{back}/evidence/links",
        data={"csrf_token": csrf, "url": "https://share.example/mfa", "name": "Rollout plan"},
    )
    assert linked.status_code == 303 and linked.headers["location"] == back

    page = await browser.get(f"{back}/evidence")
    assert page.status_code == 200, page.text
    assert "MFA report.pdf" in page.text and "Rollout plan" in page.text
    assert 'enctype="multipart/form-data"' in page.text
    assert f'value="{csrf}"' in page.text
    [file_id] = [e.id for e in await _rows(world) if e.kind == "file"]
    download = await browser.get(f"{T}/evidence/{file_id}/file")
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["content-security-policy"].startswith("sandbox")
    assert download.headers["cache-control"] == "private, no-store"

    removed = await browser.post(f"{T}/evidence/{file_id}/remove", data={"csrf_token": csrf})
    assert removed.status_code == 303 and removed.headers["location"] == back
    page = await browser.get(f"{back}/evidence")
    assert "Removed evidence (1)" in page.text
    twice = await browser.post(f"{T}/evidence/{file_id}/remove", data={"csrf_token": csrf})
    assert twice.status_code == 303 and twice.headers["location"] == back


async def test_refusals_show_the_error_by_the_field_and_store_nothing(
    world: World, alex: tuple[httpx.AsyncClient, str]
) -> None:
    browser, csrf = alex
    assessment = await seed_assessment(world.database, world.customers["contoso-ltd"].id)
    back = f"{T}/assessments/{assessment}"
    refused = await browser.post(
        f"{back}/evidence",
        data={"csrf_token": csrf},
        files={"file": ("invoice.pdf", EXE, "application/pdf")},
    )
    assert refused.status_code == 422
    assert 'id="ev-file-error"' in refused.text and "not accepted" in refused.text
    empty = await browser.post(
        f"{back}/evidence", data={"csrf_token": csrf}, files={"file": ("", b"", "application/pdf")}
    )
    assert empty.status_code == 422 and "is required" in empty.text
    bad_link = await browser.post(
        f"{back}/evidence/links", data={"csrf_token": csrf, "url": "javascript:alert(1)"}
    )
    assert bad_link.status_code == 422
    assert 'id="ev-url-error"' in bad_link.text and 'value="javascript:alert(1)"' in bad_link.text
    assert await _rows(world) == []


async def test_a_form_without_the_csrf_token_is_refused(
    world: World, alex: tuple[httpx.AsyncClient, str]
) -> None:
    browser, _ = alex
    assessment = await seed_assessment(world.database, world.customers["contoso-ltd"].id)
    response = await browser.post(
        f"{T}/assessments/{assessment}/evidence/links", data={"url": "https://a.example"}
    )
    assert response.status_code == 403
    assert await _rows(world) == []


async def test_the_panel_offers_no_forms_to_a_reader(world: World) -> None:
    assessment = await seed_assessment(world.database, world.customers["contoso-ltd"].id)
    await world.grant(
        "alex",
        "northwind",
        user=str(world.users["tina"].id),
        role="read_only",
        scope="customer",
        customer="contoso-ltd",
    )
    page = await world.get("tina", f"{T}/assessments/{assessment}/evidence")
    assert page.status_code == 200, page.text
    assert "No evidence yet." in page.text and "<form" not in page.text.split("evidence-h")[1]
    initech = await seed_assessment(world.database, world.other_customer.id)
    assert (await world.get("alex", f"{T}/assessments/{initech}/evidence")).status_code == 404


async def _rows(world: World) -> list[Evidence]:
    async with world.owner_engine.connect() as conn:
        rows = (await conn.execute(select(Evidence.__table__))).mappings().all()
    return [Evidence(**dict(r)) for r in rows]
