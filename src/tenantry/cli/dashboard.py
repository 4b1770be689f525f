"""``tenantry dashboard``: rebuild the MSP dashboard's kept rows from their sources."""

from __future__ import annotations

from typing import Annotated

import typer

from tenantry.cli.common import JsonOpt, emit, run, tenant_named
from tenantry.config import Settings
from tenantry.dashboard.rebuild import rebuild
from tenantry.db.engine import Database

app = typer.Typer(help="The MSP dashboard's kept figures.", no_args_is_help=True)


@app.command("rebuild")
def rebuild_rows(
    msp: Annotated[
        str | None, typer.Option("--msp", help="Slug of one MSP (default: every MSP).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Rebuild every client's dashboard row from the tickets' open counts, the kept
    compliance scores and the audit trail (after upgrading to migration 0027, or to
    repair). Safe while the app runs."""

    async def work(db: Database, settings: Settings) -> int:
        ids = [(await tenant_named(db, msp)).id] if msp else None
        done = [0]

        def progress(n: int) -> None:
            done[0] += n
            if not as_json:
                typer.echo(f"  {done[0]} clients", err=True)

        return await rebuild(db, ids, progress=progress)

    written = run(work)
    emit({"rows": written}, as_json, f"{written} client rows rebuilt")
