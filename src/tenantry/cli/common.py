"""What every ``tenantry`` command group shares: running async work against the
configured database, printing text or JSON, failing with a clear message, and finding a
tenant by its slug (through tenancy's service)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer

from tenantry.config import Settings, get_settings
from tenantry.db.engine import Database
from tenantry.errors import NotFound, TenantryError, ValidationFailed
from tenantry.tenancy import service as tenancy
from tenantry.tenancy.models import Tenant

T = TypeVar("T")
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def fail(message: str, code: int = 2) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def run(work: Callable[[Database, Settings], Awaitable[T]]) -> T:
    """Run one async operation against the configured database, reporting errors plainly."""
    settings = get_settings()

    async def main() -> T:
        db = Database(settings)
        try:
            return await work(db, settings)
        finally:
            await db.dispose()

    try:
        return asyncio.run(main())
    except ValidationFailed as exc:
        raise fail(f"{exc.field}: {exc.message}") from exc
    except TenantryError as exc:
        raise fail(exc.detail) from exc


def emit(data: Any, as_json: bool, text: str) -> None:
    """``data`` (plain JSON values) with ``--json``, else ``text``."""
    if as_json:
        typer.echo(json.dumps(data, indent=2, default=str))
    else:
        typer.echo(text)


async def tenant_named(db: Database, slug: str) -> Tenant:
    """The tenant with this slug, or a clear error naming the command that lists them."""
    async with db.platform_reader() as session:
        tenant = await tenancy.tenant_by_slug(session, slug)
    if tenant is None:
        raise NotFound(f"no tenant with the slug '{slug}' (see `tenantry tenants list`)")
    return tenant


async def every_tenant(db: Database) -> list[Tenant]:
    async with db.platform_reader() as session:
        return list(await tenancy.all_tenants(session, limit=10**9))
