"""The benchmark: one command that builds (or reuses) a synthetic dataset on PostgreSQL,
starts the real server and prints what the app costs, side by side from the same run.

Usage:
    uv run python bench/run.py [--quick] [--workers N] [--json out.json] [--compare old.json]
                               [--duration S] [--connections N] [--url URL] [--rebuild]
                               [--only compliance|dashboard]

``--only compliance`` builds or reuses the dataset, seeds the compliance programmes if
missing, and measures the compliance overview scenarios alone (nothing else is loaded).
``--only dashboard`` does the same for the MSP dashboard (issue #17), after filling its
kept rows once (``dashboard_seed.py``).

Dataset (built once per size, cached in its own database on ``--url``:
``tenantry_bench_run`` for the full size, ``tenantry_bench_run_quick`` for ``--quick``;
``--rebuild`` drops and rebuilds it):

* "Bench Big MSP" with 10,000 customers (``--quick``: 200), an admin (Owner at home), 50
  technicians (``--quick``: 10) each delegated as Technician to 20 customers, and one
  customer admin (Admin at home in the first customer);
* "Bench Small MSP" with 10 customers and an admin: the same read at 10 customers
  vs 10,000 is a request to each MSP's clients;
* 100 tickets per customer of both MSPs (1,000,000 at full size, 20,000 quick).

How it is built, keeping every rule: tenants, customers (with their active links),
users, home grants and delegations go through the project's own services
(``TenancyService``, ``IdentityService``, ``create_grant``) in units of work as the app
role under row-level security, so every one of them writes its audit events through
``audit.service.record``. Tickets and their per-tenant counters are bulk-inserted with
SQL as the table owner (the way an import would land them): no audit events are
written for them, so every audit chain stays exactly as the services left it and
``tenantry audit verify`` passes on the generated data (the run checks a sample of
chains). The tickets carry the columns the service would set (numbers from 1001 with
the counter after the last one, statuses and priorities spread evenly).

Then the real server is started (``uvicorn tenantry.asgi:app --loop uvloop --http
httptools --no-access-log --workers N``, log level WARNING) and loaded from a separate
process: ``wrk`` when ``which wrk`` finds one (``apt-get install wrk``; nothing is
installed at run time), else a small httpx + asyncio load generator (slower: its own
ceiling shows in the figures, which say which tool made them). Measured:

* an authenticated tenant-scoped read (a client's ticket list, 50 per page, random
  client of the big MSP, as its admin) vs ``/healthz`` on the same server (ratio);
* the same read at the small MSP (10 customers) vs the big one (ratio);
* a write: create a ticket (with its audit event and ticket history);
* the switcher search (``GET /api/v1/me/tenants?q=``) as the big MSP's admin;
* the MSP-wide open-ticket view (``GET /api/v1/tenants/{msp}/msp-tickets``), as the
  admin (every customer) and as a delegated technician (20 customers), and the open and
  breached counts per client (``…/msp-tickets/counts``) as the admin;
* one authorization decision in-process (``AccessService.context_in``, warm), in µs;
* the MSP's compliance overview across clients (``GET /api/v1/msp/compliance/overview``)
  as the admin (every customer: target p50 ≤ 250 ms at 16 connections), with filters, and
  as a delegated technician, over programmes seeded once by ``compliance_seed.py``;
* the MSP dashboard (``GET /api/v1/msp/dashboard``, issue #17) as the admin (10,000
  clients: target p50 ≤ 250 ms at 16 connections), with sorts, search and a group, and as
  a delegated technician, from the kept rows filled once by ``dashboard_seed.py``;
* deleting a customer that owns 100,000 tickets (``--quick``: 20,000), via the API;
* peak memory (VmHWM) of every server worker after the load.

Figures from one run are comparable with each other (ratios); ``--json`` writes them
and ``--compare old.json`` prints them next to an earlier run's. The load tool and the
server share the machine's cores, so absolute figures depend on the machine and on
whatever else it runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from compliance_seed import seed_compliance  # bench/ is on sys.path when run as a script
from dashboard_seed import seed_dashboard
from sqlalchemy import select
from sqlalchemy.engine import make_url

from tenantry.access import repository as access_repo
from tenantry.access.decision import by_permission, customer_sources, live
from tenantry.access.decisions import versions_of
from tenantry.access.models import GrantScope
from tenantry.access.service import KEPT, AccessService, create_grant, operator_scope
from tenantry.audit import service as audit
from tenantry.audit.schemas import OPERATOR
from tenantry.config import Settings
from tenantry.db import migrate
from tenantry.db.base import utcnow
from tenantry.db.engine import Database
from tenantry.identity.models import User
from tenantry.identity.service import IdentityService, principal_of
from tenantry.tenancy import service as tenancy
from tenantry.tenancy.models import Tenant
from tenantry.tenancy.service import TenancyService

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
BENCH_SECRET = "bench-secret-key-not-for-production-0123456789abcdef"
PASSWORD = "bench password never used to sign in 123"
TICKETS_PER_CUSTOMER = 100
DELEGATIONS_PER_TECH = 20
SMALL_CUSTOMERS = 10
DATASET_VERSION = 1
PROBE_TIMEOUT = 60.0
READY_TIMEOUT = 240.0


@dataclass(frozen=True)
class Size:
    name: str
    customers: int
    technicians: int
    delete_rows: int
    duration: float
    # ``--database``: another database than the size's own (a branch with a migration
    # the shared dataset must not be upgraded to).
    named: str | None = None

    @property
    def database(self) -> str:
        if self.named:
            return self.named
        return "tenantry_bench_run" if self.name == "full" else f"tenantry_bench_run_{self.name}"


FULL = Size("full", customers=10_000, technicians=50, delete_rows=100_000, duration=15)
QUICK = Size("quick", customers=200, technicians=10, delete_rows=20_000, duration=5)


def dsn(url: str, *, database: str | None = None) -> str:
    parsed = make_url(url.replace("postgres://", "postgresql://", 1)).set(drivername="postgresql")
    if database:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- dataset


async def ensure_database(url: str, name: str, rebuild: bool) -> None:
    conn = await asyncpg.connect(dsn(url))
    try:
        if rebuild:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def stored_meta(owner: asyncpg.Connection) -> dict[str, Any] | None:
    # A schema of its own: the app role has no privilege on it, the app never sees it.
    await owner.execute("CREATE SCHEMA IF NOT EXISTS bench")
    await owner.execute(
        "CREATE TABLE IF NOT EXISTS bench.dataset (key text PRIMARY KEY, value jsonb NOT NULL)"
    )
    raw = await owner.fetchval("SELECT value FROM bench.dataset WHERE key = 'meta'")
    return json.loads(raw) if raw else None


async def make_msp(db: Database, settings: Settings, slug: str, name: str) -> tuple[Tenant, User]:
    async with db.unit_of_work(operator_scope([])) as session:
        # Its people act in clients with tokens and no second factor: the benchmark
        # measures what a request costs, not the enrolment (as the demo MSP does).
        msp = await TenancyService(session).create_tenant(
            name=name,
            display_name=name,
            is_msp=True,
            actor=OPERATOR,
            slug=slug,
            require_mfa_for_clients=False,
        )
        admin = await IdentityService(session, settings).create_user(
            home=msp,
            email=f"admin@{slug}.example",
            display_name=f"{name} Admin",
            password=PASSWORD,
            actor=OPERATOR,
        )
        await create_grant(
            session,
            issuer_tenant_id=msp.id,
            user_id=admin.id,
            role="owner",
            scope=GrantScope.HOME,
            actor=OPERATOR,
        )
    return msp, admin


async def make_customers(
    db: Database, msp: Tenant, admin: User, prefix: str, count: int, batch: int = 50
) -> list[Tenant]:
    """Customers through TenancyService.create_customer, as the MSP's admin decided."""
    async with db.platform_reader() as session:
        ctx = await AccessService(session).context_in(
            principal_of(admin, msp, auth_method="cli"), msp
        )
    made: list[Tenant] = []
    started = time.perf_counter()
    for first in range(0, count, batch):
        async with db.unit_of_work(operator_scope([msp.id])) as session:
            service = TenancyService(session)
            for n in range(first, min(count, first + batch)):
                name = f"{prefix} Customer {n:05d}"
                made.append(
                    await service.create_customer(ctx, name=name, display_name=name, actor=OPERATOR)
                )
        if len(made) % 1000 == 0 or len(made) == count:
            rate = len(made) / (time.perf_counter() - started)
            say(f"  {prefix}: {len(made):,}/{count:,} customers ({rate:,.0f}/s)")
    return made


