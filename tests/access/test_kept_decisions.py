"""Kept decisions (issue #15): a worker reuses a decision only under the access versions
it was made under, and every kind of change that decides access moves a version in its
own transaction — made here with plain SQL as the table owner, so no code path of ours
is needed for the triggers to see it — or reaches its expiry."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, event, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.access import service as access_service
from tenantry.access.models import (
    AccessBlock,
    AccessVersion,
    CustomRole,
    Grant,
    GrantScope,
    TenantGroup,
    TenantGroupMember,
    UserGroup,
    UserGroupMember,
)
from tenantry.db.base import new_id, utcnow
from tenantry.tenancy.models import Tenant, TenantLink, TenantStatus
from tests.access.conftest import World

CONTOSO = "/api/v1/tenants/contoso-ltd"


async def _versions(engine: AsyncEngine, *tenants: Tenant) -> list[int | None]:
    async with engine.connect() as conn:
        found = dict(
            (
                await conn.execute(
                    select(AccessVersion.tenant_id, AccessVersion.version).where(
                        AccessVersion.tenant_id.in_([t.id for t in tenants])
                    )
                )
            ).all()
        )
    return [found.get(t.id) for t in tenants]


async def _run(engine: AsyncEngine, statements: Iterable[Any]) -> None:
    async with engine.begin() as conn:
        for statement in statements:
            await conn.execute(statement)


async def _tina_in_contoso(world: World, **extra: Any) -> None:
    """Alex delegates Tina to Contoso as Technician."""
    await world.grant(
        "alex",
        "northwind",
        user="tina@northwind.example",
        role="technician",
        scope="customer",
        customer="contoso-ltd",
        **extra,
    )


async def _moved(world: World, statements: Iterable[Any]) -> tuple[bool, bool, bool]:
    """Which versions moved: (the MSP's, Contoso's, Fabrikam's)."""
    tenants = (world.msp, world.customers["contoso-ltd"], world.customers["fabrikam-inc"])
    before = await _versions(world.owner_engine, *tenants)
    await _run(world.owner_engine, statements)
    after = await _versions(world.owner_engine, *tenants)
    return (after[0] != before[0], after[1] != before[1], after[2] != before[2])


async def test_every_tenant_has_a_version_from_its_creation_to_its_deletion(world: World) -> None:
    tenants = [world.msp, *world.customers.values(), world.other_msp]
    assert None not in await _versions(world.owner_engine, *tenants)
    gone = Tenant(id=new_id(), slug="gone-soon", display_name="Gone soon")
    await _run(
        world.owner_engine,
        [
            insert(Tenant).values(
                id=gone.id,
                slug=gone.slug,
                display_name=gone.display_name,
                status=TenantStatus.ACTIVE,
                is_msp=False,
                require_mfa=False,
                require_mfa_for_clients=False,
                time_zone="UTC",
                created_at=utcnow(),
                updated_at=utcnow(),
            )
        ],
    )
    assert await _versions(world.owner_engine, gone) == [1]
    await _run(world.owner_engine, [delete(Tenant).where(Tenant.id == gone.id)])
    assert await _versions(world.owner_engine, gone) == [None]


async def test_grants_roles_and_groups_move_the_msps_version(world: World) -> None:
    tina = world.users["tina"]
    grant_id = new_id()
    grant = insert(Grant).values(
        id=grant_id,
        tenant_id=world.msp.id,
        user_id=tina.id,
        role="technician",
        scope=GrantScope.CUSTOMER,
        customer_tenant_id=world.customers["contoso-ltd"].id,
        created_at=utcnow(),
    )
    assert await _moved(world, [grant]) == (True, False, False)
    soon = utcnow() + timedelta(days=1)
    assert await _moved(
        world, [update(Grant).where(Grant.id == grant_id).values(expires_at=soon)]
    ) == (True, False, False)
    assert await _moved(world, [delete(Grant).where(Grant.id == grant_id)]) == (
        True,
        False,
        False,
    )

    role_id, group_id, clients_id = new_id(), new_id(), new_id()
    assert await _moved(
        world,
        [
            insert(CustomRole).values(
                id=role_id,
                tenant_id=world.msp.id,
                name="Night shift",
                permissions=["tickets:read"],
                created_at=utcnow(),
            )
        ],
    ) == (True, False, False)
    assert await _moved(
        world,
        [update(CustomRole).where(CustomRole.id == role_id).values(permissions=["tenant:read"])],
    ) == (True, False, False)
    await _run(
        world.owner_engine,
        [
            insert(UserGroup).values(
                id=group_id, tenant_id=world.msp.id, name="Nights", created_at=utcnow()
            ),
            insert(TenantGroup).values(
                id=clients_id, msp_tenant_id=world.msp.id, name="Retail", created_at=utcnow()
            ),
        ],
    )
    membership = insert(UserGroupMember).values(
        group_id=group_id, user_id=tina.id, added_at=utcnow()
    )
    assert await _moved(world, [membership]) == (True, False, False)
    client_membership = insert(TenantGroupMember).values(
        group_id=clients_id,
        customer_tenant_id=world.customers["contoso-ltd"].id,
        added_at=utcnow(),
    )
    assert await _moved(world, [client_membership]) == (True, False, False)
    leaving = delete(UserGroupMember).where(UserGroupMember.user_id == tina.id)
    assert await _moved(world, [leaving]) == (True, False, False)


async def test_links_blocks_and_the_tenants_row_move_both_ends(world: World) -> None:
    contoso = world.customers["contoso-ltd"]
    narrowing = (
        update(TenantLink)
        .where(TenantLink.customer_tenant_id == contoso.id)
        .values(ceiling=["tenant:read"])
    )
    assert await _moved(world, [narrowing]) == (True, True, False)
    block = insert(AccessBlock).values(
        id=new_id(),
        customer_tenant_id=contoso.id,
        msp_tenant_id=world.msp.id,
        user_id=world.users["tina"].id,
        created_at=utcnow(),
    )
    assert await _moved(world, [block]) == (True, True, False)
    suspending = update(Tenant).where(Tenant.id == contoso.id).values(status=TenantStatus.SUSPENDED)
    assert await _moved(world, [suspending]) == (True, True, False)


async def test_a_kept_decision_serves_the_next_request_and_a_change_ends_it(
    world: World,
) -> None:
    await _tina_in_contoso(world)
    assert (await world.get("tina", f"{CONTOSO}/tickets")).status_code == 200
    hits = access_service.KEPT.hits
    assert (await world.get("tina", f"{CONTOSO}/tickets")).status_code == 200
    assert access_service.KEPT.hits == hits + 1

    # Contoso narrows its link behind the app's back: the next request decides again.
    await _run(
        world.owner_engine,
        [
            update(TenantLink)
            .where(TenantLink.customer_tenant_id == world.customers["contoso-ltd"].id)
            .values(ceiling=["tenant:read"])
        ],
    )
    refused = await world.get("tina", f"{CONTOSO}/tickets")
    assert refused.status_code == 403
    assert refused.json()["permission"] == "tickets:read"


async def test_a_kept_decision_ends_at_its_grants_expiry_with_no_change_at_all(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    expiry = utcnow() + timedelta(hours=1)
    await _tina_in_contoso(world, expires_at=expiry.isoformat())
    assert (await world.get("tina", f"{CONTOSO}/tickets")).status_code == 200
    assert (await world.get("tina", f"{CONTOSO}/tickets")).status_code == 200
    later = expiry + timedelta(seconds=1)
    monkeypatch.setattr(access_service, "utcnow", lambda: later)
    assert (await world.get("tina", f"{CONTOSO}/tickets")).status_code == 404


async def test_a_tenant_without_a_version_row_is_decided_every_time(world: World) -> None:
    contoso = world.customers["contoso-ltd"]
    await _tina_in_contoso(world)
    await _run(
        world.owner_engine, [delete(AccessVersion).where(AccessVersion.tenant_id == contoso.id)]
    )
    misses = access_service.KEPT.misses
    for _ in range(2):
        assert (await world.get("tina", f"{CONTOSO}/tickets")).status_code == 200
    assert access_service.KEPT.misses == misses + 2


async def test_a_warm_list_request_reads_its_caller_tenant_and_rows_in_two_statements(
    world: World,
) -> None:
    # The caller, the tenant in the path and both access versions in one statement; the
    # kept decision reads nothing; the page in one more. (A regression here is a round
    # trip back on every request.)
    await _tina_in_contoso(world)
    assert (await world.get("tina", f"{CONTOSO}/tickets")).status_code == 200
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    engine = world.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert (await world.get("tina", f"{CONTOSO}/tickets")).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert len(statements) == 2, statements
    assert "access_versions" in statements[0] and "tickets" in statements[1]
