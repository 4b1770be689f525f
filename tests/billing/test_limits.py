"""Limits where they bite: a client tenant created or linked, a technician invited,
evidence uploaded. Over a limit: 409 ``limit-reached`` naming the limit, the usage and
the plan, and nothing is made. At 80% and 100% the MSP's admins are told once. No
subscription: unlimited, as before. A lapsed subscription leaves the MSP's staff
read-only, at home and in its clients, and nothing is deleted."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from tenantry.access.service import operator_scope
from tenantry.audit.schemas import OPERATOR
from tenantry.billing.models import Subscription
from tenantry.billing.plans import PlanService
from tenantry.billing.schemas import PlanIn
from tenantry.billing.service import SubscriptionService
from tenantry.compliance.evidence.models import Evidence
from tenantry.db.base import utcnow
from tenantry.identity.models import Invitation
from tenantry.notifications.models import Notification
from tenantry.psa.contacts.models import Contact
from tenantry.tenancy.models import Tenant, TenantLink
from tests.access.conftest import World
from tests.compliance.evidence.helpers import PDF, seed_assessment
from tests.factories import make_tenant
from tests.harness.cli import Cli

CUSTOMERS = "/api/v1/tenants/northwind/customers"


async def _plan(cli: Cli, *args: str, seats: str | None = None) -> None:
    made = await cli.run("plans", "create", "Small", *args)
    assert made.exit_code == 0, made.stderr
    extra = ("--seats", seats) if seats else ()
    put = await cli.run("tenants", "license", "northwind", "--plan", "Small", *extra)
    assert put.exit_code == 0, put.stderr


def _limit_problem(body: dict[str, Any], limit: str, allowed: int, usage: int) -> None:
    assert body["type"].endswith("/limit-reached") and body["status"] == 409
    assert (body["limit"], body["allowed"], body["usage"], body["plan"]) == (
        limit,
        allowed,
        usage,
        "Small",
    )
    assert "Small" in body["detail"] and str(allowed) in body["detail"]


async def _notes(world: World, kind: str) -> list[tuple[str, str]]:
    async with world.owner_engine.connect() as conn:
        rows = await conn.execute(
            select(Notification.user_id, Notification.title).where(Notification.kind == kind)
        )
        names = {u.id: who for who, u in world.users.items()}
        return sorted((names[r.user_id], r.title) for r in rows)


async def test_no_subscription_keeps_everything_unlimited(world: World) -> None:
    made = await world.post("alex", CUSTOMERS, {"name": "Unlimited One"})
    assert made.status_code == 201, made.text
    billing = await world.get("olive", "/api/v1/msp/billing")
    assert billing.status_code == 200, billing.text
    body = billing.json()
    assert body["plan"] is None and body["clients"] == {"used": 4, "limit": None, "percent": None}


async def test_a_client_over_the_limit_is_refused_and_nothing_is_made(
    cli: Cli, world: World
) -> None:
    await _plan(cli, "--clients", "4")
    fourth = await world.post("alex", CUSTOMERS, {"name": "Fourth Client"})
    assert fourth.status_code == 201, fourth.text

    tenants, links = await world.count(Tenant) + 1, await world.count(TenantLink)
    fifth = await world.post("alex", CUSTOMERS, {"name": "Fifth Client"})
    assert fifth.status_code == 409, fifth.text
    _limit_problem(fifth.json(), "clients", 4, 4)
    # Linking an existing tenant (a pending link counts) is refused the same way.
    await make_tenant(world.database, "woodgrove", display_name="Woodgrove")
    linked = await world.post(
        "alex", "/api/v1/tenants/northwind/links", {"customer": "woodgrove", "template": "full"}
    )
    assert linked.status_code == 409, linked.text
    _limit_problem(linked.json(), "clients", 4, 4)
    assert (await world.count(Tenant), await world.count(TenantLink)) == (tenants, links)

    # 3 of 4 was under 80%; the fourth crossed both 80% and 100%: told once, at 100%.
    assert await _notes(world, "billing.limit") == [
        ("alex", "Northwind IT uses 100% of its client tenants"),
        ("olive", "Northwind IT uses 100% of its client tenants"),
    ]


async def test_the_admins_are_told_at_80_and_at_100_percent_once(cli: Cli, world: World) -> None:
    await _plan(cli, "--clients", "5")
    assert (await world.post("alex", CUSTOMERS, {"name": "Four"})).status_code == 201
    assert [t for who, t in await _notes(world, "billing.limit") if who == "olive"] == [
        "Northwind IT uses 80% of its client tenants"
    ]
    assert (await world.post("alex", CUSTOMERS, {"name": "Five"})).status_code == 201
    assert (await world.post("alex", CUSTOMERS, {"name": "Six"})).status_code == 409
    assert [t for who, t in await _notes(world, "billing.limit") if who == "olive"] == [
        "Northwind IT uses 100% of its client tenants",
        "Northwind IT uses 80% of its client tenants",
    ]


async def test_an_invitation_over_the_seat_limit_is_refused(cli: Cli, world: World) -> None:
    # Alex, Olive, Tina and Sam hold 4 seats; an open invitation takes the 5th.
    await _plan(cli, "--seats", "5")
    invite = "/api/v1/tenants/northwind/invitations"
    first = await world.post(
        "alex", invite, {"email": "nina@northwind.example", "role": "technician"}
    )
    assert first.status_code == 201, first.text
    second = await world.post(
        "alex", invite, {"email": "otto@northwind.example", "role": "technician"}
    )
    assert second.status_code == 409, second.text
    _limit_problem(second.json(), "seats", 5, 5)
    assert await world.count(Invitation) == 1
    # The operator gives more seats than the plan's: the override counts.
    assert (await cli.run("tenants", "license", "northwind", "--seats", "6")).exit_code == 0
    again = await world.post(
        "alex", invite, {"email": "otto@northwind.example", "role": "technician"}
    )
    assert again.status_code == 201, again.text
    # A client's own invitations take no seat of the MSP.
    carol = await world.post(
        "carol", "/api/v1/tenants/contoso-ltd/invitations",
        {"email": "dave@contoso.example", "role": "technician"},
    )  # fmt: skip
    assert carol.status_code == 201, carol.text


async def test_evidence_over_the_storage_limit_is_refused(cli: Cli, world: World) -> None:
    await _plan(cli, "--storage", str(len(PDF) + 10))
    assessment = await seed_assessment(world.database, world.customers["contoso-ltd"].id)
    url = f"/api/v1/tenants/contoso-ltd/compliance/assessments/{assessment}/evidence"

    async def upload(name: str) -> Any:
        return await world.call("alex", "POST", url, files={"file": (name, PDF, "application/pdf")})

    first = await upload("one.pdf")
    assert first.status_code == 201, first.text
    second = await upload("two.pdf")
    assert second.status_code == 409, second.text
    _limit_problem(second.json(), "storage", len(PDF) + 10, len(PDF))
    assert await world.count(Evidence) == 1
    # Removing the file gives its bytes back.
    removed = await world.call(
        "alex", "DELETE", f"/api/v1/tenants/contoso-ltd/compliance/evidence/{first.json()['id']}"
    )
    assert removed.status_code in (200, 204), removed.text
    async with world.owner_engine.connect() as conn:
        assert await conn.scalar(select(Subscription.storage_bytes)) == 0
    assert (await upload("three.pdf")).status_code == 201


async def test_a_lapsed_subscription_leaves_the_staff_read_only(cli: Cli, world: World) -> None:
    await _plan(cli)
    assert (await cli.run("tenants", "license", "northwind", "--status", "lapsed")).exit_code == 0
    contacts = "/api/v1/tenants/contoso-ltd/contacts"
    refused = await world.post("alex", contacts, {"name": "Dana", "email": "dana@contoso.example"})
    assert refused.status_code == 403, refused.text
    body = refused.json()
    assert body["type"].endswith("/subscription-lapsed") and body["subscription_status"] == "lapsed"
    at_home = await world.post("alex", CUSTOMERS, {"name": "Another"})
    assert at_home.status_code == 403 and at_home.json()["reason"] == "subscription-lapsed"
    # Every page the staff open says so, in a client as at home, and where to mend it.
    page = await world.get("alex", "/t/contoso-ltd/")
    assert "Your subscription is lapsed" in page.text and 'href="/msp/billing"' in page.text
    assert "Your subscription" not in (await world.get("carol", "/t/contoso-ltd/")).text
    assert await world.count(Contact) == 0
    # Reading goes on; nothing was deleted; the client's own people are not affected.
    assert (await world.get("alex", CUSTOMERS)).status_code == 200
    assert await world.count(Tenant) == 6
    own = await world.post("carol", contacts, {"name": "Dana", "email": "dana@contoso.example"})
    assert own.status_code == 201, own.text
    # Asking for more still works (that is how it is mended).
    asked = await world.post("olive", "/api/v1/msp/billing/requests", {"seats": 8})
    assert asked.status_code == 201, asked.text
    assert (await cli.run("tenants", "license", "northwind", "--status", "active")).exit_code == 0
    again = await world.post("alex", contacts, {"name": "Eve", "email": "eve@contoso.example"})
    assert again.status_code == 201, again.text
    assert "Your subscription" not in (await world.get("alex", "/t/contoso-ltd/")).text


async def test_a_trial_past_its_end_is_read_only(world: World) -> None:
    async with world.database.unit_of_work(operator_scope([world.msp.id])) as session:
        await PlanService(session).create(PlanIn(name="Trial", trial_days=14))
        msp = await session.merge(world.msp)
        sub = await SubscriptionService(session).start_trial(msp, "Trial", actor=OPERATOR)
        assert sub.status == "trial" and sub.ends_at is not None
    contacts = "/api/v1/tenants/contoso-ltd/contacts"
    during = await world.post("alex", contacts, {"name": "Dana", "email": "dana@contoso.example"})
    assert during.status_code == 201, during.text
    async with world.owner_engine.begin() as conn:
        await conn.execute(update(Subscription).values(ends_at=utcnow() - timedelta(minutes=1)))
    after = await world.post("alex", contacts, {"name": "Eve", "email": "eve@contoso.example"})
    assert after.status_code == 403 and after.json()["subscription_status"] == "trial ended"


async def test_evidence_kept_before_the_plan_counts_from_its_start(
    cli: Cli, world: World
) -> None:
    assessment = await seed_assessment(world.database, world.customers["contoso-ltd"].id)
    url = f"/api/v1/tenants/contoso-ltd/compliance/assessments/{assessment}/evidence"
    kept = await world.call("alex", "POST", url, files={"file": ("a.pdf", PDF, "application/pdf")})
    assert kept.status_code == 201, kept.text
    await _plan(cli, "--storage", str(len(PDF) + 10))
    async with world.owner_engine.connect() as conn:
        assert await conn.scalar(select(Subscription.storage_bytes)) == len(PDF)
    more = await world.call("alex", "POST", url, files={"file": ("b.pdf", PDF, "application/pdf")})
    assert more.status_code == 409, more.text
    _limit_problem(more.json(), "storage", len(PDF) + 10, len(PDF))