async def make_user(
    db: Database,
    settings: Settings,
    home: Tenant,
    email: str,
    role: str,
    delegations: list[Tenant] = (),  # type: ignore[assignment]
    delegated_role: str = "technician",
) -> User:
    scope = operator_scope([home.id, *(c.id for c in delegations)])
    async with db.unit_of_work(scope) as session:
        user = await IdentityService(session, settings).create_user(
            home=home,
            email=email,
            display_name=email.split("@")[0].replace(".", " ").title(),
            password=PASSWORD,
            actor=OPERATOR,
        )
        await create_grant(
            session,
            issuer_tenant_id=home.id,
            user_id=user.id,
            role=role,
            scope=GrantScope.HOME,
            actor=OPERATOR,
        )
        for customer in delegations:
            await create_grant(
                session,
                issuer_tenant_id=home.id,
                user_id=user.id,
                role=delegated_role,
                scope=GrantScope.CUSTOMER,
                customer_tenant_id=customer.id,
                actor=OPERATOR,
            )
    return user


TICKET_INSERT = """
INSERT INTO tickets (tenant_id, id, created_at, number, title, description, status, priority,
    category, tags, updated_at, sla_consumed_seconds, sla_running_since,
    first_response_breached, resolution_breached)
SELECT c.id, gen_random_uuid(), now() - g * interval '17 minutes', 1000 + g,
    'Synthetic ticket ' || g || ' for ' || c.slug, 'Generated by bench/run.py',
    (ARRAY['new', 'open', 'waiting_on_customer', 'on_hold', 'resolved', 'closed'])[1 + g % 6],
    (ARRAY['P1', 'P2', 'P3', 'P4'])[1 + g % 4], 'synthetic', '[]'::json,
    now() - g * interval '17 minutes', 0, NULL, false, false
FROM (SELECT unnest($1::uuid[]) AS id, unnest($2::text[]) AS slug) c,
     generate_series(1, $3::int) g
"""
COUNTER_INSERT = """
INSERT INTO ticket_counters (tenant_id, id, created_at, next_number)
SELECT unnest($1::uuid[]), gen_random_uuid(), now(), 1001 + $2::int
ON CONFLICT (tenant_id) DO UPDATE SET next_number = EXCLUDED.next_number
"""


# The per-client open counts the app keeps as tickets change (psa/tickets/open_counts/),
# made for the bulk-inserted tickets as migration 0015 makes them for existing ones.
OPEN_COUNTS_INSERT = """
INSERT INTO ticket_open_counts (tenant_id, id, created_at, assignee_user_id, open, breached)
SELECT tenant_id, gen_random_uuid(), now(), assignee_user_id, count(*),
    count(*) FILTER (WHERE first_response_breached OR resolution_breached)
FROM tickets
WHERE tenant_id = ANY($1::uuid[]) AND status IN ('new', 'open', 'waiting_on_customer', 'on_hold')
GROUP BY tenant_id, assignee_user_id
"""


