"""``tenantry tenants``: create, list and license tenants, suspend and resume them."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tenantry.access.service import operator_scope
from tenantry.audit.schemas import OPERATOR
from tenantry.billing.service import SubscriptionService
from tenantry.cli.common import JsonOpt, emit, fail, run, tenant_named
from tenantry.config import Settings
from tenantry.db.engine import Database
from tenantry.tenancy import service as tenancy
from tenantry.tenancy.models import Tenant
from tenantry.tenancy.service import TenancyService

app = typer.Typer(help="Create, list and license tenants.", no_args_is_help=True)


def tenant_dict(t: Tenant) -> dict[str, Any]:
    """A tenant as the ``--json`` output prints it."""
    return {
        "id": str(t.id),
        "slug": t.slug,
        "display_name": t.display_name,
        "status": t.status.value,
        "is_msp": t.is_msp,
        "created_at": t.created_at.isoformat(),
    }


@app.command("create")
def tenants_create(
    name: Annotated[str, typer.Argument(help="The tenant's name; its slug is made from it.")],
    display_name: Annotated[str | None, typer.Option(help="Defaults to the name.")] = None,
    slug: Annotated[str | None, typer.Option(help="Overrides the slug made from the name.")] = None,
    msp: Annotated[bool, typer.Option("--msp", help="Grant MSP licensing.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Create a top-level tenant (optionally MSP-licensed)."""

    async def work(db: Database, settings: Settings) -> Tenant:
        async with db.unit_of_work(operator_scope([])) as session:
            return await TenancyService(session).create_tenant(
                name=name, display_name=display_name, slug=slug, is_msp=msp, actor=OPERATOR
            )

    tenant = run(work)
    emit(
        tenant_dict(tenant),
        as_json,
        f"created {tenant.slug} ({tenant.display_name}){' with MSP licensing' if msp else ''}",
    )


@app.command("list")
def tenants_list(
    q: Annotated[str | None, typer.Option("--q", help="Search slug and display name.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List the instance's tenants."""

    async def work(db: Database, settings: Settings) -> list[Tenant]:
        async with db.platform_reader() as session:
            return list(await tenancy.all_tenants(session, query=q))

    rows = run(work)
    lines = [
        f"{t.slug:<32} {t.status.value:<10} {'MSP' if t.is_msp else '   '} {t.display_name}"
        for t in rows
    ]
    emit([tenant_dict(t) for t in rows], as_json, "\n".join(lines) or "no tenants yet")


@app.command("license")
def tenants_license(
    slug: str,
    msp: Annotated[str | None, typer.Option("--msp", help="on or off")] = None,
    plan: Annotated[
        str | None, typer.Option("--plan", help="Put the MSP on this plan (implies --msp on).")
    ] = None,
    seats: Annotated[
        int | None, typer.Option("--seats", min=0, help="Override the plan's seat limit.")
    ] = None,
    status: Annotated[
        str | None,
        typer.Option("--status", help="active, trial, lapsed or suspended."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Grant or withdraw MSP licensing; put an MSP on a plan, change its seats or status."""
    if msp is not None and msp not in ("on", "off"):
        raise fail("--msp: must be 'on' or 'off'")
    if msp is None and plan is None and status is None and seats is None:
        raise fail("give --msp on|off, --plan NAME [--seats N], or --status STATUS")
    if msp == "off" and plan is not None:
        raise fail("--plan: a plan implies MSP licensing; leave out --msp off")

    async def work(db: Database, settings: Settings) -> dict[str, Any]:
        tenant = await tenant_named(db, slug)
        async with db.unit_of_work(operator_scope([tenant.id])) as session:
            tenant = await session.merge(tenant)
            if msp is not None or plan is not None:
                tenant = await TenancyService(session).set_msp_license(
                    tenant, msp != "off", actor=OPERATOR
                )
            service = SubscriptionService(session)
            if plan is not None:
                await service.subscribe(tenant, plan, actor=OPERATOR, seats=seats, status=status)
            elif seats is not None or status is not None:
                found = await service.subscription(tenant.id)
                if found is None:
                    raise fail(f"{slug} has no plan: give --plan NAME")
                await service.subscribe(
                    tenant,
                    found[1].name,
                    actor=OPERATOR,
                    seats=seats,
                    status=status,
                    keep_seats=seats is None,
                )
            usage = await service.usage(tenant.id)
            return tenant_dict(tenant) | {
                "plan": usage.plan,
                "subscription_status": usage.status,
                "clients": usage.clients.as_dict(),
                "seats": usage.seats.as_dict(),
                "storage": usage.storage.as_dict(),
            }

    row = run(work)
    text = f"{row['slug']}: MSP licensing {'on' if row['is_msp'] else 'off'}"
    if row["plan"]:
        text += (
            f", plan {row['plan']} ({row['subscription_status']}), "
            f"seats {row['seats']['used']}/{row['seats']['limit'] or 'unlimited'}, "
            f"clients {row['clients']['used']}/{row['clients']['limit'] or 'unlimited'}"
        )
    emit(row, as_json, text)


@app.command("suspend")
def tenants_suspend(slug: str, as_json: JsonOpt = False) -> None:
    """Suspend a tenant: sign-ins and requests are refused; nothing is deleted."""
    _set_suspended(slug, True, as_json)


@app.command("resume")
def tenants_resume(slug: str, as_json: JsonOpt = False) -> None:
    """Resume a suspended tenant."""
    _set_suspended(slug, False, as_json)


def _set_suspended(slug: str, suspended: bool, as_json: bool) -> None:
    async def work(db: Database, settings: Settings) -> Tenant:
        tenant = await tenant_named(db, slug)
        async with db.unit_of_work(operator_scope([tenant.id])) as session:
            tenant = await session.merge(tenant)
            await TenancyService(session).mark_suspended_by_operator(
                tenant, suspended, actor=OPERATOR
            )
            return tenant

    tenant = run(work)
    emit(tenant_dict(tenant), as_json, f"{tenant.slug}: {tenant.status.value}")
