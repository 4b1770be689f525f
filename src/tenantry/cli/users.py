"""``tenantry users`` and ``tenantry tokens``: a tenant's first admin, personal API
tokens."""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from typing import Annotated

import typer

from tenantry.access.models import GrantScope
from tenantry.access.permissions import BUILTIN_ROLES
from tenantry.access.service import create_grant, operator_scope
from tenantry.audit.schemas import OPERATOR
from tenantry.cli.common import JsonOpt, emit, fail, run, tenant_named
from tenantry.config import Settings
from tenantry.db.engine import Database
from tenantry.errors import ValidationFailed
from tenantry.identity import service as identity
from tenantry.identity.service import IdentityService

users_app = typer.Typer(
    help="Create users (e.g. the first admin of a tenant).", no_args_is_help=True
)
tokens_app = typer.Typer(help="Create personal API tokens.", no_args_is_help=True)


@dataclass(frozen=True, slots=True)
class CreatedUser:
    id: str
    email: str
    display_name: str
    tenant: str
    role: str


@dataclass(frozen=True, slots=True)
class NewToken:
    token: str
    id: str
    name: str
    expires_at: str | None


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

    async def work(db: Database, settings: Settings) -> CreatedUser:
        home = await tenant_named(db, tenant)
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
            return CreatedUser(str(user.id), user.email, user.display_name, home.slug, role)

    created = run(work)
    emit(asdict(created), as_json, f"created {created.email} in {created.tenant} as {role}")


@tokens_app.command("create")
def tokens_create(
    user: Annotated[str, typer.Option("--user", help="Email of the token's owner.")],
    name: Annotated[str, typer.Option("--name")] = "cli",
    days: Annotated[int | None, typer.Option("--days", help="Expires after N days.")] = 90,
    as_json: JsonOpt = False,
) -> None:
    """Print a new personal API token (shown once; only its hash is stored)."""

    async def work(db: Database, settings: Settings) -> NewToken:
        async with db.platform_reader() as session:
            account = await identity.user_by_email(session, user)
        if account is None:
            raise ValidationFailed("--user", f"no user with the email {user}")
        async with db.unit_of_work(operator_scope([account.home_tenant_id])) as session:
            account = await session.merge(account)
            secret, token = await IdentityService(session, settings).create_api_token(
                account, name=name, expires_in_days=days, actor=OPERATOR
            )
            expires = token.expires_at.isoformat() if token.expires_at else None
            return NewToken(secret, str(token.id), token.name, expires)

    created = run(work)
    emit(asdict(created), as_json, created.token)
