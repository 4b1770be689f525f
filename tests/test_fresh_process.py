"""What only a new process shows: modules imported in the order a command imports them,
not the order the test session did (its conftest loads every model first)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SEED_DEMO = """
import asyncio
from tenantry import demo  # first, as `tenantry serve --demo` reaches it
from tenantry.config import get_settings
from tenantry.db import migrate
from tenantry.db.engine import Database

async def main():
    settings = get_settings()
    await migrate.upgrade(settings)
    passwords = await demo.ensure_demo(Database(settings), settings)
    print(len(passwords))

asyncio.run(main())
"""


def test_the_demo_seeds_a_new_sqlite_database_in_a_new_process(tmp_path: Path) -> None:
    # Statements built at import time once left a column's parameter untyped (the
    # tenant-owned base's tenant_id is typed later by the mapping), and SQLite could not
    # bind the UUID of the demo's first audit event.
    env = {
        **os.environ,
        "TENANTRY_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        "TENANTRY_SECRET_KEY": "fresh-process-test-secret-0123456789abcdef",
    }
    done = subprocess.run(
        [sys.executable, "-c", SEED_DEMO], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "4"
