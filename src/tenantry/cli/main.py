"""The ``tenantry`` command: run the server and operate the instance.

Wiring only: each command group lives in a file of its own (``tenants``, ``users`` and
``tokens``, ``db``, ``audit``, ``links``, ``access`` for roles and grants, ``serve``),
and what they share in ``common``."""

from __future__ import annotations

import typer

from tenantry.cli import access, audit, dashboard, db, links, operator, plans, serve, tenants, users

app = typer.Typer(
    help="Tenantry: one place for an MSP to run all of its client organisations.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(tenants.app, name="tenants")
app.add_typer(users.users_app, name="users")
app.add_typer(users.tokens_app, name="tokens")
app.add_typer(db.app, name="db")
app.add_typer(audit.app, name="audit")
app.add_typer(links.app, name="links")
app.add_typer(dashboard.app, name="dashboard")
app.add_typer(plans.app, name="plans")
app.add_typer(operator.app, name="operator")
app.command()(serve.serve)
# `tenantry roles …` and `tenantry grants …`.
app.add_typer(access.app)


def main() -> None:  # pragma: no cover - console entry point
    app()
