"""Crash: ``kill -9`` the real server in the middle of concurrent writes, restart it, and
find every acknowledged write, nothing half-written, and every audit chain intact."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.reliability._harness import (
    Server,
    create_database,
    drop_database,
    long_pass,
    postgres_url,
    seed,
    settings_for,
    tenantry_cli,
)

pytestmark = pytest.mark.reliability


async def test_kill9_mid_writes_loses_nothing_acknowledged(tmp_path: Path) -> None:
    dsn = await create_database(postgres_url(), "tenantry_rel_crash")
    server = Server(dsn, log=tmp_path / "server.log")
    try:
        seeded = await seed(settings_for(dsn))
        server.start()
        customers: list[dict[str, str]] = []  # acknowledged (2xx) customer creations
        tickets: list[int] = []  # acknowledged ticket numbers in the seeded customer
        failures: list[str] = []
        stop = asyncio.Event()

        async def create_customers(n: int) -> None:
            headers = {"authorization": f"Bearer {seeded.admin_token}"}
            async with httpx.AsyncClient(base_url=server.base, headers=headers, timeout=10) as c:
                i = 0
                while not stop.is_set():
                    i += 1
                    try:
                        r = await c.post(
                            f"/api/v1/tenants/{seeded.msp}/customers",
                            json={"name": f"Crash {n:02d} {i:04d}"},
                        )
                    except httpx.HTTPError as exc:
                        failures.append(type(exc).__name__)
                        await asyncio.sleep(0.02)
                        continue
                    if 200 <= r.status_code < 300:
                        customers.append(r.json())
                    elif r.status_code >= 500:
                        failures.append(str(r.status_code))

        async def create_tickets(n: int) -> None:
            headers = {"authorization": f"Bearer {seeded.technician_token}"}
            async with httpx.AsyncClient(base_url=server.base, headers=headers, timeout=10) as c:
                i = 0
                while not stop.is_set():
                    i += 1
                    try:
                        r = await c.post(
                            f"/api/v1/tenants/{seeded.customer}/tickets",
                            json={"title": f"Crash ticket {n}-{i}", "priority": "P2"},
                        )
                    except httpx.HTTPError as exc:
                        failures.append(type(exc).__name__)
                        await asyncio.sleep(0.02)
                        continue
                    if 200 <= r.status_code < 300:
                        tickets.append(int(r.json()["number"]))

        writers = [asyncio.create_task(create_customers(n)) for n in range(6)]
        writers += [asyncio.create_task(create_tickets(n)) for n in range(4)]
        # Kill once enough writes were acknowledged (at most a minute), so the crash lands
        # mid-stream.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if len(customers) >= (60 if long_pass() else 15):
                break
            await asyncio.sleep(0.05)
        server.kill9()
        await asyncio.sleep(0.5)
        stop.set()
        await asyncio.gather(*writers)
        assert customers, f"no write was acknowledged before the kill: {failures[:5]}"

        server.start()
        # Every acknowledged customer answers through the API after the restart...
        headers = {"authorization": f"Bearer {seeded.admin_token}"}
        async with httpx.AsyncClient(base_url=server.base, headers=headers, timeout=30) as c:
            for made in customers:
                r = await c.get(f"/api/v1/tenants/{seeded.msp}/customers/{made['slug']}")
                assert r.status_code == 200, (made, r.status_code, r.text)
            theirs = {"authorization": f"Bearer {seeded.technician_token}"}
            for number in tickets:
                r = await c.get(
                    f"/api/v1/tenants/{seeded.customer}/tickets/{number}", headers=theirs
                )
                assert r.status_code == 200, (number, r.status_code, r.text)

        # ...and nothing is half-written: every customer that exists (acknowledged or
        # committed just before the kill) has its active link and its three events.
        owner = await asyncpg.connect(dsn)
        try:
            msp_id = await owner.fetchval("SELECT id FROM tenants WHERE slug = $1", seeded.msp)
            rows = await owner.fetch(
                """SELECT t.id, t.slug,
                       (SELECT count(*) FROM tenant_links l
                         WHERE l.customer_tenant_id = t.id AND l.msp_tenant_id = $1
                           AND l.state = 'active') AS links,
                       (SELECT count(*) FROM audit_events e
                         WHERE e.tenant_id = t.id AND e.action = 'tenant.created') AS created,
                       (SELECT count(*) FROM audit_events e
                         WHERE e.tenant_id = t.id AND e.action = 'link.created') AS linked,
                       (SELECT count(*) FROM audit_events e
                         WHERE e.tenant_id = $1 AND e.action = 'customer.created'
                           AND e.target_id = t.id::text) AS recorded
                   FROM tenants t WHERE t.slug LIKE 'crash-%'""",
                msp_id,
            )
            assert {r["slug"] for r in rows} >= {c["slug"] for c in customers}
            half = [
                dict(r)
                for r in rows
                if (r["links"], r["created"], r["linked"], r["recorded"]) != (1, 1, 1, 1)
            ]
            assert not half, f"half-written customers: {half}"
            # Tickets: numbers unique and each has its history row and audit event.
            bad = await owner.fetch(
                """SELECT t.number FROM tickets t
                   WHERE NOT EXISTS (SELECT 1 FROM ticket_events v
                                     WHERE v.tenant_id = t.tenant_id AND v.ticket_id = t.id)
                      OR NOT EXISTS (SELECT 1 FROM audit_events e
                                     WHERE e.tenant_id = t.tenant_id
                                       AND e.action = 'ticket.created'
                                       AND e.target_id = t.id::text)"""
            )
            assert not bad, f"tickets without their history or audit event: {bad}"
        finally:
            await owner.close()
        server.stop()

        verify = tenantry_cli(dsn, "audit", "verify", "--json")
        assert verify.returncode == 0, verify.stdout + verify.stderr
    finally:
        server.stop()
        await drop_database(dsn)
