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

    asyncio.run(migrate.upgrade(get_settings()))
    typer.echo("database is up to date")


@app.command("status")
def db_status(as_json: JsonOpt = False) -> None:
    """Show the database's current migration revision."""
    from tenantry.db import migrate

    revision = asyncio.run(migrate.current_revision(get_settings()))
    emit({"revision": revision}, as_json, f"revision: {revision}")
