"""Fuzzing the API from its OpenAPI document with schemathesis, against the real server,
as each kind of caller: the MSP's admin, a delegated technician and a customer's own
admin (API tokens made through the services). Checks: no 5xx, and every response
matches the document (status code, content type, headers, body schema).

A targeted pass then sends every operation the values random fuzzing rarely reaches
(NUL characters, integers past 32 and 64 bits, crafted cursors, oversize bodies).

Short pass (CI): a few examples per operation. Long pass
(``TENANTRY_RELIABILITY_LONG=1``): many more, plus the coverage phase. Every failure
prints schemathesis's own report with a curl line to reproduce it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.reliability import _hostile as hostile
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

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)


# Operations that end the caller's own credentials: fuzzing them would sign the caller
# out for every operation after them. Left out by name; the document itself is fuzzed as
# served, unpatched: it declares every path parameter, the problem documents of every
# error answer and each CSV answer, and any gap is a failure here.
ENDS_CREDENTIALS = (
    "POST /api/v1/auth/sign-out",
    "POST /api/v1/auth/sign-out-everywhere",
    "DELETE /api/v1/me/tokens/{token_id}",
)


def schemathesis(
    base: str, token: str, tenant: str, workdir: Path
) -> subprocess.CompletedProcess[str]:
    # The caller's own tenant fills {tenant} in every path, so operations get past the
    # access decision and reach the code behind it; other path parameters are fuzzed.
    config = workdir / "schemathesis.toml"
    config.write_text(
        f'[parameters]\n"path.tenant" = "{tenant}"\n'
        "[generation]\n"
        f"max-examples = {100 if long_pass() else 3}\n"
    )
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "--config-file", str(config),
        "run", f"{base}/api/v1/openapi.json", "--url", base,
        *[arg for name in ENDS_CREDENTIALS for arg in ("--exclude-name", name)],
        "--checks", CHECKS,
        "--phases", "examples,coverage,fuzzing" if long_pass() else "examples,fuzzing",
        "--seed", "1",
        "--workers", "1" if not long_pass() else "2",
        "--request-timeout", "30",
        "--no-color",
        "--header", f"Authorization: Bearer {token}",
        "--report", "junit", "--report-dir", str(workdir),
    ]  # fmt: skip
    return subprocess.run(
        command,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=3600 if long_pass() else 600,
        env={**os.environ, "NO_COLOR": "1"},
        check=False,
    )


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    import asyncio

    dsn = asyncio.run(create_database(postgres_url(), "tenantry_rel_fuzz"))
    server = Server(dsn, log=tmp_path_factory.mktemp("fuzz") / "server.log")
    try:
        seeded = asyncio.run(seed(settings_for(dsn)))
        server.start()
        # FastAPI builds the document on its first request and keeps it: build it here,
        # with time to spare on a busy machine, rather than inside schemathesis's load.
        httpx.get(f"{server.base}/api/v1/openapi.json", timeout=120).raise_for_status()
        yield server, seeded
    finally:
        server.stop()
        asyncio.run(drop_database(dsn))


@pytest.mark.parametrize("caller", ["msp_admin", "technician", "customer_admin"])
def test_api_fuzzing_finds_no_server_error_and_no_schema_mismatch(
    instance, caller: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    server, seeded = instance
    token, tenant = {
        "msp_admin": (seeded.admin_token, seeded.msp),
        "technician": (seeded.technician_token, seeded.customer),
        "customer_admin": (seeded.customer_admin_token, seeded.customer),
    }[caller]
    result = schemathesis(server.base, token, tenant, tmp_path)
    report = result.stdout[-20000:] + result.stderr[-4000:]
    assert result.returncode == 0, f"schemathesis as {caller} found failures:\n{report}"


@pytest.mark.parametrize("caller", ["msp_admin", "technician", "customer_admin"])
def test_hostile_values_fuzzing_finds_no_server_error(instance, caller: str) -> None:  # type: ignore[no-untyped-def]
    """Every operation, each parameter and body field in turn: NUL characters, integers
    past 32 and 64 bits, crafted cursors, numbers for dates, an oversize body
    (tests/reliability/_hostile.py). Each answer below 500, each 4xx a problem document
    with the request id and the security headers."""
    server, seeded = instance
    token, tenant = {
        "msp_admin": (seeded.admin_token, seeded.msp),
        "technician": (seeded.technician_token, seeded.customer),
        "customer_admin": (seeded.customer_admin_token, seeded.customer),
    }[caller]
    report = hostile.run(server.base, token, tenant, ENDS_CREDENTIALS)
    assert report.requests > 1000
    shown = "\n".join(
        f"{f.operation} [{f.what}] -> {f.status}: {f.detail}" for f in report.findings[:40]
    )
    assert not report.findings, f"{len(report.findings)} findings as {caller}:\n{shown}"
