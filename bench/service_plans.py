"""What the MSP dashboard's read of service plans costs at 10,000 clients.

Usage:
    uv run --group dev python bench/service_plans.py [--clients 10000] [-n 21]

Builds its own PostgreSQL database (``tenantry_bench_service_plans``, dropped and made
again each run): one MSP, ``--clients`` client tenants, three plans, every client on
one with a counted-users figure. Then, as the app role under the MSP's single-tenant
scope (the dashboard's unit of work), times ``ServicePlanService.assignments(msp)``
(every client: one statement over both tables' tenant-leading keys) and ``usage_of``
for one page of 50 clients. Prints medians; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from run import DEFAULT_URL, dsn, ensure_database
from sqlalchemy import insert

from tenantry.access.service import operator_scope
from tenantry.config import Settings
from tenantry.db import migrate
from tenantry.db.base import new_id, utcnow
from tenantry.db.engine import Database
from tenantry.psa.service_plans.models import ServicePlan, ServicePlanAssignment
from tenantry.psa.service_plans.service import ServicePlanService
from tenantry.tenancy.models import Tenant

NAME = "tenantry_bench_service_plans"


async def build(settings: Settings, clients: int) -> uuid.UUID:
    await migrate.upgrade(settings)
    owner = migrate.owner_engine(settings)
    msp_id = new_id()
    client_ids = [new_id() for _ in range(clients)]
    plans = [new_id() for _ in range(3)]
    now = utcnow()
    async with owner.begin() as conn:
        await conn.execute(
            insert(Tenant),
            [{"id": msp_id, "slug": "bench-msp", "display_name": "Bench MSP", "is_msp": True}]
            + [
                {
                    "id": c,
                    "slug": f"client-{i:05d}",
                    "display_name": f"Client {i:05d}",
                    "is_msp": False,
                }
                for i, c in enumerate(client_ids)
            ],
        )
    # Tenant-owned rows are written under the MSP's scope (forced row-level security).
    db = Database(settings)
    async with db.unit_of_work(operator_scope([msp_id])) as session:
        await session.execute(
            insert(ServicePlan),
            [
                {
                    "tenant_id": msp_id,
                    "id": p,
                    "name": f"Plan {n}",
                    "included_users": 25 * (n + 1),
                    "price_minor": 4500 + 1000 * n,
                    "currency": "EUR",
                    "period": "monthly",
                    "updated_at": now,
                    "created_at": now,
                }
                for n, p in enumerate(plans)
            ],
        )
        await session.execute(
            insert(ServicePlanAssignment),
            [
                {
                    "tenant_id": msp_id,
                    "id": new_id(),
                    "client_id": c,
                    "plan_id": plans[i % 3],
                    "counted_users": i % 40,
                    "updated_at": now,
                    "created_at": now,
                }
                for i, c in enumerate(client_ids)
            ],
        )
    await db.dispose()
    await owner.dispose()
    return msp_id


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("-n", type=int, default=21)
    parser.add_argument("--url", default=DEFAULT_URL)
    args = parser.parse_args()
    await ensure_database(args.url, NAME, rebuild=True)
    settings = Settings(database_url=dsn(args.url, database=NAME), log_level="WARNING")
    msp_id = await build(settings, args.clients)
    db = Database(settings)
    reads: list[float] = []
    for _ in range(args.n + 1):
        started = time.perf_counter()
        async with db.unit_of_work(operator_scope([msp_id])) as session:
            usage = await ServicePlanService(session).assignments(msp_id)
        reads.append((time.perf_counter() - started) * 1000)
    assert len(usage) == args.clients
    page_ids = sorted(usage)[:50]
    pages: list[float] = []
    for _ in range(args.n + 1):
        started = time.perf_counter()
        async with db.unit_of_work(operator_scope([msp_id])) as session:
            await ServicePlanService(session).usage_of(msp_id, page_ids)
        pages.append((time.perf_counter() - started) * 1000)
    print(
        f"assignments(msp) over {args.clients} clients, one unit of work: "
        f"first {reads[0]:.1f} ms, median {statistics.median(reads[1:]):.1f} ms, "
        f"min {min(reads[1:]):.1f} ms"
    )
    print(
        f"usage_of(msp, 50 clients) (a dashboard page): median "
        f"{statistics.median(pages[1:]):.1f} ms, min {min(pages[1:]):.1f} ms"
    )
    await db.dispose()


if __name__ == "__main__":
    asyncio.run(main())
