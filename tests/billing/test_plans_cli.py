"""``tenantry plans`` and ``tenantry tenants license --plan``: plans made, shown,
changed; bad input refused with the field named and nothing changed; an MSP put on a
plan with its history kept."""

from __future__ import annotations

import json

from sqlalchemy import select

from tenantry.billing.models import Plan, Subscription, SubscriptionChange
from tests.access.conftest import World
from tests.harness.cli import Cli


async def test_the_operator_makes_lists_shows_and_changes_plans(cli: Cli, world: World) -> None:
    made = await cli.run(
        "plans", "create", "Growth", "--clients", "25", "--seats", "10",
        "--storage", "1000000", "--feature", "compliance", "--feature", "client-portal",
        "--json",
    )  # fmt: skip
    assert made.exit_code == 0, made.stderr
    plan = json.loads(made.stdout)
    assert (plan["name"], plan["max_clients"], plan["max_seats"]) == ("Growth", 25, 10)
    assert plan["features"] == ["client-portal", "compliance"]

    listed = await cli.run("plans", "list", "--json")
    assert [p["name"] for p in json.loads(listed.stdout)] == ["Growth"]
    shown = await cli.run("plans", "show", "growth")
    assert "clients 25" in shown.stdout and "seats 10" in shown.stdout

    changed = await cli.run(
        "plans", "update", "Growth", "--clients", "30", "--unlimited", "storage", "--json"
    )
    assert changed.exit_code == 0, changed.stderr
    assert json.loads(changed.stdout)["max_clients"] == 30
    assert json.loads(changed.stdout)["max_storage_bytes"] is None


async def test_bad_plans_are_refused_and_nothing_changes(cli: Cli, world: World) -> None:
    assert (await cli.run("plans", "create", "Growth", "--clients", "5")).exit_code == 0
    taken = await cli.run("plans", "create", "growth")
    assert taken.exit_code != 0 and "already exists" in taken.stderr
    feature = await cli.run("plans", "create", "Other", "--feature", "teleport")
    assert feature.exit_code != 0 and "features" in feature.stderr
    blank = await cli.run("plans", "create", "  ")
    assert blank.exit_code != 0 and "name" in blank.stderr
    unknown = await cli.run("plans", "show", "Nope")
    assert unknown.exit_code != 0 and "no plan named" in unknown.stderr
    assert await world.count(Plan) == 1


async def test_license_puts_an_msp_on_a_plan_and_keeps_its_history(cli: Cli, world: World) -> None:
    await cli.run("plans", "create", "Starter", "--clients", "5", "--seats", "5")
    await cli.run("plans", "create", "Growth", "--clients", "25", "--seats", "10")
    first = await cli.run("tenants", "license", "northwind", "--plan", "Starter", "--json")
    assert first.exit_code == 0, first.stderr
    row = json.loads(first.stdout)
    assert row["plan"] == "Starter" and row["is_msp"] is True
    assert row["clients"] == {"used": 3, "limit": 5, "percent": 60}
    assert row["seats"]["used"] == 4

    again = await cli.run("tenants", "license", "northwind", "--plan", "Growth", "--seats", "12")
    assert again.exit_code == 0, again.stderr
    assert "plan Growth (active)" in again.stdout and "seats 4/12" in again.stdout
    assert (await cli.run("tenants", "license", "northwind", "--status", "lapsed")).exit_code == 0
    bad = await cli.run("tenants", "license", "northwind", "--status", "gone")
    assert bad.exit_code != 0 and "status" in bad.stderr
    # --msp on|off keeps working on its own.
    assert (await cli.run("tenants", "license", "globex", "--msp", "on")).exit_code == 0

    async with world.owner_engine.connect() as conn:
        sub = (await conn.execute(select(Subscription))).one()
        history = (
            await conn.execute(
                select(SubscriptionChange.changes).order_by(SubscriptionChange.created_at)
            )
        ).all()
    assert (sub.seats, sub.status) == (12, "lapsed")
    assert [h.changes for h in history] == [
        {"plan": [None, "Starter"], "status": [None, "active"]},
        {"plan": ["Starter", "Growth"], "seats": [None, 12]},
        {"status": ["active", "lapsed"]},
    ]
    assert (await world.actions(world.msp)).count("billing.subscription.changed") == 3
