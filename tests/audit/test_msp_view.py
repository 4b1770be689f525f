"""The MSP-wide view of its technicians' events, and the retention settings API: each
side sees what it should and nothing more."""

from __future__ import annotations

import uuid

import pytest

from tenantry.access.models import GrantScope
from tenantry.access.service import create_grant, operator_scope
from tenantry.audit.schemas import OPERATOR
from tenantry.config import Settings
from tenantry.db.engine import Database
from tenantry.tenancy.models import Tenant
from tests.tenancy.test_customers_api import World, _user
from tests.tenancy.test_customers_api import world as world

VIEW = "/api/v1/tenants/northwind-it/technician-events"


@pytest.fixture
async def cara(world: World, database: Database, settings: Settings) -> dict[str, str]:
    """Contoso's own owner."""
    async with database.platform_reader() as session:
        tenant = await session.get(Tenant, world.tenants["contoso-ltd"])
    assert tenant is not None
    token = await _user(database, settings, tenant, "cara@contoso.example", "owner")
    return {"Authorization": f"Bearer {token}"}


async def _me(world: World, who: str) -> uuid.UUID:
    response = await world.client.get("/api/v1/me", headers=world.as_(who))
    return uuid.UUID(response.json()["user"]["id"])


async def _activity(world: World, cara: dict[str, str]) -> None:
    """Technicians act in both customers; another MSP and the customer's own staff act too."""
    for body in ({"display_name": "Contoso Group"}, {"display_name": "Contoso Ltd"}):
        r = await world.client.patch(
            "/api/v1/tenants/northwind-it/customers/contoso-ltd",
            json=body,
            headers=world.as_("alex"),
        )
        assert r.status_code == 200, r.text
    r = await world.client.post(
        "/api/v1/tenants/northwind-it/customers/fabrikam-inc/suspend", headers=world.as_("alex")
    )
    assert r.status_code == 200, r.text
    r = await world.client.post(
        "/api/v1/tenants/globex-msp/customers", json={"name": "Umbrella"}, headers=world.as_("gary")
    )
    assert r.status_code == 201, r.text
    r = await world.client.put(
        "/api/v1/tenants/contoso-ltd/audit-settings", json={"retention_days": 400}, headers=cara
    )
    assert r.status_code == 200, r.text


async def _all(world: World, who: str, **params: str) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    cursor: str | None = None
    while True:
        query = {"limit": "2", **params, **({"cursor": cursor} if cursor else {})}
        r = await world.client.get(VIEW, params=query, headers=world.as_(who))
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if not cursor:
            return items


async def test_msp_admin_sees_technicians_across_customers(
    world: World, cara: dict[str, str]
) -> None:
    await _activity(world, cara)
    northwind = str(world.tenants["northwind-it"])
    contoso, fabrikam = str(world.tenants["contoso-ltd"]), str(world.tenants["fabrikam-inc"])
    events = await _all(world, "alex")
    assert events, "the technicians' events are listed"
    assert {e["tenant_id"] for e in events} == {contoso, fabrikam}
    assert all(e["actor_home_tenant_id"] == northwind for e in events)
    # Newest first, across tenants, no duplicates over the pages.
    times = [str(e["occurred_at"]) for e in events]
    assert times == sorted(times, reverse=True)
    assert len({e["id"] for e in events}) == len(events)
    actions = {(e["tenant_slug"], e["action"]) for e in events}
    assert ("contoso-ltd", "tenant.renamed") in actions
    assert ("fabrikam-inc", "tenant.suspended") in actions
    # Not the customer's own staff, not the MSP's own trail, not another MSP's customers.
    assert all(e["action"] != "audit.settings_changed" for e in events)
    assert all(e["action"] != "customer.created" for e in events)

    only = await _all(world, "alex", customer="contoso-ltd", action="tenant.renamed")
    assert len(only) == 2 and {e["tenant_id"] for e in only} == {contoso}
    by_id = await _all(world, "alex", customer=fabrikam)
    assert {e["action"] for e in by_id} >= {"tenant.suspended"}
    alex = await _me(world, "alex")
    assert len(await _all(world, "alex", technician=str(alex))) == len(events)
    assert await _all(world, "alex", technician=str(uuid.uuid4())) == []
    assert await _all(world, "alex", since="2999-01-01T00:00:00Z") == []

    for params, field in (
        ({"customer": "initech"}, "customer"),
        ({"customer": "umbrella"}, "customer"),
        ({"since": "2026-01-01T00:00:00"}, "since"),
        ({"cursor": "nonsense"}, "cursor"),
        ({"technician": "alex"}, "technician"),
    ):
        r = await world.client.get(VIEW, params=params, headers=world.as_("alex"))
        assert r.status_code == 422, (params, r.text)
        assert r.json()["errors"][0]["field"] == field


