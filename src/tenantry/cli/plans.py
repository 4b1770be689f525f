"""``tenantry plans``: the operator's plans (list, create, update, show) and the MSPs'
requests for more (list, approve, decline)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tenantry.access.service import operator_scope
from tenantry.audit.schemas import OPERATOR
from tenantry.billing.models import Plan, PlanRequest
from tenantry.billing.plans import PlanService
from tenantry.billing.schemas import PlanChange, PlanIn
from tenantry.billing.service import SubscriptionService
from tenantry.cli.common import JsonOpt, emit, every_tenant, run
from tenantry.config import Settings
from tenantry.db.engine import Database
from tenantry.db.scope import NO_SCOPE

app = typer.Typer(
    help="The operator's plans and the MSPs' requests for more.", no_args_is_help=True
)
requests_app = typer.Typer(
    help="MSPs' requests for more seats or another plan: list (the default), approve, decline.",
    invoke_without_command=True,
)
app.add_typer(requests_app, name="requests")

Limit = Annotated[int | None, typer.Option(min=0, help="Leave out for unlimited.")]
Features = Annotated[
    list[str] | None,
    typer.Option("--feature", help="compliance, client-portal or early-access (repeat)."),
]


def _unlimited(value: int | None) -> str:
    return "unlimited" if value is None else str(value)


def plan_dict(p: Plan) -> dict[str, Any]:
    return {
        "id": str(p.id),
        "name": p.name,
        "max_clients": p.max_clients,
        "max_seats": p.max_seats,
        "max_storage_bytes": p.max_storage_bytes,
        "features": list(p.features),
        "trial_days": p.trial_days,
    }


def _plan_text(p: Plan) -> str:
    return (
        f"{p.name}: clients {_unlimited(p.max_clients)}, seats {_unlimited(p.max_seats)}, "
        f"storage {_unlimited(p.max_storage_bytes)} bytes, "
        f"features {', '.join(p.features) or 'none'}"
        + (f", trial {p.trial_days} days" if p.trial_days else "")
    )


@app.command("list")
def plans_list(as_json: JsonOpt = False) -> None:
    """List the plans."""

    async def work(db: Database, settings: Settings) -> list[Plan]:
        async with db.platform_reader() as session:
            return list(await PlanService(session).list())

    rows = run(work)
    emit([plan_dict(p) for p in rows], as_json, "\n".join(map(_plan_text, rows)) or "no plans yet")


@app.command("show")
def plans_show(name: str, as_json: JsonOpt = False) -> None:
    """Show one plan."""

    async def work(db: Database, settings: Settings) -> Plan:
        async with db.platform_reader() as session:
            return await PlanService(session).get(name)

    plan = run(work)
    emit(plan_dict(plan), as_json, _plan_text(plan))


@app.command("create")
def plans_create(
    name: str,
    clients: Limit = None,
    seats: Limit = None,
    storage: Annotated[int | None, typer.Option(min=0, help="Evidence bytes.")] = None,
    feature: Features = None,
    trial_days: Annotated[int | None, typer.Option(min=0)] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a plan (a limit left out is unlimited)."""

    async def work(db: Database, settings: Settings) -> Plan:
        async with db.unit_of_work(NO_SCOPE) as session:
            return await PlanService(session).create(
                PlanIn(
                    name=name,
                    max_clients=clients,
                    max_seats=seats,
                    max_storage_bytes=storage,
                    features=feature or [],
                    trial_days=trial_days,
                )
            )

    plan = run(work)
    emit(plan_dict(plan), as_json, f"created plan {_plan_text(plan)}")


