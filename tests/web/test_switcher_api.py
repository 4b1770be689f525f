"""``GET /api/v1/me/tenants``: exactly the tenants where the user holds a permission
(access rule 7), in agreement with the access decision, and fast at 10,000 customers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event, insert, update
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.access.service import AccessService
from tenantry.access.switcher import TenantSwitcher
from tenantry.db.base import new_id, utcnow
from tenantry.db.engine import Database
from tenantry.errors import NotFound
from tenantry.identity.service import principal_of
from tenantry.tenancy.models import LinkState, Tenant, TenantLink
from tests.factories import make_user, signed_in_client
from tests.web.conftest import TINA, World, delegate


async def listed(c: httpx.AsyncClient, **params: Any) -> list[tuple[str, str]]:
    response = await c.get("/api/v1/me/tenants", params=params)
    assert response.status_code == 200, response.text
    return [(t["slug"], t["kind"]) for t in response.json()["items"]]


async def test_home_first_then_customers_by_display_name(as_alex: httpx.AsyncClient) -> None:
    response = await as_alex.get("/api/v1/me/tenants")
    body = response.json()
    assert [(t["slug"], t["kind"], t["status"]) for t in body["items"]] == [
        ("northwind", "home", "active"),
        ("contoso-ltd", "customer", "active"),
        ("fabrikam-inc", "customer", "active"),
        ("tailspin-toys", "customer", "active"),
    ]
    assert body["next_cursor"] is None
    assert set(body["items"][0]) == {"id", "slug", "display_name", "kind", "status"}


async def test_search_looks_at_slug_and_display_name(as_alex: httpx.AsyncClient) -> None:
    assert await listed(as_alex, q="FABRI") == [("fabrikam-inc", "customer")]
    assert await listed(as_alex, q="toys") == [("tailspin-toys", "customer")]
    assert await listed(as_alex, q="-ltd") == [("contoso-ltd", "customer")]
    assert await listed(as_alex, q="northwind") == [("northwind", "home")]
    assert await listed(as_alex, q="Northwind IT") == [("northwind", "home")]
    assert await listed(as_alex, q="%") == []
    assert await listed(as_alex, q="initech") == []  # another MSP's customer


async def test_pages_follow_the_cursor_without_gaps(as_alex: httpx.AsyncClient) -> None:
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        params: dict[str, Any] = {"limit": 1}
        if cursor:
            params["cursor"] = cursor
        body = (await as_alex.get("/api/v1/me/tenants", params=params)).json()
        seen += [t["slug"] for t in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == ["northwind", "contoso-ltd", "fabrikam-inc", "tailspin-toys"]


async def test_bad_input_names_the_field(as_alex: httpx.AsyncClient) -> None:
    response = await as_alex.get("/api/v1/me/tenants", params={"cursor": "nonsense"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "cursor"
    response = await as_alex.get("/api/v1/me/tenants", params={"limit": 0})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "limit"


async def test_technician_sees_home_and_delegated_customers_only(
    as_tina: httpx.AsyncClient,
) -> None:
    assert await listed(as_tina) == [("northwind", "home"), ("contoso-ltd", "customer")]
    assert await listed(as_tina, q="fabrikam") == []


async def test_customer_admin_sees_only_their_own_tenant(as_carol: httpx.AsyncClient) -> None:
    assert await listed(as_carol) == [("contoso-ltd", "home")]


async def test_tenants_not_listed_answer_404(
    as_gary: httpx.AsyncClient, as_tina: httpx.AsyncClient
) -> None:
    assert await listed(as_gary) == [("globex", "home"), ("initech", "customer")]
    for slug in ("northwind", "contoso-ltd", "fabrikam-inc"):
        assert (await as_gary.get(f"/api/v1/tenants/{slug}")).status_code == 404
        assert (await as_gary.get(f"/t/{slug}/")).status_code == 404
    assert (await as_tina.get("/api/v1/tenants/fabrikam-inc")).status_code == 404


async def test_anonymous_callers_are_refused(world: World) -> None:
    from tests.factories import client

    async with client(world.app) as anonymous:
        response = await anonymous.get("/api/v1/me/tenants")
    assert response.status_code == 401


async def test_expired_grants_ended_links_and_narrow_ceilings_hide_a_customer(
    world: World, database: Database, owner_engine: AsyncEngine
) -> None:
    tina = world.users["tina"]
    fabrikam = world.customers["fabrikam-inc"]
    tailspin = world.customers["tailspin-toys"]
    await delegate(database, world.msp, tina, fabrikam, "technician")
    await delegate(database, world.msp, tina, tailspin, "software_requester")
    async with await signed_in_client(world.app, TINA) as c:
        assert await listed(c) == [
            ("northwind", "home"),
            ("contoso-ltd", "customer"),
            ("fabrikam-inc", "customer"),
            ("tailspin-toys", "customer"),
        ]
        async with owner_engine.begin() as conn:
            # Tina's Contoso grant runs out; Fabrikam's link ends; Tailspin narrows its
            # ceiling to a permission no role of hers has.
            from tenantry.access.models import Grant

            await conn.execute(
                update(Grant)
                .where(
                    Grant.user_id == tina.id,
                    Grant.customer_tenant_id == world.customers["contoso-ltd"].id,
                )
                .values(expires_at=utcnow() - timedelta(seconds=1))
            )
            await conn.execute(
                update(TenantLink)
                .where(TenantLink.customer_tenant_id == fabrikam.id)
                .values(state=LinkState.REVOKED)
            )
            await conn.execute(
                update(TenantLink)
                .where(TenantLink.customer_tenant_id == tailspin.id)
                .values(ceiling=["invoices:write"])
            )
        assert await listed(c) == [("northwind", "home")]
        for slug in ("contoso-ltd", "fabrikam-inc", "tailspin-toys"):
            assert (await c.get(f"/t/{slug}/")).status_code == 404


async def test_suspended_customers_stay_listed_with_their_status(
    as_alex: httpx.AsyncClient, owner_engine: AsyncEngine, world: World
) -> None:
    async with owner_engine.begin() as conn:
        await conn.execute(
            update(Tenant).where(Tenant.slug == "fabrikam-inc").values(status="suspended")
        )
    body = (await as_alex.get("/api/v1/me/tenants", params={"q": "fabrikam"})).json()
    assert body["items"][0]["status"] == "suspended"


async def test_the_list_agrees_with_the_access_decision(
    world: World, database: Database, owner_engine: AsyncEngine
) -> None:
    """For every user and every tenant: listed exactly when ``context_in`` allows
    something there."""
    tina = world.users["tina"]
    await delegate(database, world.msp, tina, world.customers["tailspin-toys"], "billing")
    async with owner_engine.begin() as conn:
        await conn.execute(
            update(TenantLink)
            .where(TenantLink.customer_tenant_id == world.customers["tailspin-toys"].id)
            .values(ceiling=["invoices:read", "contacts:read"])
        )
    every = [world.msp, world.other_msp, world.other_customer, *world.customers.values()]
    homes = {t.id: t for t in every}
    seen: dict[str, set[str]] = {}
    for name, user in world.users.items():
        principal = principal_of(user, homes[user.home_tenant_id], auth_method="cli")
        async with database.platform_reader() as session:
            items, _ = await TenantSwitcher(session).page(principal, limit=200)
            access = AccessService(session)
            allowed = set()
            for tenant in every:
                try:
                    await access.context_in(principal, tenant, allow_suspended=True)
                except NotFound:
                    continue
                allowed.add(tenant.slug)
        assert {i.slug for i in items} == allowed, user.email
        seen[name] = allowed
    # Tina's Billing role meets the narrowed ceiling in invoices:read: Tailspin is listed.
    assert seen["tina"] == {"northwind", "contoso-ltd", "tailspin-toys"}
    assert seen["carol"] == {"contoso-ltd"}


async def test_group_grants_custom_roles_and_all_customers_agree_too(
    world: World, database: Database, owner_engine: AsyncEngine
) -> None:
    """Rita reaches Tailspin through her user group's tenant-group grant of a custom
    role; Ollie holds Read-only in every customer; both as ``context_in`` decides."""
    from tenantry.access.models import (
        CustomRole,
        Grant,
        GrantScope,
        TenantGroup,
        TenantGroupMember,
        UserGroup,
        UserGroupMember,
    )

    rita = await make_user(database, world.msp, "rita@northwind.example", role=None)
    ollie = await make_user(database, world.msp, "ollie@northwind.example", role=None)
    msp = world.msp.id
    role_id, user_group, tenant_group = new_id(), new_id(), new_id()
    async with owner_engine.begin() as conn:
        await conn.execute(
            insert(CustomRole),
            [{"id": role_id, "tenant_id": msp, "name": "Triage", "permissions": ["tickets:read"]}],
        )
        await conn.execute(
            insert(UserGroup), [{"id": user_group, "tenant_id": msp, "name": "Night shift"}]
        )
        await conn.execute(insert(UserGroupMember), [{"group_id": user_group, "user_id": rita.id}])
        await conn.execute(
            insert(TenantGroup), [{"id": tenant_group, "msp_tenant_id": msp, "name": "Retail"}]
        )
        await conn.execute(
            insert(TenantGroupMember),
            [{"group_id": tenant_group, "customer_tenant_id": world.customers["tailspin-toys"].id}],
        )
        for grant in (
            {
                "user_group_id": user_group,
                "role": f"custom:{role_id}",
                "scope": GrantScope.TENANT_GROUP,
                "tenant_group_id": tenant_group,
            },
            {"user_id": ollie.id, "role": "read_only", "scope": GrantScope.ALL_CUSTOMERS},
        ):
            await conn.execute(insert(Grant), [{"id": new_id(), "tenant_id": msp, **grant}])
        # Contoso consents to nothing Read-only holds: Ollie must not see it.
        await conn.execute(
            update(TenantLink)
            .where(TenantLink.customer_tenant_id == world.customers["contoso-ltd"].id)
            .values(ceiling=["tickets:write"])
        )
    every = [world.msp, world.other_msp, world.other_customer, *world.customers.values()]
    seen: dict[str, set[str]] = {}
    for user in (rita, ollie):
        principal = principal_of(user, world.msp, auth_method="cli")
        async with database.platform_reader() as session:
            with counted(database) as statements:
                items, _ = await TenantSwitcher(session).page(principal, limit=200)
            # The MSP's access version, its customers (once for both), grants, custom
            # roles (Rita), group memberships (Rita), recently used.
            assert len(statements) <= 6, statements
            with counted(database) as statements:
                again, _ = await TenantSwitcher(session).page(principal, limit=200)
            # Nothing changed: the version and the recently used only.
            assert len(statements) == 2, statements
            assert again == items
            allowed = set()
            for tenant in every:
                try:
                    await AccessService(session).context_in(principal, tenant)
                except NotFound:
                    continue
                allowed.add(tenant.slug)
        seen[user.email] = {i.slug for i in items}
        assert seen[user.email] == allowed, user.email
    assert seen["rita@northwind.example"] == {"tailspin-toys"}
    assert seen["ollie@northwind.example"] == {"fabrikam-inc", "tailspin-toys"}


# ---- 10,000 customers


@contextmanager
def counted(database: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", count)


async def seed_customers(owner_engine: AsyncEngine, msp_id: uuid.UUID, n: int) -> None:
    now = utcnow()
    tenants = []
    links = []
    for i in range(n):
        tenant_id = new_id()
        tenants.append(
            {
                "id": tenant_id,
                "slug": f"client-{i:05d}",
                "display_name": f"Client {i:05d} Holdings",
                "status": "active",
                "is_msp": False,
                "require_mfa": False,
                "time_zone": "UTC",
                "created_at": now,
                "updated_at": now,
            }
        )
        links.append(
            {
                "id": new_id(),
                "msp_tenant_id": msp_id,
                "customer_tenant_id": tenant_id,
                "state": "active",
                "ceiling": ["tenant:read", "tickets:read"],
                "created_at": now,
                "activated_at": now,
            }
        )
    async with owner_engine.begin() as conn:
        await conn.execute(insert(Tenant), tenants)
        await conn.execute(insert(TenantLink), links)


@pytest.mark.parametrize("user", ["alex", "tina"])
async def test_ten_thousand_customers_take_one_query(
    world: World, database: Database, owner_engine: AsyncEngine, user: str
) -> None:
    await seed_customers(owner_engine, world.msp.id, 10_000)
    person = world.users[user]
    principal = principal_of(person, world.msp, auth_method="cli")
    async with database.platform_reader() as session:
        switcher = TenantSwitcher(session)
        with counted(database) as statements:
            items, cursor = await switcher.page(principal, query="0007", limit=5)
        # The MSP's access version, the user's grants, the customers, the recently used
        # tenants (at most recent.KEEP rows, on its index); later pages, nothing having
        # changed, the version and the recently used only.
        assert len(statements) == 4, statements
        if user == "alex":
            # Matches client-00007 and client-00070 … 00079, by display name.
            assert [i.slug for i in items] == [
                "client-00007",
                "client-00070",
                "client-00071",
                "client-00072",
                "client-00073",
            ]
            assert cursor is not None
            with counted(database) as statements:
                more, end = await switcher.page(principal, query="0007", limit=5, cursor=cursor)
            assert len(statements) == 2
            assert [i.slug for i in more] == [f"client-0007{d}" for d in range(4, 9)]
            last, end = await switcher.page(principal, query="0007", limit=5, cursor=end)
            assert [i.slug for i in last] == ["client-00079"] and end is None
        else:
            # Tina holds no grant covering the 10,000: they are not even read.
            assert items == []
            with counted(database) as statements:
                items, _ = await switcher.page(principal, limit=20)
            assert [i.slug for i in items] == ["northwind", "contoso-ltd"]
            assert len(statements) == 2
