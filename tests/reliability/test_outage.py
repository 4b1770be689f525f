"""Database outage: the real server on a private, throwaway PostgreSQL cluster (never the
machine's shared one), which is stopped (``pg_ctl stop -m fast``) and started again
while requests run. While it is down, and while it shuts down or starts up, every answer
is a 503 problem document (no 500, no hang beyond the client's timeout); after ``pg_ctl
start`` requests succeed again within seconds, without restarting the app."""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.reliability._harness import (
    Server,
    create_database,
    free_port,
    long_pass,
    seed,
    settings_for,
)

pytestmark = pytest.mark.reliability

CLIENT_TIMEOUT = 15.0  # a request taking longer than this counts as a hang
RECOVERY_WITHIN = 10.0  # seconds after `pg_ctl start` returns


class PrivateCluster:
    """initdb + pg_ctl under /tmp on a free port, run as the ``postgres`` user (TOOLS.md)."""

    def __init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not found or shutil.which("runuser") is None or os.geteuid() != 0:
            pytest.skip("needs root, runuser and PostgreSQL's server binaries to make a cluster")
        self.bin = Path(found[-1]).parent
        self.dir = Path(tempfile.mkdtemp(prefix="tenantry-pg-", dir="/tmp"))
        shutil.chown(self.dir, "postgres", "postgres")
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 60) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *args],
            check=True,
            capture_output=True,
            timeout=timeout,
        )

    def init(self) -> None:
        self._run(
            str(self.bin / "initdb"), "-D", str(self.dir / "data"), "-U", "postgres",
            "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
        )  # fmt: skip

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-l", str(self.dir / "log"),
            "-w", "-o", options, "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    pg = PrivateCluster()
    try:
        pg.init()
        pg.start()
        yield pg
    finally:
        pg.destroy()


async def test_outage_answers_503_and_recovers_without_restart(
    cluster: PrivateCluster, tmp_path: Path
) -> None:
    dsn = await create_database(cluster.url, "tenantry_rel_outage")
    server = Server(dsn, log=tmp_path / "server.log")
    try:
        seeded = await seed(settings_for(dsn))
        server.start()
        # (started, finished, status or exception name, content type)
        log: list[tuple[float, float, str, str]] = []
        stop = asyncio.Event()

        async def reader(n: int) -> None:
            headers = {"authorization": f"Bearer {seeded.admin_token}"}
            async with httpx.AsyncClient(
                base_url=server.base, headers=headers, timeout=CLIENT_TIMEOUT
            ) as c:
                while not stop.is_set():
                    started = time.monotonic()
                    try:
                        r = await c.get(f"/api/v1/tenants/{seeded.msp}/customers")
                        outcome, kind = str(r.status_code), r.headers.get("content-type", "")
                    except httpx.HTTPError as exc:
                        outcome, kind = type(exc).__name__, ""
                    log.append((started, time.monotonic(), outcome, kind))
                    await asyncio.sleep(0.02)

        readers = [asyncio.create_task(reader(n)) for n in range(4)]
        await asyncio.sleep(1.5)
        await asyncio.to_thread(cluster.stop, "fast")
        down = time.monotonic()
        await asyncio.sleep(6 if long_pass() else 3)
        restarting = time.monotonic()
        await asyncio.to_thread(cluster.start)
        up = time.monotonic()
        await asyncio.sleep(RECOVERY_WITHIN + (10 if long_pass() else 2))
        stop.set()
        await asyncio.gather(*readers)

        outcomes = sorted({e[2] for e in log})

        def when(e: tuple[float, float, str, str]) -> str:
            return f"{e[2]} at {e[0] - down:+.2f} s from the stop, {e[0] - up:+.2f} from the start"

        def transition(e: tuple[float, float, str, str]) -> bool:
            # Running while PostgreSQL shuts down (until the stop returned) or starts up.
            return e[0] <= down + 0.2 or restarting <= e[0] <= up + 0.2

        steady = [when(e) for e in log if e[2] not in ("200", "503") and not transition(e)]
        assert not steady, f"outside the transitions: {steady[:5]}\n" + server_errors(tmp_path)
        slowest = max(e[1] - e[0] for e in log)
        assert slowest < CLIENT_TIMEOUT, f"a request hung for {slowest:.1f} s"
        while_down = [e for e in log if e[0] > down + 0.2 and e[1] < restarting]
        assert while_down, "no request ran while the database was down"
        not_503 = [e for e in while_down if e[2] != "503" or "problem+json" not in e[3]]
        assert not not_503, f"while down: {not_503[:5]}\n" + server_errors(tmp_path)
        recovered = [e for e in log if e[0] > up and e[2] == "200"]
        assert recovered, f"no success after the restart: {outcomes}\n" + server_errors(tmp_path)
        first = min(e[0] for e in recovered)
        assert first - up < RECOVERY_WITHIN, f"first success {first - up:.1f} s after start"
        later = [e for e in log if e[0] > first + 1.0]
        assert later and all(e[2] == "200" for e in later), sorted({e[2] for e in later})

        # The transitions too (requests running as the server shuts down or starts up):
        # asyncpg's AdminShutdownError and CannotConnectNowError (SQLSTATE 57P0x), a
        # dropped connection (class 08) and one invalidated mid-operation are 503
        # (http/problems.py: database_unreachable), never a 500 or a dropped answer.
        odd = [when(e) for e in log if e[2] not in ("200", "503")]
        assert not odd, f"not 503 during the transitions: {odd[:5]}\n" + server_errors(tmp_path)
    finally:
        server.stop()


def server_errors(tmp_path: Path) -> str:
    """The server's tracebacks, shortened to their last lines, for the failure message."""
    text = (tmp_path / "server.log").read_text(errors="replace")
    blocks = text.split("Traceback (most recent call last):")[1:]
    ends = sorted({"\n".join(b.strip().splitlines()[-2:]) for b in blocks})
    return "server errors:\n" + "\n---\n".join(ends[:6])
