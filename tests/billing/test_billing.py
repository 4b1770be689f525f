"""The MSP's Billing and subscription page and API: plan and usage against the limits,
the history, and a request for more that reaches the operator (``tenantry plans
requests``), who approves it from the CLI (applied at once, the admins told) or declines
it. Who may see it: billing:manage (the owner), not an admin without it."""

from __future__ import annotations

import json

from sqlalchemy import select

from tenantry.billing.models import PlanRequest
from tenantry.notifications.models import Notification
from tests.access.conftest import World
from tests.harness.cli import Cli

BILLING = "/api/v1/msp/billing"


async def _growth(cli: Cli) -> None:
    await cli.run("plans", "create", "Starter", "--clients", "3", "--seats", "5")
    await cli.run("plans", "create", "Growth", "--clients", "25", "--seats", "10")
    assert (await cli.run("tenants", "license", "northwind", "--plan", "Starter")).exit_code == 0


async def test_the_owner_sees_plan_usage_and_history(cli: Cli, world: World) -> None:
    await _growth(cli)
    got = await world.get("olive", BILLING)
    assert got.status_code == 200, got.text
    body = got.json()
    assert (body["plan"], body["status"]) == ("Starter", "active")
    assert body["clients"] == {"used": 3, "limit": 3, "percent": 100}
    assert body["seats"] == {"used": 4, "limit": 5, "percent": 80}
    assert body["storage"] == {"used": 0, "limit": None, "percent": None}
    assert [h["action"] for h in body["history"]] == ["billing.subscription.changed"]
    assert body["history"][0]["actor"] == "instance operator (CLI)"

    denied = await world.get("alex", BILLING)
    assert denied.status_code == 403 and denied.json()["permission"] == "billing:manage"
    assert (await world.get("carol", BILLING)).status_code == 403


async def test_a_request_reaches_the_operator_who_approves_it(cli: Cli, world: World) -> None:
    await _growth(cli)
    asked = await world.post(
        "olive", f"{BILLING}/requests", {"plan": "Growth", "seats": 12, "note": "busy season"}
    )
    assert asked.status_code == 201, asked.text
    assert (asked.json()["plan"], asked.json()["status"]) == ("Growth", "pending")

    listed = await cli.run("plans", "requests", "--json")
    assert listed.exit_code == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["msp"], r["plan"], r["seats"], r["note"]) for r in rows] == [
        ("northwind", "Growth", 12, "busy season")
    ]
    approved = await cli.run("plans", "requests", "approve", rows[0]["id"], "--note", "enjoy")
    assert approved.exit_code == 0, approved.stderr
    assert "approved" in approved.stdout

    body = (await world.get("olive", BILLING)).json()
    assert body["plan"] == "Growth" and body["seats"]["limit"] == 12
    assert body["requests"][0]["status"] == "approved"
    assert [h["action"] for h in body["history"]][:3] == [
        "billing.subscription.request_decided",
        "billing.subscription.changed",
        "billing.subscription.requested",
    ]
    async with world.owner_engine.connect() as conn:
        told = (
            await conn.execute(
                select(Notification.title).where(Notification.kind == "billing.request")
            )
        ).all()
    assert len(told) == 2 and told[0].title == "Your request for more was approved"
    assert (await cli.run("plans", "requests")).stdout.strip() == "no pending requests"
    # Decided once only.
    twice = await cli.run("plans", "requests", "decline", rows[0]["id"])
    assert twice.exit_code != 0 and "already approved" in twice.stderr


async def test_a_declined_request_changes_nothing(cli: Cli, world: World) -> None:
    await _growth(cli)
    asked = await world.post("olive", f"{BILLING}/requests", {"seats": 50})
    request_id = asked.json()["id"]
    declined = await cli.run("plans", "requests", "decline", request_id, "--note", "no")
    assert declined.exit_code == 0, declined.stderr
    body = (await world.get("olive", BILLING)).json()
    assert body["seats"]["limit"] == 5 and body["requests"][0]["status"] == "declined"


async def test_a_bad_request_is_refused_with_the_field_named(cli: Cli, world: World) -> None:
    await _growth(cli)
    for sent, field in (
        ({}, "plan"),
        ({"plan": "Platinum"}, "plan"),
        ({"seats": 0}, "seats"),
    ):
        r = await world.post("olive", f"{BILLING}/requests", sent)
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["field"] == field
    assert await world.count(PlanRequest) == 0
    assert (await cli.run("plans", "requests", "approve", "not-an-id")).exit_code != 0


async def test_the_billing_page_shows_the_plan_and_sends_a_request(cli: Cli, world: World) -> None:
    await _growth(cli)
    page = await world.get("olive", "/msp/billing")
    assert page.status_code == 200, page.text
    assert "Billing and subscription" in page.text and "Starter" in page.text
    assert 'href="/msp/billing"' in page.text  # in the sidebar
    bad = await world.form("olive", "/msp/billing/requests", {"seats": "many"})
    assert bad.status_code == 422 and "whole number" in bad.text
    sent = await world.form("olive", "/msp/billing/requests", {"plan": "Growth", "note": "x"})
    assert sent.status_code == 303, sent.text
    assert await world.count(PlanRequest) == 1
    # An admin without billing:manage has no billing page.
    assert (await world.get("alex", "/msp/billing")).status_code == 403
