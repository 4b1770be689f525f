"""Ticket and contact pages, server-rendered: lists with filters in the query string,
forms that keep input and show errors by the field, CSRF, CSV export, the MSP-wide
page, and the demo data."""

from __future__ import annotations

import csv
import io
import re

import httpx
from sqlalchemy import func, select

from tenantry.access.service import operator_scope
from tenantry.config import Settings
from tenantry.db.engine import Database
from tenantry.demo import ensure_demo
from tenantry.psa.contacts.models import Contact
from tenantry.psa.tickets.models import Ticket
from tests.factories import PASSWORD, signed_in_client
from tests.psa.conftest import PsaWorld


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]*)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


async def _browser(psa: PsaWorld, email: str) -> httpx.AsyncClient:
    browser = await signed_in_client(psa.app, email, PASSWORD)
    browser.headers.pop("x-csrf-token", None)  # forms send the field, as a browser does
    return browser


async def test_create_from_the_form_and_errors_keep_the_input(
    psa: PsaWorld, database: Database
) -> None:
    async with await _browser(psa, "alex@northwind.example") as browser:
        page = await browser.get("/t/contoso/tickets")
        assert page.status_code == 200
        token = _csrf(page.text)
        no_csrf = await browser.post("/t/contoso/tickets", data={"title": "x"})
        assert no_csrf.status_code == 403
        bad = await browser.post(
            "/t/contoso/tickets",
            data={"csrf_token": token, "title": "  ", "category": "Kept category"},
        )
        assert bad.status_code == 422 and 'id="f-title-error"' in bad.text
        assert 'value="Kept category"' in bad.text
        unknown = await browser.post(
            "/t/contoso/tickets",
            data={"csrf_token": token, "title": "Kept", "requester": "nobody@contoso.example"},
        )
        assert unknown.status_code == 422 and 'id="f-requester-error"' in unknown.text
        assert 'value="Kept"' in unknown.text
        made = await browser.post(
            "/t/contoso/tickets",
            data={
                "csrf_token": token,
                "title": "Wi-Fi slow",
                "priority": "P2",
                "assignee": "me",
                "tags": "wifi, office",
            },
        )
        assert made.status_code == 303 and made.headers["location"] == "/t/contoso/tickets/1001"
        detail = await browser.get("/t/contoso/tickets/1001")
        assert detail.status_code == 200 and "Wi-Fi slow" in detail.text
        assert "data-due=" in detail.text  # the SLA counts down
        reply = await browser.post(
            "/t/contoso/tickets/1001/comments",
            data={"csrf_token": token, "body": "Rebooted the AP", "visibility": "public"},
        )
        assert reply.status_code == 303
        saved = await browser.post(
            "/t/contoso/tickets/1001",
            data={
                "csrf_token": token,
                "title": "Wi-Fi slow",
                "status": "bogus",
                "priority": "P2",
                "assignee": "",
                "tags": "",
            },
        )
        assert saved.status_code == 422 and 'id="f-status-error"' in saved.text
        missing = await browser.get("/t/contoso/tickets/4242")
        assert missing.status_code == 404
    async with database.unit_of_work(operator_scope([psa.tenants["contoso"]])) as session:
        assert await session.scalar(select(func.count()).select_from(Ticket)) == 1


async def test_list_filters_bulk_and_csv(psa: PsaWorld) -> None:
    for title, priority in (("=cmd|' /C calc'!A0", "P1"), ("Mouse", "P4"), ("Keyboard", "P4")):
        await psa.ticket("alex", "contoso", title=title, priority=priority)
    async with await _browser(psa, "alex@northwind.example") as browser:
        page = await browser.get("/t/contoso/tickets", params={"priority": "P4", "sort": "number"})
        assert page.status_code == 200
        assert "Mouse" in page.text and "Keyboard" in page.text and "calc" not in page.text
        token = _csrf(page.text)
        bulk = await browser.post(
            "/t/contoso/tickets/bulk",
            data={
                "csrf_token": token,
                "numbers": ["1002", "1003"],
                "status": "on_hold",
                "back": "/t/contoso/tickets?priority=P4",
            },
        )
        assert (
            bulk.status_code == 303 and bulk.headers["location"] == "/t/contoso/tickets?priority=P4"
        )
        paused = await browser.get("/t/contoso/tickets", params={"status": "paused"})
        assert "Mouse" in paused.text and "Keyboard" in paused.text
        exported = await browser.get("/t/contoso/tickets.csv", params={"status": "all"})
        assert exported.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert {r["title"] for r in rows} == {"'=cmd|' /C calc'!A0", "Mouse", "Keyboard"}
        hand_edited = await browser.get("/t/contoso/tickets", params={"assignee": "nobody"})
        assert hand_edited.status_code == 200 and "Filter assignee" in hand_edited.text


