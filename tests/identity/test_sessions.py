"""Sessions: listing and ending them, signing out (here and everywhere), absolute
expiry, idle timeout, the home tenant's lifetime, and CSRF on cookie requests."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.db.base import utcnow
from tenantry.db.engine import Database
from tenantry.identity.models import AuthSession, User
from tenantry.tenancy.models import Tenant
from tests.factories import api_token, client, signed_in_client

from .conftest import ALEX, actions, change, one, rows


async def test_my_sessions_are_listed_with_the_current_one_marked(app: FastAPI, alex: User) -> None:
    async with (
        await signed_in_client(app, ALEX, address="10.1.0.1") as laptop,
        await signed_in_client(app, ALEX, address="10.1.0.2") as phone,
    ):
        listed = (await laptop.get("/api/v1/me/sessions")).json()["items"]
        assert len(listed) == 2
        current = [s for s in listed if s["current"]]
        assert len(current) == 1 and current[0]["source_address"] == "10.1.0.1"
        mine = (await laptop.get("/api/v1/me")).json()["session_id"]
        assert current[0]["id"] == mine
        assert (await phone.get("/api/v1/me/sessions")).status_code == 200


async def test_ending_another_session_signs_that_device_out(
    app: FastAPI, alex: User, msp: Tenant, owner_engine: AsyncEngine
) -> None:
    async with (
        await signed_in_client(app, ALEX) as laptop,
        await signed_in_client(app, ALEX) as phone,
    ):
        phone_id = (await phone.get("/api/v1/me")).json()["session_id"]
        response = await laptop.delete(f"/api/v1/me/sessions/{phone_id}")
        assert response.status_code == 204
        assert (await phone.get("/api/v1/me")).status_code == 401
        assert (await laptop.get("/api/v1/me")).status_code == 200
        again = await laptop.delete(f"/api/v1/me/sessions/{phone_id}")
        assert again.status_code == 404
    assert "auth.session_revoked" in await actions(owner_engine, msp.id)


async def test_someone_elses_session_is_not_found(
    app: FastAPI, alex: User, database: Database, msp: Tenant
) -> None:
    from tests.factories import make_user

    await make_user(database, msp, "sam@northwind.example", role="technician")
    async with (
        await signed_in_client(app, ALEX) as alex_c,
        await signed_in_client(app, "sam@northwind.example") as sam,
    ):
        sam_session = (await sam.get("/api/v1/me")).json()["session_id"]
        assert (await alex_c.delete(f"/api/v1/me/sessions/{sam_session}")).status_code == 404
        assert (await sam.get("/api/v1/me")).status_code == 200
        bad = await alex_c.delete("/api/v1/me/sessions/not-a-uuid")
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["field"] == "session_id"


async def test_sign_out_ends_the_session_and_clears_the_cookie(
    app: FastAPI, alex: User, msp: Tenant, owner_engine: AsyncEngine
) -> None:
    async with await signed_in_client(app, ALEX) as browser:
        token = browser.cookies.get("tenantry_session")
        response = await browser.post("/api/v1/auth/sign-out")
        assert response.status_code == 204
        cleared = response.headers["set-cookie"]
        assert cleared.startswith("tenantry_session=") and "Max-Age=0" in cleared
    async with client(app) as stale:
        stale.cookies.set("tenantry_session", token)
        assert (await stale.get("/api/v1/me")).status_code == 401
    assert (await actions(owner_engine, msp.id))[-1] == "auth.sign_out"


async def test_sign_out_everywhere_ends_every_session_but_not_tokens(
    app: FastAPI, database: Database, alex: User, msp: Tenant, owner_engine: AsyncEngine
) -> None:
    secret = await api_token(database, alex)
    async with (
        await signed_in_client(app, ALEX) as laptop,
        await signed_in_client(app, ALEX) as phone,
    ):
        response = await laptop.post("/api/v1/auth/sign-out-everywhere")
        assert response.status_code == 200
        assert response.json() == {"sessions_ended": 2}
        assert (await laptop.get("/api/v1/me")).status_code == 401
        assert (await phone.get("/api/v1/me")).status_code == 401
    async with client(app) as script:
        me = await script.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
        assert me.status_code == 200
    assert (await actions(owner_engine, msp.id))[-1] == "auth.sign_out_everywhere"


async def test_a_session_expires_at_its_absolute_lifetime(
    app: FastAPI, alex: User, owner_engine: AsyncEngine
) -> None:
    async with await signed_in_client(app, ALEX) as browser:
        assert (await browser.get("/api/v1/me")).status_code == 200
        await change(owner_engine, update(AuthSession).values(expires_at=utcnow()))
        response = await browser.get("/api/v1/me")
        assert response.status_code == 401
        assert "session has ended" in response.json()["detail"]


async def test_an_idle_session_ends(
    app: FastAPI, alex: User, owner_engine: AsyncEngine, settings: object
) -> None:
    async with await signed_in_client(app, ALEX) as browser:
        # Active a minute ago: still fine, and the use is recorded.
        await change(
            owner_engine,
            update(AuthSession).values(last_seen_at=utcnow() - timedelta(minutes=2)),
        )
        assert (await browser.get("/api/v1/me")).status_code == 200
        seen = await one(owner_engine, select(AuthSession.last_seen_at))
        assert utcnow() - seen < timedelta(seconds=30)
        # Untouched for longer than the idle timeout (120 minutes by default): gone.
        await change(
            owner_engine,
            update(AuthSession).values(last_seen_at=utcnow() - timedelta(minutes=121)),
        )
        assert (await browser.get("/api/v1/me")).status_code == 401


async def test_the_home_tenant_sets_the_session_lifetime(
    app: FastAPI, alex: User, msp: Tenant, owner_engine: AsyncEngine
) -> None:
    await change(
        owner_engine, update(Tenant).where(Tenant.id == msp.id).values(session_lifetime_minutes=30)
    )
    async with await signed_in_client(app, ALEX):
        pass
    created, expires = (
        await rows(owner_engine, select(AuthSession.created_at, AuthSession.expires_at))
    )[0]
    assert expires - created == timedelta(minutes=30)


async def test_cookie_requests_that_change_something_need_the_csrf_token(
    app: FastAPI, alex: User
) -> None:
    async with await signed_in_client(app, ALEX) as browser:
        token = browser.headers.pop("x-csrf-token")
        refused = await browser.post("/api/v1/me/tokens", json={"name": "ci"})
        assert refused.status_code == 403
        assert refused.json()["problem"] == "csrf"
        wrong = await browser.post(
            "/api/v1/me/tokens", json={"name": "ci"}, headers={"x-csrf-token": "forged"}
        )
        assert wrong.status_code == 403
        ok = await browser.post(
            "/api/v1/me/tokens", json={"name": "ci"}, headers={"x-csrf-token": token}
        )
        assert ok.status_code == 201
