"""Failed sign-ins are slowed, then refused, per account and per source address."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.config import Settings
from tenantry.db.base import utcnow
from tenantry.db.engine import Database
from tenantry.identity.models import SignInThrottle, User
from tenantry.tenancy.models import Tenant
from tests.factories import PASSWORD, client, make_user

from .conftest import ALEX, app_with, change, events, rows

WRONG = "definitely not it"


async def attempt(app: FastAPI, email: str, password: str, address: str = "10.0.0.1") -> int:
    async with client(app, address=address) as browser:
        response = await browser.post(
            "/api/v1/auth/sign-in", json={"email": email, "password": password}
        )
    return response.status_code


async def test_failures_slow_down_then_lock_the_account(
    database: Database,
    settings: Settings,
    alex: User,
    msp: Tenant,
    delays: list[float],
    owner_engine: AsyncEngine,
) -> None:
    app = app_with(database, settings, throttle_slow_after=2, throttle_lock_after=5)
    statuses = [await attempt(app, ALEX, WRONG) for _ in range(5)]
    assert statuses == [401] * 5
    # No wait for the first two; then each attempt waits longer than the one before.
    assert len(delays) == 3
    assert delays == sorted(delays) and delays[0] > 0 and delays[-1] > delays[0]
    # Locked: even the right password is refused until the window ends.
    async with client(app, address="10.0.0.1") as browser:
        locked = await browser.post(
            "/api/v1/auth/sign-in", json={"email": ALEX, "password": PASSWORD}
        )
    assert locked.status_code == 429
    assert locked.json()["type"].endswith("/too-many-attempts")
    assert 0 < locked.json()["retry_after"] <= 15 * 60
    assert "Try again in 15 minutes" in locked.json()["detail"]
    reasons = [
        e.changes["reason"][1] for e in await events(owner_engine, msp.id, "auth.sign_in_failed")
    ]
    assert reasons == ["password"] * 5 + ["locked"]


async def test_lock_applies_to_the_account_from_any_address(
    database: Database, settings: Settings, alex: User
) -> None:
    app = app_with(database, settings, throttle_slow_after=2, throttle_lock_after=3)
    for n in range(3):
        assert await attempt(app, ALEX, WRONG, address=f"10.0.1.{n}") == 401
    assert await attempt(app, ALEX, PASSWORD, address="10.0.9.9") == 429


async def test_an_address_guessing_many_accounts_is_locked_out(
    database: Database, settings: Settings, msp: Tenant
) -> None:
    app = app_with(database, settings, throttle_address_slow_after=2, throttle_address_lock_after=3)
    await make_user(database, msp, "sam@northwind.example")
    for n in range(3):
        assert await attempt(app, f"guess{n}@northwind.example", WRONG, "10.0.2.1") == 401
    # A real account with its right password, from the guessing address: refused.
    assert await attempt(app, "sam@northwind.example", PASSWORD, "10.0.2.1") == 429
    # The same account from elsewhere is fine.
    assert await attempt(app, "sam@northwind.example", PASSWORD, "10.0.2.2") == 200


async def test_an_office_behind_one_address_gets_more_room_than_one_account(
    database: Database, settings: Settings, msp: Tenant
) -> None:
    app = app_with(
        database,
        settings,
        throttle_slow_after=0,
        throttle_lock_after=2,
        throttle_address_slow_after=10,
        throttle_address_lock_after=20,
    )
    await make_user(database, msp, "sam@northwind.example")
    # Two colleagues mistype their passwords: each account locks, the office does not.
    for email in ("ann@northwind.example", "bob@northwind.example"):
        assert [await attempt(app, email, WRONG, "10.0.9.9") for _ in range(3)][-1] == 429
    assert await attempt(app, "sam@northwind.example", PASSWORD, "10.0.9.9") == 200


async def test_a_lock_says_when_to_retry(
    database: Database, settings: Settings, msp: Tenant
) -> None:
    app = app_with(database, settings, throttle_slow_after=5, throttle_lock_after=1)
    await attempt(app, "ann@northwind.example", WRONG)
    async with client(app) as browser:
        response = await browser.post(
            "/api/v1/auth/sign-in", json={"email": "ann@northwind.example", "password": WRONG}
        )
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) == response.json()["retry_after"] > 0


async def test_unknown_accounts_are_throttled_like_real_ones(
    database: Database, settings: Settings
) -> None:
    app = app_with(database, settings, throttle_slow_after=1, throttle_lock_after=2)
    ghost = "ghost@northwind.example"
    assert [await attempt(app, ghost, WRONG, f"10.0.3.{n}") for n in range(3)] == [401, 401, 429]


async def test_a_successful_sign_in_resets_the_account_count(
    database: Database, settings: Settings, alex: User, delays: list[float]
) -> None:
    app = app_with(database, settings, throttle_slow_after=2, throttle_lock_after=4)
    for n in range(3):
        await attempt(app, ALEX, WRONG, f"10.0.4.{n}")
    assert await attempt(app, ALEX, PASSWORD, "10.0.4.9") == 200
    delays.clear()
    # Counting starts again from zero: three more failures do not lock the account.
    for n in range(3):
        assert await attempt(app, ALEX, WRONG, f"10.0.5.{n}") == 401
    assert await attempt(app, ALEX, PASSWORD, "10.0.5.9") == 200


async def test_the_lock_ends_with_the_window(
    database: Database, settings: Settings, alex: User, owner_engine: AsyncEngine
) -> None:
    app = app_with(database, settings, throttle_slow_after=1, throttle_lock_after=2)
    for _ in range(2):
        await attempt(app, ALEX, WRONG)
    assert await attempt(app, ALEX, PASSWORD) == 429
    past = utcnow() - timedelta(minutes=16)
    await change(
        owner_engine,
        update(SignInThrottle).values(window_started_at=past, locked_until=past),
    )
    assert await attempt(app, ALEX, PASSWORD) == 200


async def test_windows_that_ended_are_forgotten(
    database: Database, settings: Settings, owner_engine: AsyncEngine
) -> None:
    from tenantry.identity.throttle import account_key

    app = app_with(database, settings)
    await attempt(app, "old@northwind.example", WRONG, "10.0.6.1")
    past = utcnow() - timedelta(minutes=16)
    await change(owner_engine, update(SignInThrottle).values(window_started_at=past))
    await attempt(app, "new@northwind.example", WRONG, "10.0.6.2")
    keys = {r[0] for r in await rows(owner_engine, select(SignInThrottle.key))}
    assert keys == {account_key("new@northwind.example"), "address:10.0.6.2"}