@app.command("update")
def plans_update(
    name: str,
    rename: Annotated[str | None, typer.Option(help="A new name.")] = None,
    clients: Limit = None,
    seats: Limit = None,
    storage: Annotated[int | None, typer.Option(min=0, help="Evidence bytes.")] = None,
    feature: Features = None,
    trial_days: Annotated[int | None, typer.Option(min=0)] = None,
    unlimited: Annotated[
        list[str] | None, typer.Option(help="clients, seats or storage: remove that limit.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a plan; every MSP on it sees the change in its history and trail."""

    async def work(db: Database, settings: Settings) -> Plan:
        async with db.platform_reader() as session:
            plan = await PlanService(session).get(name)
            on_it = [
                s.msp_tenant_id for s in await SubscriptionService(session).subscribers(plan.id)
            ]
        async with db.unit_of_work(operator_scope(on_it)) as session:
            return await PlanService(session).update(
                name,
                PlanChange(
                    name=rename,
                    max_clients=clients,
                    max_seats=seats,
                    max_storage_bytes=storage,
                    features=feature,
                    trial_days=trial_days,
                    unlimited=unlimited or [],
                ),
                actor=OPERATOR,
            )

    plan = run(work)
    emit(plan_dict(plan), as_json, f"updated plan {_plan_text(plan)}")


def request_dict(r: PlanRequest, slugs: dict[Any, str], plans: dict[Any, str]) -> dict[str, Any]:
    return {
        "id": str(r.id),
        "msp": slugs.get(r.msp_tenant_id, str(r.msp_tenant_id)),
        "plan": plans.get(r.plan_id) if r.plan_id else None,
        "seats": r.seats,
        "note": r.note,
        "status": r.status,
        "requested_by": r.requested_by_name,
        "created_at": r.created_at.isoformat(),
        "decided_at": r.decided_at.isoformat() if r.decided_at else None,
        "decision_note": r.decision_note,
    }


@requests_app.callback()
def requests_default(
    ctx: typer.Context,
    every: Annotated[bool, typer.Option("--all", help="Also the decided ones.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """The MSPs' requests (pending ones unless --all), newest first."""
    if ctx.invoked_subcommand is None:
        requests_list(every, as_json)


@requests_app.command("list")
def requests_list(
    every: Annotated[bool, typer.Option("--all", help="Also the decided ones.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """The MSPs' requests (pending ones unless --all), newest first."""

    async def work(db: Database, settings: Settings) -> list[dict[str, Any]]:
        async with db.platform_reader() as session:
            service = SubscriptionService(session)
            rows = await (service.all_requests() if every else service.pending_requests())
            names = await service.plan_names({r.plan_id for r in rows if r.plan_id})
        slugs = {t.id: t.slug for t in await every_tenant(db)}
        return [request_dict(r, slugs, names) for r in rows]

    rows = run(work)
    lines = [
        f"{r['id']}  {r['status']:<9} {r['msp']:<24} "
        + ", ".join(
            x
            for x in (
                f"plan {r['plan']}" if r["plan"] else "",
                f"{r['seats']} seats" if r["seats"] else "",
            )
            if x
        )
        + f"  by {r['requested_by']}"
        + (f"  “{r['note']}”" if r["note"] else "")
        for r in rows
    ]
    emit(rows, as_json, "\n".join(lines) or "no pending requests")


def _asked(r: dict[str, Any]) -> list[str]:
    asked = [f"plan {r['plan']}"] if r["plan"] else []
    return asked + ([f"{r['seats']} seats"] if r["seats"] else [])


def _decide(request_id: str, approve: bool, note: str, as_json: bool) -> None:
    async def work(db: Database, settings: Settings) -> dict[str, Any]:
        async with db.unit_of_work(operator_scope([])) as session:
            service = SubscriptionService(session)
            done = await service.decide(request_id, approve=approve, note=note, actor=OPERATOR)
            names = await service.plan_names({done.plan_id} if done.plan_id else set())
            msp = await service.tenant(done.msp_tenant_id)
            return request_dict(done, {msp.id: msp.slug}, names)

    row = run(work)
    emit(row, as_json, f"request {row['id']} of {row['msp']}: {row['status']}")


@requests_app.command("approve")
def requests_approve(
    request_id: str,
    note: Annotated[str, typer.Option(help="Told to the MSP's admins.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Approve a request: the plan and/or seats asked for apply at once."""
    _decide(request_id, True, note, as_json)


@requests_app.command("decline")
def requests_decline(
    request_id: str,
    note: Annotated[str, typer.Option(help="Told to the MSP's admins.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Decline a request."""
    _decide(request_id, False, note, as_json)
