"""What row-level security costs on a tenant-scoped list query (PostgreSQL).

Usage:
    uv run python bench/rls_cost.py [--rows N --tenants N --queries N] [--url URL]

Builds once (kept between runs; one table per size, found by name) a table shaped like a
tenant-owned one (``tenant_id`` leading the primary key and the list index) with
``--rows`` rows (default 1,000,000) spread over ``--tenants`` tenants (default 1,000),
under the very policy the migrations install (``tenantry.db.rls``). Then it runs
"the latest 50 rows of one tenant", varying the tenant, ``--queries`` times per
variant, interleaved, each in its own transaction as the app runs them:

    rls              app role, RLS on, scope sent with BEGIN in one message
                     (tenantry.db.engine.ScopedConnection), no WHERE: the policy alone
    owner            table owner with RLS off (superuser), ``WHERE tenant_id = $1``

and, to explain the difference (see "Finding" below):

    rls+where        rls plus ``WHERE tenant_id = $1`` (what the ORM scope adds today)
    rls+tenant-sort  rls with ``ORDER BY tenant_id DESC, created_at DESC``
    scalar           a copy of the table under a one-tenant policy
                     ``tenant_id = nullif(current_setting(...), '')::uuid``, no WHERE
    scalar+where     the same plus ``WHERE tenant_id = $1``

and prints median and p95 per transaction, and the ratios to ``owner``. The database is
``tenantry_bench`` on ``--url`` (default: the test server,
postgresql://postgres@127.0.0.1:5432/postgres); the app role is set up as
``tenantry db upgrade`` does. Target: RLS costs at most 10 %.

Finding (PostgreSQL 15): the policy's ``tenant_id = ANY(<array from the setting>)`` is an
index condition, but the planner cannot know the array holds one tenant, so it cannot
read the ``(tenant_id, created_at)`` index in order: it fetches all of the tenant's rows
and sorts them. Adding ``WHERE tenant_id = $1`` does not help: the two conditions'
selectivities are multiplied, the row estimate collapses and the sort plan wins again.
A scalar ``tenant_id = <setting>::uuid`` policy joins the planner's equivalence class and
gets the ordered index scan. The run prints the plans next to the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from tenantry.config import Settings
from tenantry.db import rls
from tenantry.db.engine import ScopedConnection
from tenantry.db.migrate import ensure_app_role, owner_engine
from tenantry.db.scope import SCOPE_SETTING

DATABASE = "tenantry_bench"
COLUMNS = "id, created_at, title, status, amount"
LIST = f"SELECT {COLUMNS} FROM {{t}} {{where}} ORDER BY created_at DESC LIMIT 50"
LIST_TENANT_SORT = f"SELECT {COLUMNS} FROM {{t}} ORDER BY tenant_id DESC, created_at DESC LIMIT 50"
SCALAR_POLICY = f"(tenant_id = nullif(current_setting('{SCOPE_SETTING}', true), '')::uuid)"


def dsn(url: str, *, database: str | None = None, user: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database:
        parsed = parsed.set(database=database)
    if user:
        parsed = parsed.set(username=user, password=None)
    return parsed.render_as_string(hide_password=False)


async def ensure_database(url: str) -> None:
    conn = await asyncpg.connect(dsn(url))
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE):
            await conn.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await conn.close()


async def ensure_tables(conn: asyncpg.Connection, table: str, rows: int, tenants: int) -> None:
    """The table under the real policy, and a copy under the scalar one (built once)."""
    if await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", f"{table}_scalar"):
        print(f"reusing {table} and {table}_scalar")
        return
    print(f"building {table}: {rows:,} rows over {tenants:,} tenants ...", flush=True)
    started = time.perf_counter()
    async with conn.transaction():
        await conn.execute(f"DROP TABLE IF EXISTS {table}")
        await conn.execute(
            f"""CREATE TABLE {table} (
                tenant_id uuid NOT NULL,
                id uuid NOT NULL,
                created_at timestamptz NOT NULL,
                title varchar(200) NOT NULL,
                status varchar(16) NOT NULL,
                amount bigint NOT NULL
            )"""
        )
        # Rows of one tenant are interleaved with everyone's, as concurrent use leaves them.
        await conn.execute(
            f"""INSERT INTO {table}
            SELECT t.ids[1 + (g % {tenants})], gen_random_uuid(),
                   now() - g * interval '1 second', 'item ' || g,
                   (ARRAY['open', 'pending', 'closed'])[1 + g % 3], g % 100000
            FROM generate_series(1, {rows}) g,
                 (SELECT array_agg(gen_random_uuid()) AS ids
                  FROM generate_series(1, {tenants})) t"""
        )
        await conn.execute(f"CREATE TABLE {table}_scalar AS TABLE {table}")
        for name, policy in ((table, None), (f"{table}_scalar", SCALAR_POLICY)):
            await conn.execute(f"ALTER TABLE {name} ADD PRIMARY KEY (tenant_id, id)")
            await conn.execute(f"CREATE INDEX ON {name} (tenant_id, created_at)")
            if policy is None:
                for statement in rls.enable_sql(name):
                    await conn.execute(statement)
            else:
                await conn.execute(f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY")
                await conn.execute(f"ALTER TABLE {name} FORCE ROW LEVEL SECURITY")
                await conn.execute(f"CREATE POLICY scalar ON {name} USING {policy}")
    await conn.execute(f"VACUUM ANALYZE {table}")
    await conn.execute(f"VACUUM ANALYZE {table}_scalar")
    print(f"built in {time.perf_counter() - started:.1f} s")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def run(args: argparse.Namespace) -> None:
    await ensure_database(args.url)
    owner_dsn = dsn(args.url, database=DATABASE)
    settings = Settings(database_url=owner_dsn)
    table = f"bench_items_{args.rows}_{args.tenants}"
    scalar = f"{table}_scalar"

    owner = await asyncpg.connect(owner_dsn)
    await ensure_tables(owner, table, args.rows, args.tenants)
    engine = owner_engine(settings)
    try:
        await ensure_app_role(engine, settings)  # role and grants exactly as `db upgrade`
    finally:
        await engine.dispose()
    tenants = [r[0] for r in await owner.fetch(f"SELECT DISTINCT tenant_id FROM {table}")]

    app = await asyncpg.connect(
        dsn(args.url, database=DATABASE, user=settings.app_db_role),
        connection_class=ScopedConnection,
    )
    where = "WHERE tenant_id = $1"
    queries: dict[str, tuple[asyncpg.Connection, str, bool]] = {
        # name: (connection, SQL, takes the tenant as $1)
        "rls": (app, LIST.format(t=table, where=""), False),
        "owner": (owner, LIST.format(t=table, where=where), True),
        "rls+where": (app, LIST.format(t=table, where=where), True),
        "rls+tenant-sort": (app, LIST_TENANT_SORT.format(t=table), False),
        "scalar": (app, LIST.format(t=scalar, where=""), False),
        "scalar+where": (app, LIST.format(t=scalar, where=where), True),
    }
    prepared = {name: await conn.prepare(sql) for name, (conn, sql, _) in queries.items()}

    async def one(name: str, tenant: Any) -> list[Any]:
        conn, _, takes_tenant = queries[name]
        args_ = (tenant,) if takes_tenant else ()
        if conn is app:
            # As the app: ScopedConnection appends set_config(..., true) to this BEGIN.
            app.tenantry_scope = str(tenant)
        async with conn.transaction():
            return list(await prepared[name].fetch(*args_))

    # The same answer from every variant, or the comparison means nothing.
    probe = random.choice(tenants)
    answers = {name: [r["id"] for r in await one(name, probe)] for name in queries}
    assert len({tuple(a) for a in answers.values()}) == 1, "variants disagree"
    assert len(answers["owner"]) == 50

    print("\nplans for one tenant (EXPLAIN ANALYZE):")
    for name, (conn, sql, _) in queries.items():
        await print_plan(name, conn, sql.replace("$1", f"'{probe}'"), probe)

    timings: dict[str, list[float]] = {name: [] for name in queries}
    order = list(queries)
    rng = random.Random(1)
    for i in range(args.warmup + args.queries):
        tenant = rng.choice(tenants)
        rng.shuffle(order)  # interleaved, in varying order: no variant always goes first
        for name in order:
            started = time.perf_counter_ns()
            await one(name, tenant)
            if i >= args.warmup:
                timings[name].append((time.perf_counter_ns() - started) / 1e6)

    base, base95 = statistics.median(timings["owner"]), pct(timings["owner"], 95)
    print(
        f"\n{args.queries:,} transactions per variant (BEGIN, latest 50 rows of one tenant, "
        f"COMMIT); {args.rows:,} rows, {args.tenants:,} tenants:"
    )
    print(f"{'variant':<16} {'median ms':>10} {'p95 ms':>8} {'median/owner':>13} {'p95/owner':>10}")
    for name in queries:
        med, p95 = statistics.median(timings[name]), pct(timings[name], 95)
        print(f"{name:<16} {med:>10.3f} {p95:>8.3f} {med / base:>13.2f} {p95 / base95:>10.2f}")
    rls_ratio = statistics.median(timings["rls"]) / base
    verdict = "meets" if rls_ratio <= 1.10 else "MISSES"
    print(f"\nrls/owner = {rls_ratio:.2f}: {verdict} the <= 1.10 target")
    await app.close()
    await owner.close()


async def print_plan(name: str, conn: asyncpg.Connection, sql: str, tenant: Any) -> None:
    async with conn.transaction():
        await conn.execute(f"SELECT set_config('{SCOPE_SETTING}', '{tenant}', true)")
        rows = await conn.fetch(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) {sql}")
    print(f"  {name}:")
    for row in rows:
        line = row[0]
        # The policy expression is long and the same everywhere: abbreviate it.
        line = line.replace(
            "(string_to_array(COALESCE(current_setting('tenantry.tenant_ids'::text, true), "
            "''::text), ','::text))::uuid[]",
            "<scope ids>",
        )
        print(f"    {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--tenants", type=int, default=1_000)
    parser.add_argument("--queries", type=int, default=2_000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