async def bulk_tickets(owner: asyncpg.Connection, tenants: list[Tenant], per: int) -> int:
    """Tickets as the owner, in chunks of customers; no audit events (an import)."""
    chunk = max(1, 200_000 // per)
    done = 0
    for first in range(0, len(tenants), chunk):
        part = tenants[first : first + chunk]
        async with owner.transaction():
            await owner.execute(TICKET_INSERT, [t.id for t in part], [t.slug for t in part], per)
            await owner.execute(COUNTER_INSERT, [t.id for t in part], per)
            await owner.execute(OPEN_COUNTS_INSERT, [t.id for t in part])
        done += len(part) * per
        if len(tenants) > 1:
            say(f"  tickets: {done:,}/{len(tenants) * per:,}")
    return done


async def build(url: str, size: Size, rebuild: bool) -> dict[str, Any]:
    await ensure_database(url, size.database, rebuild)
    settings = bench_settings(url, size)
    owner = await asyncpg.connect(settings.database_url)
    try:
        meta = await stored_meta(owner)
        if meta and meta.get("version") == DATASET_VERSION:
            say(f"reusing dataset in database {size.database} (built {meta['built_at']})")
            await migrate.upgrade(settings)
            return meta
        if meta or await owner.fetchval("SELECT to_regclass('public.tenants') IS NOT NULL"):
            raise SystemExit(
                f"database {size.database} holds an unfinished or older dataset: "
                "run again with --rebuild"
            )
        say(f"building the {size.name} dataset in database {size.database} ...")
        started = time.perf_counter()
        await migrate.upgrade(settings)
        db = Database(settings)
        try:
            big, big_admin = await make_msp(db, settings, "bench-big", "Bench Big MSP")
            small, small_admin = await make_msp(db, settings, "bench-small", "Bench Small MSP")
            big_customers = await make_customers(db, big, big_admin, "Big", size.customers)
            small_customers = await make_customers(db, small, small_admin, "Small", SMALL_CUSTOMERS)
            rng = random.Random(7)
            techs = []
            for n in range(size.technicians):
                delegated = rng.sample(big_customers, min(DELEGATIONS_PER_TECH, len(big_customers)))
                tech = await make_user(
                    db, settings, big, f"tech{n:03d}@bench-big.example", "technician", delegated
                )
                techs.append((tech, delegated))
            say(f"  {size.technicians} technicians with {DELEGATIONS_PER_TECH} delegations each")
            customer_admin = await make_user(
                db, settings, big_customers[0], "admin@customer0.example", "admin"
            )
            tickets = await bulk_tickets(
                owner, big_customers + small_customers, TICKETS_PER_CUSTOMER
            )
        finally:
            await db.dispose()
        say("  VACUUM ANALYZE ...")
        await owner.execute("VACUUM ANALYZE")
        tech, tech_customers = techs[0]
        meta = {
            "version": DATASET_VERSION,
            "size": size.name,
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "build_seconds": round(time.perf_counter() - started, 1),
            "customers_big": size.customers,
            "customers_small": SMALL_CUSTOMERS,
            "technicians": size.technicians,
            "tickets": tickets,
            "big": {"id": str(big.id), "slug": big.slug, "admin": big_admin.email},
            "small": {"id": str(small.id), "slug": small.slug, "admin": small_admin.email},
            "big_customers": [c.slug for c in big_customers[:500]],
            "small_customers": [c.slug for c in small_customers],
            "technician": {"email": tech.email, "customers": [c.slug for c in tech_customers]},
            "customer_admin": {"email": customer_admin.email, "tenant": big_customers[0].slug},
            "how": "services for tenants/links/users/grants (audited); tickets bulk SQL as owner",
        }
        await owner.execute(
            "INSERT INTO bench.dataset VALUES ('meta', $1::jsonb)", json.dumps(meta)
        )
        say(f"built in {meta['build_seconds']} s")
        return meta
    finally:
        await owner.close()


def bench_settings(url: str, size: Size) -> Settings:
    return Settings(
        database_url=dsn(url, database=size.database),
        secret_key=BENCH_SECRET,
        log_level="WARNING",
    )


async def tokens_for(settings: Settings, emails: dict[str, str]) -> dict[str, str]:
    """A fresh one-day API token per role name (through IdentityService, audited)."""
    db = Database(settings)
    out: dict[str, str] = {}
    try:
        for role, email in emails.items():
            async with db.platform_reader() as session:
                user = await session.scalar(select(User).where(User.email == email))
            assert user is not None, email
            async with db.unit_of_work(operator_scope([user.home_tenant_id])) as session:
                account = await session.merge(user)
                secret, _ = await IdentityService(session, settings).create_api_token(
                    account, name="bench", expires_in_days=1, actor=OPERATOR
                )
            out[role] = secret
    finally:
        await db.dispose()
    return out


async def verify_sample(settings: Settings, slugs: list[str]) -> tuple[int, int]:
    """``tenantry audit verify`` on a sample of chains (the whole run is the CLI's job)."""
    db = Database(settings)
    ok = 0
    try:
        for slug in slugs:
            async with db.platform_reader() as session:
                tenant = await tenancy.tenant_by_slug(session, slug)
            assert tenant is not None
            async with db.unit_of_work(operator_scope([tenant.id])) as session:
                report = await audit.verify_chain(session, tenant.id)
            ok += int(report.ok)
    finally:
        await db.dispose()
    return ok, len(slugs)


# ---------------------------------------------------------------- in-process decision


async def decision_timing(settings: Settings, meta: dict[str, Any], n: int) -> dict[str, Any]:
    """One decision in-process, warm: a delegated technician in one of its customers.

    * kept: what a request pays when nothing changed, once it has read its tenant with
      the access versions (the kept decision looked up and the context built; no read);
    * with its read: ``AccessService.context_for`` whole (the one statement that reads
      the tenant and both versions, then the kept decision);
    * afresh: ``context_in`` deciding from the facts (its reads of grants and link);
    * the rules alone, on grants and link already read."""
    db = Database(settings)
    try:
        async with db.platform_reader() as session:
            user = await session.scalar(
                select(User).where(User.email == meta["technician"]["email"])
            )
            assert user is not None
            home = await tenancy.tenant_by_slug(session, meta["big"]["slug"])
            customer = await tenancy.tenant_by_slug(session, meta["technician"]["customers"][0])
            assert home is not None and customer is not None
            principal = principal_of(user, home, auth_method="token")
            access = AccessService(session)

            async def timed(call: Any) -> list[float]:
                for _ in range(50):
                    await call()
                samples = []
                for _ in range(n):
                    started = time.perf_counter_ns()
                    await call()
                    samples.append((time.perf_counter_ns() - started) / 1000)
                return samples

            found = await access_repo.with_versions(
                session, tenancy.tenant_matching(customer.slug), home.id
            )
            assert found is not None
            versions = versions_of(found[2], found[1])
            await access.context_for(principal, customer.slug)  # made and kept

            async def kept() -> None:
                decision = KEPT.get((user.id, customer.id), versions, utcnow())
                assert decision is not None, "the decision was not kept"
                await access.context_in(principal, customer, decision=decision)

            kept_samples = await timed(kept)
            with_read = await timed(lambda: access.context_for(principal, customer.slug))
            afresh = await timed(lambda: access.context_in(principal, customer))
            grants = live(await access_repo.live_grants_of_user(session, user.id), utcnow())
            book = await access.role_book(grants)
            link = await tenancy.active_link(session, home.id, customer.id)
            assert link is not None
            rules = []
            for _ in range(n):
                started = time.perf_counter_ns()
                sources = customer_sources(grants, customer.id, True, frozenset(), book)
                by_permission(sources, frozenset(link.ceiling), book)
                rules.append((time.perf_counter_ns() - started) / 1000)
    finally:
        await db.dispose()
    return {
        "n": n,
        "p50_us": statistics.median(kept_samples),
        "p99_us": pct(kept_samples, 99),
        "with_read_p50_us": statistics.median(with_read),
        "afresh_p50_us": statistics.median(afresh),
        "rules_p50_us": statistics.median(rules),
        "rules_p99_us": pct(rules, 99),
    }


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# ---------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(settings: Settings, workers: int, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TENANTRY_DATABASE_URL": settings.database_url,
        "TENANTRY_SECRET_KEY": BENCH_SECRET,
        "TENANTRY_LOG_LEVEL": "WARNING",
    }
    command = [
        sys.executable, "-m", "uvicorn", "tenantry.asgi:app",
        "--host", "127.0.0.1", "--port", str(port),
        "--loop", "uvloop", "--http", "httptools", "--no-access-log",
        "--workers", str(workers), "--log-level", "warning",
    ]  # fmt: skip
    server = subprocess.Popen(command, env=env)
    # Importing the app takes seconds on a quiet machine, but a minute on a loaded one.
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.terminate()  # the master stops its workers (a kill would orphan them)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
    raise SystemExit(f"the server did not become ready within {READY_TIMEOUT:g} s")


