"""The ``tenantry`` command: run the server and operate the instance."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from tenantry.access.models import GrantScope
from tenantry.access.permissions import BUILTIN_ROLES
from tenantry.access.service import create_grant, operator_scope
from tenantry.audit import repository as audit_repo
from tenantry.audit import service as audit
from tenantry.audit.schemas import OPERATOR
from tenantry.cli.links import app as links_app
from tenantry.config import Settings, get_settings
from tenantry.db.engine import Database
from tenantry.errors import NotFound, TenantryError, ValidationFailed
from tenantry.identity import repository as users_repo
from tenantry.identity.service import IdentityService
from tenantry.tenancy import repository as tenants_repo
from tenantry.tenancy.models import Tenant
from tenantry.tenancy.service import TenancyService

app = typer.Typer(
    help="Tenantry: one place for an MSP to run all of its client organisations.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
tenants_app = typer.Typer(help="Create, list and license tenants.", no_args_is_help=True)
users_app = typer.Typer(
    help="Create users (e.g. the first admin of a tenant).", no_args_is_help=True
)
tokens_app = typer.Typer(help="Create personal API tokens.", no_args_is_help=True)
db_app = typer.Typer(help="Migrate and inspect the database.", no_args_is_help=True)
app.add_typer(tenants_app, name="tenants")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(db_app, name="db")
audit_app = typer.Typer(help="Verify and export the audit trail.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
app.add_typer(links_app, name="links")

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
    if as_json:
        typer.echo(json.dumps(data, indent=2, default=str))
    else:
        typer.echo(text)


def tenant_dict(t: Tenant) -> dict[str, Any]:
    return {
        "id": str(t.id),
        "slug": t.slug,
        "display_name": t.display_name,
        "status": t.status.value,
        "is_msp": t.is_msp,
        "created_at": t.created_at.isoformat(),
    }


async def _tenant(db: Database, slug: str) -> Tenant:
    async with db.platform_reader() as session:
        tenant = await tenants_repo.by_slug(session, slug)
    if tenant is None:
        raise NotFound(f"no tenant with the slug '{slug}' (see `tenantry tenants list`)")
    return tenant


# ---------------------------------------------------------------- db


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the latest schema (and create the app's database role)."""
    from tenantry.db import migrate

    settings = get_settings()
    asyncio.run(migrate.upgrade(settings))
    typer.echo("database is up to date")


@db_app.command("status")
def db_status(as_json: JsonOpt = False) -> None:
    """Show the database's current migration revision."""
    from tenantry.db import migrate

    revision = asyncio.run(migrate.current_revision(get_settings()))
    emit({"revision": revision}, as_json, f"revision: {revision}")


# ---------------------------------------------------------------- tenants


@tenants_app.command("create")
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


