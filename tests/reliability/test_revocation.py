"""Revocation under load: a customer revokes its MSP's link while the MSP's technician
and admin keep reading the customer's tickets. No request that starts after the
revocation was acknowledged (so after it committed: routes commit before they answer)
is served: every one of them answers 404."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

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
)

pytestmark = pytest.mark.reliability


async def until(condition: Callable[[], bool], limit: float = 90) -> None:
    """Wait for ``condition`` (at most ``limit`` seconds), polling."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if condition():
            return
        await asyncio.sleep(0.05)


async def test_no_request_started_after_revocation_is_served(tmp_path: Path) -> None:
    dsn = await create_database(postgres_url(), "tenantry_rel_revoke")
    # Two workers: the decision must not be cached in the process that saw the revocation
    # only.
    server = Server(dsn, workers=2, log=tmp_path / "server.log")
    try:
        seeded = await seed(settings_for(dsn))
        server.start()
        customer_admin = {"authorization": f"Bearer {seeded.customer_admin_token}"}
        async with httpx.AsyncClient(base_url=server.base, timeout=30) as c:
            r = await c.get(
                f"/api/v1/tenants/{seeded.customer}/links",
                params={"state": "active"},
                headers=customer_admin,
            )
            assert r.status_code == 200, r.text
            link_id = next(item["id"] for item in r.json()["items"] if item["state"] == "active")

        # (started, finished, status, who) of every request of the MSP's people.
        log: list[tuple[float, float, int, str]] = []
        stop = asyncio.Event()

        async def reader(token: str, who: str) -> None:
            headers = {"authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(base_url=server.base, headers=headers, timeout=30) as c:
                while not stop.is_set():
                    started = time.monotonic()
                    r = await c.get(f"/api/v1/tenants/{seeded.customer}/tickets")
                    log.append((started, time.monotonic(), r.status_code, who))

        readers = [
            asyncio.create_task(reader(seeded.technician_token, f"technician-{n}"))
            for n in range(4)
        ] + [asyncio.create_task(reader(seeded.admin_token, f"admin-{n}")) for n in range(2)]
        # Until enough requests were served (the machine may be busy), then revoke.
        await until(lambda: sum(e[2] == 200 for e in log) >= (30 if long_pass() else 6))
        async with httpx.AsyncClient(base_url=server.base, timeout=30) as c:
            sent = time.monotonic()
            r = await c.post(
                f"/api/v1/tenants/{seeded.customer}/links/{link_id}/revoke", headers=customer_admin
            )
            acknowledged = time.monotonic()
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "revoked"
        await until(lambda: sum(e[0] > acknowledged for e in log) >= (60 if long_pass() else 12))
        stop.set()
        await asyncio.gather(*readers)

        before = [e for e in log if e[1] < sent]
        after = [e for e in log if e[0] > acknowledged]
        assert before and all(e[2] == 200 for e in before), sorted({e[2] for e in before})
        assert len(after) >= 10, f"too few requests after the revocation: {len(after)}"
        served = [e for e in after if e[2] != 404]
        assert not served, f"served after the revocation committed: {served[:10]}"
    finally:
        server.stop()
        await drop_database(dsn)
