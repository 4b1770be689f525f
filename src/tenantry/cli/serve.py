"""``tenantry serve``: run the web UI and API (``--demo`` seeds demo data first)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from tenantry.cli.common import run
from tenantry.config import Settings, get_settings
from tenantry.db.engine import Database


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    demo: Annotated[bool, typer.Option("--demo", help="Create demo data on first start.")] = False,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    migrate_first: Annotated[
        bool, typer.Option("--migrate/--no-migrate", help="Upgrade the database first.")
    ] = True,
) -> None:
    """Run the web UI and API."""
    # Imported here, not above: the server, Alembic and the demo data load only to serve.
    import uvicorn

    from tenantry.db import migrate

    settings = get_settings()
    if migrate_first:
        asyncio.run(migrate.upgrade(settings))
    if demo:
        from tenantry import demo as demo_data

        async def seed(db: Database, s: Settings) -> dict[str, str]:
            return await demo_data.ensure_demo(db, s)

        passwords = run(seed)
        url = f"http://{host}:{port}"
        typer.echo(f"\nTenantry demo: open {url}/ and sign in as one of")
        for demo_user in demo_data.USERS:
            pw = passwords.get(demo_user.email, "(see the demo credentials file)")
            typer.echo(f"  {demo_user.email:<34} {pw:<20} {demo_user.note}")
        typer.echo(f"(passwords are kept in {demo_data.credentials_file(settings)})\n")
    uvicorn.run(
        "tenantry.asgi:app",
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level.lower(),
        access_log=False,
        # The app reads the client's address itself (http/deps.py: client_address); the
        # server is told the same proxies, so the scheme they forward is believed from
        # them alone and the address it passes on agrees with the app's reading.
        proxy_headers=settings.behind_proxy,
        forwarded_allow_ips=settings.trusted_proxies or None,
        # No "Server: uvicorn": what runs the instance is nobody's business.
        server_header=False,
    )
