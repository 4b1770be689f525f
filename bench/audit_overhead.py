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
   chain head read ``FOR UPDATE``, hashing, inserting the event and updating the head.
   Prints median and p95 per unit of work and the ratios.
2. **Export rate.** ``--events`` events (default 200,000) of one tenant, hash-chained as
   ``record`` chains them, bulk-copied in as the owner (batches of 10,000, so seeding
   keeps memory flat), then streamed through ``audit.export.export_lines`` (the code
   behind the API export and ``tenantry audit export``) as the app role to /dev/null, as
   JSON Lines and as CSV. Prints events per second and the peak RSS
   (``resource.getrusage``) before and after: equal peaks mean the export ran in
   constant memory.

The database is dropped at the end. Figures are from one run on one machine; compare
ratios, not absolute times.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import resource
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from tenantry.access.service import operator_scope
from tenantry.audit import export, repository, retention
from tenantry.audit import service as audit
from tenantry.audit.schemas import OPERATOR
from tenantry.config import Settings
from tenantry.db.base import new_id
from tenantry.db.engine import Database
from tenantry.db.migrate import upgrade
from tenantry.tenancy.service import TenancyService

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
            seed_start = time.perf_counter()
            await seed_events(owner_dsn, tenant.id, args.events)
            print(
                f"\n   (seeded {args.events:,} events in {time.perf_counter() - seed_start:.1f} s)"
            )
            await export_rate(db, tenant.id, args.events)
        finally:
            await db.dispose()
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
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    asyncio.run(main(parser.parse_args()))
