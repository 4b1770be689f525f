"""Every link event tells exactly the other side's admins: not technicians, not the
actor's side, not other tenants."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select, update

from tenantry.access.service import operator_scope
from tenantry.db.base import utcnow
from tenantry.links.service import sweep
from tenantry.notifications import outbox
from tenantry.notifications.models import EmailStatus, Notification
from tenantry.tenancy.models import TenantLink

from .conftest import World, approved, inbox, told


async def test_a_request_tells_the_customers_admins(world: World) -> None:
    asked = await world.ask(ceiling=["tickets:read"])
    assert asked.status_code == 201, asked.text
    assert await told(world) == {"ian": ["Northwind IT asks to manage Initech"]}
    [notice] = await inbox(world, "ian")
    assert notice["kind"] == "link.requested"
    assert "tickets:read" in notice["body"] and "by Alex Admin" in notice["body"]
    assert notice["url"] == f"/t/initech/msp/{asked.json()['id']}"
    assert notice["read"] is False


async def test_approving_and_narrowing_tell_the_msps_admins(world: World) -> None:
    link = await approved(world, ceiling=["tickets:read", "tickets:write", "time:read"])
    assert (await told(world))["alex"] == ["Initech approved Northwind IT's request"]
    narrowed = await world.post(
        "ian", f"/api/v1/tenants/initech/links/{link}/narrow", {"ceiling": ["tickets:read"]}
    )
    assert narrowed.status_code == 200, narrowed.text
    everyone = await told(world)
    # Not Tina or Bob (technicians), not Ivy or Ian (the actor's side), not Gary or Uma.
    assert set(everyone) == {"alex", "ian"}
    assert everyone["ian"] == ["Northwind IT asks to manage Initech"]
    newest = (await inbox(world, "alex"))[0]
    assert newest["body"] == (
        "Initech narrowed Northwind IT's access: removed tickets:write, time:read "
        "— by Ian Initech <ian@initech.example>."
    )
    assert newest["url"] == f"/msp/links/{link}"


async def test_declining_tells_the_msp(world: World) -> None:
    link = (await world.ask()).json()["id"]
    await world.post("ian", f"/api/v1/tenants/initech/links/{link}/decline")
    assert (await told(world))["alex"] == ["Initech declined Northwind IT's request"]


async def test_revoking_tells_the_other_side(world: World) -> None:
    link = await approved(world)
    await world.post("ian", f"/api/v1/tenants/initech/links/{link}/revoke")
    ended = "The link between Northwind IT and Initech was ended"
    assert (await told(world))["alex"][0] == ended
    assert len((await told(world))["ian"]) == 1  # the request only: Ian ended it

    contoso = await world.get("alex", "/api/v1/tenants/northwind/links", params={"state": "active"})
    [link_row] = contoso.json()["items"]
    await world.post("alex", f"/api/v1/tenants/northwind/links/{link_row['id']}/revoke")
    # Contoso has no admin of its own: nobody there to tell, and nobody else is told.
    assert (await told(world))["alex"][0] == ended


async def test_an_msp_ending_its_link_tells_the_customer(world: World) -> None:
    link = await approved(world)
    await world.post("alex", f"/api/v1/tenants/northwind/links/{link}/revoke")
    ian = await told(world)
    assert ian["ian"][0] == "The link between Northwind IT and Initech was ended"
    assert "by Alex Admin" in (await inbox(world, "ian"))[0]["body"]


async def test_withdrawing_a_request_tells_the_customer(world: World) -> None:
    link = (await world.ask()).json()["id"]
    await world.post("alex", f"/api/v1/tenants/northwind/links/{link}/revoke")
    assert (await told(world))["ian"][0] == "Northwind IT withdrew its request"


async def _ends_in(world: World, link: str, delta: timedelta) -> None:
    async with world.db.unit_of_work(operator_scope([])) as session:
        await session.execute(
            update(TenantLink)
            .where(TenantLink.id == uuid.UUID(link))
            .values(expires_at=utcnow() + delta)
        )


async def test_the_sweep_warns_at_14_and_3_days_once_each_then_expires(world: World) -> None:
    link = await approved(world, duration_days=30)
    before = {who: len(titles) for who, titles in (await told(world)).items()}
    await _ends_in(world, link, timedelta(days=13))
    await sweep(world.db)
    await sweep(world.db)  # again: nothing new
    soon = "The link between Northwind IT and Initech expires in 14 days"
    everyone = await told(world)
    assert everyone["alex"][0] == soon and everyone["ian"][0] == soon
    assert {who: len(t) for who, t in everyone.items()} == {who: n + 1 for who, n in before.items()}
    await _ends_in(world, link, timedelta(days=2))
    await sweep(world.db)
    await sweep(world.db)
    everyone = await told(world)
    assert everyone["alex"][:2] == [soon.replace("14", "3"), soon]
    assert everyone["ian"][:2] == [soon.replace("14", "3"), soon]
    await _ends_in(world, link, timedelta(seconds=-1))
    await sweep(world.db)
    everyone = await told(world)
    expired = "The link between Northwind IT and Initech expired"
    assert everyone["alex"][0] == expired and everyone["ian"][0] == expired
    assert {who: len(t) for who, t in everyone.items()} == {who: n + 3 for who, n in before.items()}


async def test_a_renewing_link_gets_no_expiry_warning(world: World) -> None:
    link = await approved(world, duration_days=30, auto_extend=True)
    await _ends_in(world, link, timedelta(days=2))
    counts = {who: len(t) for who, t in (await told(world)).items()}
    await sweep(world.db)
    assert {who: len(t) for who, t in (await told(world)).items()} == counts


async def test_without_smtp_no_email_is_attempted(world: World) -> None:
    """The default (TENANTRY_SMTP_HOST unset): notifications in the app only."""
    link = await approved(world)
    await world.post("alex", f"/api/v1/tenants/northwind/links/{link}/revoke")
    tenant_ids = [world.tenants[t].id for t in ("northwind", "initech")]
    async with world.db.unit_of_work(operator_scope(tenant_ids)) as session:
        statuses = set((await session.scalars(select(Notification.email_status))).all())
    assert statuses == {EmailStatus.NONE}
    assert world.app.state.settings.smtp_host == ""
    counts = await outbox.send_due(world.db, world.app.state.settings)
    assert counts == {"sent": 0, "failed": 0, "retry": 0, "skipped": 0}
