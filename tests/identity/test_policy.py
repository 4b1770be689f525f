"""The home tenant's security policy: who may set it, and what "MFA required" does to a
user without a second factor (API and web)."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.db.engine import Database
from tenantry.identity.models import User
from tenantry.tenancy.models import Tenant
from tests.factories import PASSWORD, client, make_user, signed_in_client

from .conftest import ALEX, change, code, events, one

POLICY = "/api/v1/tenants/northwind/security-policy"


async def test_an_admin_sets_the_policy_and_it_is_audited(
    app: FastAPI, alex: User, msp: Tenant, owner_engine: AsyncEngine
) -> None:
    async with await signed_in_client(app, ALEX) as admin:
        before = (await admin.get(POLICY)).json()
        assert before["require_mfa"] is False
        assert before["effective_session_lifetime_minutes"] == 12 * 60
        response = await admin.put(POLICY, json={"session_lifetime_minutes": 480})
        assert response.status_code == 200, response.text
        assert response.json()["effective_session_lifetime_minutes"] == 480
        # A field left out is kept.
        response = await admin.put(POLICY, json={"require_mfa": True})
        assert response.json() == {
            "tenant_id": str(msp.id),
            "require_mfa": True,
            "require_mfa_from": None,
            "mfa_in_force": True,
            "session_lifetime_minutes": 480,
            "effective_session_lifetime_minutes": 480,
            "require_mfa_for_clients": False,
            "without_second_factor": {"users": 1, "api_tokens": 0, "includes_you": True},
            "warning": "1 user of Northwind IT has no second factor (you). Once "
            "it is required they must set one up before anything else.",
        }
        # Alex has no second factor: from the next request on he must set one up.
        after = await admin.get(POLICY)
        assert after.status_code == 403
        assert after.json()["type"].endswith("/mfa-required")
    changed = await events(owner_engine, msp.id, "tenant.settings_changed")
    assert [e.changes for e in changed] == [
        {"session_lifetime_minutes": [None, 480]},
        {"require_mfa": [False, True]},
    ]
    assert changed[0].actor_user_id == alex.id


async def test_bad_policy_input_names_the_field_and_changes_nothing(
    app: FastAPI, alex: User, msp: Tenant, owner_engine: AsyncEngine
) -> None:
    async with await signed_in_client(app, ALEX) as admin:
        for body, field in (
            ({"session_lifetime_minutes": 1}, "session_lifetime_minutes"),
            ({"require_mfa": True, "session_lifetime_minutes": 10**6}, "session_lifetime_minutes"),
            ({"require_mfa": "perhaps"}, "require_mfa"),
        ):
            response = await admin.put(POLICY, json=body)
            assert response.status_code == 422, body
            assert response.json()["errors"][0]["field"] == field
    assert await one(owner_engine, select(Tenant.require_mfa)) is False
    assert await events(owner_engine, msp.id, "tenant.settings_changed") == []


async def test_only_the_tenants_own_admins_set_its_policy(
    app: FastAPI, database: Database, alex: User, msp: Tenant
) -> None:
    await make_user(database, msp, "tina@northwind.example", role="technician")
    async with await signed_in_client(app, "tina@northwind.example") as tina:
        response = await tina.put(POLICY, json={"require_mfa": True})
        assert response.status_code == 403
        assert response.json()["permission"] == "settings:manage"
    async with await signed_in_client(app, ALEX) as admin:
        made = await admin.post("/api/v1/tenants/northwind/customers", json={"name": "Contoso"})
        assert made.status_code == 201
        # The MSP owns the customer, but the customer's users' policy is the customer's own.
        response = await admin.put(
            "/api/v1/tenants/contoso/security-policy", json={"require_mfa": True}
        )
        assert response.status_code == 403
        assert "set by its own admins" in response.json()["detail"]


async def test_required_mfa_sends_a_user_without_it_to_enrolment_first(
    app: FastAPI, alex: User, msp: Tenant, owner_engine: AsyncEngine
) -> None:
    await change(owner_engine, update(Tenant).where(Tenant.id == msp.id).values(require_mfa=True))
    async with client(app) as browser:
        response = await browser.post(
            "/api/v1/auth/sign-in", json={"email": ALEX, "password": PASSWORD}
        )
        assert response.status_code == 200
        assert response.json()["status"] == "mfa_enrolment_required"
        browser.headers["x-csrf-token"] = response.json()["me"]["csrf_token"]
        blocked = await browser.get("/api/v1/tenants/northwind")
        assert blocked.status_code == 403
        assert blocked.json()["type"].endswith("/mfa-required")
        assert blocked.json()["next"] == "/account/security/totp"
        page = await browser.get("/account/security", headers={"accept": "text/html"})
        assert page.status_code == 303
        assert page.headers["location"] == "/account/security/totp"
        # Enrolling is allowed, and once done everything opens.
        secret = (await browser.post("/api/v1/me/totp/enrol")).json()["secret"]
        done = await browser.post("/api/v1/me/totp/confirm", json={"code": code(secret)})
        assert done.status_code == 200, done.text
        assert (await browser.get("/api/v1/tenants/northwind")).status_code == 200
    # From now on this user signs in with the code.
    async with client(app) as browser:
        response = await browser.post(
            "/api/v1/auth/sign-in", json={"email": ALEX, "password": PASSWORD}
        )
        assert response.json()["status"] == "mfa_required"


async def test_required_mfa_web_sign_in_goes_to_the_enrolment_page(
    app: FastAPI, alex: User, msp: Tenant, owner_engine: AsyncEngine
) -> None:
    import re

    await change(owner_engine, update(Tenant).where(Tenant.id == msp.id).values(require_mfa=True))
    async with client(app) as browser:
        page = await browser.get("/sign-in", headers={"accept": "text/html"})
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        response = await browser.post(
            "/sign-in",
            data={"email": ALEX, "password": PASSWORD, "csrf_token": token.group(1)},
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/account/security/totp"
        enrol = await browser.get("/account/security/totp", headers={"accept": "text/html"})
        assert enrol.status_code == 200
        assert "Northwind IT requires two-step sign-in" in enrol.text
