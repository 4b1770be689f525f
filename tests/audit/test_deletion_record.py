"""Deleting a customer takes its trail with it; the MSP keeps `customer.deleted` with
who, when, what and how many rows went, and every remaining chain still verifies."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.audit.models import AuditEvent
from tests.harness.cli import Cli
from tests.tenancy.test_customers_api import World
from tests.tenancy.test_customers_api import world as world


async def _count(owner_engine: AsyncEngine, tenant_id: uuid.UUID) -> int:
    async with owner_engine.connect() as conn:
        stmt = select(func.count()).select_from(AuditEvent).where(AuditEvent.tenant_id == tenant_id)
        return int((await conn.execute(stmt)).scalar_one())


@pytest.fixture
async def deleted(world: World, owner_engine: AsyncEngine) -> dict[str, Any]:
    """Contoso, with some history, deleted by Alex; what its trail held just before."""
    for name in ("Contoso Group", "Contoso Ltd"):
        r = await world.client.patch(
            "/api/v1/tenants/northwind-it/customers/contoso-ltd",
            json={"display_name": name},
            headers=world.as_("alex"),
        )
        assert r.status_code == 200, r.text
    contoso = world.tenants["contoso-ltd"]
    events_before = await _count(owner_engine, contoso)
    r = await world.client.delete(
        "/api/v1/tenants/northwind-it/customers/contoso-ltd",
        params={"confirm_slug": "contoso-ltd"},
        headers=world.as_("alex"),
    )
    assert r.status_code == 200, r.text
    return {"id": contoso, "events_before": events_before}


async def test_the_msp_export_keeps_the_deletion_with_its_counts(
    world: World, deleted: dict[str, Any], owner_engine: AsyncEngine
) -> None:
    assert await _count(owner_engine, deleted["id"]) == 0
    exported = await world.client.get(
        "/api/v1/tenants/northwind-it/audit-events/export", headers=world.as_("alex")
    )
    assert exported.status_code == 200
    events = [json.loads(line) for line in exported.text.splitlines()]
    gone = [e for e in events if e["action"] == "customer.deleted"]
    assert len(gone) == 1
    event = gone[0]
    assert event["target_label"] == "contoso-ltd"
    assert event["target_id"] == str(deleted["id"])
    assert event["actor_name"].startswith("alex")
    assert event["occurred_at"].endswith("Z")
    assert "customers:delete" in event["explanation"]
    assert event["changes"]["slug"] == ["contoso-ltd", None]
    assert event["changes"]["display_name"] == ["Contoso Ltd", None]
    counts = event["changes"]["rows_deleted"][1]
    assert counts["audit_events"] == deleted["events_before"] > 0
    assert counts["tenants"] == 1 and counts["tenant_links"] == 1
    # The other customer's trail is untouched.
    assert await _count(owner_engine, world.tenants["fabrikam-inc"]) > 0


def test_every_remaining_chain_verifies(cli: Cli, world: World, deleted: dict[str, Any]) -> None:
    result = cli("audit", "verify", "--json")
    assert result.exit_code == 0, result.stdout + result.stderr
    reports = json.loads(result.stdout)
    remaining = {t for slug, t in world.tenants.items() if slug != "contoso-ltd"}
    assert {uuid.UUID(r["tenant_id"]) for r in reports} == remaining
    assert all(r["ok"] and r["events"] > 0 for r in reports)
