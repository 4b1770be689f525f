"""Every `tenantry` command that changes something writes exactly its audit events, as
the instance operator (DESIGN.md, "Audit trail"). ``CASES`` lists every command; one
that changes nothing says why (``quiet=``), and a command missing from it fails
``test_every_command_has_an_entry``."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import typer
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.audit.models import AuditEvent
from tenantry.audit.schemas import OPERATOR
from tenantry.audit.schemas import AuditAction as A
from tenantry.billing.models import PlanRequest
from tenantry.cli.main import app
from tenantry.db.base import utcnow
from tenantry.db.engine import Database
from tenantry.tenancy.models import Tenant, TenantLink
from tests.factories import make_tenant, make_user
from tests.harness.cli import Cli

ALEX = "alex@northwind.example"


@dataclass
class Env:
    cli: Cli
    owner_engine: AsyncEngine

    async def run(self, *args: str) -> str:
        result = await self.cli.run(*args)
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
        return result.stdout


Prepare = Callable[[Env], Awaitable[tuple[str, ...]]]


@dataclass(frozen=True)
class CliCase:
    """``prepare`` may run other commands first and returns the measured command's
    arguments; ``expected`` are the (trail slug, event) pairs it adds."""

    prepare: Prepare | None = None
    expected: tuple[tuple[str, A], ...] = ()
    quiet: str | None = None


def _args(*args: str) -> Prepare:
    async def prepare(env: Env) -> tuple[str, ...]:
        return args

    return prepare


def _after(first: tuple[str, ...], then: Callable[[str], tuple[str, ...]]) -> Prepare:
    """Run ``first`` (with --json), then the command ``then`` makes of its output."""

    async def prepare(env: Env) -> tuple[str, ...]:
        return then(await env.run(*first, "--json"))

    return prepare


async def _prune(env: Env) -> tuple[str, ...]:
    async with env.owner_engine.begin() as conn:
        await conn.execute(
            update(Tenant).where(Tenant.slug == "initech").values(audit_retention_days=30)
        )
    return ("audit", "prune", "--tenant", "initech", "--now", "2100-01-01T00:00:00Z")


async def _sweep(env: Env) -> tuple[str, ...]:
    out = await env.run(
        "links", "flag", "--msp", "northwind", "--customer", "initech", "--days", "1", "--json"
    )
    # As if Initech had approved a day and more ago.
    async with env.owner_engine.begin() as conn:
        await conn.execute(
            update(TenantLink)
            .where(TenantLink.id == uuid.UUID(json.loads(out)["id"]))
            .values(
                state="active",
                ceiling=["tenant:read"],
                activated_at=utcnow() - timedelta(days=2),
                expires_at=utcnow() - timedelta(days=1),
            )
        )
    return ("links", "sweep")


async def _subscribed(env: Env) -> None:
    """Northwind on a plan "Small" (its own events happen before the measured command)."""
    await env.run("plans", "create", "Small", "--clients", "5")
    await env.run("tenants", "license", "northwind", "--plan", "Small")


def _asked(command: str) -> Prepare:
    """Northwind on Small has asked for 8 seats; the operator then ``command``s it."""

    async def prepare(env: Env) -> tuple[str, ...]:
        await _subscribed(env)
        async with env.owner_engine.begin() as conn:
            msp = await conn.scalar(select(Tenant.id).where(Tenant.slug == "northwind"))
            await conn.execute(
                insert(PlanRequest).values(
                    id=uuid.uuid4(),
                    msp_tenant_id=msp,
                    seats=8,
                    note="",
                    status="pending",
                    requested_by_name="Olive Owner",
                    created_at=utcnow(),
                    decision_note="",
                )
            )
            found = await conn.scalar(select(PlanRequest.id))
        return ("plans", "requests", command, str(found))

    return prepare


async def _plan_update(env: Env) -> tuple[str, ...]:
    await _subscribed(env)
    return ("plans", "update", "Small", "--clients", "6")


READS = "reads only"
BOTH = ("northwind", "initech")
ROLE = ("roles", "create", "--tenant", "northwind", "--name", "Nights", "-p", "tickets:read")
GRANT = ("grants", "create", "--tenant", "northwind", "--user", ALEX, "--role", "billing")

CASES: dict[str, CliCase] = {
    "tenants create": CliCase(
        _args("tenants", "create", "Tailspin"), (("tailspin", A.TENANT_CREATED),)
    ),
    "tenants list": CliCase(quiet=READS),
    "tenants license": CliCase(
        _args("tenants", "license", "initech", "--msp", "on"),
        (("initech", A.TENANT_LICENSE_CHANGED),),
    ),
    "tenants suspend": CliCase(
        _args("tenants", "suspend", "initech"), (("initech", A.TENANT_SUSPENDED),)
    ),
    "tenants resume": CliCase(
        _after(("tenants", "suspend", "initech"), lambda _: ("tenants", "resume", "initech")),
        (("initech", A.TENANT_RESUMED),),
    ),
    "users create": CliCase(
        _args(
            "users",
            "create",
            "--tenant",
            "initech",
            "--email",
            "ivy@initech.example",
            "--name",
            "Ivy",
            "--password",
            "a long enough password",
        ),
        (("initech", A.USER_CREATED), ("initech", A.GRANT_CREATED)),
    ),
    "tokens create": CliCase(
        _args("tokens", "create", "--user", ALEX), (("northwind", A.TOKEN_CREATED),)
    ),
    "db upgrade": CliCase(quiet="schema migrations: no tenant's data changes"),
    "db status": CliCase(quiet=READS),
    "audit verify": CliCase(quiet=READS),
    "audit export": CliCase(quiet=READS),
    "audit prune": CliCase(_prune, (("initech", A.AUDIT_PRUNED),)),
    "links flag": CliCase(
        _args("links", "flag", "--msp", "northwind", "--customer", "initech"),
        tuple((slug, A.LINK_FLAGGED) for slug in BOTH),
    ),
    "links list": CliCase(quiet=READS),
    "links sweep": CliCase(_sweep, tuple((slug, A.LINK_EXPIRED) for slug in BOTH)),
    "roles list": CliCase(quiet=READS),
    "roles create": CliCase(_args(*ROLE), (("northwind", A.ROLE_CREATED),)),
    "roles delete": CliCase(
        _after(ROLE, lambda _: ("roles", "delete", "--tenant", "northwind", "Nights")),
        (("northwind", A.ROLE_DELETED),),
    ),
    "grants list": CliCase(quiet=READS),
    "grants create": CliCase(_args(*GRANT), (("northwind", A.GRANT_CREATED),)),
    "grants revoke": CliCase(
        _after(
            GRANT,
            lambda out: ("grants", "revoke", "--tenant", "northwind", json.loads(out)["id"]),
        ),
        (("northwind", A.GRANT_REVOKED),),
    ),
    # An operator token is the operator's, no tenant's: no tenant trail to write to. The
    # row keeps its created_at and revoked_at, and every change made with the token
    # names it as the actor (tests/audit/test_completeness.py, the operator routes).
    "operator tokens create": CliCase(quiet="an operator credential, no tenant's data"),
    "operator tokens list": CliCase(quiet=READS),
    "operator tokens revoke": CliCase(quiet="an operator credential, no tenant's data"),
    "plans list": CliCase(quiet=READS),
    "plans show": CliCase(quiet=READS),
    "plans requests list": CliCase(quiet=READS),
    # A plan nobody is on belongs to no tenant: no trail to write to (an update is in the
    # trail of every MSP on the plan).
    "plans create": CliCase(quiet="a new plan is nobody's yet: no tenant's trail"),
    "plans update": CliCase(_plan_update, (("northwind", A.PLAN_UPDATED),)),
    "plans requests approve": CliCase(
        _asked("approve"),
        (("northwind", A.SUBSCRIPTION_CHANGED), ("northwind", A.SUBSCRIPTION_REQUEST_DECIDED)),
    ),
    "plans requests decline": CliCase(
        _asked("decline"), (("northwind", A.SUBSCRIPTION_REQUEST_DECIDED),)
    ),
    # Kept rows derived from the audit trail, tickets and scores: rebuilding them records
    # nothing new about any tenant.
    "dashboard rebuild": CliCase(quiet="recomputes derived rows from their sources"),
    "serve": CliCase(
        quiet="runs the app: the requests it serves are audited (tests/audit/test_completeness.py)"
    ),
}


def _commands(group: Any, prefix: str = "") -> Iterator[str]:
    for name, command in group.commands.items():
        if hasattr(command, "commands"):  # a group (Typer's own click or click's)
            yield from _commands(command, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}"


def test_every_command_has_an_entry() -> None:
    commands = set(_commands(typer.main.get_command(app)))
    assert not commands - CASES.keys(), "commands without an entry in CASES: " + ", ".join(
        sorted(commands - CASES.keys())
    )
    assert not CASES.keys() - commands, "CASES names commands that no longer exist"
    for name, case in CASES.items():
        assert (case.prepare is not None and case.expected) or case.quiet, name


@pytest.fixture
def env(cli: Cli, database: Database, owner_engine: AsyncEngine) -> Env:
    return Env(cli, owner_engine)


async def _events(engine: AsyncEngine) -> list[tuple[uuid.UUID, int, AuditEvent]]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(AuditEvent.__table__))).mappings().all()
    return [(r["tenant_id"], r["seq"], AuditEvent(**dict(r))) for r in rows]


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if c.prepare is not None))
async def test_each_changing_command_writes_its_events(
    env: Env, database: Database, name: str
) -> None:
    northwind = await make_tenant(database, "northwind", is_msp=True, display_name="Northwind IT")
    await make_user(database, northwind, ALEX, role="admin", display_name="Alex Admin")
    await make_tenant(database, "initech", display_name="Initech")
    case = CASES[name]
    assert case.prepare is not None
    args = await case.prepare(env)
    before = {(t, s) for t, s, _ in await _events(env.owner_engine)}
    await env.run(*args)
    added = [e for t, s, e in await _events(env.owner_engine) if (t, s) not in before]
    async with env.owner_engine.connect() as conn:
        slugs = {r[0]: r[1] for r in await conn.execute(select(Tenant.id, Tenant.slug))}
    assert Counter((slugs[e.tenant_id], e.action) for e in added) == Counter(
        (slug, action.value) for slug, action in case.expected
    )
    for event in added:
        # The operator acts as nobody's user, from no tenant and no request.
        assert (event.actor_user_id, event.actor_name) == (None, OPERATOR.name)
        assert event.actor_home_tenant_id is None and event.request_id is None
        assert event.target_type and event.target_id, f"{event.action} names no target"
