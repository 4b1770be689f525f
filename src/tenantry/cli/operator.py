"""``tenantry operator tokens``: the operator's bearer tokens for ``/api/v1/operator``
(create prints the secret once; list; revoke)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tenantry.cli.common import JsonOpt, emit, run
from tenantry.config import Settings
from tenantry.db.engine import Database
from tenantry.db.scope import NO_SCOPE
from tenantry.operator.models import OperatorToken
from tenantry.operator.service import OperatorTokenService

app = typer.Typer(help="The instance operator's API credentials.", no_args_is_help=True)
tokens_app = typer.Typer(
    help="Operator tokens for /api/v1/operator: create, list, revoke.", no_args_is_help=True
)
app.add_typer(tokens_app, name="tokens")


def token_dict(t: OperatorToken) -> dict[str, Any]:
    return {
        "id": str(t.id),
        "name": t.name,
        "prefix": t.prefix,
        "created_at": t.created_at.isoformat(),
        "expires_at": t.expires_at.isoformat() if t.expires_at else None,
        "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None,
    }


@tokens_app.command("create")
def tokens_create(
    name: str,
    days: Annotated[int | None, typer.Option(help="Expires after N days (1-366).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an operator token; its secret is printed once and stored hashed."""

    async def work(db: Database, settings: Settings) -> tuple[str, OperatorToken]:
        async with db.unit_of_work(NO_SCOPE) as session:
            return await OperatorTokenService(session).create(name, days=days)

    secret, token = run(work)
    emit(
        token_dict(token) | {"secret": secret},
        as_json,
        f"created operator token {token.name} ({token.id}); the secret, shown once:\n{secret}",
    )


@tokens_app.command("list")
def tokens_list(as_json: JsonOpt = False) -> None:
    """List the operator tokens (never their secrets)."""

    async def work(db: Database, settings: Settings) -> list[OperatorToken]:
        async with db.platform_reader() as session:
            return list(await OperatorTokenService(session).list())

    rows = run(work)
    lines = [
        f"{t.id}  {t.prefix}…  {t.name}"
        + (f"  revoked {t.revoked_at:%Y-%m-%d}" if t.revoked_at else "")
        + (f"  expires {t.expires_at:%Y-%m-%d}" if t.expires_at and not t.revoked_at else "")
        for t in rows
    ]
    emit([token_dict(t) for t in rows], as_json, "\n".join(lines) or "no operator tokens")


@tokens_app.command("revoke")
def tokens_revoke(token_id: str, as_json: JsonOpt = False) -> None:
    """Revoke an operator token: its next request is refused (401)."""

    async def work(db: Database, settings: Settings) -> OperatorToken:
        async with db.unit_of_work(NO_SCOPE) as session:
            return await OperatorTokenService(session).revoke(token_id)

    token = run(work)
    emit(token_dict(token), as_json, f"revoked operator token {token.name} ({token.id})")
