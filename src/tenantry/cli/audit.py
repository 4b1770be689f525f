"""``tenantry audit``: verify the hash chains, export a trail, prune by retention."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from tenantry.access.service import operator_scope
from tenantry.audit import export, retention
from tenantry.audit import service as chain
from tenantry.audit.schemas import EventFilter, ExportFormat
from tenantry.cli.common import JsonOpt, emit, every_tenant, fail, run, tenant_named
from tenantry.config import Settings
from tenantry.db.engine import Database
from tenantry.errors import TenantryError

app = typer.Typer(help="Verify and export the audit trail.", no_args_is_help=True)


@dataclass(frozen=True, slots=True)
class Pruned:
    """One tenant's pruning: how many events went, or why it was refused."""

    tenant: str
    pruned_before: datetime
    events_pruned: int = 0
    pruned_through_seq: int | None = None
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"tenant": self.tenant, "pruned_before": self.before}
        if self.error is not None:
            data["error"] = self.error
        data["events_pruned"] = self.events_pruned
        data["pruned_through_seq"] = self.pruned_through_seq
        return data

    @property
    def before(self) -> str:
        return self.pruned_before.isoformat()

    def line(self) -> str:
        if self.error is not None:
            return f"{self.tenant}: REFUSED: {self.error}"
        return f"{self.tenant}: {self.events_pruned} events before {self.before} pruned"


@app.command("verify")
def audit_verify(
    tenant: Annotated[
        str | None, typer.Option("--tenant", help="Only this tenant's chain.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Check the hash chains; name the first broken link. Exits 1 if any chain is broken."""

    async def work(db: Database, settings: Settings) -> list[chain.ChainReport]:
        targets = [await tenant_named(db, tenant)] if tenant else await every_tenant(db)
        reports = []
        with typer.progressbar(
            targets, label="verifying", file=sys.stderr, hidden=as_json or len(targets) < 2
        ) as progress:
            for target in progress:
                async with db.unit_of_work(operator_scope([target.id])) as session:
                    reports.append(await chain.verify_chain(session, target.id))
        return reports

    reports = run(work)
    broken = [r for r in reports if not r.ok]
    data = [
        {
            "tenant_id": str(r.tenant_id),
            "events": r.events,
            "ok": r.ok,
            "broken_at": r.broken_at,
            "reason": r.reason,
        }
        for r in reports
    ]
    lines = [
        f"{r.tenant_id}: {'ok' if r.ok else 'BROKEN: ' + str(r.reason)} ({r.events} events)"
        for r in reports
    ]
    emit(data, as_json, "\n".join(lines) or "no tenants")
    if broken:
        raise typer.Exit(1)


@app.command("export")
def audit_export(
    tenant: Annotated[str, typer.Option("--tenant", help="The tenant whose trail to export.")],
    fmt: Annotated[str, typer.Option("--format", help="jsonl or csv")] = "jsonl",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
) -> None:
    """Stream a tenant's audit trail as JSON Lines or CSV, oldest first."""
    if fmt not in ("jsonl", "csv"):
        raise fail("--format: must be 'jsonl' or 'csv'")
    kind: ExportFormat = "csv" if fmt == "csv" else "jsonl"

    async def work(db: Database, settings: Settings) -> None:
        target = await tenant_named(db, tenant)
        out = output.open("w", newline="") if output else sys.stdout
        try:
            async with db.unit_of_work(operator_scope([target.id])) as session:
                f = EventFilter(tenant_ids=(target.id,))
                async for chunk in export.export_lines(session, f, kind):
                    out.write(chunk)
        finally:
            if output:
                out.close()

    run(work)
    if output:
        typer.echo(f"wrote {output}", err=True)


@app.command("prune")
def audit_prune(
    tenant: Annotated[
        str | None, typer.Option("--tenant", help="Only this tenant (default: every tenant).")
    ] = None,
    now: Annotated[
        str | None,
        typer.Option("--now", help="Pretend it is this time (ISO 8601 with zone), for tests."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Delete events older than each tenant's retention, keeping an anchor so the rest
    still verifies. Tenants without retention keep everything. Each pruning is audited."""
    try:
        at = datetime.fromisoformat(now.replace("Z", "+00:00")) if now else None
    except ValueError:
        raise fail("--now: not an ISO 8601 time, e.g. 2027-01-31T00:00:00Z") from None
    if at is not None and at.tzinfo is None:
        raise fail("--now: must carry a time zone, e.g. 2027-01-31T00:00:00Z")

    async def work(db: Database, settings: Settings) -> list[Pruned]:
        targets = [await tenant_named(db, tenant)] if tenant else await every_tenant(db)
        clock = at or datetime.now(UTC)
        done: list[Pruned] = []
        with typer.progressbar(
            targets, label="pruning", file=sys.stderr, hidden=as_json or len(targets) < 2
        ) as progress:
            for target in progress:
                cutoff = retention.retention_cutoff(target.audit_retention_days, clock)
                if cutoff is None:
                    continue
                # One transaction per tenant: a refusal (a chain that does not verify)
                # stops that tenant only, and locks are held briefly.
                try:
                    async with db.unit_of_work(operator_scope([target.id])) as session:
                        result = await retention.prune(session, target.id, cutoff, now=clock)
                except TenantryError as exc:
                    done.append(Pruned(target.slug, cutoff, error=exc.detail))
                    continue
                done.append(
                    Pruned(
                        target.slug,
                        cutoff,
                        result.events_pruned if result else 0,
                        result.pruned_through_seq if result else None,
                    )
                )
        return done

    done = run(work)
    lines = [d.line() for d in done]
    emit(
        [d.as_json() for d in done],
        as_json,
        "\n".join(lines) or "no tenant has a retention period set",
    )
    if any(d.error is not None for d in done):
        raise typer.Exit(1)
