"""Every way of signing in, and every refused attempt, writes exactly its event
(DESIGN.md, "Audit trail": every sign-in and failed sign-in writes one event).

The paths: a password; a password and the authenticator code in one step; the code as
a second step; a recovery code as the second step; accepting an invitation (which signs
the new person in); a home that requires a second factor nobody has set up yet. Refused:
a wrong password, a wrong second factor, a disabled account, an unknown account (no
tenant to hold it: the log is its only record).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.app import create_app
from tenantry.audit.models import AuditEvent
from tenantry.config import Settings
from tenantry.db.engine import Database
from tenantry.identity import throttle
from tenantry.identity.models import AuthSession, User
from tenantry.tenancy.models import Tenant
from tests.factories import PASSWORD, client, make_tenant, make_user, signed_in_client
from tests.identity.conftest import code

ALEX = "alex@northwind.example"


@dataclass
class World:
    app: FastAPI
    owner_engine: AsyncEngine
    northwind: Tenant
    alex: User


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    async def skip(seconds: float) -> None:
        return None

    monkeypatch.setattr(throttle, "sleep", skip)


@pytest.fixture
async def world(
    database: Database, settings: Settings, owner_engine: AsyncEngine
) -> AsyncIterator[World]:
    northwind = await make_tenant(database, "northwind", is_msp=True, display_name="Northwind IT")
    alex = await make_user(database, northwind, ALEX, role="admin", display_name="Alex Admin")
    yield World(create_app(settings, database), owner_engine, northwind, alex)


async def _keys(engine: AsyncEngine) -> set[tuple[uuid.UUID, int]]:
    async with engine.connect() as conn:
        return {
            (r[0], r[1]) for r in await conn.execute(select(AuditEvent.tenant_id, AuditEvent.seq))
        }


async def _added(engine: AsyncEngine, before: set[tuple[uuid.UUID, int]]) -> list[AuditEvent]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(AuditEvent.__table__))).mappings().all()
    added = [AuditEvent(**dict(r)) for r in rows if (r["tenant_id"], r["seq"]) not in before]
    return sorted(added, key=lambda e: (str(e.tenant_id), e.seq))


async def _sessions_of(engine: AsyncEngine, user_id: uuid.UUID) -> set[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(AuthSession.id).where(AuthSession.user_id == user_id))
        return {str(r[0]) for r in rows}


async def _only_event(
    w: World, before: set[tuple[uuid.UUID, int]], response: httpx.Response, action: str
) -> AuditEvent:
    """The one event the call added: ``action``, in Northwind's trail, for this request."""
    added = await _added(w.owner_engine, before)
    assert [e.action for e in added] == [action], [e.action for e in added]
    [event] = added
    _from_this_request(event, w, response)
    return event


def _from_this_request(event: AuditEvent, w: World, response: httpx.Response) -> None:
    assert event.tenant_id == w.northwind.id
    assert event.request_id == response.headers["x-request-id"]
    assert event.source_address == "127.0.0.1"


async def _signed_in(
    w: World, before: set[tuple[uuid.UUID, int]], response: httpx.Response, **changes: Any
) -> AuditEvent:
    """The call signed Alex in and recorded exactly that."""
    assert response.status_code in (200, 201), response.text
    event = await _only_event(w, before, response, "auth.sign_in")
    assert (event.actor_user_id, event.actor_home_tenant_id) == (w.alex.id, w.northwind.id)
    assert event.target_type == "session"
    assert event.target_id in await _sessions_of(w.owner_engine, w.alex.id)
    assert event.target_label == ALEX
    assert event.changes == {
        "method": [None, "password"],
        **{k: [None, v] for k, v in changes.items()},
    }
    return event


async def _enrol(w: World) -> tuple[str, list[str]]:
    """Alex sets up an authenticator app: its secret and his recovery codes."""
    async with await signed_in_client(w.app, ALEX) as browser:
        secret = (await browser.post("/api/v1/me/totp/enrol")).json()["secret"]
        done = await browser.post("/api/v1/me/totp/confirm", json={"code": code(secret)})
        assert done.status_code == 200, done.text
        codes: list[str] = done.json()["recovery_codes"]
        return secret, codes


async def _password_step(w: World, browser: httpx.AsyncClient) -> None:
    r = await browser.post("/api/v1/auth/sign-in", json={"email": ALEX, "password": PASSWORD})
    assert r.status_code == 200 and r.json()["status"] == "mfa_required", r.text


async def test_a_password_sign_in(world: World) -> None:
    before = await _keys(world.owner_engine)
    async with client(world.app) as browser:
        r = await browser.post("/api/v1/auth/sign-in", json={"email": ALEX, "password": PASSWORD})
    await _signed_in(world, before, r, second_factor="none")


async def test_password_and_code_in_one_step(world: World) -> None:
    secret, _ = await _enrol(world)
    before = await _keys(world.owner_engine)
    async with client(world.app) as browser:
        body = {"email": ALEX, "password": PASSWORD, "totp_code": code(secret, 1)}
        r = await browser.post("/api/v1/auth/sign-in", json=body)
    await _signed_in(world, before, r, second_factor="totp")


