"""Time one API request in-process against the benchmark dataset, without load.

Usage:
    uv run python bench/probe.py [--as admin|technician|customer_admin] [-n N] [--profile] PATH

``PATH`` may name ``{msp}`` (the big MSP), ``{client}`` (its first client) and
``{delegated}`` (the technician's first delegated client), e.g.::

    uv run python bench/probe.py "/api/v1/tenants/{msp}/msp-tickets?limit=50"
    uv run python bench/probe.py --as technician "/api/v1/tenants/{delegated}/tickets"

The app runs in this process (httpx's ASGI transport; no server, no load tool), on the
dataset ``bench/run.py`` built (run that first). Prints the first request (cold caches)
and the median and minimum of the next ``N``: what one request costs when nothing else
runs, the figure to compare before and after a change to a hot path.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import statistics
import sys
import time
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).parent))
from run import DEFAULT_URL, FULL, QUICK, bench_settings, stored_meta, tokens_for

from tenantry.app import create_app
from tenantry.db import migrate


async def probe(
    path: str,
    who: str,
    n: int,
    quick: bool,
    url: str,
    freeze: bool,
    profile: bool,
    body: str | None = None,
    database: str | None = None,
) -> None:
    size = QUICK if quick else FULL
    if database:
        size = dataclasses.replace(size, named=database)
    settings = bench_settings(url, size)
    owner = await asyncpg.connect(settings.database_url)
    try:
        meta = await stored_meta(owner)
    finally:
        await owner.close()
    if meta is None:
        raise SystemExit("no dataset: run `uv run python bench/run.py` first")
    await migrate.upgrade(settings)
    emails = {
        "admin": meta["big"]["admin"],
        "technician": meta["technician"]["email"],
        "customer_admin": meta["customer_admin"]["email"],
    }
    token = (await tokens_for(settings, {who: emails[who]}))[who]
    path = path.format(
        msp=meta["big"]["slug"],
        client=meta["big_customers"][0],
        delegated=meta["technician"]["customers"][0],
    )
    app = create_app(settings)
    if freeze:
        # As tenantry/asgi.py does in every server worker.
        gc.collect()
        gc.freeze()
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://bench",
            headers={"authorization": f"Bearer {token}"},
            timeout=300,
        ) as client,
    ):
        timings = []
        profiler = None
        for i in range(n + 1):
            if i == 1 and profile:
                # The warm requests only: the first pays for caches and connections.
                from pyinstrument import Profiler

                profiler = Profiler(interval=0.0002, async_mode="enabled")
                profiler.start()
            started = time.perf_counter()
            if body is None:
                response = await client.get(path)
            else:
                response = await client.post(
                    path, content=body, headers={"content-type": "application/json"}
                )
            timings.append((time.perf_counter() - started) * 1000)
            if i == 0 and response.status_code >= 300:
                raise SystemExit(f"{path} answered {response.status_code}: {response.text}")
        if profiler is not None:
            profiler.stop()
            print(profiler.output_text(unicode=False, color=False, show_all=False))
    warm = timings[1:]
    method = "GET" if body is None else "POST"
    print(
        f"{method} {path} as {who}{'' if freeze else ' (no gc.freeze)'}: first "
        f"{timings[0]:.1f} ms; next {n}: median {statistics.median(warm):.1f} ms, "
        f"min {min(warm):.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("path", help="API path; may name {msp}, {client}, {delegated}")
    parser.add_argument(
        "--as", dest="who", default="admin", choices=["admin", "technician", "customer_admin"]
    )
    parser.add_argument("-n", type=int, default=10, help="warm requests after the first")
    parser.add_argument("--quick", action="store_true", help="the --quick dataset")
    parser.add_argument("--url", default=DEFAULT_URL, help="PostgreSQL (superuser) URL")
    parser.add_argument(
        "--no-freeze",
        dest="freeze",
        action="store_false",
        help="skip gc.freeze() after building the app (the server entry point freezes)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="print a pyinstrument profile of the warm requests"
    )
    parser.add_argument("--post", metavar="JSON", help="POST this body instead of a GET")
    parser.add_argument("--database", help="the dataset's database (default: by size)")
    args = parser.parse_args()
    asyncio.run(
        probe(
            args.path,
            args.who,
            max(1, args.n),
            args.quick,
            args.url,
            args.freeze,
            args.profile,
            args.post,
            args.database,
        )
    )


if __name__ == "__main__":
    main()
