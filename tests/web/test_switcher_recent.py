"""The switcher's "recently used" part (issue #4): home first, then the tenants the user
switched into lately (most recent first), then the rest by display name. The recent
list only orders: it never brings back a tenant the user can no longer act in."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.access import recent
from tenantry.access.models import Grant, GrantScope, RecentTenant, TenantGroup, TenantGroupMember
from tenantry.db.base import new_id, utcnow
from tenantry.db.engine import Database
from tenantry.tenancy.models import LinkState, TenantLink
from tests.factories import make_user, signed_in_client
from tests.web.conftest import TINA, World, delegate


async def listed(c: httpx.AsyncClient, **params: Any) -> list[str]:
    response = await c.get("/api/v1/me/tenants", params=params)
    assert response.status_code == 200, response.text
    return [t["slug"] for t in response.json()["items"]]


async def switch(c: httpx.AsyncClient, slug: str) -> None:
    # A POST carrying the CSRF token (the client sends it as a header).
    response = await c.post(f"/t/{slug}/switch")
    assert response.status_code == 303, response.text


async def recent_rows(owner_engine: AsyncEngine, user_id: uuid.UUID) -> list[uuid.UUID]:
    async with owner_engine.connect() as conn:
        rows = await conn.execute(
            select(RecentTenant.recent_tenant_id)
            .where(RecentTenant.user_id == user_id)
            .order_by(RecentTenant.used_at.desc())
        )
        return list(rows.scalars())


async def test_switching_puts_tenants_right_after_home_most_recent_first(
    as_alex: httpx.AsyncClient, world: World, owner_engine: AsyncEngine
) -> None:
    assert await listed(as_alex) == ["northwind", "contoso-ltd", "fabrikam-inc", "tailspin-toys"]
    await switch(as_alex, "fabrikam-inc")
    await switch(as_alex, "tailspin-toys")
    assert await listed(as_alex) == ["northwind", "tailspin-toys", "fabrikam-inc", "contoso-ltd"]
    # Switching back moves it to the front; home is never recorded (always first).
    await switch(as_alex, "fabrikam-inc")
    await switch(as_alex, "northwind")
    assert await listed(as_alex) == ["northwind", "fabrikam-inc", "tailspin-toys", "contoso-ltd"]
    # The rows are the home tenant's, one per tenant used.
    async with owner_engine.connect() as conn:
        owners = (
            await conn.execute(
                select(RecentTenant.tenant_id).where(RecentTenant.user_id == world.users["alex"].id)
            )
        ).scalars()
        assert list(owners) == [world.msp.id, world.msp.id]
    # The page without script lists them in the same order.
    page = (await as_alex.get("/tenants")).text
    order = re.findall(r'action="/t/([a-z0-9-]+)/switch', page)
    assert order == ["northwind", "fabrikam-inc", "tailspin-toys", "contoso-ltd"]


async def test_the_list_is_per_user(
    as_alex: httpx.AsyncClient, world: World, database: Database
) -> None:
    await delegate(
        database, world.msp, world.users["tina"], world.customers["fabrikam-inc"], "technician"
    )
    await switch(as_alex, "tailspin-toys")
    async with await signed_in_client(world.app, TINA) as tina:
        assert await listed(tina) == ["northwind", "contoso-ltd", "fabrikam-inc"]
        await switch(tina, "fabrikam-inc")
        assert await listed(tina) == ["northwind", "fabrikam-inc", "contoso-ltd"]
    assert await listed(as_alex) == ["northwind", "tailspin-toys", "contoso-ltd", "fabrikam-inc"]


async def test_search_keeps_the_same_order_among_matches(as_alex: httpx.AsyncClient) -> None:
    # "i" matches Northwind IT, Fabrikam Inc and Tailspin Toys, not Contoso Ltd.
    assert await listed(as_alex, q="i") == ["northwind", "fabrikam-inc", "tailspin-toys"]
    await switch(as_alex, "contoso-ltd")
    await switch(as_alex, "tailspin-toys")
    assert await listed(as_alex, q="i") == ["northwind", "tailspin-toys", "fabrikam-inc"]
    assert await listed(as_alex, q="FAB") == ["fabrikam-inc"]
    assert await listed(as_alex, q="ltd") == ["contoso-ltd"]


async def test_pages_cross_home_recent_and_the_rest_without_gaps(
    as_alex: httpx.AsyncClient,
) -> None:
    await switch(as_alex, "fabrikam-inc")
    await switch(as_alex, "tailspin-toys")
    for limit in (1, 2, 3):
        seen: list[str] = []
        cursor = None
        for _ in range(6):
            params: dict[str, Any] = {"limit": limit}
            if cursor:
                params["cursor"] = cursor
            body = (await as_alex.get("/api/v1/me/tenants", params=params)).json()
            seen += [t["slug"] for t in body["items"]]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert seen == ["northwind", "tailspin-toys", "fabrikam-inc", "contoso-ltd"], limit


async def test_a_tenant_no_longer_reachable_does_not_come_back(
    world: World, database: Database, owner_engine: AsyncEngine, as_alex: httpx.AsyncClient
) -> None:
    tina = world.users["tina"]
    fabrikam = world.customers["fabrikam-inc"]
    tailspin = world.customers["tailspin-toys"]
    await delegate(database, world.msp, tina, fabrikam, "technician")
    await delegate(database, world.msp, tina, tailspin, "technician")
    async with await signed_in_client(world.app, TINA) as c:
        await switch(c, "fabrikam-inc")
        await switch(c, "tailspin-toys")
        assert await listed(c) == ["northwind", "tailspin-toys", "fabrikam-inc", "contoso-ltd"]
        async with owner_engine.begin() as conn:
            # Fabrikam's grant is revoked; Tailspin's runs out.
            await conn.execute(
                delete(Grant).where(
                    Grant.user_id == tina.id, Grant.customer_tenant_id == fabrikam.id
                )
            )
            await conn.execute(
                update(Grant)
                .where(Grant.user_id == tina.id, Grant.customer_tenant_id == tailspin.id)
                .values(expires_at=utcnow() - timedelta(seconds=1))
            )
        # The rows are still there, but they only order.
        assert len(await recent_rows(owner_engine, tina.id)) == 2
        assert await listed(c) == ["northwind", "contoso-ltd"]
        assert await listed(c, q="fabrikam") == []
        assert await listed(c, q="toys") == []
        assert await listed(c, limit=1, cursor=_recent_cursor(0)) == ["contoso-ltd"]
    # An MSP admin loses a customer whose link ends, recent or not.
    await switch(as_alex, "fabrikam-inc")
    async with owner_engine.begin() as conn:
        await conn.execute(
            update(TenantLink)
            .where(TenantLink.customer_tenant_id == fabrikam.id)
            .values(state=LinkState.REVOKED)
        )
    assert await listed(as_alex) == ["northwind", "contoso-ltd", "tailspin-toys"]


def _recent_cursor(shown: int) -> str:
    from tenantry.kit.pagination import encode_cursor

    return encode_cursor(["r", shown])


async def test_group_grants_are_decided_for_recent_tenants_too(
    world: World, database: Database, owner_engine: AsyncEngine
) -> None:
    """Rita reaches Fabrikam and Tailspin through a client-group grant; taking Tailspin
    out of the group takes it out of her list although she used it last."""
    rita = await make_user(database, world.msp, "rita@northwind.example", role=None)
    group = new_id()
    async with owner_engine.begin() as conn:
        await conn.execute(
            insert(TenantGroup), [{"id": group, "msp_tenant_id": world.msp.id, "name": "Retail"}]
        )
        await conn.execute(
            insert(TenantGroupMember),
            [
                {"group_id": group, "customer_tenant_id": world.customers[slug].id}
                for slug in ("fabrikam-inc", "tailspin-toys")
            ],
        )
        await conn.execute(
            insert(Grant),
            [
                {
                    "id": new_id(),
                    "tenant_id": world.msp.id,
                    "user_id": rita.id,
                    "role": "technician",
                    "scope": GrantScope.TENANT_GROUP,
                    "tenant_group_id": group,
                }
            ],
        )
    async with await signed_in_client(world.app, "rita@northwind.example") as c:
        assert await listed(c) == ["fabrikam-inc", "tailspin-toys"]
        await switch(c, "tailspin-toys")
        assert await listed(c) == ["tailspin-toys", "fabrikam-inc"]
        async with owner_engine.begin() as conn:
            await conn.execute(
                delete(TenantGroupMember).where(
                    TenantGroupMember.customer_tenant_id == world.customers["tailspin-toys"].id
                )
            )
        assert await listed(c) == ["fabrikam-inc"]


async def test_only_a_switch_writes_and_each_user_keeps_the_newest(
    as_alex: httpx.AsyncClient,
    world: World,
    owner_engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    alex = world.users["alex"].id
    # Working in a tenant (pages, API) records nothing: only the switch does.
    assert (await as_alex.get("/t/fabrikam-inc/")).status_code == 200
    assert (await as_alex.get("/api/v1/tenants/contoso-ltd")).status_code == 200
    assert await recent_rows(owner_engine, alex) == []
    monkeypatch.setattr(recent, "KEEP", 2)
    for slug in ("contoso-ltd", "fabrikam-inc", "tailspin-toys"):
        await switch(as_alex, slug)
    ids = world.customers
    assert await recent_rows(owner_engine, alex) == [
        ids["tailspin-toys"].id,
        ids["fabrikam-inc"].id,
    ]
    assert await listed(as_alex) == ["northwind", "tailspin-toys", "fabrikam-inc", "contoso-ltd"]


async def test_deleting_a_customer_deletes_the_rows_naming_it(
    as_alex: httpx.AsyncClient, world: World, database: Database, owner_engine: AsyncEngine
) -> None:
    await delegate(
        database, world.msp, world.users["tina"], world.customers["fabrikam-inc"], "technician"
    )
    async with await signed_in_client(world.app, TINA) as tina:
        await switch(tina, "fabrikam-inc")
        await switch(tina, "contoso-ltd")
    await switch(as_alex, "fabrikam-inc")
    await switch(as_alex, "tailspin-toys")
    fabrikam = world.customers["fabrikam-inc"].id
    response = await as_alex.delete(
        "/api/v1/tenants/northwind/customers/fabrikam-inc",
        params={"confirm_slug": "fabrikam-inc"},
    )
    assert response.status_code == 200, response.text
    async with owner_engine.connect() as conn:
        naming = await conn.scalar(
            select(func.count())
            .select_from(RecentTenant)
            .where(RecentTenant.recent_tenant_id == fabrikam)
        )
    assert naming == 0
    assert await recent_rows(owner_engine, world.users["alex"].id) == [
        world.customers["tailspin-toys"].id
    ]
    assert await recent_rows(owner_engine, world.users["tina"].id) == [
        world.customers["contoso-ltd"].id
    ]
    assert await listed(as_alex) == ["northwind", "tailspin-toys", "contoso-ltd"]


async def test_ten_thousand_customers_one_more_small_read(
    as_alex: httpx.AsyncClient, world: World, database: Database, owner_engine: AsyncEngine
) -> None:
    from tenantry.access.service import self_scope
    from tenantry.access.switcher import TenantSwitcher
    from tenantry.identity.service import principal_of
    from tests.web.test_switcher_api import counted, seed_customers

    await seed_customers(owner_engine, world.msp.id, 10_000)
    await switch(as_alex, "client-09999")
    await switch(as_alex, "client-05000")
    principal = principal_of(world.users["alex"], world.msp, auth_method="cli")
    # The scope the API and the pages give the switcher (the user's home).
    async with database.unit_of_work(self_scope(principal)) as session:
        switcher = TenantSwitcher(session)
        with counted(database) as statements:
            items, _ = await switcher.page(principal, limit=5)
        # The MSP's access version, its customers, grants, the recently used (at most
        # recent.KEEP rows); the next page, nothing having changed, the first and the last.
        assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) <= 4
        with counted(database) as statements:
            assert (await switcher.page(principal, limit=5))[0] == items
        assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 2
        assert [i.slug for i in items] == [
            "northwind",
            "client-05000",
            "client-09999",
            "client-00000",
            "client-00001",
        ]
        more, _ = await switcher.page(principal, query="0999", limit=3, cursor=None)
        assert [i.slug for i in more] == ["client-09999", "client-00999", "client-09990"]