async def test_msp_page_and_contacts_page(psa: PsaWorld) -> None:
    await psa.ticket("alex", "contoso", title="Contoso thing")
    await psa.ticket("alex", "fabrikam", title="Fabrikam thing")
    async with await _browser(psa, "dora@northwind.example") as browser:
        page = await browser.get("/msp/tickets")
        assert page.status_code == 200
        assert "Contoso thing" in page.text and "Fabrikam thing" not in page.text
    async with await _browser(psa, "alex@northwind.example") as browser:
        page = await browser.get("/msp/tickets", params={"client": "fabrikam"})
        assert "Fabrikam thing" in page.text and "Contoso thing" not in page.text
        exported = await browser.get("/msp/tickets.csv")
        assert {r["client"] for r in csv.DictReader(io.StringIO(exported.text))} == {
            "contoso",
            "fabrikam",
        }
        contacts = await browser.get("/t/contoso/contacts")
        assert contacts.status_code == 200
        token = _csrf(contacts.text)
        bad = await browser.post(
            "/t/contoso/contacts",
            data={
                "csrf_token": token,
                "name": "Ann",
                "email": "nope",
                "phone": "",
                "job_title": "Boss",
            },
        )
        assert bad.status_code == 422 and 'id="f-email-error"' in bad.text
        assert 'value="Boss"' in bad.text
        imported = await browser.post(
            "/t/contoso/contacts/import",
            data={"csrf_token": token},
            files={"file": ("c.csv", "name,email\nAnn,ann@contoso.example\n,x@y.example\n")},
        )
        assert imported.status_code == 200
        assert "1 added, 1 rejected" in imported.text


async def test_demo_gives_every_client_contacts_and_tickets(
    database: Database, settings: Settings
) -> None:
    await ensure_demo(database, settings)
    async with database.platform_reader() as session:
        from tenantry.tenancy import repository

        ids = [
            t.id
            for slug in ("contoso-ltd", "fabrikam-inc", "tailspin-toys")
            if (t := await repository.by_slug(session, slug)) is not None
        ]
    assert len(ids) == 3
    for tenant_id in ids:
        async with database.unit_of_work(operator_scope([tenant_id])) as session:
            assert await session.scalar(select(func.count()).select_from(Contact)) == 4
            assert await session.scalar(select(func.count()).select_from(Ticket)) == 5


async def test_edit_a_contact_from_its_page(psa: PsaWorld) -> None:
    made = (
        await psa.call(
            "alex",
            "POST",
            "/api/v1/tenants/contoso/contacts",
            json={"name": "Ann", "email": "ann@contoso.example"},
        )
    ).json()
    async with await _browser(psa, "alex@northwind.example") as browser:
        url = f"/t/contoso/contacts/{made['id']}"
        page = await browser.get(url)
        assert page.status_code == 200 and 'value="ann@contoso.example"' in page.text
        token = _csrf(page.text)
        bad = await browser.post(
            url, data={"csrf_token": token, "name": "Ann B", "email": "broken", "phone": ""}
        )
        assert bad.status_code == 422 and 'id="f-email-error"' in bad.text
        assert 'value="Ann B"' in bad.text
        ok = await browser.post(
            url,
            data={
                "csrf_token": token,
                "name": "Ann B",
                "email": "ann@contoso.example",
                "phone": "+1 555 0100",
                "job_title": "",
            },
        )
        assert ok.status_code == 303
        assert (await browser.get(f"/t/fabrikam/contacts/{made['id']}")).status_code == 404
    fetched = (
        await psa.call("alex", "GET", f"/api/v1/tenants/contoso/contacts/{made['id']}")
    ).json()
    assert (fetched["name"], fetched["phone"]) == ("Ann B", "+1 555 0100")
