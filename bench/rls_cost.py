"""What row-level security costs on a tenant-scoped list query (PostgreSQL).

Usage:
    uv run python bench/rls_cost.py [--rows N --tenants N --queries N] [--url URL]

Builds once (kept between runs; one table per size, found by name) a table shaped like a
tenant-owned one (``tenant_id`` leading the primary key and the list index) with
``--rows`` rows (default 1,000,000) spread over ``--tenants`` tenants (default 1,000).
Every run re-installs the policies the migrations install (``tenantry.db.rls``) and sets
up the roles as ``tenantry db upgrade`` does, so the figures are for the code as it is.
Then it runs "the latest 50 rows of one tenant" (``ORDER BY created_at DESC LIMIT 50``),
varying the tenant, ``--queries`` times per variant, interleaved in varying order, each
in its own transaction (BEGIN, the query, COMMIT), as the app runs them:

    (a) rls          app role, one-tenant scope sent with BEGIN in one message by
                     tenantry.db.engine.ScopedConnection (``begin_suffix``), no WHERE:
                     the ``tenant_isolation`` policy alone
        rls+where    (a) plus ``WHERE tenant_id = $1``: what the ORM scope adds
        rls/select   (a) with the scope sent as ``SELECT set_config(..., true)`` instead
                     of ``SET LOCAL``: what the extra SELECT in the BEGIN message costs
    (b) plain        the same app role, ``WHERE tenant_id = $1``, on the table's twin
                     without row-level security (same rows in the same physical order,
                     same indexes): the query with security off
        owner        the table's owner, a superuser (row-level security bypassed),
                     ``WHERE tenant_id = $1``: shown for comparison; it also skips the
                     privilege checks and runs on another connection, which alone moves
                     medians by +-10 % between runs at half a millisecond
    (c) multi-1      app role switched to ``tenantry_multi`` with a one-element
                     ``tenantry.tenant_ids`` (``tenant_isolation_multi``), plus the
                     ``WHERE tenant_id = $1`` the ORM scope puts into statements under
                     lists of up to 100 tenants: the list policy's own cost. (Without
                     the WHERE the list policy, a hashed sub-select since migration 0008,
                     is no index condition: a scan of every row; db/rls.py says why.)

and prints median and p95 per transaction and the ratios to (b). Target: (a)/(b) <= 1.10.
The database is ``tenantry_bench`` on ``--url`` (default: the test server,
postgresql://postgres@127.0.0.1:5432/postgres).

Findings (PostgreSQL 15). ``tenant_id = ANY(<array from the setting>)`` is an index
condition, but the planner cannot know the array holds one tenant, so it cannot read the
``(tenant_id, created_at)`` index in order: it fetches all of the tenant's rows and sorts
them. The scalar ``tenant_id = <setting>::uuid`` joins the planner's equivalence class,
so the index is read backwards and the scan stops after 50 rows. The run prints the plans
next to the figures. With the plans equal, what is left is the statement that sets the
scope: row-level security itself costs nothing measurable, but a ``SELECT set_config``
in the BEGIN message costs about 0.03 ms a transaction (parse, plan, a result row), three
times what ``SET LOCAL`` costs, and more than the 10 % budget on its own.
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
from tenantry.db.engine import ScopedConnection, begin_suffix
from tenantry.db.migrate import owner_engine
from tenantry.db.roles import ensure_app_role
from tenantry.db.scope import TenantScope

DATABASE = "tenantry_bench"
COLUMNS = "id, created_at, title, status, amount"
LIST = f"SELECT {COLUMNS} FROM {{t}} {{where}} ORDER BY created_at DESC LIMIT 50"
WHERE = "WHERE tenant_id = $1"


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


async def ensure_table(conn: asyncpg.Connection, table: str, rows: int, tenants: int) -> None:
    """The table (built once), under the policies of the code as it is (every run)."""
    # Copies under a hand-written one-tenant policy, from before the design had one.
    await conn.execute(f"DROP TABLE IF EXISTS {table}_scalar")
    if await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", table):
        print(f"reusing {table}")
    else:
        print(f"building {table}: {rows:,} rows over {tenants:,} tenants ...", flush=True)
        started = time.perf_counter()
        async with conn.transaction():
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
            # Rows of one tenant are interleaved with everyone's, as concurrent use leaves
            # them.
            await conn.execute(
                f"""INSERT INTO {table}
                SELECT t.ids[1 + (g % {tenants})], gen_random_uuid(),
                       now() - g * interval '1 second', 'item ' || g,
                       (ARRAY['open', 'pending', 'closed'])[1 + g % 3], g % 100000
                FROM generate_series(1, {rows}) g,
                     (SELECT array_agg(gen_random_uuid()) AS ids
                      FROM generate_series(1, {tenants})) t"""
            )
            await conn.execute(f"ALTER TABLE {table} ADD PRIMARY KEY (tenant_id, id)")
            await conn.execute(f"CREATE INDEX ON {table} (tenant_id, created_at)")
        await conn.execute(f"VACUUM ANALYZE {table}")
        print(f"built in {time.perf_counter() - started:.1f} s")
    # Its twin without row-level security: same rows in the same physical order, same
    # indexes, the baseline the app role reads with an explicit WHERE.
    if not await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", f"{table}_plain"):
        async with conn.transaction():
            await conn.execute(f"CREATE TABLE {table}_plain AS SELECT * FROM {table} ORDER BY ctid")
            await conn.execute(f"ALTER TABLE {table}_plain ADD PRIMARY KEY (tenant_id, id)")
            await conn.execute(f"CREATE INDEX ON {table}_plain (tenant_id, created_at)")
        await conn.execute(f"VACUUM ANALYZE {table}_plain")
    async with conn.transaction():
        for statement in [*rls.multi_role_sql(), *rls.disable_sql(table), *rls.enable_sql(table)]:
            await conn.execute(statement)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def multi_suffix(tenant: Any) -> str:
    """BEGIN suffix of a multi-tenant scope, here with one tenant (the app never sends
    that: engine.begin_suffix switches to the multi role only for two or more)."""
    return "".join(f" {statement};" for statement in rls.multi_scope_sql([tenant]))


async def run(args: argparse.Namespace) -> None:
    await ensure_database(args.url)
    owner_dsn = dsn(args.url, database=DATABASE)
    settings = Settings(database_url=owner_dsn)
    table = f"bench_items_{args.rows}_{args.tenants}"

    owner = await asyncpg.connect(owner_dsn)
    await ensure_table(owner, table, args.rows, args.tenants)
    engine = owner_engine(settings)
    try:
        await ensure_app_role(engine, settings)  # both roles and grants exactly as `db upgrade`
    finally:
        await engine.dispose()
    tenants = [r[0] for r in await owner.fetch(f"SELECT DISTINCT tenant_id FROM {table}")]

    async def app_connection() -> ScopedConnection:
        conn: ScopedConnection = await asyncpg.connect(
            dsn(args.url, database=DATABASE, user=settings.app_db_role),
            connection_class=ScopedConnection,
        )
        return conn

    # One connection per app variant, so each keeps its own prepared plan.
    single, single_where, single_select, multi, plain = [await app_connection() for _ in range(5)]
    variants: dict[str, tuple[asyncpg.Connection, str, bool, Any]] = {
        # name: (connection, SQL, takes the tenant as $1, BEGIN suffix for a tenant)
        "rls": (single, LIST.format(t=table, where=""), False, "one"),
        "rls+where": (single_where, LIST.format(t=table, where=WHERE), True, "one"),
        "rls/select": (single_select, LIST.format(t=table, where=""), False, "select"),
        "plain": (plain, LIST.format(t=f"{table}_plain", where=WHERE), True, None),
        "owner": (owner, LIST.format(t=table, where=WHERE), True, None),
        "multi-1": (multi, LIST.format(t=table, where=WHERE), True, "multi"),
    }
    labels = {
        "rls": "(a)", "plain": "(b)", "multi-1": "(c)", "rls+where": "", "rls/select": "",
        "owner": "",
    }  # fmt: skip
    prepared = {name: await conn.prepare(sql) for name, (conn, sql, _, _) in variants.items()}

    def scope_for(name: str, tenant: Any) -> None:
        conn, _, _, kind = variants[name]
        if kind == "one":
            # What _hand_scope_to_driver hands over for a unit of work of this tenant.
            conn.tenantry_begin = begin_suffix(TenantScope.of([tenant]))
        elif kind == "multi":
            conn.tenantry_begin = multi_suffix(tenant)
        elif kind == "select":
            conn.tenantry_begin = f" SELECT set_config('{rls.TENANT_SETTING}', '{tenant}', true);"

    async def one(name: str, tenant: Any) -> list[Any]:
        conn, _, takes_tenant, _ = variants[name]
        scope_for(name, tenant)
        async with conn.transaction():
            return list(await prepared[name].fetch(*((tenant,) if takes_tenant else ())))

    # The same answer from every variant, or the comparison means nothing.
    probe = random.choice(tenants)
    answers = {name: [r["id"] for r in await one(name, probe)] for name in variants}
    assert len({tuple(a) for a in answers.values()}) == 1, "variants disagree"
    assert len(answers["owner"]) == 50

    print("\nplans for one tenant (EXPLAIN ANALYZE):")
    for name, (conn, sql, _, _) in variants.items():
        scope_for(name, probe)
        await print_plan(f"{labels[name]} {name}".strip(), conn, sql.replace("$1", f"'{probe}'"))

    timings: dict[str, list[float]] = {name: [] for name in variants}
    order = list(variants)
    rng = random.Random(1)
    for i in range(args.warmup + args.queries):
        tenant = rng.choice(tenants)
        rng.shuffle(order)  # interleaved, in varying order: no variant always goes first
        for name in order:
            started = time.perf_counter_ns()
            await one(name, tenant)
            if i >= args.warmup:
                timings[name].append((time.perf_counter_ns() - started) / 1e6)

    base, base95 = statistics.median(timings["plain"]), pct(timings["plain"], 95)
    print(
        f"\n{args.queries:,} transactions per variant (BEGIN, latest 50 rows of one tenant, "
        f"COMMIT); {args.rows:,} rows, {args.tenants:,} tenants; PostgreSQL "
        f"{owner.get_server_version().major}:"
    )
    print(f"{'variant':<16} {'median ms':>10} {'p95 ms':>8} {'median/(b)':>11} {'p95/(b)':>8}")
    for name in ("rls", "rls+where", "rls/select", "plain", "owner", "multi-1"):
        med, p95 = statistics.median(timings[name]), pct(timings[name], 95)
        label = f"{labels[name]} {name}".strip()
        print(f"{label:<16} {med:>10.3f} {p95:>8.3f} {med / base:>11.2f} {p95 / base95:>8.2f}")
    a_ratio = statistics.median(timings["rls"]) / base
    c_ratio = statistics.median(timings["multi-1"]) / base
    verdict = "meets" if a_ratio <= 1.10 else "MISSES"
    print(f"\n(a)/(b) = {a_ratio:.2f}: {verdict} the <= 1.10 target; (c)/(b) = {c_ratio:.2f}")
    for conn in (single, single_where, single_select, multi, plain, owner):
        await conn.close()


async def print_plan(name: str, conn: asyncpg.Connection, sql: str) -> None:
    async with conn.transaction():  # a ScopedConnection sends its scope with this BEGIN
        role = await conn.fetchval("SELECT current_user")
        rows = await conn.fetch(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) {sql}")
    print(f"  {name} (as {role}):")
    for row in rows:
        line = row[0]
        # The policy expressions are long and the same everywhere: abbreviate them.
        line = line.replace(
            "(string_to_array(COALESCE(current_setting('tenantry.tenant_ids'::text, true), "
            "''::text), ','::text))::uuid[]",
            "<tenant_ids>",
        ).replace(
            "(NULLIF(current_setting('tenantry.tenant_id'::text, true), ''::text))::uuid",
            "<tenant_id>",
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
