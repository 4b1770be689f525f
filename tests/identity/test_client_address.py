"""Where a request came from, behind reverse proxies: only what the trusted proxies wrote
is believed, and a crowd of failures behind one address does not lock out its users."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.config import Settings
from tenantry.db.engine import Database
from tenantry.identity.models import User
from tenantry.tenancy.models import Tenant
from tests.factories import PASSWORD, client, make_user

from .conftest import ALEX, app_with, events

WRONG = "definitely not it"
SAM = "sam@northwind.example"


async def _fail(app: FastAPI, forwarded: str | None, peer: str = "127.0.0.1") -> int:
    headers = {"x-forwarded-for": forwarded} if forwarded is not None else {}
    async with client(app, address=peer) as browser:
        response = await browser.post(
            "/api/v1/auth/sign-in", json={"email": ALEX, "password": WRONG}, headers=headers
        )
    return response.status_code


async def _sources(owner_engine: AsyncEngine, msp: Tenant) -> list[Any]:
    return [e.source_address for e in await events(owner_engine, msp.id, "auth.sign_in_failed")]


async def test_the_right_most_untrusted_hop_is_the_client(
    database: Database, settings: Settings, alex: User, msp: Tenant, owner_engine: AsyncEngine
) -> None:
    app = app_with(database, settings, trusted_proxies="127.0.0.1, 10.0.0.0/8")
    # The client wrote the first hop itself; the proxies appended the rest.
    await _fail(app, "6.6.6.6, 203.0.113.9")
    await _fail(app, "6.6.6.6, 198.51.100.7, 10.1.2.3")
    # A peer that is no trusted proxy is the client, whatever it claims.
    await _fail(app, "6.6.6.6", peer="192.0.2.44")
    # Every hop trusted: the left-most one is as far as can be seen.
    await _fail(app, "10.9.9.9, 10.1.1.1")
    # A hop no proxy would write stops the walk at the last proxy we trust.
    await _fail(app, "6.6.6.6, not-an-address, 10.1.2.3")
    assert await _sources(owner_engine, msp) == [
        "203.0.113.9",
        "198.51.100.7",
        "192.0.2.44",
        "10.9.9.9",
        "10.1.2.3",
    ]


async def test_a_forged_first_hop_does_not_evade_the_address_throttle(
    database: Database, settings: Settings, msp: Tenant
) -> None:
    # The older switch: before, it believed the left-most hop, which the client writes.
    app = app_with(
        database,
        settings,
        trust_proxy_headers=True,
        throttle_address_slow_after=1,
        throttle_address_lock_after=3,
    )
    statuses = []
    for n in range(5):
        async with client(app) as browser:
            response = await browser.post(
                "/api/v1/auth/sign-in",
                json={"email": f"guess{n}@northwind.example", "password": WRONG},
                headers={"x-forwarded-for": f"10.66.0.{n}, 203.0.113.50"},
            )
        statuses.append(response.status_code)
    assert statuses == [401, 401, 401, 429, 429]


async def test_addresses_of_one_ipv6_subscriber_share_a_key(
    database: Database, settings: Settings, msp: Tenant
) -> None:
    app = app_with(database, settings, throttle_address_slow_after=1, throttle_address_lock_after=3)
    statuses = []
    for n in range(1, 6):
        async with client(app, address=f"2001:db8:0:7::{n}") as browser:
            response = await browser.post(
                "/api/v1/auth/sign-in",
                json={"email": f"guess{n}@northwind.example", "password": WRONG},
            )
        statuses.append(response.status_code)
    assert statuses == [401, 401, 401, 429, 429]


async def test_the_older_switch_trusts_one_proxy_and_hops_count_from_the_right(
    database: Database, settings: Settings, alex: User, msp: Tenant, owner_engine: AsyncEngine
) -> None:
    await _fail(app_with(database, settings, trust_proxy_headers=True), "6.6.6.6, 203.0.113.9")
    await _fail(
        app_with(database, settings, trusted_proxy_hops=2), "6.6.6.6, 198.51.100.7, 10.0.0.2"
    )
    # Fewer hops than proxies: nothing in the header is believed.
    await _fail(app_with(database, settings, trusted_proxy_hops=2), "6.6.6.6", peer="192.0.2.5")
    # No proxy configured: the header is ignored.
    await _fail(app_with(database, settings), "6.6.6.6", peer="192.0.2.6")
    assert await _sources(owner_engine, msp) == [
        "203.0.113.9",
        "198.51.100.7",
        "192.0.2.5",
        "192.0.2.6",
    ]


def test_a_bad_trusted_proxy_setting_is_refused_by_name() -> None:
    with pytest.raises(ValidationError, match="TENANTRY_TRUSTED_PROXIES"):
        Settings(trusted_proxies="10.0.0.0/8, proxy.internal")


async def test_failures_behind_one_address_do_not_lock_out_its_users(
    database: Database, settings: Settings, msp: Tenant, delays: list[float]
) -> None:
    """Spraying from one address is slowed and then refused, but a person who has signed
    in from their browser before still signs in from behind that address."""
    await make_user(database, msp, SAM)
    await make_user(database, msp, "ann@northwind.example")
    app = app_with(database, settings, throttle_address_slow_after=2, throttle_address_lock_after=5)
    office = "192.0.2.80"
    async with client(app, address=office) as sams_browser:
        first = await sams_browser.post(
            "/api/v1/auth/sign-in", json={"email": SAM, "password": PASSWORD}
        )
        assert first.status_code == 200
        await sams_browser.post(
            "/api/v1/auth/sign-out", headers={"x-csrf-token": first.json()["me"]["csrf_token"]}
        )
        # Someone in the office sprays one password over many accounts.
        sprayed = []
        for n in range(8):
            async with client(app, address=office) as sprayer:
                response = await sprayer.post(
                    "/api/v1/auth/sign-in",
                    json={"email": f"user{n}@northwind.example", "password": WRONG},
                )
            sprayed.append(response.status_code)
        assert sprayed == [401] * 5 + [429] * 3
        assert len(delays) == 3
        delays.clear()
        # Sam's browser has signed in as Sam before: the address's failures do not stop him.
        again = await sams_browser.post(
            "/api/v1/auth/sign-in", json={"email": SAM, "password": PASSWORD}
        )
        assert again.status_code == 200, again.text
        assert delays == []
        # That proves nothing about another account.
        other = await sams_browser.post(
            "/api/v1/auth/sign-in", json={"email": "ann@northwind.example", "password": PASSWORD}
        )
        assert other.status_code == 429
    # A browser that never signed in as Sam is one more unknown caller from the address.
    async with client(app, address=office) as fresh:
        response = await fresh.post(
            "/api/v1/auth/sign-in", json={"email": SAM, "password": PASSWORD}
        )
        assert response.status_code == 429


async def test_a_known_device_still_counts_against_its_account(
    database: Database, settings: Settings, msp: Tenant
) -> None:
    await make_user(database, msp, SAM)
    app = app_with(database, settings, throttle_slow_after=1, throttle_lock_after=3)
    async with client(app, address="192.0.2.81") as browser:
        assert (
            await browser.post("/api/v1/auth/sign-in", json={"email": SAM, "password": PASSWORD})
        ).status_code == 200
        wrong = [
            (
                await browser.post("/api/v1/auth/sign-in", json={"email": SAM, "password": WRONG})
            ).status_code
            for _ in range(4)
        ]
        assert wrong == [401, 401, 401, 429]
        # A forged cookie is no known device.
        browser.cookies.set("tenantry_device", "1.abc")
        assert (
            await browser.post("/api/v1/auth/sign-in", json={"email": SAM, "password": PASSWORD})
        ).status_code == 429
