"""Managing customers through the API, as an MSP admin and as people who may not."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import httpx
import pytest
from sqlalchemy import func, select

from tenantry.access.models import GrantScope
from tenantry.access.service import create_grant, operator_scope
from tenantry.app import create_app
from tenantry.audit.models import AuditEvent
from tenantry.audit.schemas import OPERATOR
from tenantry.config import Settings
from tenantry.db.base import Base, TenantOwned, tenant_owned_tables
from tenantry.db.engine import Database
from tenantry.identity.service import IdentityService
from tenantry.tenancy.models import Tenant
from tenantry.tenancy.service import TenancyService
from tests.isolation.helpers import TenantRows, fresh_row

PASSWORD = "correct horse battery staple"


@dataclass
class World:
    app: object
    client: httpx.AsyncClient
    tokens: dict[str, str] = field(default_factory=dict)
    tenants: dict[str, uuid.UUID] = field(default_factory=dict)

    def as_(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


async def _user(db: Database, settings: Settings, tenant: Tenant, email: str, role: str) -> str:
    async with db.unit_of_work(operator_scope([tenant.id])) as session:
        tenant = await session.merge(tenant)
        identity = IdentityService(session, settings)
        user = await identity.create_user(
            home=tenant,
            email=email,
            display_name=email.split("@")[0],
            password=PASSWORD,
            actor=OPERATOR,
        )
        await create_grant(
            session,
            issuer_tenant_id=tenant.id,
            user_id=user.id,
            role=role,
            scope=GrantScope.HOME,
            actor=OPERATOR,
        )
        token, _ = await identity.create_api_token(
            user, name="tests", expires_in_days=1, actor=OPERATOR
        )
    return token


@pytest.fixture
async def world(database: Database, settings: Settings):
    async with database.unit_of_work(operator_scope([])) as session:
        service = TenancyService(session)
        northwind = await service.create_tenant(
            name="Northwind IT",
            display_name=None,
            is_msp=True,
            actor=OPERATOR,
            require_mfa_for_clients=False,
        )
        globex = await service.create_tenant(
            name="Globex MSP",
            display_name=None,
            is_msp=True,
            actor=OPERATOR,
            require_mfa_for_clients=False,
        )
        initech = await service.create_tenant(
            name="Initech", display_name=None, is_msp=False, actor=OPERATOR
        )
    tokens = {
        "alex": await _user(database, settings, northwind, "alex@northwind.example", "admin"),
        "tina": await _user(database, settings, northwind, "tina@northwind.example", "technician"),
        "gary": await _user(database, settings, globex, "gary@globex.example", "admin"),
        "ian": await _user(database, settings, initech, "ian@initech.example", "owner"),
    }
    app = create_app(settings, database)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        world = World(
            app,
            client,
            tokens,
            {
                "northwind-it": northwind.id,
                "globex-msp": globex.id,
                "initech": initech.id,
            },
        )
        for name in ("Contoso Ltd", "Fabrikam Inc"):
            response = await client.post(
                "/api/v1/tenants/northwind-it/customers",
                json={"name": name},
                headers=world.as_("alex"),
            )
            assert response.status_code == 201, response.text
            world.tenants[response.json()["slug"]] = uuid.UUID(response.json()["id"])
        yield world


async def fill_every_tenant_owned_table(database: Database, tenant_id: uuid.UUID) -> None:
    """At least one row of ``tenant_id`` in every tenant-owned table, made from the
    metadata (tests/isolation/helpers.py), so a new domain's tables are covered by the
    deletion test without touching it. Parents come first (sorted_tables)."""
    seeded = TenantRows(tenant_id)
    owned = set(tenant_owned_tables())
    async with database.unit_of_work(operator_scope([tenant_id])) as session:
        for table in Base.metadata.sorted_tables:
            if table.name not in owned:
                continue
            existing = (
                (
                    await session.execute(
                        select(table).where(table.c.tenant_id == tenant_id).limit(1)
                    )
                )
                .mappings()
                .first()
            )
            if existing is not None:
                seeded.rows[table.name] = dict(existing)
                continue
            row = fresh_row(table.name, seeded)
            await session.execute(table.insert().values(row))
            seeded.rows[table.name] = row


async def _count_tenants(database: Database) -> int:
    async with database.platform_reader() as session:
        return int(await session.scalar(select(func.count()).select_from(Tenant)) or 0)


async def test_msp_admin_creates_a_customer_from_a_name(world: World, database: Database) -> None:
    response = await world.client.post(
        "/api/v1/tenants/northwind-it/customers",
        json={"name": "Tailspin Toys, Inc.", "display_name": "Tailspin Toys"},
        headers=world.as_("alex"),
    )
    assert response.status_code == 201
    body = response.json()
    assert body["slug"] == "tailspin-toys-inc"
    assert body["display_name"] == "Tailspin Toys"
    assert body["status"] == "active"
    listed = await world.client.get(
        "/api/v1/tenants/northwind-it/customers", headers=world.as_("alex")
    )
    assert [c["slug"] for c in listed.json()["items"]] == [
        "contoso-ltd",
        "fabrikam-inc",
        "tailspin-toys-inc",
    ]
    # The admin can act in the new customer at once (implicit all-customers grant).
    inside = await world.client.get("/api/v1/tenants/tailspin-toys-inc", headers=world.as_("alex"))
    assert inside.status_code == 200


@pytest.mark.parametrize(
    ("payload", "field", "fragment"),
    [
        ({"name": ""}, "name", "must not be empty"),
        ({"name": "!!!"}, "name", "at least one letter"),
        ({"name": "www"}, "name", "reserved"),
        ({"name": "Contoso Ltd"}, "name", "already taken"),
        ({"name": "Acme", "slug": "-bad-"}, "slug", "DNS label"),
        ({"name": "Acme", "display_name": "   "}, "display_name", "must not be empty"),
        ({"name": "Acme", "display_name": "x" * 201}, "display_name", "200"),
        ({}, "name", "required"),
    ],
)
async def test_bad_customer_input_names_the_field_and_changes_nothing(
    world: World, database: Database, payload: dict[str, str], field: str, fragment: str
) -> None:
    before = await _count_tenants(database)
    response = await world.client.post(
        "/api/v1/tenants/northwind-it/customers", json=payload, headers=world.as_("alex")
    )
    assert response.status_code in (409, 422)
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert any(
        e["field"] == field and fragment.lower() in e["message"].lower() for e in problem["errors"]
    ), problem
    assert await _count_tenants(database) == before


async def test_a_tenant_without_msp_licensing_cannot_create_customers(world: World) -> None:
    response = await world.client.post(
        "/api/v1/tenants/initech/customers", json={"name": "Sub"}, headers=world.as_("ian")
    )
    assert response.status_code == 403
    assert "not licensed as an MSP" in response.json()["detail"]


async def test_technician_without_permission_gets_403_naming_it(world: World) -> None:
    response = await world.client.post(
        "/api/v1/tenants/northwind-it/customers", json={"name": "Sub"}, headers=world.as_("tina")
    )
    assert response.status_code == 403
    assert response.json()["permission"] == "customers:create"


async def test_search_and_cursor_pagination(world: World) -> None:
    for name in ("Alpha Health", "Beta Health", "Gamma Retail"):
        await world.client.post(
            "/api/v1/tenants/northwind-it/customers", json={"name": name}, headers=world.as_("alex")
        )
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = (
            await world.client.get(
                "/api/v1/tenants/northwind-it/customers", params=params, headers=world.as_("alex")
            )
        ).json()
        seen += [c["slug"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen) and len(seen) == 5
    found = (
        await world.client.get(
            "/api/v1/tenants/northwind-it/customers",
            params={"q": "HEALTH"},
            headers=world.as_("alex"),
        )
    ).json()
    assert [c["slug"] for c in found["items"]] == ["alpha-health", "beta-health"]
    bad = await world.client.get(
        "/api/v1/tenants/northwind-it/customers", params={"limit": "0"}, headers=world.as_("alex")
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "limit"
    bad = await world.client.get(
        "/api/v1/tenants/northwind-it/customers",
        params={"cursor": "not-a-cursor"},
        headers=world.as_("alex"),
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cursor"


async def test_rename_suspend_and_resume(world: World, database: Database) -> None:
    base = "/api/v1/tenants/northwind-it/customers/contoso-ltd"
    renamed = await world.client.patch(
        base, json={"display_name": "Contoso Group"}, headers=world.as_("alex")
    )
    assert renamed.json()["display_name"] == "Contoso Group"
    suspended = await world.client.post(f"{base}/suspend", headers=world.as_("alex"))
    assert suspended.json()["status"] == "suspended"
    refused = await world.client.get("/api/v1/tenants/contoso-ltd", headers=world.as_("alex"))
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("/tenant-suspended")
    assert "suspended" in refused.json()["detail"]
    # Still listed for the MSP, and nothing was lost.
    listed = await world.client.get(
        "/api/v1/tenants/northwind-it/customers", headers=world.as_("alex")
    )
    assert {c["slug"]: c["status"] for c in listed.json()["items"]}["contoso-ltd"] == "suspended"
    resumed = await world.client.post(f"{base}/resume", headers=world.as_("alex"))
    assert resumed.json()["status"] == "active"
    assert (
        await world.client.get("/api/v1/tenants/contoso-ltd", headers=world.as_("alex"))
    ).status_code == 200
    async with database.unit_of_work(operator_scope([world.tenants["contoso-ltd"]])) as session:
        actions = (await session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq))).all()
    assert actions[-3:] == ["tenant.renamed", "tenant.suspended", "tenant.resumed"]


async def test_other_msps_and_customers_see_404(world: World) -> None:
    for path in (
        "/api/v1/tenants/contoso-ltd",
        "/api/v1/tenants/northwind-it/customers",
        f"/api/v1/tenants/{world.tenants['contoso-ltd']}",
    ):
        response = await world.client.get(path, headers=world.as_("gary"))
        assert response.status_code == 404, path
    # Globex cannot reach Northwind's customer through its own customer routes either.
    response = await world.client.get(
        "/api/v1/tenants/globex-msp/customers/contoso-ltd", headers=world.as_("gary")
    )
    assert response.status_code == 404
    response = await world.client.delete(
        "/api/v1/tenants/globex-msp/customers/contoso-ltd",
        params={"confirm_slug": "contoso-ltd"},
        headers=world.as_("gary"),
    )
    assert response.status_code == 404
    # A delegated technician cannot see a customer they have no grant for.
    response = await world.client.get("/api/v1/tenants/contoso-ltd", headers=world.as_("tina"))
    assert response.status_code == 404


async def test_delete_asks_for_the_slug(world: World, database: Database) -> None:
    before = await _count_tenants(database)
    response = await world.client.delete(
        "/api/v1/tenants/northwind-it/customers/contoso-ltd",
        params={"confirm_slug": "contoso"},
        headers=world.as_("alex"),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "confirm_slug"
    assert await _count_tenants(database) == before


async def test_delete_removes_every_row_the_customer_owns(
    world: World, database: Database, settings: Settings
) -> None:
    doomed = world.tenants["contoso-ltd"]
    kept = world.tenants["fabrikam-inc"]
    # A user at home in the customer, with a session and a token, and rows in every
    # tenant-owned table (audit events write the chain head too).
    async with database.unit_of_work(operator_scope([doomed])) as session:
        tenant = await session.get(Tenant, doomed)
        assert tenant is not None
        identity = IdentityService(session, settings)
        user = await identity.create_user(
            home=tenant,
            email="carol@contoso.example",
            display_name="Carol",
            password=PASSWORD,
            actor=OPERATOR,
        )
        await identity.create_api_token(user, name="t", expires_in_days=1, actor=OPERATOR)
    await fill_every_tenant_owned_table(database, doomed)
    owned = sorted(
        m.class_.__tablename__ for m in Base.registry.mappers if issubclass(m.class_, TenantOwned)
    )

    async def rows_of(tenant_id: uuid.UUID) -> dict[str, int]:
        counts = {}
        async with database.unit_of_work(operator_scope([tenant_id])) as session:
            for mapper in Base.registry.mappers:
                model = mapper.class_
                if issubclass(model, TenantOwned):
                    counts[model.__tablename__] = int(
                        await session.scalar(select(func.count()).select_from(model)) or 0
                    )
        return counts

    before = await rows_of(doomed)
    assert all(before[t] > 0 for t in owned), (
        f"no row made in: {[t for t in owned if not before[t]]}"
    )
    kept_before = await rows_of(kept)

    response = await world.client.delete(
        "/api/v1/tenants/northwind-it/customers/contoso-ltd",
        params={"confirm_slug": "contoso-ltd"},
        headers=world.as_("alex"),
    )
    assert response.status_code == 200, response.text
    report = response.json()["rows_deleted"]
    assert report["users"] == 1 and report["tenants"] == 1
    assert {t: report[t] for t in owned} == before
    assert await rows_of(doomed) == dict.fromkeys(owned, 0)
    assert await rows_of(kept) == kept_before
    gone = await world.client.get("/api/v1/tenants/contoso-ltd", headers=world.as_("alex"))
    assert gone.status_code == 404
    # The MSP keeps the record of who deleted what.
    async with database.unit_of_work(operator_scope([world.tenants["northwind-it"]])) as session:
        event = await session.scalar(
            select(AuditEvent).where(AuditEvent.action == "customer.deleted")
        )
    assert event is not None
    assert event.actor_name.startswith("alex")
    assert event.changes["rows_deleted"][1]["users"] == 1
    # Its users can no longer sign in with their token either: the account is gone.
    async with database.platform_reader() as session:
        assert await IdentityService(session, settings).user_by_id(user.id) is None


async def test_customer_admins_never_see_into_the_msp(
    world: World, database: Database, settings: Settings
) -> None:
    contoso = world.tenants["contoso-ltd"]
    async with database.platform_reader() as session:
        tenant = await session.get(Tenant, contoso)
    assert tenant is not None
    token = await _user(database, settings, tenant, "cara@contoso.example", "owner")
    headers = {"Authorization": f"Bearer {token}"}
    assert (
        await world.client.get("/api/v1/tenants/contoso-ltd", headers=headers)
    ).status_code == 200
    for path in (
        "/api/v1/tenants/northwind-it",
        "/api/v1/tenants/fabrikam-inc",
        "/api/v1/tenants/northwind-it/customers",
    ):
        assert (await world.client.get(path, headers=headers)).status_code == 404, path


async def _rows_naming(database: Database, tenant_id: uuid.UUID) -> dict[str, int]:
    """For every table with a column referencing ``tenants``, the rows naming ``tenant_id``
    there, read as the table owner (found from the metadata: a new table is covered)."""
    counts: dict[str, int] = {}
    async with database.platform_reader() as session:
        for table in Base.metadata.sorted_tables:
            for fk in table.foreign_keys:
                if fk.column.table.name == "tenants" and table.name != "tenants":
                    key = f"{table.name}.{fk.parent.name}"
                    stmt = select(func.count()).select_from(table).where(fk.parent == tenant_id)
                    counts[key] = int(await session.scalar(stmt) or 0)
    return counts


async def test_delete_removes_whatever_names_the_customer(
    world: World, database: Database, settings: Settings
) -> None:
    """The customer sits in one of the MSP's client groups, owns a custom role and a
    user group with a member and a grant, and blocks a technician: deleting it answers
    200 and leaves no row that names it in any table (#14's 500 and #12's one-owner
    deletion)."""
    doomed = world.tenants["contoso-ltd"]
    msp = "/api/v1/tenants/northwind-it"
    alex = world.as_("alex")
    group = await world.client.post(f"{msp}/tenant-groups", json={"name": "Dental"}, headers=alex)
    assert group.status_code == 201, group.text
    member = await world.client.post(
        f"{msp}/tenant-groups/{group.json()['id']}/members",
        json={"customer": "contoso-ltd"},
        headers=alex,
    )
    assert member.status_code in (200, 201), member.text
    async with database.platform_reader() as session:
        tenant = await session.get(Tenant, doomed)
    assert tenant is not None
    carol = {
        "Authorization": "Bearer "
        + await _user(database, settings, tenant, "carol@contoso.example", "owner")
    }
    here = "/api/v1/tenants/contoso-ltd"
    role = await world.client.post(
        f"{here}/roles",
        json={"name": "Front desk", "permissions": ["tenant:read", "tickets:read"]},
        headers=carol,
    )
    assert role.status_code == 201, role.text
    desk = await world.client.post(f"{here}/user-groups", json={"name": "Desk"}, headers=carol)
    assert desk.status_code == 201, desk.text
    joined = await world.client.post(
        f"{here}/user-groups/{desk.json()['id']}/members",
        json={"user": "carol@contoso.example"},
        headers=carol,
    )
    assert joined.status_code in (200, 201), joined.text
    granted = await world.client.post(
        f"{here}/grants",
        json={"group": desk.json()["id"], "role": f"custom:{role.json()['id']}", "scope": "home"},
        headers=carol,
    )
    assert granted.status_code == 201, granted.text
    # Carol blocks Tina, Northwind's technician, in Contoso (issue #14).
    [link] = (await world.client.get(f"{here}/links?state=active", headers=carol)).json()["items"]
    tina = (await world.client.get("/api/v1/me", headers=world.as_("tina"))).json()["user"]["id"]
    blocked = await world.client.post(
        f"{here}/links/{link['id']}/blocks", json={"user_id": tina}, headers=carol
    )
    assert blocked.status_code == 201, blocked.text
    named = await _rows_naming(database, doomed)
    for key in (
        "access_blocks.customer_tenant_id",
        "tenant_group_members.customer_tenant_id",
        "custom_roles.tenant_id",
        "user_groups.tenant_id",
        "grants.tenant_id",
        "users.home_tenant_id",
    ):
        assert named[key] > 0, key

    # Northwind keeps Contoso on a service plan: the MSP's row about it (issue #17).
    plan = await world.client.post(
        f"{msp}/service-plans",
        json={"name": "Essentials", "included_users": 5, "price_minor": 100, "currency": "EUR"},
        headers=alex,
    )
    assert plan.status_code == 201, plan.text
    assigned = await world.client.put(
        f"{msp}/service-plans/assignments/contoso-ltd",
        json={"plan_id": plan.json()["id"]},
        headers=alex,
    )
    assert assigned.status_code == 200, assigned.text

    response = await world.client.delete(
        f"{msp}/customers/contoso-ltd", params={"confirm_slug": "contoso-ltd"}, headers=alex
    )
    assert response.status_code == 200, response.text
    assert response.json()["rows_deleted"]["service_plan_assignments"] == 1
    left = {k: n for k, n in (await _rows_naming(database, doomed)).items() if n}
    assert left == {}
    # The MSP's client group lives on, without the customer.
    kept = await world.client.get(f"{msp}/tenant-groups/{group.json()['id']}", headers=alex)
    assert kept.status_code == 200
