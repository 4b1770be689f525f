"""Fuzzing the API from its OpenAPI document with schemathesis, against the real server,
as each kind of caller: the MSP's admin, a delegated technician and a customer's own
admin (API tokens made through the services). Checks: no 5xx, and every response
matches the document (status code, content type, headers, body schema).

Short pass (CI): a few examples per operation. Long pass
(``TENANTRY_RELIABILITY_LONG=1``): many more, plus the coverage phase. Every failure
prints schemathesis's own report with a curl line to reproduce it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
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
# out for every operation after them.
ENDS_CREDENTIALS = {
    ("post", "/api/v1/auth/sign-out"),
    ("post", "/api/v1/auth/sign-out-everywhere"),
    ("delete", "/api/v1/me/tokens/{token_id}"),
}
PROBLEM = {
    "description": "A problem document (RFC 9457)",
    "content": {
        "application/problem+json": {
            "schema": {
                "type": "object",
                "required": ["type", "title", "status"],
                "properties": {
                    "type": {"type": "string"},
                    "title": {"type": "string"},
                    "status": {"type": "integer"},
                    "detail": {"type": "string"},
                },
            }
        }
    },
}
# The statuses every guarded operation may answer with a problem document (DESIGN.md:
# errors as application/problem+json): bad input, not signed in, a missing permission,
# a tenant the caller cannot see, a conflict, throttling, the database down.
PROBLEM_STATUSES = ("400", "401", "403", "404", "409", "422", "429", "503")


def patched_schema(base: str, workdir: Path) -> tuple[Path, dict[str, list[str]]]:
    """The served document with what it fails to say added, so the fuzzing checks the
    code rather than stopping at the document. Each patch is a finding (reported):

    * ``tenant``: routes guarded by ``in_tenant(...)`` read ``{tenant}`` from
      ``request.path_params`` inside the marker, so FastAPI never declares it and the
      document is invalid OpenAPI (schemathesis: "Path parameter 'tenant' is not
      defined").
    * ``problems``: routes document only their success and FastAPI's 422
      ``HTTPValidationError`` (application/json, ``detail`` a list); the app answers
      every error with ``application/problem+json`` (401, 403, 404, 409, 422, 429, 503),
      so each error answer is an undocumented status or content type.
    * ``csv``: operations that answer CSV on request (``?format=csv``: the access
      review) document only application/json.

    Returns the file and, per patch, the operations it touched."""
    document = httpx.get(f"{base}/api/v1/openapi.json", timeout=30).json()
    patched: dict[str, list[str]] = {"tenant": [], "problems": [], "csv": []}
    for path, item in document["paths"].items():
        for method in [m for m in item if (m, path) in ENDS_CREDENTIALS]:
            del item[method]
        for method, operation in item.items():
            name = f"{method.upper()} {path}"
            params = operation.setdefault("parameters", [])
            declared = any(p.get("in") == "path" and p.get("name") == "tenant" for p in params)
            if "{tenant}" in path and not declared:
                params.insert(
                    0,
                    {
                        "name": "tenant",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    },
                )
                patched["tenant"].append(name)
            responses = operation.setdefault("responses", {})
            missing = [
                code
                for code in PROBLEM_STATUSES
                if "application/problem+json" not in responses.get(code, {}).get("content", {})
            ]
            for code in missing:
                responses[code] = PROBLEM
            if missing:
                patched["problems"].append(name)
            ok = responses.get("200", {}).setdefault("content", {})
            exports = path.endswith((".csv", "/export")) or any(
                p.get("name") == "format" for p in params
            )
            if exports and "text/csv" not in ok:
                ok["text/csv"] = {"schema": {"type": "string"}}
                patched["csv"].append(name)
    out = workdir / "openapi.json"
    out.write_text(json.dumps(document))
    (workdir / "patches.json").write_text(json.dumps(patched, indent=1))
    return out, patched


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
        "run", str(patched_schema(base, workdir)[0]), "--url", base,
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