@tenants_app.command("list")
def tenants_list(
    q: Annotated[str | None, typer.Option("--q", help="Search slug and display name.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List the instance's tenants."""

    async def work(db: Database, settings: Settings) -> list[Tenant]:
        async with db.platform_reader() as session:
            return list(await tenants_repo.all_tenants(session, query=q))

    rows = run(work)
    lines = [
        f"{t.slug:<32} {t.status.value:<10} {'MSP' if t.is_msp else '   '} {t.display_name}"
        for t in rows
    ]
    emit([tenant_dict(t) for t in rows], as_json, "\n".join(lines) or "no tenants yet")


@tenants_app.command("license")
def tenants_license(
    slug: str,
    msp: Annotated[str, typer.Option("--msp", help="on or off")],
    as_json: JsonOpt = False,
) -> None:
    """Grant or withdraw MSP licensing."""
    if msp not in ("on", "off"):
        raise fail("--msp: must be 'on' or 'off'")

    async def work(db: Database, settings: Settings) -> Tenant:
        tenant = await _tenant(db, slug)
        async with db.unit_of_work(operator_scope([tenant.id])) as session:
            tenant = await session.merge(tenant)
            return await TenancyService(session).set_msp_license(
                tenant, msp == "on", actor=OPERATOR
            )

    tenant = run(work)
    emit(tenant_dict(tenant), as_json, f"{tenant.slug}: MSP licensing {msp}")


@tenants_app.command("suspend")
def tenants_suspend(slug: str, as_json: JsonOpt = False) -> None:
    """Suspend a tenant: sign-ins and requests are refused; nothing is deleted."""
    _set_suspended(slug, True, as_json)


@tenants_app.command("resume")
def tenants_resume(slug: str, as_json: JsonOpt = False) -> None:
    """Resume a suspended tenant."""
    _set_suspended(slug, False, as_json)


def _set_suspended(slug: str, suspended: bool, as_json: bool) -> None:
    async def work(db: Database, settings: Settings) -> Tenant:
        tenant = await _tenant(db, slug)
        async with db.unit_of_work(operator_scope([tenant.id])) as session:
            tenant = await session.merge(tenant)
            await TenancyService(session).mark_suspended_by_operator(
                tenant, suspended, actor=OPERATOR
            )
            return tenant

    tenant = run(work)
    emit(tenant_dict(tenant), as_json, f"{tenant.slug}: {tenant.status.value}")


# ---------------------------------------------------------------- users


@users_app.command("create")
def users_create(
    tenant: Annotated[str, typer.Option("--tenant", help="Slug of the user's home tenant.")],
    email: Annotated[str, typer.Option("--email")],
    name: Annotated[str, typer.Option("--name", help="Display name.")],
    role: Annotated[str, typer.Option("--role", help="Built-in role at home.")] = "owner",
    password: Annotated[
        str | None,
        typer.Option("--password", help="Prompted for when omitted (or read from stdin)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a user in a tenant with a role at home (e.g. the tenant's first admin)."""
    if role not in BUILTIN_ROLES:
        raise fail(f"--role: unknown role '{role}'; one of {', '.join(BUILTIN_ROLES)}")
    if password is None:
        password = (
            typer.prompt("Password", hide_input=True, confirmation_prompt=True)
            if sys.stdin.isatty()
            else sys.stdin.readline().rstrip("\n")
        )

    async def work(db: Database, settings: Settings) -> dict[str, Any]:
        home = await _tenant(db, tenant)
        async with db.unit_of_work(operator_scope([home.id])) as session:
            user = await IdentityService(session, settings).create_user(
                home=home, email=email, display_name=name, password=password, actor=OPERATOR
            )
            await create_grant(
                session,
                issuer_tenant_id=home.id,
                user_id=user.id,
                role=role,
                scope=GrantScope.HOME,
                actor=OPERATOR,
            )
            return {
                "id": str(user.id),
                "email": user.email,
                "display_name": user.display_name,
                "tenant": home.slug,
                "role": role,
            }

    data = run(work)
    emit(data, as_json, f"created {data['email']} in {data['tenant']} as {role}")


# ---------------------------------------------------------------- tokens


@tokens_app.command("create")
def tokens_create(
    user: Annotated[str, typer.Option("--user", help="Email of the token's owner.")],
    name: Annotated[str, typer.Option("--name")] = "cli",
    days: Annotated[int | None, typer.Option("--days", help="Expires after N days.")] = 90,
    as_json: JsonOpt = False,
) -> None:
    """Print a new personal API token (shown once; only its hash is stored)."""

    async def work(db: Database, settings: Settings) -> dict[str, Any]:
        async with db.platform_reader() as session:
            account = await users_repo.user_by_email(session, user)
        if account is None:
            raise ValidationFailed("--user", f"no user with the email {user}")
        async with db.unit_of_work(operator_scope([account.home_tenant_id])) as session:
            account = await session.merge(account)
            secret, token = await IdentityService(session, settings).create_api_token(
                account, name=name, expires_in_days=days, actor=OPERATOR
            )
            expires: datetime | None = token.expires_at
            return {
                "token": secret,
                "id": str(token.id),
                "name": token.name,
                "expires_at": expires.isoformat() if expires else None,
            }

    data = run(work)
    emit(data, as_json, data["token"])


# ---------------------------------------------------------------- audit


@audit_app.command("verify")
def audit_verify(
    tenant: Annotated[
        str | None, typer.Option("--tenant", help="Only this tenant's chain.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Check the hash chains; name the first broken link. Exits 1 if any chain is broken."""

    async def work(db: Database, settings: Settings) -> list[audit.ChainReport]:
        if tenant:
            targets = [await _tenant(db, tenant)]
        else:
            async with db.platform_reader() as session:
                targets = list(await tenants_repo.all_tenants(session, limit=10**9))
        reports = []
        with typer.progressbar(
            targets, label="verifying", file=sys.stderr, hidden=as_json or len(targets) < 2
        ) as progress:
            for target in progress:
                async with db.unit_of_work(operator_scope([target.id])) as session:
                    reports.append(await audit.verify_chain(session, target.id))
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


@audit_app.command("export")
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

    async def work(db: Database, settings: Settings) -> None:
        target = await _tenant(db, tenant)
        out = output.open("w", newline="") if output else sys.stdout
        try:
            async with db.unit_of_work(operator_scope([target.id])) as session:
                f = audit_repo.EventFilter(tenant_ids=(target.id,))
                async for chunk in audit.export_lines(session, f, fmt):
                    out.write(chunk)
        finally:
            if output:
                out.close()

    run(work)
    if output:
        typer.echo(f"wrote {output}", err=True)


@audit_app.command("prune")
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

    async def work(db: Database, settings: Settings) -> list[dict[str, Any]]:
        if tenant:
            targets = [await _tenant(db, tenant)]
        else:
            async with db.platform_reader() as session:
                targets = list(await tenants_repo.all_tenants(session, limit=10**9))
        clock = at or datetime.now(UTC)
        done: list[dict[str, Any]] = []
        with typer.progressbar(
            targets, label="pruning", file=sys.stderr, hidden=as_json or len(targets) < 2
        ) as progress:
            for target in progress:
                cutoff = audit.retention_cutoff(target, clock)
                if cutoff is None:
                    continue
                # One transaction per tenant: a refusal (a chain that does not verify)
                # stops that tenant only, and locks are held briefly.
                row: dict[str, Any] = {"tenant": target.slug, "pruned_before": cutoff.isoformat()}
                try:
                    async with db.unit_of_work(operator_scope([target.id])) as session:
                        result = await audit.prune(session, target.id, cutoff, now=clock)
                except TenantryError as exc:
                    row["error"] = exc.detail
                    result = None
                row["events_pruned"] = result.events_pruned if result else 0
                row["pruned_through_seq"] = result.pruned_through_seq if result else None
                done.append(row)
        return done

    done = run(work)
    lines = [
        f"{d['tenant']}: REFUSED: {d['error']}"
        if "error" in d
        else f"{d['tenant']}: {d['events_pruned']} events before {d['pruned_before']} pruned"
        for d in done
    ]
    emit(done, as_json, "\n".join(lines) or "no tenant has a retention period set")
    if any("error" in d for d in done):
        raise typer.Exit(1)


# ---------------------------------------------------------------- serve


@app.command()
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
        proxy_headers=settings.trust_proxy_headers,
    )


# `tenantry roles …` and `tenantry grants …` (cli/access.py uses the helpers above).
from tenantry.cli.access import app as access_app  # noqa: E402

app.add_typer(access_app)


def main() -> None:  # pragma: no cover - console entry point
    app()
