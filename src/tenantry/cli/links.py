"""``tenantry links``: the instance operator flags candidate clients of an MSP, lists
links, and runs the expiry sweep by hand (the app also runs it every minute)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tenantry.access.service import operator_scope
from tenantry.audit.schemas import OPERATOR
from tenantry.cli.common import JsonOpt, emit, run, tenant_named
from tenantry.config import Settings
from tenantry.db.engine import Database
from tenantry.links.schemas import LinkView, link_out
from tenantry.links.service import LinkService, SweepReport, sweep
from tenantry.tenancy import service as tenancy

app = typer.Typer(
    help="MSP links: flag a tenant as a candidate client, list links, expire and renew them.",
    no_args_is_help=True,
)

# The request an operator makes for an MSP, when it names none: everything but the
# customer's billing (the Admin role). The customer can give less when it approves.
DEFAULT_CEILING = ["admin"]


def _line(view: LinkView) -> str:
    link = view.link
    ends = link.expires_at.isoformat() if link.expires_at else "-"
    flags = " flagged" if link.flagged_by_operator else ""
    renew = " renews" if view.auto_extends else ""
    count = len(link.ceiling) if link.state.value != "pending" else len(link.requested_ceiling)
    return (
        f"{view.msp.slug:<24} → {view.customer.slug:<24} {link.state.value:<8} "
        f"{count:>2} perms  ends {ends}{renew}{flags}  {link.id}"
    )


def _dict(view: LinkView) -> dict[str, Any]:
    data = link_out(view).model_dump(mode="json", exclude={"side"})
    data["msp"]["id"] = str(view.msp.id)
    data["customer"]["id"] = str(view.customer.id)
    return data


@app.command("flag")
def flag(
    msp: Annotated[str, typer.Option("--msp", help="Slug of the MSP.")],
    customer: Annotated[str, typer.Option("--customer", help="Slug of the tenant to flag.")],
    ceiling: Annotated[
        list[str] | None,
        typer.Option(
            "--ceiling",
            help="A permission (area:verb) or built-in role key; repeat for more. "
            "Default: admin (everything that means something inside a client).",
        ),
    ] = None,
    days: Annotated[
        int | None, typer.Option("--days", help="Duration once approved (default: no end).")
    ] = None,
    auto_extend: Annotated[
        bool, typer.Option("--auto-extend", help="The MSP agrees to renew at expiry.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Flag a tenant as a candidate client of an MSP, pending its admins' approval.

    Its admins approve (possibly giving less), or decline, on their "Your MSP" page.
    """

    async def work(db: Database, settings: Settings) -> LinkView:
        provider = await tenant_named(db, msp)
        target = await tenant_named(db, customer)
        async with db.unit_of_work(operator_scope([provider.id, target.id])) as session:
            provider = await session.merge(provider)
            return await LinkService(session).flag(
                provider,
                customer,
                ceiling=list(ceiling or DEFAULT_CEILING),
                duration_days=days,
                auto_extend=auto_extend,
                actor=OPERATOR,
            )

    view = run(work)
    emit(
        _dict(view),
        as_json,
        f"flagged {view.customer.slug} as a candidate client of {view.msp.slug}: "
        f"pending its admins' approval ({view.link.id})",
    )


@app.command("list")
def list_links(
    tenant: Annotated[
        str | None, typer.Option("--tenant", help="Only links with this tenant at either end.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List links (every one, or one tenant's), by MSP and client."""

    async def work(db: Database, settings: Settings) -> list[LinkView]:
        only = (await tenant_named(db, tenant)).id if tenant else None
        async with db.platform_reader() as session:
            rows = await tenancy.TenantLinkService(session).every(only)
        return [LinkView(link, m, c, "msp") for link, m, c in rows]

    views = run(work)
    emit([_dict(v) for v in views], as_json, "\n".join(map(_line, views)) or "no links")


@app.command("sweep")
def sweep_links(as_json: JsonOpt = False) -> None:
    """Expire links past their end; renew those both sides let renew.

    The app runs the same sweep every minute; this is for a stopped app or a cron job.
    """

    async def work(db: Database, settings: Settings) -> SweepReport:
        return await sweep(db, actor=OPERATOR)

    report = run(work)
    data = {
        "expired": [str(i) for i in report.expired],
        "extended": [str(i) for i in report.extended],
        "failed": [str(i) for i in report.failed],
    }
    emit(
        data,
        as_json,
        f"{len(report.expired)} expired, {len(report.extended)} renewed"
        + (f", {len(report.failed)} failed (see the log)" if report.failed else ""),
    )
    if report.failed:
        raise typer.Exit(1)
