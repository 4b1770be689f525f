"""The operator's HTTP API (``/api/v1/operator``) and its tokens: made, listed and
revoked from the CLI; plans, subscriptions and requests through the API with the same
rules and events as the CLI; anything but a live operator token answers 401; bad input
names the field and changes nothing."""

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlalchemy import select, update

from tenantry.audit.models import AuditEvent
from tenantry.billing.models import Plan, PlanRequest, Subscription
from tenantry.db.base import utcnow
from tenantry.operator.models import OperatorToken
from tenantry.tenancy.models import Tenant
from tests.access.conftest import EMAILS, World
from tests.factories import signed_in_client
from tests.harness.cli import Cli

OP = "/api/v1/operator"
CUSTOMERS = "/api/v1/tenants/northwind/customers"


async def _token(cli: Cli, name: str = "automation", *extra: str) -> dict[str, Any]:
    made = await cli.run("operator", "tokens", "create", name, *extra, "--json")
    assert made.exit_code == 0, made.stderr
    row: dict[str, Any] = json.loads(made.stdout)
    return row


async def _call(
    world: World, secret: str, method: str, path: str, json: Any = None, **kw: Any
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {secret}"}
    return await world.http.request(method, OP + path, headers=headers, json=json, **kw)


async def test_tokens_are_made_listed_and_revoked_from_the_cli(cli: Cli, world: World) -> None:
    made = await _token(cli, "billing bot", "--days", "30")
    assert made["secret"].startswith("tnop_") and made["expires_at"] is not None
    async with world.owner_engine.connect() as conn:
        stored = (await conn.execute(select(OperatorToken.token_hash))).scalar_one()
    assert made["secret"] not in stored  # only the digest is kept

    listed = await cli.run("operator", "tokens", "list", "--json")
    rows = json.loads(listed.stdout)
    assert [(r["name"], r["revoked_at"]) for r in rows] == [("billing bot", None)]
    assert "secret" not in rows[0]
    assert (await _call(world, made["secret"], "GET", "/plans")).status_code == 200

    revoked = await cli.run("operator", "tokens", "revoke", made["id"])
    assert revoked.exit_code == 0, revoked.stderr
    refused = await _call(world, made["secret"], "GET", "/plans")
    assert refused.status_code == 401, refused.text
    again = await cli.run("operator", "tokens", "revoke", made["id"])
    assert again.exit_code != 0
    bad = await cli.run("operator", "tokens", "create", "x", "--days", "0")
    assert bad.exit_code != 0 and "days" in bad.stderr
    blank = await cli.run("operator", "tokens", "create", "  ")
    assert blank.exit_code != 0 and "name" in blank.stderr
    assert await world.count(OperatorToken) == 1


async def test_only_a_live_operator_token_opens_the_api(cli: Cli, world: World) -> None:
    made = await _token(cli)
    assert (await world.http.get(OP + "/plans")).status_code == 401
    # A user's API token (Alex is Northwind's admin) is not an operator credential.
    assert (await world.get("alex", OP + "/plans")).status_code == 401
    assert (await _call(world, "tnop_" + "x" * 43, "GET", "/plans")).status_code == 401
    expired = await _token(cli, "old")
    async with world.owner_engine.begin() as conn:
        await conn.execute(
            update(OperatorToken)
            .where(OperatorToken.name == "old")
            .values(expires_at=utcnow().replace(year=2020))
        )
    assert (await _call(world, expired["secret"], "GET", "/plans")).status_code == 401
    sent = await _call(world, made["secret"], "POST", "/plans", {"name": "Sneaky"})
    assert sent.status_code == 201  # no cookie, so no CSRF token is asked for
    denied = await world.post("alex", OP + "/plans", {"name": "Mine"})
    assert denied.status_code == 401 and await world.count(Plan) == 1
    # Nor is a browser session: Alex signed in with his password, cookie and CSRF token.
    browser = await signed_in_client(world.app, EMAILS["alex"])
    try:
        assert (await browser.get(OP + "/plans")).status_code == 401
        csrf = {"x-csrf-token": browser.headers.get("x-csrf-token", "")}
        sent = await browser.post(OP + "/plans", json={"name": "Mine"}, headers=csrf)
        assert sent.status_code == 401 and await world.count(Plan) == 1
    finally:
        await browser.aclose()


async def test_plans_and_subscriptions_through_the_api(cli: Cli, world: World) -> None:
    secret = (await _token(cli))["secret"]
    made = await _call(
        world, secret, "POST", "/plans",
        {"name": "Starter", "max_clients": 3, "max_seats": 5, "features": ["compliance"]},
    )  # fmt: skip
    assert made.status_code == 201, made.text
    assert (made.json()["max_clients"], made.json()["features"]) == (3, ["compliance"])
    assert [p["name"] for p in (await _call(world, secret, "GET", "/plans")).json()] == ["Starter"]
    assert (await _call(world, secret, "GET", "/plans/starter")).json()["max_seats"] == 5

    put = await _call(world, secret, "PUT", "/subscriptions/northwind", {"plan": "Starter"})
    assert put.status_code == 200, put.text
    body = put.json()
    assert (body["msp"], body["plan"], body["status"]) == ("northwind", "Starter", "active")
    assert body["clients"] == {"used": 3, "limit": 3, "percent": 100}
    assert (
        body["history"][0]["actor"]
        == "instance operator (token automation, tnop_"
        + (body["history"][0]["actor"].split("tnop_")[1])
    )

    changed = await _call(world, secret, "PATCH", "/plans/Starter", {"max_clients": 10})
    assert changed.status_code == 200 and changed.json()["max_clients"] == 10
    got = (await _call(world, secret, "GET", "/subscriptions/northwind")).json()
    assert got["clients"]["limit"] == 10
    assert [h["action"] for h in got["history"]] == [
        "billing.plan.updated",
        "billing.subscription.changed",
    ]
    # The MSP's own trail has the same events the CLI writes, by the token's actor.
    async with world.owner_engine.connect() as conn:
        rows = (
            await conn.execute(
                select(AuditEvent.action, AuditEvent.actor_name).where(
                    AuditEvent.tenant_id == world.msp.id
                )
            )
        ).all()
    ours = [r for r in rows if r.actor_name.startswith("instance operator (token automation")]
    assert {r.action for r in ours} >= {"billing.subscription.changed", "billing.plan.updated"}


async def test_bad_input_names_the_field_and_changes_nothing(cli: Cli, world: World) -> None:
    secret = (await _token(cli))["secret"]
    await _call(world, secret, "POST", "/plans", {"name": "Starter", "max_clients": 3})
    cases: list[tuple[str, str, Any, int, str]] = [
        ("POST", "/plans", {"name": "starter"}, 409, "name"),
        ("POST", "/plans", {"name": "  "}, 422, "name"),
        ("POST", "/plans", {"name": "X", "features": ["teleport"]}, 422, "features"),
        ("POST", "/plans", {"name": "X", "max_seats": -1}, 422, "max_seats"),
        ("PATCH", "/plans/Starter", {"unlimited": ["moons"]}, 422, "unlimited"),
        ("PUT", "/subscriptions/northwind", {"plan": "Starter", "status": "gone"}, 422, "status"),
        ("PUT", "/subscriptions/northwind", {"plan": "Starter", "seats": -2}, 422, "seats"),
        ("POST", "/requests/not-an-id/approve", {}, 422, "id"),
    ]
    for method, path, sent, status, field in cases:
        r = await _call(world, secret, method, path, sent)
        assert r.status_code == status, (path, sent, r.text)
        assert field in [e["field"] for e in r.json().get("errors", [])], (path, r.json())
    missing = await _call(world, secret, "PUT", "/subscriptions/nowhere", {"plan": "Starter"})
    assert missing.status_code == 404
    unknown = await _call(world, secret, "PUT", "/subscriptions/northwind", {"plan": "Nope"})
    assert unknown.status_code == 404
    assert await world.count(Plan) == 1 and await world.count(Subscription) == 0
    plan = (await _call(world, secret, "GET", "/plans/Starter")).json()
    assert plan["max_clients"] == 3


async def test_approving_through_the_api_lets_the_msp_add_the_refused_client(
    cli: Cli, world: World
) -> None:
    secret = (await _token(cli))["secret"]
    await _call(world, secret, "POST", "/plans", {"name": "Small", "max_clients": 3})
    await _call(world, secret, "POST", "/plans", {"name": "Bigger", "max_clients": 10})
    await _call(world, secret, "PUT", "/subscriptions/northwind", {"plan": "Small"})
    refused = await world.post("alex", CUSTOMERS, {"name": "Fourth Client"})
    assert refused.status_code == 409 and refused.json()["limit"] == "clients"

    asked = await world.post("olive", "/api/v1/msp/billing/requests", {"plan": "Bigger"})
    assert asked.status_code == 201, asked.text
    pending = await _call(world, secret, "GET", "/requests")
    assert [(r["msp"], r["plan"], r["status"]) for r in pending.json()] == [
        ("northwind", "Bigger", "pending")
    ]
    request_id = pending.json()[0]["id"]
    approved = await _call(world, secret, "POST", f"/requests/{request_id}/approve", {"note": "ok"})
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    twice = await _call(world, secret, "POST", f"/requests/{request_id}/decline", {})
    assert twice.status_code == 409
    assert (await _call(world, secret, "GET", "/requests")).json() == []
    assert len((await _call(world, secret, "GET", "/requests?status=all")).json()) == 1

    tenants = await world.count(Tenant)
    made = await world.post("alex", CUSTOMERS, {"name": "Fourth Client"})
    assert made.status_code == 201, made.text
    assert await world.count(Tenant) == tenants + 1
    async with world.owner_engine.connect() as conn:
        status = await conn.scalar(select(PlanRequest.status))
    assert status == "approved"
