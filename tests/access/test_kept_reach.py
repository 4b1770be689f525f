"""Kept reaches (issue #15): the switcher and the MSP-wide scopes reuse what a worker
decided across the MSP's customers only under the MSP's access version it was made
under, and before the first grant or link it used expires. Every change below is made
with plain SQL as the table owner, behind the app's back, and shows on the very next
request; an expiry ends a kept reach with no change at all."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, insert, update
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.access import kept_reach, scopes, switcher
from tenantry.access import service as access_service
from tenantry.access.decisions import KeptDecisions, Versions
from tenantry.access.models import (
    AccessBlock,
    AccessVersion,
    Grant,
    GrantScope,
    TenantGroup,
    TenantGroupMember,
)
from tenantry.db.base import new_id, utcnow
from tenantry.identity.service import principal_of
from tenantry.tenancy.models import LinkState, Tenant, TenantLink, TenantStatus
from tests.access.conftest import World

MSP_TICKETS = "/api/v1/tenants/northwind/msp-tickets"


async def _run(engine: AsyncEngine, statements: Iterable[Any]) -> None:
    async with engine.begin() as conn:
        for statement in statements:
            await conn.execute(statement)


async def _in_scope(world: World, who: str, slug: str) -> bool:
    """The MSP-wide ticket view takes the client as a filter: 404 outside the scope."""
    response = await world.get(who, MSP_TICKETS, params={"client": slug})
    assert response.status_code in (200, 404), response.text
    return response.status_code == 200


async def _listed(world: World, who: str) -> dict[str, tuple[str, str]]:
    response = await world.get(who, "/api/v1/me/tenants", params={"limit": 200})
    assert response.status_code == 200, response.text
    return {t["slug"]: (t["display_name"], t["status"]) for t in response.json()["items"]}


def _link_of(world: World, slug: str) -> Any:
    return update(TenantLink).where(TenantLink.customer_tenant_id == world.customers[slug].id)


async def _delegate(world: World, who: str, slug: str, **extra: Any) -> dict[str, Any]:
    return await world.grant(
        "alex",
        "northwind",
        user=f"{who}@northwind.example",
        role="technician",
        scope="customer",
        customer=slug,
        **extra,
    )


async def test_nothing_changed_nothing_decided_again(world: World) -> None:
    assert await _in_scope(world, "alex", "contoso-ltd")
    assert "fabrikam-inc" in await _listed(world, "alex")
    hits, misses = kept_reach.USER_REACHES.hits, kept_reach.USER_REACHES.misses
    for _ in range(3):
        assert await _in_scope(world, "alex", "contoso-ltd")
        assert "fabrikam-inc" in await _listed(world, "alex")
    assert kept_reach.USER_REACHES.hits == hits + 6
    assert kept_reach.USER_REACHES.misses == misses


async def test_the_same_scope_object_serves_every_admin_while_nothing_changes(
    world: World,
) -> None:
    # The scope (and so the text its transactions begin with) is made once, not per
    # request, and one MSP's admins share it.
    found = []
    for who in ("alex", "alex", "olive"):
        principal = principal_of(world.users[who], world.msp, auth_method="cli")
        async with world.database.platform_reader() as session:
            found.append(await scopes.customers_with(session, principal, "tickets:read"))
    assert found[0] is found[1]
    assert found[0].scope is found[2].scope
    assert {c.slug for c in found[2].customers.values()} == set(world.customers)


async def test_a_revoked_grant_shows_on_the_next_request(world: World) -> None:
    grant = await _delegate(world, "tina", "contoso-ltd")
    for _ in range(2):
        assert await _in_scope(world, "tina", "contoso-ltd")
        assert "contoso-ltd" in await _listed(world, "tina")
    await _run(
        world.owner_engine,
        [update(Grant).where(Grant.id == uuid.UUID(grant["id"])).values(revoked_at=utcnow())],
    )
    assert not await _in_scope(world, "tina", "contoso-ltd")
    assert "contoso-ltd" not in await _listed(world, "tina")


async def test_a_narrowed_or_revoked_link_shows_on_the_next_request(world: World) -> None:
    for _ in range(2):
        assert await _in_scope(world, "alex", "contoso-ltd")
    await _run(world.owner_engine, [_link_of(world, "contoso-ltd").values(ceiling=["tenant:read"])])
    # Still listed (tenant:read is something), no longer in the tickets scope.
    assert not await _in_scope(world, "alex", "contoso-ltd")
    assert "contoso-ltd" in await _listed(world, "alex")

    assert await _in_scope(world, "alex", "fabrikam-inc")
    await _run(
        world.owner_engine, [_link_of(world, "fabrikam-inc").values(state=LinkState.REVOKED)]
    )
    assert not await _in_scope(world, "alex", "fabrikam-inc")
    assert "fabrikam-inc" not in await _listed(world, "alex")


async def test_a_block_shows_on_the_next_request(world: World) -> None:
    assert "tailspin-toys" in await _listed(world, "alex")
    assert await _in_scope(world, "alex", "tailspin-toys")
    block = insert(AccessBlock).values(
        id=new_id(),
        customer_tenant_id=world.customers["tailspin-toys"].id,
        msp_tenant_id=world.msp.id,
        user_id=world.users["alex"].id,
        created_at=utcnow(),
    )
    await _run(world.owner_engine, [block])
    assert "tailspin-toys" not in await _listed(world, "alex")
    assert not await _in_scope(world, "alex", "tailspin-toys")
    # Olive, not blocked, still has it.
    assert await _in_scope(world, "olive", "tailspin-toys")


async def test_a_client_group_losing_a_member_shows_on_the_next_request(world: World) -> None:
    group_id = new_id()
    await _run(
        world.owner_engine,
        [
            insert(TenantGroup).values(
                id=group_id, msp_tenant_id=world.msp.id, name="Retail", created_at=utcnow()
            ),
            insert(TenantGroupMember).values(
                group_id=group_id,
                customer_tenant_id=world.customers["fabrikam-inc"].id,
                added_at=utcnow(),
            ),
            insert(Grant).values(
                id=new_id(),
                tenant_id=world.msp.id,
                user_id=world.users["sam"].id,
                role="technician",
                scope=GrantScope.TENANT_GROUP,
                tenant_group_id=group_id,
                created_at=utcnow(),
            ),
        ],
    )
    for _ in range(2):
        assert set(await _listed(world, "sam")) == {"northwind", "fabrikam-inc"}
        assert await _in_scope(world, "sam", "fabrikam-inc")
    await _run(
        world.owner_engine,
        [delete(TenantGroupMember).where(TenantGroupMember.group_id == group_id)],
    )
    assert set(await _listed(world, "sam")) == {"northwind"}
    assert not await _in_scope(world, "sam", "fabrikam-inc")


async def test_a_customer_suspended_or_renamed_shows_on_the_next_request(world: World) -> None:
    contoso = world.customers["contoso-ltd"]
    for _ in range(2):
        assert (await _listed(world, "alex"))["contoso-ltd"] == ("Contoso Ltd", "active")
    renamed = update(Tenant).where(Tenant.id == contoso.id)
    await _run(world.owner_engine, [renamed.values(display_name="Contoso Group")])
    assert (await _listed(world, "alex"))["contoso-ltd"] == ("Contoso Group", "active")
    await _run(world.owner_engine, [renamed.values(status=TenantStatus.SUSPENDED)])
    assert (await _listed(world, "alex"))["contoso-ltd"] == ("Contoso Group", "suspended")


async def test_a_page_after_a_customer_renamed_between_pages_goes_on_in_order(
    world: World,
) -> None:
    first = await world.get("alex", "/api/v1/me/tenants", params={"limit": 2})
    assert [t["slug"] for t in first.json()["items"]] == ["northwind", "contoso-ltd"]
    # The cursor names Contoso by its old name; it moves to the end of the list.
    contoso = world.customers["contoso-ltd"]
    await _run(
        world.owner_engine,
        [update(Tenant).where(Tenant.id == contoso.id).values(display_name="Zeta Contoso")],
    )
    rest = await world.get(
        "alex",
        "/api/v1/me/tenants",
        params={"limit": 10, "cursor": first.json()["next_cursor"]},
    )
    assert [t["slug"] for t in rest.json()["items"]] == [
        "fabrikam-inc",
        "tailspin-toys",
        "contoso-ltd",
    ]


def _clock_at(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    for module in (access_service, scopes, switcher):
        monkeypatch.setattr(module, "utcnow", lambda: moment)


async def test_a_grant_expiring_later_ends_the_kept_reach_with_no_change(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    expiry = utcnow() + timedelta(hours=1)
    await _delegate(world, "tina", "contoso-ltd", expires_at=expiry.isoformat())
    for _ in range(2):
        assert await _in_scope(world, "tina", "contoso-ltd")
        assert "contoso-ltd" in await _listed(world, "tina")
    _clock_at(monkeypatch, expiry + timedelta(seconds=1))
    assert not await _in_scope(world, "tina", "contoso-ltd")
    assert "contoso-ltd" not in await _listed(world, "tina")


async def test_a_link_expiring_later_ends_the_kept_reach_with_no_change(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    expiry = utcnow() + timedelta(hours=1)
    await _run(world.owner_engine, [_link_of(world, "fabrikam-inc").values(expires_at=expiry)])
    for _ in range(2):
        assert await _in_scope(world, "alex", "fabrikam-inc")
        assert "fabrikam-inc" in await _listed(world, "alex")
    _clock_at(monkeypatch, expiry + timedelta(seconds=1))
    assert not await _in_scope(world, "alex", "fabrikam-inc")
    assert "fabrikam-inc" not in await _listed(world, "alex")
    assert await _in_scope(world, "alex", "contoso-ltd")


async def test_an_msp_without_a_version_row_is_decided_every_time(world: World) -> None:
    await _run(
        world.owner_engine, [delete(AccessVersion).where(AccessVersion.tenant_id == world.msp.id)]
    )
    misses = kept_reach.USER_REACHES.misses
    for _ in range(2):
        assert await _in_scope(world, "alex", "contoso-ltd")
    assert kept_reach.USER_REACHES.misses == misses + 2


def test_kept_values_are_bounded_by_their_weight() -> None:
    kept: KeptDecisions[list[int]] = KeptDecisions(10, weigh=len)
    versions = Versions(1, 1)
    for key, size in (("a", 4), ("b", 4), ("c", 4)):
        kept.put(key, versions, None, list(range(size)))
    # "a" went first to stay within 10; "b" is taken out by hand.
    assert kept.get("a", versions, utcnow()) is None
    assert kept.pop("b") == [0, 1, 2, 3]
    assert len(kept) == 1 and kept.weight == 4