async def wait_until_idle(settings: Settings, limit: float = 120.0) -> float:
    """Wait until the server's database sessions run no statement: a load tool that
    stops leaves requests in flight (an MSP-wide count takes seconds), and the next
    scenario must not pay for them. Returns the seconds waited."""
    began = time.monotonic()
    conn = await asyncpg.connect(settings.database_url)
    try:
        while time.monotonic() - began < limit:
            busy = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tenantry' "
                "AND state = 'active' AND pid <> pg_backend_pid()"
            )
            if not busy:
                break
            await asyncio.sleep(0.2)
    finally:
        await conn.close()
    return time.monotonic() - began


def worker_pids(master: int) -> list[int]:
    children: list[int] = []
    for task in Path(f"/proc/{master}/task").glob("*"):
        with contextlib.suppress(OSError):
            children += [int(p) for p in (task / "children").read_text().split()]
    # --workers 1 serves in the master itself; several: uvicorn's supervisor spawns them
    # multiprocessing's resource tracker serves nothing: not a worker.
    workers = [p for p in children if b"resource_tracker" not in cmdline(p)]
    return workers or [master]


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def vm_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


# ---------------------------------------------------------------- load


@dataclass
class Scenario:
    name: str
    paths: list[str]
    token: str | None = None
    method: str = "GET"
    body: str | None = None
    note: str = ""
    # Concurrent connections for this scenario (None: the run's ``--connections``).
    connections: int | None = None


