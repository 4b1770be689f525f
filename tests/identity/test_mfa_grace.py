"""Requiring a second factor: the admin is told who it stops (users, API tokens, them
too) before it takes effect, and may give a date until which those users keep working."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.db.base import utcnow
from tenantry.db.engine import Database
from tenantry.identity.models import User
from tenantry.tenancy.models import Tenant
from tests.factories import PASSWORD, api_token, client, make_user, signed_in_client

from .conftest import ALEX, change, events, one

POLICY = "/api/v1/tenants/northwind/security-policy"
SAM = "sam@northwind.example"
HTML = {"accept": "text/html"}


async def test_requiring_a_second_factor_says_who_it_stops_and_can_wait_for_a_date(
    app: FastAPI, database: Database, alex: User, msp: Tenant, owner_engine: AsyncEngine
) -> None:
    sam = await make_user(database, msp, SAM)
    token = await api_token(database, sam)
    bearer = {"authorization": f"Bearer {token}"}
    async with await signed_in_client(app, ALEX) as admin:
        before = (await admin.get(POLICY)).json()
        # Looked at before anything is required: Alex, Sam and Sam's token.
        assert before["without_second_factor"] == {
            "users": 2,
            "api_tokens": 1,
            "includes_you": True,
        }
        assert before["warning"] is None
        starts = (utcnow() + timedelta(days=7)).replace(microsecond=0)
        response = await admin.put(
            POLICY, json={"require_mfa": True, "require_mfa_from": starts.isoformat()}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["require_mfa"] is True
        assert body["mfa_in_force"] is False
        assert body["require_mfa_from"].startswith(starts.strftime("%Y-%m-%dT%H:%M:%S"))
        assert "2 users of Northwind IT have no second factor (you among them)" in body["warning"]
        assert "their 1 API token stops working" in body["warning"]
        # Until the date nobody is stopped: Alex goes on, Sam's token works.
        assert (await admin.get(POLICY)).status_code == 200
    async with client(app) as tool:
        assert (await tool.get("/api/v1/tenants/northwind", headers=bearer)).status_code == 200
    async with client(app) as browser:
        signed = await browser.post(
            "/api/v1/auth/sign-in", json={"email": SAM, "password": PASSWORD}
        )
        assert signed.json()["status"] == "signed_in"
        assert signed.json()["me"]["mfa"]["required_from"] is not None
    changed = await events(owner_engine, msp.id, "tenant.settings_changed")
    assert len(changed) == 1
    assert changed[0].changes["require_mfa"] == [False, True]
    old, new = changed[0].changes["require_mfa_from"]
    assert old is None and new.startswith(starts.strftime("%Y-%m-%dT%H:%M:%S"))
    # The date comes: from then on Sam's token is stopped until he sets one up.
    await change(
        owner_engine,
        update(Tenant)
        .where(Tenant.id == msp.id)
        .values(require_mfa_from=utcnow() - timedelta(minutes=1)),
    )
    async with client(app) as tool:
        stopped = await tool.get("/api/v1/tenants/northwind", headers=bearer)
        assert stopped.status_code == 403
        assert stopped.json()["type"].endswith("/mfa-required")


async def test_a_bad_grace_date_names_the_field_and_changes_nothing(
    app: FastAPI, alex: User, msp: Tenant, owner_engine: AsyncEngine
) -> None:
    far = (utcnow() + timedelta(days=400)).isoformat()
    soon = (utcnow() + timedelta(days=3)).isoformat()
    async with await signed_in_client(app, ALEX) as admin:
        for body in (
            {"require_mfa": True, "require_mfa_from": 1893456000},
            {"require_mfa": True, "require_mfa_from": far},
            {"require_mfa": False, "require_mfa_from": soon},
            {"require_mfa_from": soon},
        ):
            response = await admin.put(POLICY, json=body)
            assert response.status_code == 422, body
            assert response.json()["errors"][0]["field"] == "require_mfa_from", body
    assert await one(owner_engine, select(Tenant.require_mfa)) is False
    assert await events(owner_engine, msp.id, "tenant.settings_changed") == []


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


async def test_the_page_warns_before_requiring_it_at_once_and_offers_a_date(
    app: FastAPI, database: Database, alex: User, msp: Tenant, owner_engine: AsyncEngine
) -> None:
    await make_user(database, msp, SAM)
    async with await signed_in_client(app, ALEX) as admin:
        page = await admin.get("/settings/security", headers=HTML)
        assert page.status_code == 200
        assert "2 users of Northwind IT have no second factor (you among them)" in page.text
        # A grace period is offered by default.
        suggested = re.search(r'name="require_mfa_from" type="date" value="([0-9-]+)"', page.text)
        assert suggested
        # Required at once, unconfirmed: refused with the warning, nothing stored.
        refused = await admin.post(
            "/settings/security",
            data={"require_mfa": "on", "require_mfa_from": "", "csrf_token": _csrf(page.text)},
            headers=HTML,
        )
        assert refused.status_code == 409
        assert "Require it now anyway" in refused.text
        assert "no second factor" in refused.text and "0 API tokens" not in refused.text
        assert await one(owner_engine, select(Tenant.require_mfa)) is False
        # With the date offered: saved, and Alex carries on until then.
        saved = await admin.post(
            "/settings/security",
            data={
                "require_mfa": "on",
                "require_mfa_from": suggested.group(1),
                "csrf_token": _csrf(page.text),
            },
            headers=HTML,
        )
        assert saved.status_code == 303
        after = await admin.get("/settings/security", headers=HTML)
        assert after.status_code == 200
        assert f"required from {suggested.group(1)}" in after.text
    stored = await one(owner_engine, select(Tenant.require_mfa_from).where(Tenant.id == msp.id))
    assert stored is not None and stored > utcnow() + timedelta(days=12)
    # Sam signs in on the web: offered to set one up, and free to skip it for now.
    async with client(app) as browser:
        form = await browser.get("/sign-in", headers=HTML)
        response = await browser.post(
            "/sign-in",
            data={"email": SAM, "password": PASSWORD, "csrf_token": _csrf(form.text), "next": "/"},
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/account/security/totp?next=/"
        offer = await browser.get(response.headers["location"], headers=HTML)
        assert offer.status_code == 200
        assert "Northwind IT requires two-step sign-in from" in offer.text
        assert '<a href="/">Not now</a>' in offer.text
        assert (await browser.get("/account/security", headers=HTML)).status_code == 200
