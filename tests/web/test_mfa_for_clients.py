"""An MSP requiring two-step sign-in of its staff in clients (issue #14): a delegated
technician without a second factor is refused in the client (403 mfa-required) but keeps
working in the MSP; enrolled, or with the setting off, they work; the MSP's admins set it
on the security policy page and in the API (audited); clients see it on "Your MSP"."""

from __future__ import annotations

import re

import httpx
import pyotp
from sqlalchemy import select

from tenantry.access.service import operator_scope
from tenantry.audit.models import AuditEvent
from tenantry.audit.schemas import OPERATOR
from tenantry.db.engine import Database
from tenantry.tenancy.service import TenancyService
from tests.factories import signed_in_client

from .conftest import CAROL, World

CONTOSO = "contoso-ltd"
POLICY = "/api/v1/tenants/northwind/security-policy"
HTML = {"accept": "text/html"}


async def require(alex: httpx.AsyncClient, on: bool) -> httpx.Response:
    answer = await alex.put(POLICY, json={"require_mfa_for_clients": on})
    assert answer.status_code == 200, answer.text
    return answer


async def enrol(browser: httpx.AsyncClient) -> None:
    started = await browser.post("/api/v1/me/totp/enrol")
    assert started.status_code == 200, started.text
    secret = started.json()["secret"]
    done = await browser.post("/api/v1/me/totp/confirm", json={"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200, done.text
    # A new session (and CSRF token) after the second factor.
    browser.headers["x-csrf-token"] = (await browser.get("/api/v1/me")).json()["csrf_token"]


async def settings_events(database: Database, world: World) -> list[dict]:
    async with database.unit_of_work(operator_scope([world.msp.id])) as session:
        rows = await session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "tenant.settings_changed")
            .order_by(AuditEvent.seq)
        )
        return [dict(e.changes) for e in rows.all()]


async def test_a_technician_without_a_second_factor_is_kept_out_of_clients_only(
    world: World, as_alex: httpx.AsyncClient, as_tina: httpx.AsyncClient
) -> None:
    tickets = f"/api/v1/tenants/{CONTOSO}/tickets"
    assert (await as_tina.get(tickets)).status_code == 200  # off: works
    on = await require(as_alex, True)
    assert on.json()["require_mfa_for_clients"] is True
    refused = await as_tina.get(tickets)
    assert refused.status_code == 403
    body = refused.json()
    assert body["reason"] == "mfa-required"
    assert body["enrol_url"] == "/account/security/totp"
    assert body["detail"].startswith("Northwind IT requires two-step sign-in to act in clients")
    # The page offers the enrolment.
    page = await as_tina.get(f"/t/{CONTOSO}/", headers=HTML)
    assert page.status_code == 403
    assert 'href="/account/security/totp"' in page.text
    # In the MSP itself she keeps working; so does Alex, who acts in every client.
    assert (await as_tina.get("/api/v1/tenants/northwind/security-policy")).status_code == 200
    assert (await as_alex.get(f"/api/v1/tenants/{CONTOSO}/tickets")).status_code == 403
    # The client's own people are not the MSP's staff.
    async with await signed_in_client_of(world, CAROL) as carol:
        assert (await carol.get(tickets)).status_code == 200
    # Enrolled, she works in the client again.
    await enrol(as_tina)
    assert (await as_tina.get(tickets)).status_code == 200
    # Off again: Alex, still without one, works in clients.
    await require(as_alex, False)
    assert (await as_alex.get(tickets)).status_code == 200


async def signed_in_client_of(world: World, email: str) -> httpx.AsyncClient:
    return await signed_in_client(world.app, email)


async def test_the_api_sets_it_audited_and_refuses_bad_input(
    world: World, database: Database, as_alex: httpx.AsyncClient
) -> None:
    before = (await as_alex.get(POLICY)).json()
    assert before["require_mfa_for_clients"] is False  # as after an upgrade
    await require(as_alex, True)
    assert {"require_mfa_for_clients": [False, True]} in [
        {k: list(v) if isinstance(v, list | tuple) else v for k, v in c.items()}
        for c in await settings_events(database, world)
    ]
    bad = await as_alex.put(POLICY, json={"require_mfa_for_clients": "maybe"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "require_mfa_for_clients"
    assert (await as_alex.get(POLICY)).json()["require_mfa_for_clients"] is True
    # A client is no MSP: it has no staff acting in clients.
    async with await signed_in_client_of(world, CAROL) as carol:
        refused = await carol.put(
            f"/api/v1/tenants/{CONTOSO}/security-policy", json={"require_mfa_for_clients": True}
        )
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["field"] == "require_mfa_for_clients"
        assert (await carol.get(f"/api/v1/tenants/{CONTOSO}/security-policy")).json()[
            "require_mfa_for_clients"
        ] is None


async def test_the_policy_page_sets_it(
    world: World, database: Database, as_alex: httpx.AsyncClient
) -> None:
    page = await as_alex.get("/settings/security", headers=HTML)
    assert "Require two-step sign-in to act in clients" in page.text
    saved = await as_alex.post(
        "/settings/security",
        data={"require_mfa_for_clients": "on", "session_lifetime_minutes": ""},
        headers=HTML,
    )
    assert saved.status_code == 303, saved.text
    assert (await as_alex.get(POLICY)).json()["require_mfa_for_clients"] is True
    events = await settings_events(database, world)
    assert any("require_mfa_for_clients" in c for c in events)
    bad = await as_alex.post(
        "/settings/security",
        data={"require_mfa_for_clients": "maybe", "session_lifetime_minutes": ""},
        headers=HTML,
    )
    assert bad.status_code == 422
    assert re.search(r'id="mfa-clients-error">[^<]*must be ticked', bad.text)
    assert (await as_alex.get(POLICY)).json()["require_mfa_for_clients"] is True
    off = await as_alex.post(
        "/settings/security", data={"session_lifetime_minutes": ""}, headers=HTML
    )
    assert off.status_code == 303
    assert (await as_alex.get(POLICY)).json()["require_mfa_for_clients"] is False


async def test_new_msps_start_with_it_on(database: Database) -> None:
    async with database.unit_of_work(operator_scope([])) as session:
        service = TenancyService(session)
        msp = await service.create_tenant(
            name="Fresh MSP", display_name=None, is_msp=True, actor=OPERATOR
        )
        plain = await service.create_tenant(
            name="Plain Org", display_name=None, is_msp=False, actor=OPERATOR
        )
        assert msp.require_mfa_for_clients is True
        assert plain.require_mfa_for_clients is False
        licensed = await service.set_msp_license(plain, True, actor=OPERATOR)
        assert licensed.require_mfa_for_clients is True


async def test_your_msp_says_whether_the_msp_requires_it(
    world: World, as_alex: httpx.AsyncClient
) -> None:
    async with await signed_in_client_of(world, CAROL) as carol:
        page = await carol.get(f"/t/{CONTOSO}/msp", headers=HTML)
        assert "not required by Northwind IT of its staff" in page.text
        links = await carol.get(f"/api/v1/tenants/{CONTOSO}/links", params={"state": "live"})
        assert links.json()["items"][0]["msp_requires_mfa_for_clients"] is False
        await require(as_alex, True)
        page = await carol.get(f"/t/{CONTOSO}/msp", headers=HTML)
        assert "required: everyone from Northwind IT who works here" in page.text
        links = await carol.get(f"/api/v1/tenants/{CONTOSO}/links", params={"state": "live"})
        assert links.json()["items"][0]["msp_requires_mfa_for_clients"] is True