async def test_the_code_as_a_second_step(world: World) -> None:
    secret, _ = await _enrol(world)
    async with client(world.app) as browser:
        before = await _keys(world.owner_engine)
        await _password_step(world, browser)
        # Half signed in: nothing to record yet (the second step records the sign-in).
        assert await _added(world.owner_engine, before) == []
        browser.headers["x-csrf-token"] = (await browser.get("/api/v1/me")).json()["csrf_token"]
        r = await browser.post("/api/v1/auth/totp", json={"code": code(secret, 1)})
    await _signed_in(world, before, r, second_factor="totp")


async def test_a_recovery_code_as_the_second_step(world: World) -> None:
    _, codes = await _enrol(world)
    async with client(world.app) as browser:
        await _password_step(world, browser)
        browser.headers["x-csrf-token"] = (await browser.get("/api/v1/me")).json()["csrf_token"]
        before = await _keys(world.owner_engine)
        r = await browser.post("/api/v1/auth/totp", json={"code": codes[0]})
    assert r.status_code == 200, r.text
    added = await _added(world.owner_engine, before)
    assert sorted(e.action for e in added) == ["auth.recovery_code_used", "auth.sign_in"]
    signed = next(e for e in added if e.action == "auth.sign_in")
    used = next(e for e in added if e.action == "auth.recovery_code_used")
    assert signed.changes == {
        "method": [None, "password"],
        "second_factor": [None, "recovery_code"],
    }
    assert used.changes == {"remaining": [None, 9]}
    assert (used.target_type, used.target_id) == ("user", str(world.alex.id))
    for event in added:
        _from_this_request(event, world, r)
        assert event.actor_user_id == world.alex.id


async def test_a_home_that_requires_a_factor_not_yet_set_up(world: World) -> None:
    async with world.owner_engine.begin() as conn:
        await conn.execute(
            update(Tenant).where(Tenant.id == world.northwind.id).values(require_mfa=True)
        )
    before = await _keys(world.owner_engine)
    async with client(world.app) as browser:
        r = await browser.post("/api/v1/auth/sign-in", json={"email": ALEX, "password": PASSWORD})
    assert r.json()["status"] == "mfa_enrolment_required"
    await _signed_in(world, before, r, second_factor="enrolment_required")


async def test_accepting_an_invitation_signs_the_person_in(world: World) -> None:
    async with await signed_in_client(world.app, ALEX) as alex:
        made = await alex.post(
            "/api/v1/tenants/northwind/invitations",
            json={"email": "nina@northwind.example", "role": "technician"},
        )
    assert made.status_code == 201, made.text
    token = made.json()["link"].rstrip("/").rsplit("/", 1)[-1]
    before = await _keys(world.owner_engine)
    async with client(world.app) as browser:
        r = await browser.post(
            f"/api/v1/invitations/{token}/accept",
            json={"display_name": "Nina New", "password": "nina's long passphrase"},
        )
        assert r.status_code == 201, r.text
        # Signed in indeed: the session works.
        assert (await browser.get("/api/v1/me")).status_code == 200
    nina = uuid.UUID(r.json()["me"]["user"]["id"])
    added = await _added(world.owner_engine, before)
    assert sorted(e.action for e in added) == [
        "access.grant_created",
        "auth.sign_in",
        "user.created",
        "user.invitation_accepted",
    ]
    [signed] = [e for e in added if e.action == "auth.sign_in"]
    _from_this_request(signed, world, r)
    assert (signed.actor_user_id, signed.actor_home_tenant_id) == (nina, world.northwind.id)
    assert signed.target_type == "session"
    assert signed.target_id in await _sessions_of(world.owner_engine, nina)
    assert signed.changes == {"method": [None, "invitation"], "second_factor": [None, "none"]}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"email": ALEX, "password": "not the password"}, "password"),
        ({"email": ALEX, "password": PASSWORD, "totp_code": "000000"}, "second_factor"),
    ],
    ids=["password", "second_factor"],
)
async def test_a_refused_sign_in(world: World, body: dict[str, str], reason: str) -> None:
    if reason == "second_factor":
        await _enrol(world)
    before = await _keys(world.owner_engine)
    async with client(world.app) as browser:
        r = await browser.post("/api/v1/auth/sign-in", json=body)
    assert r.status_code in (401, 422), r.text
    event = await _only_event(world, before, r, "auth.sign_in_failed")
    # Nobody is signed in: the event names the attempt, and the account it aimed at.
    assert event.actor_user_id is None
    assert event.actor_name == f"sign-in attempt as {ALEX}"
    assert (event.target_type, event.target_id) == ("user", str(world.alex.id))
    assert event.changes == {"reason": [None, reason]}


async def test_a_disabled_account_is_refused_and_recorded(world: World) -> None:
    async with world.owner_engine.begin() as conn:
        await conn.execute(
            update(User).where(User.id == world.alex.id).values(disabled_at=world.alex.created_at)
        )
    before = await _keys(world.owner_engine)
    async with client(world.app) as browser:
        r = await browser.post("/api/v1/auth/sign-in", json={"email": ALEX, "password": PASSWORD})
    assert r.status_code == 401
    event = await _only_event(world, before, r, "auth.sign_in_failed")
    assert event.changes == {"reason": [None, "disabled"]}


async def test_an_unknown_account_has_no_trail_to_write_to(world: World) -> None:
    before = await _keys(world.owner_engine)
    async with client(world.app) as browser:
        r = await browser.post(
            "/api/v1/auth/sign-in", json={"email": "nobody@northwind.example", "password": "x" * 12}
        )
    assert r.status_code == 401
    # No tenant owns an unknown address: the log records it (identity/flows.py).
    assert await _added(world.owner_engine, before) == []