async def test_technicians_see_only_customers_where_they_may_read_the_trail(
    world: World, cara: dict[str, str], database: Database
) -> None:
    await _activity(world, cara)
    # Tina holds audit:read at home but no delegation yet: no customer, no events.
    assert await _all(world, "tina") == []
    tina = await _me(world, "tina")
    northwind, contoso = world.tenants["northwind-it"], world.tenants["contoso-ltd"]
    async with database.unit_of_work(operator_scope([northwind, contoso])) as session:
        await create_grant(
            session,
            issuer_tenant_id=northwind,
            user_id=tina,
            role="technician",
            scope=GrantScope.CUSTOMER,
            customer_tenant_id=contoso,
            actor=OPERATOR,
        )
    seen = await _all(world, "tina")
    assert seen and {e["tenant_slug"] for e in seen} == {"contoso-ltd"}
    r = await world.client.get(VIEW, params={"customer": "fabrikam-inc"}, headers=world.as_("tina"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "customer"


async def test_customers_never_see_the_msps_view_or_its_own_trail(
    world: World, cara: dict[str, str]
) -> None:
    await _activity(world, cara)
    r = await world.client.get(VIEW, headers=cara)
    assert r.status_code == 404
    r = await world.client.get("/api/v1/tenants/contoso-ltd/technician-events", headers=cara)
    assert r.status_code == 404
    # Their own trail: the MSP's technicians by name, nothing of the MSP's own events or
    # of the other customer.
    page = (
        await world.client.get(
            "/api/v1/tenants/contoso-ltd/audit-events", params={"limit": "200"}, headers=cara
        )
    ).json()
    contoso = str(world.tenants["contoso-ltd"])
    assert {e["tenant_id"] for e in page["items"]} == {contoso}
    assert all(e["action"] != "tenant.suspended" for e in page["items"])
    assert any(e["actor_home_tenant_name"] == "Northwind IT" for e in page["items"])
    # A plain tenant (not an MSP) has no technicians' view either.
    r = await world.client.get(
        "/api/v1/tenants/initech/technician-events", headers=world.as_("ian")
    )
    assert r.status_code == 404


async def test_retention_settings_through_the_api(world: World, cara: dict[str, str]) -> None:
    url = "/api/v1/tenants/contoso-ltd/audit-settings"
    assert (await world.client.get(url, headers=cara)).json() == {
        "retention_days": None,
        "pruned_through_seq": None,
        "last_pruned_at": None,
    }
    for body in ({"retention_days": 5}, {"retention_days": "soon"}, {"retention_days": 10**6}):
        r = await world.client.put(url, json=body, headers=cara)
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["field"] == "retention_days"
    r = await world.client.put(url, json={"retention_days": 365}, headers=cara)
    assert r.status_code == 200 and r.json()["retention_days"] == 365
    events = (
        await world.client.get(
            "/api/v1/tenants/contoso-ltd/audit-events",
            params={"action": "audit.settings_changed"},
            headers=cara,
        )
    ).json()["items"]
    assert [e["changes"] for e in events] == [{"audit_retention_days": [None, 365]}]
    # A technician holds no settings:manage (and Tina no delegation: 404).
    r = await world.client.put(url, json={"retention_days": 30}, headers=world.as_("tina"))
    assert r.status_code == 404
