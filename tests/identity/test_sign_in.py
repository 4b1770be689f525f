"""Signing in with email and password through the API: what a person (and an attacker)
sees, the cookie, the audit trail, suspended tenants and password rehashing."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.config import Settings
from tenantry.db.engine import Database
from tenantry.identity.models import AuthSession, SignInThrottle, User
from tenantry.tenancy.models import Tenant, TenantStatus
from tests.factories import PASSWORD, client, make_tenant, make_user, signed_in_client

from .conftest import ALEX, actions, app_with, change, count, events, one, rows

INCORRECT = "Email or password is incorrect."


def session_cookie(response) -> str:  # type: ignore[no-untyped-def]
    cookies = [c for c in response.headers.get_list("set-cookie") if c.startswith("tenantry_")]
    assert cookies, response.headers
    return next(c for c in cookies if c.startswith("tenantry_session="))


async def test_sign_in_sets_a_hardened_cookie_and_returns_the_principal(
    app: FastAPI, alex: User, msp: Tenant
) -> None:
    async with client(app) as browser:
        response = await browser.post(
            "/api/v1/auth/sign-in",
            json={"email": "  ALEX@Northwind.example ", "password": PASSWORD},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "signed_in"
        assert body["me"]["user"]["email"] == ALEX
        assert body["me"]["home_tenant"]["slug"] == "northwind"
        assert body["me"]["mfa"] == {
            "enabled": False,
            "enabled_at": None,
            "required_by_home": False,
            "required_from": None,
            "passed": True,
            "enrolment_pending": False,
            "recovery_codes_remaining": 0,
        }
        cookie = session_cookie(response).lower()
        assert "httponly" in cookie
        assert "samesite=lax" in cookie
        assert "path=/" in cookie
        assert "secure" not in cookie
        me = await browser.get("/api/v1/me")
        assert me.status_code == 200
        assert me.json()["session_id"] == body["me"]["session_id"]


async def test_cookie_is_secure_behind_https_or_when_configured(
    database: Database, settings: Settings, alex: User
) -> None:
    for app, base_url in (
        (app_with(database, settings, secure_cookies=True), "http://testserver"),
        (app_with(database, settings), "https://testserver"),
    ):
        async with client(app, base_url=base_url) as browser:
            response = await browser.post(
                "/api/v1/auth/sign-in", json={"email": ALEX, "password": PASSWORD}
            )
            assert response.status_code == 200
            assert "secure" in session_cookie(response).lower()


async def test_wrong_password_and_unknown_account_get_the_same_answer(
    app: FastAPI, alex: User, msp: Tenant, owner_engine: AsyncEngine
) -> None:
    async with client(app) as browser:
        wrong = await browser.post(
            "/api/v1/auth/sign-in", json={"email": ALEX, "password": "not the password at all"}
        )
        unknown = await browser.post(
            "/api/v1/auth/sign-in",
            json={"email": "nobody@northwind.example", "password": "not the password at all"},
        )
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["detail"] == INCORRECT
        assert "set-cookie" not in response.headers
    assert set(wrong.json()) - {"instance", "request_id"} == set(unknown.json()) - {
        "instance",
        "request_id",
    }
    # The existing account's home tenant records the attempt; the unknown one only counts.
    failed = await events(owner_engine, msp.id, "auth.sign_in_failed")
    assert len(failed) == 1
    assert failed[0].changes == {"reason": [None, "password"]}
    assert failed[0].actor_user_id is None
    assert failed[0].target_label == ALEX
    keys = {r[0] for r in await rows(owner_engine, select(SignInThrottle.key))}
    assert keys == {
        "account:alex@northwind.example",
        "account:nobody@northwind.example",
        "address:127.0.0.1",
    }
    assert await count(owner_engine, AuthSession) == 0


async def test_successful_sign_in_is_audited_and_resets_the_account_count(
    app: FastAPI, alex: User, msp: Tenant, owner_engine: AsyncEngine
) -> None:
    async with client(app) as browser:
        await browser.post("/api/v1/auth/sign-in", json={"email": ALEX, "password": "wrong one!!"})
        response = await browser.post(
            "/api/v1/auth/sign-in", json={"email": ALEX, "password": PASSWORD}
        )
        assert response.status_code == 200
    trail = await actions(owner_engine, msp.id)
    assert trail[-2:] == ["auth.sign_in_failed", "auth.sign_in"]
    signed = (await events(owner_engine, msp.id, "auth.sign_in"))[0]
    assert signed.actor_user_id == alex.id
    assert signed.source_address == "127.0.0.1"
    assert signed.changes == {"method": [None, "password"], "second_factor": [None, "none"]}
    keys = {r[0] for r in await rows(owner_engine, select(SignInThrottle.key))}
    # The address keeps its count: one good account must not wipe a guessing address.
    assert keys == {"address:127.0.0.1"}
    last = await one(owner_engine, select(User.last_sign_in_at).where(User.id == alex.id))
    assert last is not None


async def test_bad_input_names_the_field_and_changes_nothing(
    app: FastAPI, alex: User, owner_engine: AsyncEngine, msp: Tenant
) -> None:
    before = await actions(owner_engine, msp.id)
    async with client(app) as browser:
        cases = {
            "email": {"email": "not-an-email", "password": "whatever it is"},
            "password": {"email": ALEX, "password": ""},
        }
        for field, body in cases.items():
            response = await browser.post("/api/v1/auth/sign-in", json=body)
            assert response.status_code == 422, response.text
            assert response.json()["errors"][0]["field"] == field
        missing = await browser.post("/api/v1/auth/sign-in", json={"email": ALEX})
        assert missing.status_code == 422
        assert missing.json()["errors"][0]["field"] == "password"
    assert await actions(owner_engine, msp.id) == before
    assert await count(owner_engine, SignInThrottle) == 0
    assert await count(owner_engine, AuthSession) == 0


async def test_suspended_home_tenant_refuses_with_a_clear_message(
    app: FastAPI, database: Database, owner_engine: AsyncEngine
) -> None:
    initech = await make_tenant(database, "initech", display_name="Initech")
    await make_user(database, initech, "ian@initech.example", role="owner")
    await change(
        owner_engine,
        update(Tenant).where(Tenant.id == initech.id).values(status=TenantStatus.SUSPENDED),
    )
    async with client(app) as browser:
        response = await browser.post(
            "/api/v1/auth/sign-in", json={"email": "ian@initech.example", "password": PASSWORD}
        )
        wrong = await browser.post(
            "/api/v1/auth/sign-in", json={"email": "ian@initech.example", "password": "nope nope!"}
        )
    assert response.status_code == 403
    assert response.json()["type"].endswith("/tenant-suspended")
    assert "Initech is suspended" in response.json()["detail"]
    # Without the right password, a suspended tenant does not show through.
    assert wrong.status_code == 401
    assert wrong.json()["detail"] == INCORRECT
    failed = await events(owner_engine, initech.id, "auth.sign_in_failed")
    reasons = [e.changes["reason"][1] for e in failed]
    assert reasons == ["tenant_suspended", "password"]


async def test_a_live_session_ends_when_its_home_is_suspended(
    app: FastAPI, alex: User, msp: Tenant, owner_engine: AsyncEngine
) -> None:
    async with await signed_in_client(app, ALEX) as browser:
        await change(
            owner_engine,
            update(Tenant).where(Tenant.id == msp.id).values(status=TenantStatus.SUSPENDED),
        )
        response = await browser.get("/api/v1/me")
    assert response.status_code == 403
    assert response.json()["type"].endswith("/tenant-suspended")


async def test_disabled_account_cannot_sign_in(
    app: FastAPI, alex: User, owner_engine: AsyncEngine
) -> None:
    from tenantry.db.base import utcnow

    await change(owner_engine, update(User).where(User.id == alex.id).values(disabled_at=utcnow()))
    async with client(app) as browser:
        response = await browser.post(
            "/api/v1/auth/sign-in", json={"email": ALEX, "password": PASSWORD}
        )
    assert response.status_code == 401
    assert response.json()["detail"] == INCORRECT


async def test_an_outdated_hash_is_upgraded_at_sign_in(
    app: FastAPI, alex: User, owner_engine: AsyncEngine
) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    await change(owner_engine, update(User).where(User.id == alex.id).values(password_hash=weak))
    async with client(app) as browser:
        response = await browser.post(
            "/api/v1/auth/sign-in", json={"email": ALEX, "password": PASSWORD}
        )
    assert response.status_code == 200
    stored = await one(owner_engine, select(User.password_hash).where(User.id == alex.id))
    assert stored != weak
    assert not PasswordHasher().check_needs_rehash(stored)


async def test_signing_in_again_rotates_the_session(
    app: FastAPI, alex: User, owner_engine: AsyncEngine
) -> None:
    async with await signed_in_client(app, ALEX) as browser:
        first = browser.cookies.get("tenantry_session")
        again = await browser.post(
            "/api/v1/auth/sign-in", json={"email": ALEX, "password": PASSWORD}
        )
        assert again.status_code == 200
        second = browser.cookies.get("tenantry_session")
        assert first and second and first != second
        assert (await browser.get("/api/v1/me")).status_code == 200
    states = await rows(owner_engine, select(AuthSession.revoked_at).order_by(AuthSession.id))
    assert [s[0] is not None for s in states] == [True, False]
    async with client(app) as stale:
        stale.cookies.set("tenantry_session", first)
        assert (await stale.get("/api/v1/me")).status_code == 401


async def test_unknown_accounts_cost_the_same_password_check(
    app: FastAPI, alex: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tenantry.identity import flows

    checked: list[bool] = []
    real = flows.verify_password

    def counting(stored: str | None, password: str) -> bool:
        checked.append(stored is None)
        return real(stored, password)

    monkeypatch.setattr(flows, "verify_password", counting)
    async with client(app) as browser:
        for email in (ALEX, "nobody@northwind.example"):
            await browser.post(
                "/api/v1/auth/sign-in", json={"email": email, "password": "wrong password!"}
            )
    # One full argon2 verification each: against the real hash, then the dummy one.
    assert checked == [False, True]
