"""What the audit trail costs (PostgreSQL): on a write, and to export a big trail.

Usage:
    uv run python bench/audit_overhead.py [--writes N] [--events N] [--url URL]

Builds a fresh database ``tenantry_audit_bench`` on ``--url`` (default: the test server,
postgresql://postgres@127.0.0.1:5432/postgres) with the real migrations, the app role and
row-level security, exactly as ``tenantry db upgrade`` leaves them. Then:

1. **Overhead on a write.** The same service write (``audit.retention.set_retention``:
   read the tenant, change a column, and record the event) in its own unit of work as the
   app role under the tenant's scope, ``--writes`` times (default 2,000) with
   ``audit.record`` and as many times with ``audit.record`` replaced by a no-op,
   interleaved pairwise in random order. What "with" adds is the whole of recording: the
   chain head read ``FOR UPDATE``, hashing, and the one statement that inserts the event
   and moves the head. Prints median and p95 per unit of work and the ratios.
2. **Export rate.** ``--events`` events (default 200,000) of one tenant, hash-chained as
   ``record`` chains them, bulk-copied in as the owner (batches of 10,000, so seeding
   keeps memory flat), then streamed through ``audit.export.export_lines`` (the code
   behind the API export and ``tenantry audit export``) as the app role to /dev/null, as
   JSON Lines and as CSV. Prints events per second and the peak RSS
   (``resource.getrusage``) before and after: equal peaks mean the export ran in
   constant memory.

3. **One ``record`` call.** The statements ``audit.record`` sends (counted on the engine,
   ``before_cursor_execute``; with asyncpg's statement cache warm each is one round trip)
   and the median time of the call alone, inside a unit of work already begun: the first
   event of a tenant with no chain yet (``--writes`` / 10 fresh tenants), one event per
   unit of work (``--writes``), and the 2nd to 10th event of a unit of work that records
   ten (``--writes`` / 10 units of work).
4. **Create a ticket through the API.** ``POST /api/v1/tenants/{client}/tickets`` in
   process (httpx's ASGI transport, as ``bench/probe.py`` does for reads) as an MSP's
   admin in one of its clients, ``--writes`` / 4 times after a warm-up: the median and
   p95 per request, and the statements per request, by table. The MSP, its admin (a
   token) and its client are made by ``bench/run.py``'s own builders.

The database is dropped at the end. Figures are from one run on one machine; compare
ratios, not absolute times (``--skip-export`` leaves section 2 out).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import re
import resource
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url

from tenantry.access.service import operator_scope
from tenantry.audit import export, repository, retention
from tenantry.audit import service as audit
from tenantry.audit.changes import changed
from tenantry.audit.schemas import OPERATOR, AuditAction
from tenantry.config import Settings
from tenantry.db.base import new_id
from tenantry.db.engine import Database
from tenantry.db.migrate import upgrade
from tenantry.tenancy.service import TenancyService

sys.path.insert(0, str(Path(__file__).parent))
from run import make_customers, make_msp, tokens_for

from tenantry.app import create_app

DATABASE = "tenantry_audit_bench"
BATCH = 10_000


def dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def peak_rss_mb() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def summary(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.95) - 1] * 1000


async def _no_record(*args: Any, **kwargs: Any) -> None:
    return None


async def write_overhead(db: Database, tenant_id: uuid.UUID, writes: int) -> None:
    real = audit.record
    timings: dict[str, list[float]] = {"with audit": [], "without": []}
    scope = operator_scope([tenant_id])
    days = iter(range(10**9))

    async def one(kind: str) -> None:
        # A different value each time, so the write always changes something (and records).
        value = 30 + next(days) % 1000
        audit.record = real if kind == "with audit" else _no_record  # type: ignore[assignment]
        start = time.perf_counter()
        async with db.unit_of_work(scope) as session:
            await retention.set_retention(session, tenant_id, value, actor=OPERATOR)
        timings[kind].append(time.perf_counter() - start)

    try:
        for _ in range(50):  # warm the pool and the plans
            await one("with audit")
            await one("without")
        timings = {"with audit": [], "without": []}
        for _ in range(writes):
            pair = ["with audit", "without"]
            random.shuffle(pair)
            for kind in pair:
                await one(kind)
    finally:
        audit.record = real  # type: ignore[assignment]
    with_m, with_p = summary(timings["with audit"])
    without_m, without_p = summary(timings["without"])
    print(f"\n1. A write with and without its audit event ({writes} each, interleaved)")
    print(f"   {'':<12} {'median ms':>10} {'p95 ms':>10}")
    print(f"   {'with audit':<12} {with_m:>10.3f} {with_p:>10.3f}")
    print(f"   {'without':<12} {without_m:>10.3f} {without_p:>10.3f}")
    print(
        f"   ratio with/without: median {with_m / without_m:.2f}x, p95 {with_p / without_p:.2f}x"
        f" (+{with_m - without_m:.3f} ms median)"
    )


# ---------------------------------------------------------------- statements, by shape


def shape(sql: str) -> str:
    """A statement as ``VERB table[, table]`` (``FOR UPDATE`` kept): what it does, short."""
    flat = " ".join(sql.split())
    verbs = re.findall(r"\b(SELECT|INSERT INTO|UPDATE|DELETE FROM)\s+(?:.*?\bFROM\s+)?(\w+)", flat)
    if flat.upper().startswith("WITH"):
        inner = re.findall(r"\b(INSERT INTO|UPDATE)\s+(\w+)", flat)
        return "WITH " + " + ".join(f"{v.split()[0]} {t}" for v, t in inner)
    verb, table = (verbs[0][0].split()[0], verbs[0][1]) if verbs else (flat.split()[0], "")
    return f"{verb} {table}{' FOR UPDATE' if flat.endswith('FOR UPDATE') else ''}".strip()


@contextmanager
def counting() -> Iterator[list[str]]:
    """Every statement any engine sends while inside (BEGIN and COMMIT are not counted:
    asyncpg's adapter sends them apart from the cursor)."""
    sent: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        sent.append(statement)

    event.listen(Engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        event.remove(Engine, "before_cursor_execute", note)


def by_shape(statements: list[str], calls: int) -> str:
    counts = Counter(shape(s) for s in statements)
    return "; ".join(f"{n / calls:g}x {what}" for what, n in counts.most_common())


async def record_cost(db: Database, tenant_id: uuid.UUID, writes: int) -> None:
    """Section 3: what one ``audit.record`` call sends, and how long the call takes."""

    async def one_call(session: Any, on: uuid.UUID, sent: list[str]) -> tuple[float, int]:
        before = len(sent)
        start = time.perf_counter()
        await audit.record(
            session,
            tenant_id=on,
            actor=OPERATOR,
            action=AuditAction.TENANT_RENAMED,
            target_type="tenant",
            target_id=on,
            changes=changed("display_name", "a", "b"),
        )
        return time.perf_counter() - start, len(sent) - before

    async def fresh_tenants(n: int) -> list[uuid.UUID]:
        # Tenants with no chain yet: made with recording switched off.
        real = audit.record
        audit.record = _no_record  # type: ignore[assignment]
        try:
            async with db.unit_of_work(operator_scope([])) as session:
                service = TenancyService(session)
                made = [
                    await service.create_tenant(
                        name=f"Fresh {uuid.uuid4().hex[:10]}",
                        display_name=None,
                        is_msp=False,
                        actor=OPERATOR,
                    )
                    for _ in range(n)
                ]
        finally:
            audit.record = real  # type: ignore[assignment]
        return [t.id for t in made]

    cases: dict[str, tuple[list[float], list[str], int]] = {}
    with counting() as sent:
        for _ in range(20):  # warm the statement caches
            async with db.unit_of_work(operator_scope([tenant_id])) as session:
                await session.execute(text("SELECT 1"))
                await one_call(session, tenant_id, sent)
        sent.clear()

        times: list[float] = []
        mark = len(sent)
        fresh = await fresh_tenants(max(10, writes // 10))
        mark = len(sent)
        for fresh_id in fresh:
            async with db.unit_of_work(operator_scope([fresh_id])) as session:
                await session.execute(text("SELECT 1"))
                took, _ = await one_call(session, fresh_id, sent)
                times.append(took)
        kept = [s for s in sent[mark:] if s.strip() != "SELECT 1"]
        cases["first event of a tenant"] = (times, kept, len(fresh))

        times, mark = [], len(sent)
        for _ in range(writes):
            async with db.unit_of_work(operator_scope([tenant_id])) as session:
                await session.execute(text("SELECT 1"))
                took, _ = await one_call(session, tenant_id, sent)
                times.append(took)
        kept = [s for s in sent[mark:] if s.strip() != "SELECT 1"]
        cases["one event per unit of work"] = (times, kept, writes)

        times, kept = [], []
        units = max(10, writes // 10)
        for _ in range(units):
            async with db.unit_of_work(operator_scope([tenant_id])) as session:
                await one_call(session, tenant_id, sent)
                mark = len(sent)
                for _ in range(9):
                    took, _ = await one_call(session, tenant_id, sent)
                    times.append(took)
                kept += sent[mark:]
        cases["2nd-10th event of a unit of work"] = (times, kept, units * 9)

    print("\n3. One audit.record call (inside a unit of work already begun)")
    print(f"   {'':<34} {'median ms':>10} {'p95 ms':>10} {'statements':>11}  which")
    for name, (samples, statements, calls) in cases.items():
        median, p95 = summary(samples)
        print(
            f"   {name:<34} {median:>10.3f} {p95:>10.3f} {len(statements) / calls:>11.2f}"
            f"  {by_shape(statements, calls)}"
        )
    async with db.unit_of_work(operator_scope([tenant_id])) as session:
        report = await audit.verify_chain(session, tenant_id)
    print(f"   the chain verifies: {report.ok} ({report.events:,} events)")


async def create_ticket_cost(settings: Settings, writes: int) -> None:
    """Section 4: ``POST /api/v1/tenants/{client}/tickets`` in process, as an MSP's admin."""
    db = Database(settings)
    try:
        msp, admin = await make_msp(db, settings, "audit-bench-msp", "Audit Bench MSP")
        (client,) = await make_customers(db, msp, admin, "Audit Bench", 1)
    finally:
        await db.dispose()
    token = (await tokens_for(settings, {"admin": admin.email}))["admin"]
    app = create_app(settings)
    requests = max(50, writes // 4)
    body = {"title": "Printer on fire", "description": "bench", "priority": "P2"}
    path = f"/api/v1/tenants/{client.slug}/tickets"
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://bench",
            headers={"authorization": f"Bearer {token}"},
        ) as http,
    ):
        for _ in range(30):  # warm the pool, the plans and the caches
            response = await http.post(path, json=body)
            assert response.status_code == 201, response.text
        timings: list[float] = []
        with counting() as sent:
            for _ in range(requests):
                start = time.perf_counter()
                response = await http.post(path, json=body)
                timings.append(time.perf_counter() - start)
                assert response.status_code == 201, response.text
    median, p95 = summary(timings)
    print(f"\n4. POST {path} in process ({requests} requests, as the MSP's admin)")
    print(f"   median {median:.3f} ms, p95 {p95:.3f} ms; {len(sent) / requests:.2f} statements")
    print(f"   per request: {by_shape(sent, requests)}")


def _digest(body: dict[str, Any]) -> str:
    raw = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


async def seed_events(owner_dsn: str, tenant_id: uuid.UUID, events: int) -> None:
    """Events 1..N chained as record() chains them (same canonical body), copied in as
    the owner; the chain head is moved to the last one so the chain verifies."""
    conn = await asyncpg.connect(owner_dsn)
    try:
        start_seq = int(
            await conn.fetchval(
                "SELECT coalesce(max(seq), 0) FROM audit_events WHERE tenant_id = $1", tenant_id
            )
        )
        prev = str(
            await conn.fetchval(
                "SELECT last_hash FROM audit_chain_heads WHERE tenant_id = $1", tenant_id
            )
        )
        at = datetime(2026, 1, 1, tzinfo=UTC)
        columns = [
            "tenant_id", "id", "created_at", "seq", "occurred_at", "action", "actor_user_id",
            "actor_name", "actor_home_tenant_id", "actor_home_tenant_name", "via_grant_id",
            "via_link_id", "explanation", "target_type", "target_id", "target_label", "changes",
            "request_id", "source_address", "user_agent", "prev_hash", "hash",
        ]  # fmt: skip
        seq = start_seq
        for first in range(0, events, BATCH):
            rows = []
            for n in range(first, min(first + BATCH, events)):
                seq += 1
                event_id = new_id()
                when = at + timedelta(seconds=n)
                changes = {"display_name": [f"Name {n}", f"Name {n + 1}"]}
                body = {
                    "tenant_id": str(tenant_id), "id": str(event_id), "seq": seq,
                    "occurred_at": when.isoformat(), "action": "tenant.renamed",
                    "actor_user_id": None, "actor_name": OPERATOR.name,
                    "actor_home_tenant_id": None, "via_grant_id": None, "via_link_id": None,
                    "explanation": None, "target_type": "tenant",
                    "target_id": str(tenant_id), "target_label": "bench",
                    "changes": changes, "request_id": f"req-{n}",
                    "source_address": "127.0.0.1", "prev_hash": prev,
                }  # fmt: skip
                digest = _digest(body)
                rows.append(
                    (
                        tenant_id, event_id, when, seq, when, "tenant.renamed", None,
                        OPERATOR.name, None, None, None, None, None, "tenant",
                        str(tenant_id), "bench", json.dumps(changes), f"req-{n}",
                        "127.0.0.1", "bench", prev, digest,
                    )
                )  # fmt: skip
                prev = digest
            await conn.copy_records_to_table("audit_events", records=rows, columns=columns)
        await conn.execute(
            "UPDATE audit_chain_heads SET seq = $2, last_hash = $3 WHERE tenant_id = $1",
            tenant_id,
            seq,
            prev,
        )
    finally:
        await conn.close()


async def export_rate(db: Database, tenant_id: uuid.UUID, events: int) -> None:
    print(f"\n2. Export of one tenant's trail ({events:,} events, to /dev/null, as the app role)")
    f = repository.EventFilter(tenant_ids=(tenant_id,))
    for fmt in ("jsonl", "csv"):
        before = peak_rss_mb()
        count, written = 0, 0
        start = time.perf_counter()
        with open("/dev/null", "w") as sink:  # noqa: ASYNC230 - /dev/null never blocks
            async with db.unit_of_work(operator_scope([tenant_id])) as session:
                async for chunk in export.export_lines(session, f, fmt):
                    written += len(chunk)
                    count += 1
                    sink.write(chunk)
        elapsed = time.perf_counter() - start
        after = peak_rss_mb()
        rows = count - (1 if fmt == "csv" else 0)  # the CSV header is a chunk of its own
        print(
            f"   {fmt:<5} {rows:,} events in {elapsed:.1f} s: {rows / elapsed:,.0f} events/s, "
            f"{written / elapsed / 1e6:.1f} MB/s; peak RSS {before:.0f} MB before, "
            f"{after:.0f} MB after"
        )
    async with db.unit_of_work(operator_scope([tenant_id])) as session:
        start = time.perf_counter()
        report = await audit.verify_chain(session, tenant_id)
        elapsed = time.perf_counter() - start
    print(
        f"   verify_chain: {'ok' if report.ok else report.reason}, {report.events:,} events "
        f"in {elapsed:.1f} s ({report.events / elapsed:,.0f} events/s); "
        f"peak RSS {peak_rss_mb():.0f} MB"
    )


async def main(args: argparse.Namespace) -> None:
    admin = await asyncpg.connect(dsn(args.url))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await admin.close()
    owner_dsn = dsn(args.url, DATABASE)
    settings = Settings(
        database_url=owner_dsn,
        app_db_role="tenantry_app",
        app_db_password="",
        app_database_url="",
        secret_key="bench-secret-0123456789abcdefghijklmnopq",
        log_level="WARNING",
    )
    try:
        await upgrade(settings)
        db = Database(settings)
        try:
            async with db.unit_of_work(operator_scope([])) as session:
                tenant = await TenancyService(session).create_tenant(
                    name="Bench", display_name=None, is_msp=False, actor=OPERATOR
                )
            print(f"PostgreSQL database {DATABASE}; app role tenantry_app under RLS")
            await write_overhead(db, tenant.id, args.writes)
            if not args.skip_export:
                seed_start = time.perf_counter()
                await seed_events(owner_dsn, tenant.id, args.events)
                elapsed = time.perf_counter() - seed_start
                print(f"\n   (seeded {args.events:,} events in {elapsed:.1f} s)")
                await export_rate(db, tenant.id, args.events)
            await record_cost(db, tenant.id, args.writes)
        finally:
            await db.dispose()
        await create_ticket_cost(settings, args.writes)
    finally:
        admin = await asyncpg.connect(dsn(args.url))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        finally:
            await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=2000)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--skip-export", action="store_true", help="leave section 2 out")
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    asyncio.run(main(parser.parse_args()))
