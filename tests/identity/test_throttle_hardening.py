"""The throttle under attack: bursts of parallel guesses, forged proxy headers and a
crowd of failures from one shared address."""

from __future__ import annotations

import asyncio
from collections import Counter

from fastapi import FastAPI

from tenantry.config import Settings
from tenantry.db.engine import Database
from tenantry.identity.models import User
from tenantry.tenancy.models import Tenant
from tests.factories import PASSWORD, client, make_user

from .conftest import ALEX, app_with

WRONG = "definitely not it"


async def _attempt(app: FastAPI, email: str, password: str, address: str) -> int:
    async with client(app, address=address) as browser:
        response = await browser.post(
            "/api/v1/auth/sign-in", json={"email": email, "password": password}
        )
    return response.status_code


async def _burst(app: FastAPI, email: str, n: int, address: str = "10.7.0.1") -> Counter[int]:
    statuses = await asyncio.gather(*(_attempt(app, email, WRONG, address) for _ in range(n)))
    return Counter(statuses)


async def test_a_burst_of_parallel_guesses_gets_no_more_than_a_sequence(
    database: Database, settings: Settings, alex: User
) -> None:
    app = app_with(database, settings, throttle_slow_after=3, throttle_lock_after=10)
    counted = await _burst(app, ALEX, 30)
    # Ten guesses were checked against the password; every other one was refused unseen.
    assert counted == {401: 10, 429: 20}
    assert await _attempt(app, ALEX, PASSWORD, "10.7.0.2") == 429


async def test_a_burst_at_an_unknown_account_is_answered_the_same(
    database: Database, settings: Settings, msp: Tenant
) -> None:
    app = app_with(database, settings, throttle_slow_after=3, throttle_lock_after=10)
    assert await _burst(app, "ghost@northwind.example", 30) == {401: 10, 429: 20}


async def test_a_burst_from_one_address_is_capped_by_the_address_key(
    database: Database, settings: Settings, msp: Tenant
) -> None:
    app = app_with(
        database, settings, throttle_address_slow_after=5, throttle_address_lock_after=12
    )
    emails = [f"user{n}@northwind.example" for n in range(30)]
    statuses = await asyncio.gather(*(_attempt(app, e, WRONG, "10.7.1.1") for e in emails))
    assert Counter(statuses) == {401: 12, 429: 18}


async def test_a_right_password_in_a_burst_is_not_held_against_the_account(
    database: Database, settings: Settings, msp: Tenant
) -> None:
    await make_user(database, msp, "sam@northwind.example")
    app = app_with(database, settings, throttle_slow_after=1, throttle_lock_after=3)
    statuses = await asyncio.gather(
        *(_attempt(app, "sam@northwind.example", PASSWORD, "10.7.2.1") for _ in range(2))
    )
    assert statuses == [200, 200]
    # Two wrong guesses after two good sign-ins: still below the lock.
    for _ in range(2):
        assert await _attempt(app, "sam@northwind.example", WRONG, "10.7.2.1") == 401
    assert await _attempt(app, "sam@northwind.example", PASSWORD, "10.7.2.1") == 200
