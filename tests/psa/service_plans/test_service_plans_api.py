"""The MSP's service plans through the API on both databases: offers, assignments,
counted users kept by the contact changes, the client's read-only view and its admin's
403, the plan's line on the client's invoices, bad input, other MSPs, deletion."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.audit.models import AuditEvent
from tenantry.db.engine import Database
from tenantry.psa.service_plans.models import ServicePlan, ServicePlanAssignment
from tenantry.tenancy.models import Tenant
from tests.factories import api_token, make_user
from tests.psa.conftest import PsaWorld

PLANS = "/api/v1/tenants/northwind/service-plans"
ESSENTIALS = {
    "name": "Managed Essentials",
    "included_users": 25,
    "price_minor": 4500,
    "currency": "EUR",
}
TODAY = date.today()
PERIOD = {
    "period_start": (TODAY - timedelta(days=30)).isoformat(),
    "period_end": TODAY.isoformat(),
    "currency": "EUR",
}


async def _plan(psa: PsaWorld, **body: Any) -> dict[str, Any]:
    r = await psa.call("alex", "POST", PLANS, json={**ESSENTIALS, **body})
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


async def _contacts(psa: PsaWorld, tenant: str, n: int, who: str = "alex") -> None:
    for i in range(n):
        r = await psa.call(
            who,
            "POST",
            f"/api/v1/tenants/{tenant}/contacts",
            json={"name": f"User {i}", "email": f"user{i}.{who}@{tenant}.example"},
        )
        assert r.status_code == 201, r.text


async def _rows(owner_engine: AsyncEngine) -> tuple[int, int]:
    async with owner_engine.connect() as conn:
        plans = await conn.scalar(select(func.count()).select_from(ServicePlan.__table__))
        given = await conn.scalar(select(func.count()).select_from(ServicePlanAssignment.__table__))
    return int(plans or 0), int(given or 0)


async def _actions(owner_engine: AsyncEngine, prefix: str) -> list[str]:
    async with owner_engine.connect() as conn:
        rows = await conn.execute(
            select(AuditEvent.action)
            .where(AuditEvent.action.like(prefix + "%"))
            .order_by(AuditEvent.occurred_at)
        )
        return [r[0] for r in rows]


async def test_the_msp_defines_re_prices_and_retires_its_offers(
    psa: PsaWorld, owner_engine: AsyncEngine
) -> None:
    plan = await _plan(psa)
    assert plan["period"] == "monthly" and plan["retired"] is False
    await _plan(psa, name="Managed Premium", included_users=50, price_minor=6500)
    r = await psa.call(
        "alex", "PATCH", f"{PLANS}/{plan['id']}", json={"price_minor": 4900, "retired": True}
    )
    assert r.status_code == 200, r.text
    assert r.json()["price_minor"] == 4900 and r.json()["retired"] is True
    listed = (await psa.call("alex", "GET", PLANS)).json()
    # Offered plans first, retired ones last.
    assert [p["name"] for p in listed] == ["Managed Premium", "Managed Essentials"]
    # A read-only technician at home reads them but changes nothing (rates:manage).
    assert (await psa.call("dora", "GET", PLANS)).status_code == 200
    r = await psa.call("dora", "POST", PLANS, json={**ESSENTIALS, "name": "Cheap"})
    assert r.status_code == 403 and "rates:manage" in r.json()["detail"]
    assert await _actions(owner_engine, "service_plan.") == [
        "service_plan.created",
        "service_plan.created",
        "service_plan.updated",
    ]


async def test_bad_input_names_the_field_and_changes_nothing(
    psa: PsaWorld, owner_engine: AsyncEngine
) -> None:
    plan = await _plan(psa)
    before = await _rows(owner_engine)
    for body, field in (
        ({"price_minor": -1}, "price_minor"),
        ({"currency": "EUX"}, "currency"),
        ({"currency": "eu"}, "currency"),
        ({"included_users": 0}, "included_users"),
        ({"name": "  "}, "name"),
        ({"period": "weekly"}, "period"),
    ):
        r = await psa.call("alex", "POST", PLANS, json={**ESSENTIALS, "name": "Other", **body})
        assert r.status_code == 422, (body, r.text)
        assert r.json()["errors"][0]["field"] == field, r.text
    r = await psa.call("alex", "POST", PLANS, json=ESSENTIALS)
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "name"
    # A patch with one bad field changes none of the others.
    r = await psa.call(
        "alex", "PATCH", f"{PLANS}/{plan['id']}", json={"name": "New", "price_minor": -5}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "price_minor"
    assert (await psa.call("alex", "GET", PLANS)).json()[0]["name"] == "Managed Essentials"
    r = await psa.call(
        "alex", "PUT", f"{PLANS}/assignments/contoso", json={"plan_id": str(uuid.uuid4())}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "plan_id"
    assert await _rows(owner_engine) == before
    assert await _actions(owner_engine, "service_plan.") == ["service_plan.created"]


async def test_assigning_counts_the_clients_contacts_and_changes_keep_the_count(
    psa: PsaWorld, database: Database, owner_engine: AsyncEngine
) -> None:
    await _contacts(psa, "contoso", 3)
    essentials = await _plan(psa)
    premium = await _plan(psa, name="Managed Premium", included_users=50, price_minor=6500)
    r = await psa.call(
        "alex", "PUT", f"{PLANS}/assignments/contoso", json={"plan_id": essentials["id"]}
    )
    assert r.status_code == 200, r.text
    assert r.json()["counted_users"] == 3 and r.json()["included_users"] == 25
    # Contacts created by the MSP's people and by the client's own, and an import, move it.
    await _contacts(psa, "contoso", 2, who="carl")
    csv = "name,email\nAnna,anna@contoso.example\nBen,ben@contoso.example\nBad,not-an-email\n"
    r = await psa.call(
        "dora",
        "POST",
        "/api/v1/tenants/contoso/contacts/import",
        files={"file": ("c.csv", csv.encode(), "text/csv")},
    )
    assert r.status_code in (200, 201), r.text
    listed = (await psa.call("alex", "GET", f"{PLANS}/assignments")).json()["items"]
    assert [(a["plan_name"], a["counted_users"]) for a in listed] == [("Managed Essentials", 7)]
    # Moving the client to another plan keeps its count; removing ends it.
    r = await psa.call(
        "alex", "PUT", f"{PLANS}/assignments/contoso", json={"plan_id": premium["id"]}
    )
    assert r.json()["plan_name"] == "Managed Premium" and r.json()["counted_users"] == 7
    plans = {p["name"]: p["clients"] for p in (await psa.call("alex", "GET", PLANS)).json()}
    assert plans == {"Managed Essentials": 0, "Managed Premium": 1}
    # A retired plan keeps its clients but takes no new ones.
    await psa.call("alex", "PATCH", f"{PLANS}/{essentials['id']}", json={"retired": True})
    r = await psa.call(
        "alex", "PUT", f"{PLANS}/assignments/fabrikam", json={"plan_id": essentials["id"]}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "plan_id"
    r = await psa.call("alex", "DELETE", f"{PLANS}/assignments/contoso")
    assert r.status_code == 204
    assert (await psa.call("alex", "GET", f"{PLANS}/assignments")).json()["items"] == []
    r = await psa.call("alex", "DELETE", f"{PLANS}/assignments/contoso")
    assert r.status_code == 404
    assert await _actions(owner_engine, "service_plan.a") == [
        "service_plan.assigned",
        "service_plan.assigned",
    ]
    assert await _actions(owner_engine, "service_plan.un") == ["service_plan.unassigned"]
    # The dashboard's read: one statement in the MSP's tenant.
    from tenantry.access.service import operator_scope
    from tenantry.psa.service_plans.service import ServicePlanService

    await psa.call("alex", "PUT", f"{PLANS}/assignments/fabrikam", json={"plan_id": premium["id"]})
    async with database.unit_of_work(operator_scope([psa.tenants["northwind"]])) as session:
        usage = await ServicePlanService(session).assignments(psa.tenants["northwind"])
    assert {k: (v.plan_name, v.included_users, v.counted_users) for k, v in usage.items()} == {
        psa.tenants["fabrikam"]: ("Managed Premium", 50, 0)
    }


async def test_the_client_reads_its_plan_and_its_admin_cannot_change_it(
    psa: PsaWorld, database: Database, owner_engine: AsyncEngine
) -> None:
    plan = await _plan(psa)
    async with database.platform_reader() as session:
        contoso = await session.get(Tenant, psa.tenants["contoso"])
    assert contoso is not None
    cleo = await make_user(database, contoso, "cleo@contoso.example", role="admin")
    cleo_auth = {"Authorization": f"Bearer {await api_token(database, cleo)}"}
    here = "/api/v1/tenants/contoso/service-plan"
    r = await psa.client.get(here, headers=cleo_auth)
    assert r.status_code == 200 and r.json()["plan"] is None
    # The MSP's people may set it from inside the client too.
    r = await psa.call("alex", "PUT", here, json={"plan_id": plan["id"]})
    assert r.status_code == 200, r.text
    r = await psa.client.get(here, headers=cleo_auth)
    assert r.json()["plan"]["plan_name"] == "Managed Essentials"
    assert r.json()["plan"]["price_minor"] == 4500 and r.json()["period"] == "monthly"
    before = await _rows(owner_engine)
    for method in ("PUT", "DELETE"):
        r = await psa.client.request(
            method,
            here,
            headers=cleo_auth,
            json={"plan_id": plan["id"]} if method == "PUT" else None,
        )
        assert r.status_code == 403, r.text
        assert r.json()["permission"] == "rates:manage" and r.json()["reason"] == "msp-owned"
    # Nor from the MSP's side: the MSP's plans are not the client's to see.
    r = await psa.client.get(PLANS, headers=cleo_auth)
    assert r.status_code == 404
    assert await _rows(owner_engine) == before


async def test_the_plan_gives_one_line_per_invoice_and_stops_when_removed(
    psa: PsaWorld,
) -> None:
    await _contacts(psa, "contoso", 4)
    plan = await _plan(psa)
    await psa.call("alex", "PUT", f"{PLANS}/assignments/contoso", json={"plan_id": plan["id"]})
    invoices = "/api/v1/tenants/contoso/invoices"
    r = await psa.call("alex", "POST", invoices, json=PERIOD)
    assert r.status_code == 201, r.text
    draft = (await psa.call("alex", "GET", f"{invoices}/{r.json()['id']}")).json()
    lines = draft["lines"]
    assert len(lines) == 1, lines
    assert lines[0]["quantity"] == 4 and lines[0]["unit_minor"] == 4500
    assert lines[0]["amount_minor"] == 18000 and draft["total_minor"] == 18000
    assert "Managed Essentials" in lines[0]["description"]
    # A USD invoice takes no EUR plan (one currency per invoice).
    r = await psa.call("alex", "POST", invoices, json={**PERIOD, "currency": "USD"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "period_start"
    await psa.call("alex", "DELETE", f"{PLANS}/assignments/contoso")
    r = await psa.call("alex", "POST", invoices, json=PERIOD)
    assert r.status_code == 422, r.text  # nothing else to bill: no plan line any more


async def test_other_msps_neither_see_nor_assign(psa: PsaWorld, owner_engine: AsyncEngine) -> None:
    plan = await _plan(psa)
    for method, url, body in (
        ("GET", PLANS, None),
        ("POST", PLANS, ESSENTIALS),
        ("PATCH", f"{PLANS}/{plan['id']}", {"price_minor": 1}),
        ("PUT", f"{PLANS}/assignments/contoso", {"plan_id": plan["id"]}),
    ):
        r = await psa.call("gary", method, url, json=body)
        assert r.status_code == 404, (method, url, r.text)
    # Globex's own plan cannot be put on Northwind's client, nor Northwind's on Umbrella.
    r = await psa.call("gary", "POST", "/api/v1/tenants/globex/service-plans", json=ESSENTIALS)
    assert r.status_code == 201
    r = await psa.call(
        "gary",
        "PUT",
        "/api/v1/tenants/globex/service-plans/assignments/contoso",
        json={"plan_id": r.json()["id"]},
    )
    assert r.status_code == 404
    r = await psa.call("alex", "PUT", f"{PLANS}/assignments/umbrella", json={"plan_id": plan["id"]})
    assert r.status_code == 404
    assert (await _rows(owner_engine))[1] == 0


async def test_deleting_a_client_deletes_its_assignment(
    psa: PsaWorld, owner_engine: AsyncEngine
) -> None:
    plan = await _plan(psa)
    for client in ("contoso", "fabrikam"):
        await psa.call("alex", "PUT", f"{PLANS}/assignments/{client}", json={"plan_id": plan["id"]})
    r = await psa.call(
        "alex", "DELETE", "/api/v1/tenants/northwind/customers/contoso?confirm_slug=contoso"
    )
    assert r.status_code == 200, r.text
    assert r.json()["rows_deleted"]["service_plan_assignments"] == 1
    async with owner_engine.connect() as conn:
        left = (
            (await conn.execute(select(ServicePlanAssignment.__table__.c.client_id)))
            .scalars()
            .all()
        )
    assert left == [psa.tenants["fabrikam"]]