LUA = """
local paths = {%(paths)s}
local method = "%(method)s"
local body = %(body)s
%(auth)s
wrk.headers["Content-Type"] = "application/json"
local i = math.random(#paths)
request = function()
  i = i + 1
  return wrk.format(method, paths[(i %% #paths) + 1], nil, body)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCHJSON {\\"requests\\": %%d, \\"duration_us\\": %%d, \\"non2xx\\": %%d, " ..
    "\\"socket_errors\\": %%d, \\"p50_us\\": %%d, \\"p95_us\\": %%d, \\"p99_us\\": %%d}\\n",
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


def lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid Lua string literal here


def run_wrk(base: str, s: Scenario, duration: float, connections: int) -> dict[str, Any]:
    script = LUA % {
        "paths": ", ".join(lua_string(p) for p in s.paths),
        "method": s.method,
        "body": lua_string(s.body) if s.body is not None else "nil",
        "auth": f'wrk.headers["Authorization"] = {lua_string("Bearer " + s.token)}'
        if s.token
        else "",
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        out = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s", "--latency",
             "--timeout", "60s",
             "-s", f.name, base],
            capture_output=True, text=True, check=True, timeout=duration + 60,
        ).stdout  # fmt: skip
    finally:
        os.unlink(f.name)
    line = next(x for x in out.splitlines() if x.startswith("BENCHJSON "))
    raw = json.loads(line.removeprefix("BENCHJSON "))
    seconds = raw["duration_us"] / 1e6
    return {
        "requests": raw["requests"],
        "rps": raw["requests"] / seconds,
        "p50_ms": raw["p50_us"] / 1000,
        "p95_ms": raw["p95_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "non2xx": raw["non2xx"],
        "errors": raw["socket_errors"],
    }


async def run_python(base: str, s: Scenario, duration: float, connections: int) -> dict[str, Any]:
    """The fallback load generator: ``connections`` tasks, each one request at a time."""
    headers = {"content-type": "application/json"}
    if s.token:
        headers["authorization"] = f"Bearer {s.token}"
    latencies: list[float] = []
    non2xx = errors = 0
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30) as c:
        deadline = time.perf_counter() + duration

        async def worker(seed: int) -> None:
            nonlocal non2xx, errors
            i = seed
            while time.perf_counter() < deadline:
                i += 1
                path = s.paths[i % len(s.paths)]
                started = time.perf_counter()
                try:
                    r = await c.request(s.method, path, content=s.body)
                except httpx.HTTPError:
                    errors += 1
                    continue
                latencies.append((time.perf_counter() - started) * 1000)
                if not 200 <= r.status_code < 400:
                    non2xx += 1

        begun = time.perf_counter()
        await asyncio.gather(*(worker(n * 7919) for n in range(connections)))
        elapsed = time.perf_counter() - begun
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) if latencies else 0.0,
        "p95_ms": pct(latencies, 95) if latencies else 0.0,
        "p99_ms": pct(latencies, 99) if latencies else 0.0,
        "non2xx": non2xx,
        "errors": errors,
    }


def single_p50(base: str, s: Scenario, n: int = 21) -> float:
    """The median of ``n`` requests one after another, warm, nothing else running."""
    headers = {"authorization": f"Bearer {s.token}"} if s.token else {}
    timings = []
    with httpx.Client(base_url=base, headers=headers, timeout=PROBE_TIMEOUT) as client:
        for i in range(n):
            started = time.perf_counter()
            client.get(s.paths[i % len(s.paths)])
            timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def load(base: str, s: Scenario, duration: float, connections: int, tool: str) -> dict[str, Any]:
    if tool == "wrk":
        return run_wrk(base, s, duration, connections)
    return asyncio.run(run_python(base, s, duration, connections))


# ---------------------------------------------------------------- deleting a customer


async def doomed_customer(settings: Settings, meta: dict[str, Any], rows: int) -> str:
    """A fresh customer of the big MSP (through the service) owning ``rows`` tickets."""
    db = Database(settings)
    try:
        async with db.platform_reader() as session:
            msp = await tenancy.tenant_by_slug(session, meta["big"]["slug"])
            admin = await session.scalar(select(User).where(User.email == meta["big"]["admin"]))
        assert msp is not None and admin is not None
        name = f"Doomed {datetime.now(UTC):%Y%m%d%H%M%S}"
        customer = (await make_customers(db, msp, admin, name, 1))[0]
    finally:
        await db.dispose()
    owner = await asyncpg.connect(settings.database_url)
    try:
        await bulk_tickets(owner, [customer], rows)
        await owner.execute("ANALYZE tickets")
    finally:
        await owner.close()
    return customer.slug


def delete_customer(base: str, token: str, msp: str, slug: str) -> dict[str, Any]:
    started = time.perf_counter()
    r = httpx.delete(
        f"{base}/api/v1/tenants/{msp}/customers/{slug}",
        params={"confirm_slug": slug},
        headers={"authorization": f"Bearer {token}"},
        timeout=600,
    )
    seconds = time.perf_counter() - started
    body = r.json() if r.headers.get("content-type", "").endswith("json") else {}
    rows = sum(body.get("rows_deleted", {}).values()) if r.status_code == 200 else 0
    return {"status": r.status_code, "seconds": seconds, "rows_deleted": rows}


# ---------------------------------------------------------------- report


def flatten(result: dict[str, Any]) -> dict[str, float]:
    flat: dict[str, float] = {}
    for name, figures in result["load"].items():
        for key in ("rps", "p50_ms", "p99_ms", "single_p50_ms"):
            if key in figures:
                flat[f"{name}.{key}"] = figures[key]
    for key, value in result["ratios"].items():
        flat[f"ratio.{key}"] = value
    if "decision" in result:
        flat["decision.p50_us"] = result["decision"]["p50_us"]
    if "delete" in result:
        flat["delete.seconds"] = result["delete"]["seconds"]
    flat["rss.peak_mib_max"] = result["rss"]["peak_mib_max"]
    return flat


def print_table(result: dict[str, Any]) -> None:
    meta = result["meta"]
    print(
        f"\nTenantry benchmark: {meta['size']} dataset ({meta['customers_big']:,} + "
        f"{meta['customers_small']} customers, {meta['tickets']:,} tickets), "
        f"{result['workers']} worker(s), load by {result['tool']} with "
        f"{result['connections']} connections for {result['duration']:g} s each; "
        f"{result['machine']}"
    )
    print(
        f"\n{'scenario':<34} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
        f"{'non-2xx':>8}  note"
    )
    for name, r in result["load"].items():
        print(
            f"{name:<34} {r['rps']:>9,.0f} {r['p50_ms']:>8.2f} {r.get('p95_ms', 0.0):>8.2f} "
            f"{r['p99_ms']:>8.2f} "
            f"{r['non2xx'] + r['errors']:>8}  {result['notes'].get(name, '')}"
        )
    if result["ratios"]:
        print("\nratios (same run)")
    for key, value in result["ratios"].items():
        print(f"  {key:<52} {value:>7.2f}")
    if "decision" not in result:  # --only: the scenarios alone
        rss = result["rss"]
        print("peak RSS per worker: " + ", ".join(f"{m:.0f} MiB" for m in rss["peak_mib"]))
        return
    d = result["decision"]
    print(
        f"\nauthorization decision in-process (delegated technician, warm, n={d['n']}): kept "
        f"(nothing changed) p50 {d['p50_us']:,.1f} µs, p99 {d['p99_us']:,.1f} µs; with the "
        f"read of its tenant and versions p50 {d.get('with_read_p50_us', 0):,.0f} µs; decided "
        f"afresh p50 {d.get('afresh_p50_us', 0):,.0f} µs; the rules alone, grants and link "
        f"in hand: p50 {d['rules_p50_us']:,.1f} µs, p99 {d['rules_p99_us']:,.1f} µs"
    )
    x = result["delete"]
    print(
        f"delete a customer owning {x['tickets']:,} tickets via the API: {x['seconds']:.2f} s "
        f"(HTTP {x['status']}, {x['rows_deleted']:,} rows deleted)"
    )
    rss = result["rss"]
    print(
        "peak RSS per worker (VmHWM after the load): "
        + ", ".join(f"{m:.0f} MiB" for m in rss["peak_mib"])
    )
    a = result["audit_sample"]
    print(f"audit chains verified on a sample: {a[0]}/{a[1]} ok")


# Issue #15's targets: (what, the figure's key in ``flatten``, at least / at most, bound).
TARGETS: list[tuple[str, str, str, float]] = [
    ("ticket list rps ≥ 10% of /healthz rps", "ratio.ticket list rps / healthz rps", ">=", 0.10),
    ("ticket list p99 ≤ 50 ms at 32 connections",
     "ticket list, big MSP (admin, 32 conn.).p99_ms", "<=", 50.0),
    ("ticket list flat 10 → 10,000 clients (rps ratio ≤ 1.2)",
     "ratio.ticket list rps: small MSP / big MSP", "<=", 1.2),
    ("ticket list flat 10 → 10,000 clients (p50 ratio ≤ 1.2)",
     "ratio.ticket list p50: big MSP / small MSP", "<=", 1.2),
    ("create ticket ≥ 60% of the list's rps", "ratio.create ticket rps / ticket list rps",
     ">=", 0.60),
    ("decision, kept, p50 ≤ 50 µs", "decision.p50_us", "<=", 50.0),
    ("switcher search single p50 ≤ 20 ms", "switcher search.single_p50_ms", "<=", 20.0),
    ("switcher search ≥ 500 req/s", "switcher search.rps", ">=", 500.0),
    ("MSP-wide open tickets (admin) ≥ 100 req/s", "MSP-wide open tickets (admin).rps",
     ">=", 100.0),
    ("MSP-wide open tickets (admin) p50 ≤ 250 ms", "MSP-wide open tickets (admin).p50_ms",
     "<=", 250.0),
    ("open and breached counts per client single ≤ 250 ms",
     "open tickets per client (admin).single_p50_ms", "<=", 250.0),
    ("peak memory ≤ 150 MiB per worker", "rss.peak_mib_max", "<=", 150.0),
    # Issue #16: the compliance overview at 10,000 clients, from the kept scores.
    ("compliance overview (admin) p50 ≤ 250 ms", "compliance overview (admin).p50_ms",
     "<=", 250.0),
    # Issue #17: the MSP dashboard at 10,000 clients, from its kept rows.
    ("MSP dashboard (admin) p50 ≤ 250 ms", "MSP dashboard (admin).p50_ms", "<=", 250.0),
    ("MSP dashboard (technician) p50 ≤ 250 ms", "MSP dashboard (technician).p50_ms",
     "<=", 250.0),
]  # fmt: skip


def print_targets(result: dict[str, Any]) -> None:
    flat = flatten(result)
    print("\ntargets (issues #15, #16, #17)")
    for what, key, sense, bound in TARGETS:
        value = flat.get(key)
        if value is None:
            if "decision" in result:  # a whole run; --only leaves the others out
                print(f"  {what:<58} {'-':>10}  not measured")
            continue
        met = value >= bound if sense == ">=" else value <= bound
        print(f"  {what:<58} {value:>10,.2f}  {'met' if met else 'NOT met'}")


def print_compare(old: dict[str, Any], new: dict[str, Any]) -> None:
    before, after = flatten(old), flatten(new)
    print(f"\ncompared with {old.get('started_at', '?')} ({old['meta']['size']} dataset)")
    print(f"{'figure':<44} {'before':>10} {'after':>10} {'after/before':>13}")
    for key in after:
        if key in before:
            b, a = before[key], after[key]
            ratio = f"{a / b:>13.2f}" if b else f"{'-':>13}"
            print(f"{key:<44} {b:>10.2f} {a:>10.2f} {ratio}")


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="laptop-sized dataset and runs")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections")
    parser.add_argument("--duration", type=float, help="seconds per load scenario")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--compare", type=Path, help="an earlier --json file to compare with")
    parser.add_argument("--url", default=DEFAULT_URL, help="PostgreSQL (superuser) URL")
    parser.add_argument("--rebuild", action="store_true", help="drop and rebuild the dataset")
    parser.add_argument(
        "--tool", choices=["auto", "wrk", "python"], default="auto", help="load generator"
    )
    parser.add_argument(
        "--only",
        choices=["compliance", "dashboard"],
        help="measure only these scenarios (compliance: issue #16, dashboard: issue #17)",
    )
    parser.add_argument("--database", help="the dataset's database (default: by size)")
    args = parser.parse_args()
    size = QUICK if args.quick else FULL
    if args.database:
        size = dataclasses.replace(size, named=args.database)
    duration = args.duration or size.duration
    tool = args.tool
    if tool == "auto":
        tool = "wrk" if shutil.which("wrk") else "python"
    if tool == "wrk" and not shutil.which("wrk"):
        raise SystemExit("wrk not found (apt-get install wrk), or use --tool python")
    started_at = datetime.now(UTC).isoformat(timespec="seconds")

    meta = asyncio.run(build(args.url, size, args.rebuild))
    settings = bench_settings(args.url, size)
    tokens = asyncio.run(
        tokens_for(
            settings,
            {
                "big_admin": meta["big"]["admin"],
                "small_admin": meta["small"]["admin"],
                "technician": meta["technician"]["email"],
                "customer_admin": meta["customer_admin"]["email"],
            },
        )
    )
    programmes = asyncio.run(seed_compliance(settings.database_url, meta["big"]["id"], say))
    rollup = asyncio.run(seed_dashboard(settings.database_url, say))
    only = args.only is not None
    if not only:
        audit_sample = asyncio.run(
            verify_sample(
                settings,
                [meta["big"]["slug"], meta["small"]["slug"], *meta["big_customers"][:8],
                 *meta["small_customers"][:2], meta["customer_admin"]["tenant"]],
            )
        )  # fmt: skip
        decision = asyncio.run(decision_timing(settings, meta, 2000))
        doomed = asyncio.run(doomed_customer(settings, meta, size.delete_rows))

    big = meta["big"]["slug"]
    big_clients = meta["big_customers"][:100]
    rng = random.Random(3)
    # Four digits of a customer number: about ten matches each among the big MSP's clients.
    searches = [f"/api/v1/me/tenants?q={rng.randrange(size.customers):05d}"[:-1] for _ in range(50)]
    scenarios = [
        Scenario("healthz", ["/healthz"], note="no auth, no database"),
        Scenario(
            "ticket list, big MSP (admin)",
            [f"/api/v1/tenants/{c}/tickets?status=all&limit=50" for c in big_clients],
            tokens["big_admin"],
            note=f"random client of {meta['customers_big']:,}",
        ),
        Scenario(
            "ticket list, big MSP (admin, 32 conn.)",
            [f"/api/v1/tenants/{c}/tickets?status=all&limit=50" for c in big_clients],
            tokens["big_admin"],
            note="the same at 32 connections (the p99 target)",
            connections=32,
        ),
        Scenario(
            "ticket list, small MSP (admin)",
            [f"/api/v1/tenants/{c}/tickets?status=all&limit=50" for c in meta["small_customers"]],
            tokens["small_admin"],
            note=f"random client of {meta['customers_small']}",
        ),
        Scenario(
            "ticket list, technician",
            [f"/api/v1/tenants/{c}/tickets?limit=50" for c in meta["technician"]["customers"]],
            tokens["technician"],
            note="delegated client (grant ∩ ceiling)",
        ),
        Scenario(
            "ticket list, customer admin",
            [f"/api/v1/tenants/{meta['customer_admin']['tenant']}/tickets?limit=50"],
            tokens["customer_admin"],
            note="own tenant",
        ),
        Scenario(
            "create ticket (audited)",
            [f"/api/v1/tenants/{c}/tickets" for c in big_clients],
            tokens["big_admin"],
            method="POST",
            body=json.dumps({"title": "Printer on fire", "description": "bench", "priority": "P2"}),
            note="ticket + history + audit event",
        ),
        Scenario("switcher search", searches, tokens["big_admin"], note="GET /me/tenants?q="),
        Scenario(
            "MSP-wide open tickets (admin)",
            [f"/api/v1/tenants/{big}/msp-tickets?limit=50"],
            tokens["big_admin"],
            note=f"every client ({meta['customers_big']:,})",
        ),
        Scenario(
            "open tickets per client (admin)",
            [f"/api/v1/tenants/{big}/msp-tickets/counts?limit=50"],
            tokens["big_admin"],
            note=f"first 50 of {meta['customers_big']:,} clients, kept counts",
        ),
        Scenario(
            "MSP-wide open tickets (technician)",
            [f"/api/v1/tenants/{big}/msp-tickets?limit=50"],
            tokens["technician"],
            note=f"{DELEGATIONS_PER_TECH} delegated clients",
        ),
    ]
    overview = "/api/v1/msp/compliance/overview"
    compliance = [
        Scenario(
            "compliance overview (admin)",
            [f"{overview}?limit=50"],
            tokens["big_admin"],
            note=f"worst 50 of {programmes['scores']:,} kept scores, "
            f"{meta['customers_big']:,} clients, with totals",
        ),
        Scenario(
            "compliance overview, filters (admin)",
            [
                f"{overview}?limit=50&sort=name",
                f"{overview}?limit=50&framework=nist-csf",
                f"{overview}?limit=50&overdue=true",
                f"{overview}?limit=50&score_below=40&sort=-score",
            ],
            tokens["big_admin"],
            note="by name, one framework, overdue only, score below 40%",
        ),
        Scenario(
            "compliance overview (technician)",
            [f"{overview}?limit=50"],
            tokens["technician"],
            note=f"{DELEGATIONS_PER_TECH} delegated clients",
        ),
    ]
    board = "/api/v1/msp/dashboard"
    dashboard = [
        Scenario(
            "MSP dashboard (admin)",
            [f"{board}?limit=50"],
            tokens["big_admin"],
            note=f"first 50 of {meta['customers_big']:,} clients from {rollup['rows']:,} "
            "kept rows, with totals",
        ),
        Scenario(
            "MSP dashboard, sorts and search (admin)",
            [
                f"{board}?limit=50&sort=name",
                f"{board}?limit=50&sort=score",
                f"{board}?limit=50&sort=-activity",
                f"{board}?limit=50&q=00",
            ],
            tokens["big_admin"],
            note="by name, worst score, latest activity, a search",
        ),
        Scenario(
            "MSP dashboard (technician)",
            [f"{board}?limit=50"],
            tokens["technician"],
            note=f"{DELEGATIONS_PER_TECH} delegated clients",
        ),
    ]
    chosen = {"compliance": compliance, "dashboard": dashboard}
    scenarios = chosen[args.only] if only else scenarios + compliance + dashboard
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    say(f"starting the server ({args.workers} worker(s)) on {base}; load by {tool}")
    server = start_server(settings, args.workers, port)
    results: dict[str, dict[str, Any]] = {}
    try:
        for s in scenarios:
            # Every path answers 2xx before it is loaded, or the figures mean nothing; a
            # single request slower than PROBE_TIMEOUT is reported as such, not loaded.
            asyncio.run(wait_until_idle(settings))
            began = time.perf_counter()
            try:
                probe = httpx.request(
                    s.method,
                    base + s.paths[0],
                    content=s.body,
                    headers={"content-type": "application/json"}
                    | ({"authorization": f"Bearer {s.token}"} if s.token else {}),
                    timeout=PROBE_TIMEOUT,
                )
            except httpx.TimeoutException:
                say(f"  {s.name}: one request took over {PROBE_TIMEOUT:g} s; not loaded")
                results[s.name] = {
                    "requests": 0, "rps": 0.0, "p50_ms": PROBE_TIMEOUT * 1000,
                    "p99_ms": PROBE_TIMEOUT * 1000, "non2xx": 0, "errors": 1,
                }  # fmt: skip
                s.note = f"TIMED OUT: one request > {PROBE_TIMEOUT:g} s; " + s.note
                continue
            if probe.status_code >= 300:
                raise SystemExit(
                    f"{s.name}: {s.paths[0]} answered {probe.status_code}: {probe.text}"
                )
            if s.method == "GET":
                s.note += f"; single request {time.perf_counter() - began:.2f} s"
            connections = s.connections or args.connections
            load(base, s, 1, connections, tool)  # warm-up
            say(f"  {s.name} ...")
            results[s.name] = load(base, s, duration, connections, tool)
            if s.method == "GET":
                asyncio.run(wait_until_idle(settings))
                results[s.name]["single_p50_ms"] = single_p50(base, s)
        pids = worker_pids(server.pid)
        peak = [vm_kib(p, "VmHWM") / 1024 for p in pids]
        if not only:
            asyncio.run(wait_until_idle(settings))
            deletion = delete_customer(base, tokens["big_admin"], big, doomed)
            deletion["tickets"] = size.delete_rows
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()

    def ratio(a: str, b: str, key: str = "rps") -> float:
        return results[a][key] / results[b][key] if results[b][key] else 0.0

    ratios = (
        {}
        if only
        else {
            "healthz rps / ticket list rps (big MSP)": ratio(
                "healthz", "ticket list, big MSP (admin)"
            ),
            "ticket list p50: big MSP / small MSP": ratio(
                "ticket list, big MSP (admin)", "ticket list, small MSP (admin)", "p50_ms"
            ),
            "ticket list rps: small MSP / big MSP": ratio(
                "ticket list, small MSP (admin)", "ticket list, big MSP (admin)"
            ),
            "ticket list rps / create ticket rps": ratio(
                "ticket list, big MSP (admin)", "create ticket (audited)"
            ),
            "ticket list rps / healthz rps": ratio("ticket list, big MSP (admin)", "healthz"),
            "create ticket rps / ticket list rps": ratio(
                "create ticket (audited)", "ticket list, big MSP (admin)"
            ),
        }
    )
    load_avg = os.getloadavg()
    result = {
        "started_at": started_at,
        "meta": {k: v for k, v in meta.items() if not isinstance(v, list | dict)},
        "workers": args.workers,
        "connections": args.connections,
        "duration": duration,
        "tool": tool,
        "machine": (
            f"{platform.node()}, {os.cpu_count()} CPUs, load average before the run "
            f"{load_avg[0]:.1f}"
        ),
        "load": results,
        "notes": {s.name: s.note for s in scenarios},
        "ratios": ratios,
        "rss": {"pids": pids, "peak_mib": peak, "peak_mib_max": max(peak)},
        "compliance": programmes,
    }
    if not only:
        result |= {"decision": decision, "delete": deletion, "audit_sample": audit_sample}
    print_table(result)
    print_targets(result)
    if args.compare:
        print_compare(json.loads(args.compare.read_text()), result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str))
        say(f"wrote {args.json}")


if __name__ == "__main__":
    main()
