"""``tenantry links``: the operator flags a candidate client, lists links, sweeps."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.access.service import operator_scope
from tenantry.audit.models import AuditEvent
from tenantry.db.base import utcnow
from tenantry.db.engine import Database
from tenantry.tenancy.models import TenantLink
from tests.factories import make_tenant
from tests.harness.cli import Cli


@pytest.fixture
async def tenants(database: Database) -> dict[str, uuid.UUID]:
    made = {
        "northwind": await make_tenant(
            database, "northwind", is_msp=True, display_name="Northwind IT"
        ),
        "globex": await make_tenant(database, "globex", is_msp=True, display_name="Globex MSP"),
        "initech": await make_tenant(database, "initech", display_name="Initech"),
    }
    return {slug: t.id for slug, t in made.items()}


async def test_the_operator_flags_a_candidate_client(
    cli: Cli, database: Database, tenants: dict[str, uuid.UUID]
) -> None:
    code, out, err = await cli.run(
        "links",
        "flag",
        "--msp",
        "northwind",
        "--customer",
        "initech",
        "--ceiling",
        "technician",
        "--ceiling",
        "invoices:write",
        "--days",
        "90",
        "--auto-extend",
        "--json",
    )
    assert code == 0, err
    link = json.loads(out)
    assert link["state"] == "pending" and link["flagged_by_operator"] is True
    assert (
        "invoices:write" in link["requested_ceiling"]
        and "tickets:write" in link["requested_ceiling"]
    )
    assert link["duration_days"] == 90 and link["msp_auto_extend"] is True
    assert link["msp"]["slug"] == "northwind" and link["customer"]["slug"] == "initech"
    # Both trails say the operator flagged it.
    for tenant in ("northwind", "initech"):
        async with database.unit_of_work(operator_scope([tenants[tenant]])) as session:
            event = await session.scalar(
                select(AuditEvent).where(AuditEvent.target_id == link["id"])
            )
        assert event is not None and event.action == "link.flagged"
        assert event.actor_name == "instance operator (CLI)" and event.actor_user_id is None

    code, out, _ = await cli.run("links", "list", "--json")
    assert code == 0 and [x["id"] for x in json.loads(out)] == [link["id"]]
    code, out, _ = await cli.run("links", "list", "--tenant", "globex", "--json")
    assert code == 0 and json.loads(out) == []
    code, out, _ = await cli.run("links", "list", "--tenant", "initech")
    assert code == 0
    assert "northwind" in out and "initech" in out and "pending" in out and "flagged" in out
    # The default proposal, for an operator who names none: the Admin role.
    await make_tenant(database, "umbrella", display_name="Umbrella")
    code, out, err = await cli.run(
        "links", "flag", "--msp", "northwind", "--customer", "umbrella", "--json"
    )
    assert code == 0, err
    assert "billing:manage" not in json.loads(out)["requested_ceiling"]
    assert "users:manage" in json.loads(out)["requested_ceiling"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--msp", "initech", "--customer", "northwind"), "msp: initech is not licensed as an MSP"),
        (("--msp", "northwind", "--customer", "northwind"), "customer: is Northwind IT itself"),
        (("--msp", "northwind", "--customer", "globex"), "customer: 'globex' is an MSP"),
        (("--msp", "northwind", "--customer", "nope"), "no tenant with the slug 'nope'"),
        (("--msp", "northwind", "--customer", "initech", "--ceiling", "x:y"), "ceiling: unknown"),
        (("--msp", "northwind", "--customer", "initech", "--days", "0"), "duration_days: must be"),
    ],
)
async def test_flag_refusals_say_why(
    cli: Cli, tenants: dict[str, uuid.UUID], args: tuple[str, ...], message: str
) -> None:
    code, out, err = await cli.run("links", "flag", *args)
    assert code == 2, out
    assert message in err
    _, out, _ = await cli.run("links", "list", "--json")
    assert json.loads(out) == []


async def test_one_msp_at_a_time_from_the_cli_too(cli: Cli, tenants: dict[str, uuid.UUID]) -> None:
    assert (await cli.run("links", "flag", "--msp", "globex", "--customer", "initech"))[0] == 0
    code, _, err = await cli.run("links", "flag", "--msp", "northwind", "--customer", "initech")
    assert code == 2 and "one MSP at a time" in err


async def test_sweep_expires_what_has_lapsed(
    cli: Cli, owner_engine: AsyncEngine, tenants: dict[str, uuid.UUID]
) -> None:
    code, out, _ = await cli.run(
        "links", "flag", "--msp", "northwind", "--customer", "initech", "--days", "1", "--json"
    )
    link_id = json.loads(out)["id"]
    code, out, _ = await cli.run("links", "sweep", "--json")
    assert code == 0 and json.loads(out) == {"expired": [], "extended": [], "failed": []}
    # As if Initech had approved a day and more ago.
    async with owner_engine.begin() as conn:
        await conn.execute(
            update(TenantLink)
            .where(TenantLink.id == uuid.UUID(link_id))
            .values(
                state="active",
                ceiling=["tenant:read"],
                activated_at=utcnow() - timedelta(days=2),
                expires_at=utcnow() - timedelta(days=1),
            )
        )
    code, out, _ = await cli.run("links", "sweep")
    assert code == 0 and out.strip() == "1 expired, 0 renewed"
    code, out, _ = await cli.run("links", "list", "--json")
    assert json.loads(out)[0]["state"] == "expired"
