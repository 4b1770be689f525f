"""``tenantry db``: migrate and inspect the database."""

from __future__ import annotations

import asyncio

import typer

from tenantry.cli.common import JsonOpt, emit
from tenantry.config import get_settings

app = typer.Typer(help="Migrate and inspect the database.", no_args_is_help=True)


@app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the latest schema (and create the app's database role)."""
    # Imported here, not above: Alembic is only loaded by the commands that migrate.
    from tenantry.db import migrate

    loaded = asyncio.run(migrate.upgrade(get_settings()))
    for line in loaded:
        typer.echo(line)
    typer.echo("database is up to date")


@app.command("status")
def db_status(as_json: JsonOpt = False) -> None:
    """The migration revision and, on PostgreSQL, whether isolation is really in force
    (forced row-level security and both policies on every tenant-owned table, the app
    role's attributes, membership and privileges). Exits 1 on any problem."""
    from tenantry.db import status

    found = asyncio.run(status.check(get_settings()))
    lines = [f"revision: {found.current}", f"code: {found.head}", f"backend: {found.backend}"]
    if found.app_role:
        lines.append(f"app role: {found.app_role}")
    lines += [f"problem: {p}" for p in found.problems] or ["isolation: in force"]
    emit(
        {
            "revision": found.current,
            "head": found.head,
            "backend": found.backend,
            "app_role": found.app_role or None,
            "problems": list(found.problems),
            "ok": found.ok,
        },
        as_json,
        "\n".join(lines),
    )
    if not found.ok:
        raise typer.Exit(1)
