"""Links that end by themselves: ``expires_at`` passing means no access at once; the
sweep records it (``expired``) or, when both sides agreed, renews the link by whole
periods. "Now" is frozen by passing it to the sweep."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.db.base import utcnow
from tenantry.links.service import sweep, sweep_forever
from tenantry.tenancy.models import TenantLink
from tests.links.conftest import World, approved


async def set_expiry(owner_engine: AsyncEngine, link_id: str, when: datetime) -> None:
    """Time passing, as the database sees it (the owner writes past the app's rules)."""
    async with owner_engine.begin() as conn:
        await conn.execute(
            update(TenantLink).where(TenantLink.id == uuid.UUID(link_id)).values(expires_at=when)
        )


async def tina_sees_initech(world: World) -> bool:
    response = await world.get("tina", "/api/v1/tenants/initech")
    assert response.status_code in (200, 404), response.text
    return response.status_code == 200


async def test_passing_expiry_ends_access_at_once_and_the_sweep_records_it(
    world: World, owner_engine: AsyncEngine
) -> None:
    link_id = await approved(world, duration_days=7)
    assert await tina_sees_initech(world)
    lapsed = utcnow() - timedelta(seconds=1)
    await set_expiry(owner_engine, link_id, lapsed)
    # No sweep yet: the decision itself refuses from the instant it passed.
    assert not await tina_sees_initech(world)
    assert (await world.link(link_id)).state.value == "active"

    report = await sweep(world.db, utcnow())
    assert report.expired == [uuid.UUID(link_id)] and report.extended == []
    stored = await world.link(link_id)
    assert stored.state.value == "expired" and stored.ended_at == lapsed
    for tenant in ("northwind", "initech"):
        assert (await world.actions(tenant, link_id))[-1] == "link.expired"
    history = (await world.get("ian", f"/api/v1/tenants/initech/links/{link_id}/history")).json()
    assert history["items"][-1]["changes"]["state"] == ["active", "expired"]
    assert history["items"][-1]["actor_name"] == "Tenantry (link expiry sweep)"
    # Sweeping again changes nothing; Initech is free for a new request.
    again = await sweep(world.db, utcnow())
    assert again.expired == again.extended == []
    assert (await world.ask(who="gary", msp="globex")).status_code == 201


async def test_a_link_without_an_end_never_expires(world: World) -> None:
    link_id = await approved(world)
    assert (await world.link(link_id)).expires_at is None
    report = await sweep(world.db, utcnow() + timedelta(days=3650))
    assert report.expired == report.extended == []


async def test_both_sides_agreeing_renews_by_whole_periods(
    world: World, owner_engine: AsyncEngine
) -> None:
    link_id = await approved(world, duration_days=30, auto_extend=True)
    stored = await world.link(link_id)
    assert stored.msp_auto_extend and stored.customer_auto_extend
    end = stored.expires_at
    assert end is not None

    # Frozen "now": 45 days after the end. Two periods bring it past now.
    now = end + timedelta(days=45)
    report = await sweep(world.db, now)
    assert report.extended == [uuid.UUID(link_id)] and report.expired == []
    renewed = await world.link(link_id)
    assert renewed.state.value == "active"
    assert renewed.expires_at == end + timedelta(days=60)
    for tenant in ("northwind", "initech"):
        assert (await world.actions(tenant, link_id))[-1] == "link.extended"
    history = (await world.get("alex", f"/api/v1/tenants/northwind/links/{link_id}/history")).json()
    change = history["items"][-1]["changes"]
    assert change["periods"] == [None, 2]
    assert change["expires_at"][0].startswith(end.isoformat()[:19])


async def test_a_renewing_link_that_lapsed_works_again_after_the_sweep(
    world: World, owner_engine: AsyncEngine
) -> None:
    link_id = await approved(world, duration_days=1, auto_extend=True)
    await set_expiry(owner_engine, link_id, utcnow() - timedelta(minutes=5))
    # The decision treats it as expired until the sweep renews it (docs/ARCHITECTURE.md,
    # "Links and consent": the app's sweep renews ahead of time so this gap stays closed).
    assert not await tina_sees_initech(world)
    report = await sweep(world.db, utcnow())
    assert report.extended == [uuid.UUID(link_id)]
    assert await tina_sees_initech(world)


async def test_renewing_needs_both_sides(world: World) -> None:
    # Northwind wants Initech's link to renew; Initech does not agree when it approves.
    initech = (await world.ask(duration_days=1, auto_extend=True)).json()["id"]
    await world.post("ian", f"/api/v1/tenants/initech/links/{initech}/approve", {})
    # Umbrella agrees to renew; Northwind did not ask for it.
    umbrella = (await world.ask(customer="umbrella", duration_days=1)).json()["id"]
    await world.post(
        "uma", f"/api/v1/tenants/umbrella/links/{umbrella}/approve", {"auto_extend": True}
    )
    one, other = await world.link(initech), await world.link(umbrella)
    assert (one.msp_auto_extend, one.customer_auto_extend) == (True, False)
    assert (other.msp_auto_extend, other.customer_auto_extend) == (False, True)
    assert one.expires_at is not None and other.expires_at is not None
    report = await sweep(world.db, max(one.expires_at, other.expires_at) + timedelta(seconds=1))
    assert sorted(report.expired) == sorted([one.id, other.id])
    assert report.extended == []


async def test_the_background_sweep_renews_ahead_of_the_end(world: World) -> None:
    renewing = await approved(world, duration_days=1, auto_extend=True)
    end = (await world.link(renewing)).expires_at
    assert end is not None
    # Within the look-ahead: a renewing link is renewed before it lapses ...
    now = end - timedelta(seconds=30)
    report = await sweep(world.db, now, ahead=timedelta(minutes=2))
    assert report.extended == [uuid.UUID(renewing)]
    assert (await world.link(renewing)).expires_at == end + timedelta(days=1)
    # ... and one that does not renew is left to lapse at its own time.
    plain = (await world.ask(customer="umbrella", duration_days=1)).json()["id"]
    await world.post("uma", f"/api/v1/tenants/umbrella/links/{plain}/approve", {})
    plain_end = (await world.link(plain)).expires_at
    assert plain_end is not None
    report = await sweep(world.db, plain_end - timedelta(seconds=30), ahead=timedelta(minutes=2))
    assert report.expired == [] and (await world.link(plain)).state.value == "active"


async def test_sweep_forever_keeps_sweeping_until_cancelled(
    world: World, owner_engine: AsyncEngine
) -> None:
    link_id = await approved(world, duration_days=1)
    await set_expiry(owner_engine, link_id, utcnow() - timedelta(seconds=1))
    task = asyncio.create_task(sweep_forever(world.db, interval=0.05))
    try:
        for _ in range(200):
            if (await world.link(link_id)).state.value == "expired":
                break
            await asyncio.sleep(0.05)
        assert (await world.link(link_id)).state.value == "expired"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert task.cancelled()
