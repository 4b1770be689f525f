"""The second factor: enrolling an authenticator app, signing in with it (in one or two
steps), replays, recovery codes, regenerating them and turning the factor off."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.db.engine import Database
from tenantry.identity.models import RecoveryCode, User
from tenantry.tenancy.models import Tenant
from tests.factories import PASSWORD, client, signed_in_client

from .conftest import ALEX, actions, change, code, count, events, one


async def refresh_csrf(browser: httpx.AsyncClient) -> None:
    """The session (and so its CSRF token) changes when the second factor is given."""
    browser.headers["x-csrf-token"] = (await browser.get("/api/v1/me")).json()["csrf_token"]


async def enrol(browser: httpx.AsyncClient) -> tuple[str, list[str]]:
    started = await browser.post("/api/v1/me/totp/enrol")
    assert started.status_code == 200, started.text
    secret = started.json()["secret"]
    confirmed = await browser.post("/api/v1/me/totp/confirm", json={"code": code(secret)})
    assert confirmed.status_code == 200, confirmed.text
    await refresh_csrf(browser)
    return secret, confirmed.json()["recovery_codes"]


async def password_step(app: FastAPI, address: str = "127.0.0.1") -> httpx.AsyncClient:
    """A client past the password, waiting for its second factor."""
    browser = await signed_in_client(app, ALEX, address=address)
    return browser


async def test_enrolment_gives_a_scannable_secret_and_ten_recovery_codes(
    app: FastAPI, alex: User, msp: Tenant, owner_engine: AsyncEngine
) -> None:
    async with await signed_in_client(app, ALEX) as browser:
        started = (await browser.post("/api/v1/me/totp/enrol")).json()
        assert started["otpauth_uri"].startswith("otpauth://totp/Tenantry:")
        assert f"secret={started['secret']}" in started["otpauth_uri"]
        assert started["qr_svg"].startswith("<svg") and "<path" in started["qr_svg"]
        # Asking again shows the same pending secret (a reload does not break a half-scan).
        again = (await browser.post("/api/v1/me/totp/enrol")).json()
        assert again["secret"] == started["secret"]
        assert (await browser.get("/api/v1/me/totp")).json()["enrolment_pending"] is True
        wrong = await browser.post("/api/v1/me/totp/confirm", json={"code": "000000"})
        assert wrong.status_code == 422
        assert wrong.json()["errors"][0]["field"] == "code"
        assert (await browser.get("/api/v1/me/totp")).json()["enabled"] is False
        confirmed = await browser.post(
            "/api/v1/me/totp/confirm", json={"code": code(started["secret"])}
        )
        assert confirmed.status_code == 200
        codes = confirmed.json()["recovery_codes"]
        assert len(codes) == 10 and len(set(codes)) == 10
        assert all(re.fullmatch(r"[a-z2-9]{4}(-[a-z2-9]{4}){3}", c) for c in codes)
        await refresh_csrf(browser)
        state = (await browser.get("/api/v1/me/totp")).json()
        assert state["enabled"] is True and state["recovery_codes_remaining"] == 10
        assert (await browser.post("/api/v1/me/totp/enrol")).status_code == 409
    stored = [r[0] for r in await owner_rows(owner_engine)]
    assert not set(codes) & set(stored)  # only hashes are kept
    assert "auth.mfa_enrolled" in await actions(owner_engine, msp.id)


async def owner_rows(owner_engine: AsyncEngine) -> list[tuple[str]]:
    from .conftest import rows

    return await rows(owner_engine, select(RecoveryCode.code_hash))


async def test_sign_in_then_asks_for_the_code_and_replays_are_refused(
    app: FastAPI, alex: User, msp: Tenant, owner_engine: AsyncEngine
) -> None:
    async with await signed_in_client(app, ALEX) as browser:
        secret, _ = await enrol(browser)
    async with await password_step(app) as half:
        # Password alone opens nothing.
        blocked = await half.get("/api/v1/me/sessions")
        assert blocked.status_code == 401
        me = await half.get("/api/v1/me")
        assert me.json()["mfa"]["passed"] is False
        pending = half.cookies.get("tenantry_session")
        next_code = code(secret, 1)  # the enrolment used this step's code
        done = await half.post("/api/v1/auth/totp", json={"code": next_code})
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "signed_in"
        assert half.cookies.get("tenantry_session") != pending
        assert (await half.get("/api/v1/me/sessions")).status_code == 200
    async with client(app) as old:
        old.cookies.set("tenantry_session", pending)
        assert (await old.get("/api/v1/me")).status_code == 401
    # The same code again, on a new sign-in: refused.
    async with await password_step(app) as other:
        replay = await other.post("/api/v1/auth/totp", json={"code": next_code})
        assert replay.status_code == 422
        assert "already used" in replay.json()["errors"][0]["message"]
    signed = await events(owner_engine, msp.id, "auth.sign_in")
    assert [e.changes["second_factor"][1] for e in signed] == ["none", "totp"]
    failed = await events(owner_engine, msp.id, "auth.sign_in_failed")
    assert [e.changes["reason"][1] for e in failed] == ["second_factor"]


async def test_sign_in_in_one_step_with_the_code(
    app: FastAPI, alex: User, owner_engine: AsyncEngine
) -> None:
    async with await signed_in_client(app, ALEX) as browser:
        secret, _ = await enrol(browser)
    async with client(app) as browser:
        wrong = await browser.post(
            "/api/v1/auth/sign-in",
            json={"email": ALEX, "password": PASSWORD, "totp_code": "123456"},
        )
        assert wrong.status_code == 422
        assert wrong.json()["errors"][0]["field"] == "totp_code"
        assert "set-cookie" not in wrong.headers
        ok = await browser.post(
            "/api/v1/auth/sign-in",
            json={"email": ALEX, "password": PASSWORD, "totp_code": code(secret, 1)},
        )
        assert ok.status_code == 200
        assert ok.json()["status"] == "signed_in"
        assert (await browser.get("/api/v1/me/sessions")).status_code == 200


async def test_recovery_codes_work_once_each(
    app: FastAPI, alex: User, msp: Tenant, owner_engine: AsyncEngine
) -> None:
    async with await signed_in_client(app, ALEX) as browser:
        _, codes = await enrol(browser)
    async with await password_step(app) as half:
        used = await half.post("/api/v1/auth/totp", json={"code": codes[0].upper()})
        assert used.status_code == 200
        assert used.json()["me"]["mfa"]["recovery_codes_remaining"] == 9
    async with await password_step(app) as half:
        again = await half.post("/api/v1/auth/totp", json={"code": codes[0]})
        assert again.status_code == 422
        other = await half.post("/api/v1/auth/totp", json={"code": codes[1].replace("-", "")})
        assert other.status_code == 200
    assert "auth.recovery_code_used" in await actions(owner_engine, msp.id)


async def test_wrong_codes_are_throttled_and_a_password_does_not_buy_more_guesses(
    app: FastAPI, alex: User, owner_engine: AsyncEngine, delays: list[float]
) -> None:
    async with await signed_in_client(app, ALEX) as browser:
        await enrol(browser)
    statuses = []
    for n in range(10):
        # A fresh password step each time, from fresh addresses: still counted per account.
        async with await password_step(app, address=f"10.2.0.{n}") as half:
            response = await half.post("/api/v1/auth/totp", json={"code": "000000"})
            statuses.append(response.status_code)
    assert statuses == [422] * 10
    assert delays, "failures past throttle_slow_after are slowed"
    # The account is locked now: the password step itself is refused.
    async with client(app, address="10.2.1.1") as browser:
        locked = await browser.post(
            "/api/v1/auth/sign-in", json={"email": ALEX, "password": PASSWORD}
        )
    assert locked.status_code == 429


async def test_regenerated_codes_replace_the_old_ones(
    app: FastAPI, alex: User, msp: Tenant, owner_engine: AsyncEngine
) -> None:
    async with await signed_in_client(app, ALEX) as browser:
        _, old = await enrol(browser)
        response = await browser.post("/api/v1/me/totp/recovery-codes")
        assert response.status_code == 200
        new = response.json()["recovery_codes"]
        assert len(new) == 10 and not set(new) & set(old)
    assert await count(owner_engine, RecoveryCode) == 10
    async with await password_step(app) as half:
        assert (await half.post("/api/v1/auth/totp", json={"code": old[0]})).status_code == 422
        assert (await half.post("/api/v1/auth/totp", json={"code": new[0]})).status_code == 200
    assert "auth.recovery_codes_regenerated" in await actions(owner_engine, msp.id)


async def test_turning_the_factor_off_needs_the_password_or_a_code(
    app: FastAPI, alex: User, msp: Tenant, owner_engine: AsyncEngine
) -> None:
    async with await signed_in_client(app, ALEX) as browser:
        _, codes = await enrol(browser)
        nothing = await browser.post("/api/v1/me/totp/disable", json={})
        assert nothing.status_code == 422
        assert nothing.json()["errors"][0]["field"] == "password"
        wrong = await browser.post("/api/v1/me/totp/disable", json={"password": "not mine at all"})
        assert wrong.status_code == 422
        assert (await browser.get("/api/v1/me/totp")).json()["enabled"] is True
        ok = await browser.post("/api/v1/me/totp/disable", json={"code": codes[3]})
        assert ok.status_code == 204
        assert (await browser.get("/api/v1/me/totp")).json()["enabled"] is False
    assert await one(owner_engine, select(User.totp_secret)) is None
    assert await count(owner_engine, RecoveryCode) == 0
    assert "auth.mfa_disabled" in await actions(owner_engine, msp.id)
    async with client(app) as browser:
        response = await browser.post(
            "/api/v1/auth/sign-in", json={"email": ALEX, "password": PASSWORD}
        )
        assert response.json()["status"] == "signed_in"


async def test_a_half_signed_in_session_cannot_change_the_factor(app: FastAPI, alex: User) -> None:
    async with await signed_in_client(app, ALEX) as browser:
        await enrol(browser)
    async with await password_step(app) as half:
        for path in ("/api/v1/me/totp/enrol", "/api/v1/me/totp/confirm"):
            response = await half.post(path, json={"code": "123456"})
            assert response.status_code == 401, path
        disable = await half.post("/api/v1/me/totp/disable", json={"password": PASSWORD})
        assert disable.status_code == 401
        codes = await half.post("/api/v1/me/totp/recovery-codes")
        assert codes.status_code == 401


async def test_required_factor_cannot_be_turned_off(
    app: FastAPI, alex: User, msp: Tenant, owner_engine: AsyncEngine
) -> None:
    async with await signed_in_client(app, ALEX) as browser:
        await enrol(browser)
        await change(
            owner_engine, update(Tenant).where(Tenant.id == msp.id).values(require_mfa=True)
        )
        response = await browser.post("/api/v1/me/totp/disable", json={"password": PASSWORD})
        assert response.status_code == 409
        assert "requires a second factor" in response.json()["detail"]


async def test_totp_secrets_are_sealed_at_rest(
    database: Database, msp: Tenant, owner_engine: AsyncEngine
) -> None:
    from sqlalchemy import text

    from tenantry.access.service import operator_scope
    from tenantry.db.sealed import seal, unseal
    from tests.factories import make_user

    sealed = seal("JBSWY3DPEHPK3PXP")
    assert sealed.startswith("v1:") and "JBSWY3DPEHPK3PXP" not in sealed
    assert unseal(sealed) == "JBSWY3DPEHPK3PXP"
    user = await make_user(database, msp, "sealed@northwind.example")
    async with database.unit_of_work(operator_scope([])) as session:
        row = await session.get(User, user.id)
        assert row is not None
        row.totp_secret = "JBSWY3DPEHPK3PXP"
    async with owner_engine.begin() as conn:
        stored = (
            await conn.execute(
                text("SELECT totp_secret FROM users WHERE email = 'sealed@northwind.example'")
            )
        ).scalar_one()
    assert stored.startswith("v1:") and "JBSWY3DPEHPK3PXP" not in stored
    async with database.platform_reader() as session:
        again = await session.get(User, user.id)
    assert again is not None and again.totp_secret == "JBSWY3DPEHPK3PXP"
