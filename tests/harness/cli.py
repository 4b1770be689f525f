"""The one CLI fixture: ``cli`` runs the ``tenantry`` command against the test database.

    def test_lists_tenants(cli: Cli) -> None:
        code, out, err = cli("tenants", "list", "--json")

    async def test_from_async(cli: Cli) -> None:
        result = await cli.run("audit", "verify")   # the CLI's own event loop, in a thread

A result unpacks as ``(exit_code, stdout, stderr)`` and has those names too. Exposed to
every test by ``pytest_plugins`` in tests/conftest.py; it runs on both backends, like the
``settings`` fixture it needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import anyio
import pytest
from typer.testing import CliRunner

from tenantry.cli.main import app
from tenantry.config import Settings, get_settings


class CliResult(NamedTuple):
    exit_code: int
    stdout: str
    stderr: str


class Cli:
    """``tenantry`` with its environment pointed at the test database."""

    def __init__(self, settings: Settings) -> None:
        env = {"TENANTRY_DATABASE_URL": settings.database_url, "TENANTRY_LOG_LEVEL": "WARNING"}
        if settings.app_database_url:
            env["TENANTRY_APP_DATABASE_URL"] = settings.app_database_url
        self.runner = CliRunner(env=env)

    def __call__(self, *args: str, input: str | None = None) -> CliResult:
        """From a plain (sync) test."""
        result = self.runner.invoke(app, list(args), input=input)
        return CliResult(result.exit_code, result.stdout, result.stderr)

    async def run(self, *args: str, input: str | None = None) -> CliResult:
        """From an async test: the CLI runs its own event loop, so it gets a thread."""
        return await anyio.to_thread.run_sync(lambda: self(*args, input=input))


@pytest.fixture
def cli(settings: Settings) -> Iterator[Cli]:
    # The CLI reads its settings from the environment: none cached from another test.
    get_settings.cache_clear()
    yield Cli(settings)
    get_settings.cache_clear()
