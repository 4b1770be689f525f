"""What reaches the app at all (issue #13): request bodies are bounded per kind of route
and never read past the bound, NUL characters are refused where they come in, and every
answer (a refusal at the edge, an unsupported method, a bug) is a problem document with
the request id and the security headers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tenantry.app import create_app
from tenantry.config import Settings
from tenantry.kit.pagination import MAX_LIMIT

MIB = 1024 * 1024
SETTINGS = Settings(database_url="sqlite:///:memory:", secret_key="edge-tests-secret-0123456789")


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["x-request-id"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" in response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["request_id"] == response.headers["x-request-id"]
    return body


@pytest.fixture
def app() -> FastAPI:
    return create_app(SETTINGS)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as c:
        yield c


# ---------------------------------------------------------------- raw ASGI calls


class Sent:
    def __init__(self) -> None:
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body = b""
        self.consumed = 0  # request body bytes the app pulled


async def call(
    app: FastAPI,
    method: str,
    path: str,
    headers: list[tuple[bytes, bytes]],
    chunk: bytes,
    chunks: int,
) -> Sent:
    """Send ``chunks`` pieces of ``chunk`` as the request body (a client that keeps
    sending), counting how much the app pulled before it answered."""
    sent = Sent()
    left = chunks

    async def receive() -> dict[str, Any]:
        nonlocal left
        if left <= 0:
            return {"type": "http.disconnect"}
        left -= 1
        sent.consumed += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": left > 0}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            sent.status = message["status"]
            sent.headers = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            sent.body += message.get("body", b"")

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    await app(scope, receive, send)
    return sent


JSON = (b"content-type", b"application/json")


async def test_a_declared_oversize_body_is_refused_before_any_of_it_is_read(
    app: FastAPI,
) -> None:
    # The case: 100 MB at the unauthenticated sign-in.
    length = (b"content-length", str(100 * MIB).encode())
    sent = await call(app, "POST", "/api/v1/auth/sign-in", [JSON, length], b"x" * 65536, 1600)
    assert sent.status == 413
    assert sent.consumed == 0
    assert sent.headers["content-type"].startswith("application/problem+json")
    assert sent.headers["x-request-id"] and sent.headers["x-content-type-options"] == "nosniff"
    assert b'"request_id"' in sent.body and b"too-large" in sent.body


async def test_a_chunked_body_without_a_length_is_cut_at_the_limit(app: FastAPI) -> None:
    chunked = (b"transfer-encoding", b"chunked")
    sent = await call(app, "POST", "/api/v1/auth/sign-in", [JSON, chunked], b"x" * 65536, 1600)
    assert sent.status == 413
    assert sent.consumed <= SETTINGS.max_body_bytes + 65536
    assert sent.headers["x-request-id"] and b"too-large" in sent.body
    # A form post to a page, the same.
    form = (b"content-type", b"application/x-www-form-urlencoded")
    sent = await call(app, "POST", "/sign-in", [form, chunked], b"a=" + b"x" * 65534, 1600)
    assert sent.status == 413 and sent.consumed <= SETTINGS.max_body_bytes + 65536


async def test_uploads_have_their_own_larger_limit(app: FastAPI) -> None:
    """A contact import may be larger than a JSON body, up to its own limit."""
    multipart = (b"content-type", b"multipart/form-data; boundary=xyz")
    two_mib = (b"content-length", str(2 * MIB).encode())
    # Past the edge (a 2 MiB import is allowed): refused later for want of a sign-in.
    sent = await call(
        app, "POST", "/api/v1/tenants/acme/contacts/import", [multipart, two_mib], b"", 0
    )
    assert sent.status != 413
    too_big = (b"content-length", str(SETTINGS.max_import_bytes + MIB).encode())
    sent = await call(
        app, "POST", "/api/v1/tenants/acme/contacts/import", [multipart, too_big], b"x", 1
    )
    assert sent.status == 413 and sent.consumed == 0
    # A logo: its documented 256 KiB (and the form's framing), not a megabyte.
    big_logo = (b"content-length", str(600 * 1024).encode())
    sent = await call(
        app, "PUT", "/api/v1/tenants/acme/branding/logo", [big_logo], b"x" * 1024, 600
    )
    assert sent.status == 413 and sent.consumed == 0


def test_every_upload_limit_names_a_route_and_every_upload_route_has_one(app: FastAPI) -> None:
    from fastapi.routing import APIRoute, iter_route_contexts

    from tenantry.http.edge import UPLOADS

    paths = {
        ctx.original_route.path.replace("{tenant}", "acme")
        for ctx in iter_route_contexts(app.routes)
        if isinstance(ctx.original_route, APIRoute)
        and ctx.original_route.methods & {"POST", "PUT"}
    }
    for pattern, _ in UPLOADS:
        assert any(pattern.match(p) for p in paths), pattern.pattern
    takes_files = {p for p in paths if p.endswith(("/import", "/logo"))}
    assert len(takes_files) >= 4
    for path in takes_files:
        assert any(pattern.match(path) for pattern, _ in UPLOADS), path


async def test_oversize_bodies_through_a_real_client_get_a_problem(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/api/v1/auth/sign-in",
        content=b'{"email": "' + b"a" * (2 * MIB) + b'"}',
        headers={"content-type": "application/json"},
    )
    body = assert_problem(response, 413)
    assert body["type"].endswith("/too-large")


# ---------------------------------------------------------------- NUL characters


async def test_nul_in_the_path_or_the_query_is_refused_naming_where(
    client: httpx.AsyncClient,
) -> None:
    body = assert_problem(await client.get("/api/v1/tenants/ab%00cd/customers"), 422)
    assert body["errors"][0]["field"] == "path"
    body = assert_problem(await client.get("/api/v1/me/tenants?q=a%00b"), 422)
    assert body["errors"][0]["field"] == "q"


async def test_nul_in_a_json_or_form_body_is_refused_naming_the_field(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/api/v1/auth/sign-in",
        content=b'{"email": "a\\u0000@example.com", "password": "x"}',
        headers={"content-type": "application/json"},
    )
    assert assert_problem(response, 422)["errors"][0]["field"] == "email"
    # An escaped backslash followed by "u0000" is text, not a NUL: it passes the edge
    # (and is refused further in only for the missing password).
    response = await client.post(
        "/api/v1/auth/sign-in",
        content=b'{"email": "a\\\\u0000@example.com"}',
        headers={"content-type": "application/json"},
    )
    assert [e["field"] for e in assert_problem(response, 422)["errors"]] == ["password"]
    response = await client.post(
        "/api/v1/auth/sign-in",
        content=b'{"nested": {"list": ["ok", "bad\\u0000"]}}',
        headers={"content-type": "application/json"},
    )
    assert assert_problem(response, 422)["errors"][0]["field"] == "nested.list.1"
    form = await client.post(
        "/sign-in",
        content=b"email=a%00b&password=x",
        headers={"content-type": "application/x-www-form-urlencoded", "accept": "text/html"},
    )
    assert form.status_code == 422 and "email" in form.text
    assert form.headers["x-request-id"]


# ---------------------------------------------------------------- any answer


async def test_an_unhandled_exception_is_a_problem_document_with_the_headers() -> None:
    app = create_app(SETTINGS)

    @app.get("/api/v1/test-only/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
        base_url="http://testserver",
    ) as client:
        response = await client.get("/api/v1/test-only/boom")
    body = assert_problem(response, 500)
    assert "a bug" not in response.text
    assert body["type"] == "about:blank"


async def test_unsupported_methods_answer_405_with_allow(client: httpx.AsyncClient) -> None:
    response = await client.request("TRACE", "/api/v1/auth/sign-in")
    assert_problem(response, 405)
    assert "POST" in response.headers["allow"]
    response = await client.request("TRACE", "/healthz")
    assert response.status_code == 405 and "GET" in response.headers["allow"]


# ---------------------------------------------------------------- headers


async def test_security_headers_are_strict(client: httpx.AsyncClient) -> None:
    response = await client.get("/sign-in", headers={"accept": "text/html"})
    csp = response.headers["content-security-policy"]
    script_src = next(p for p in csp.split(";") if p.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src and "'self'" in script_src
    assert "camera=()" in response.headers["permissions-policy"]
    assert "server" not in response.headers
    # Pages and API answers are never stored by a browser or a proxy.
    assert response.headers["cache-control"] == "no-store"
    assert (await client.get("/api/v1/openapi.json")).headers["cache-control"] == "no-store"
    # Static files keep their own caching.
    assert "no-store" not in (await client.get("/static/app.css")).headers.get("cache-control", "")


async def test_no_page_carries_an_inline_script(client: httpx.AsyncClient) -> None:
    from pathlib import Path

    import tenantry.web

    templates = Path(tenantry.web.__file__).parent / "templates"
    for template in templates.rglob("*.html"):
        text = template.read_text()
        assert "<script>" not in text, template
        assert " onchange=" not in text and " onclick=" not in text, template
    docs = await client.get("/api/v1/docs")
    assert docs.status_code == 200 and "<script>" not in docs.text.replace(" ", "")


def test_the_session_cookie_is_secure_when_the_base_url_is_https() -> None:
    assert Settings(base_url="https://tenantry.example").secure_cookies
    assert not Settings(base_url="http://127.0.0.1:8000").secure_cookies
    assert Settings(base_url="http://x", secure_cookies=True).secure_cookies


def test_tenantry_serve_hides_the_server_header(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    from tenantry.cli import serve

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: seen.update(kw))
    serve.serve(migrate_first=False)
    assert seen["server_header"] is False


async def test_a_server_header_from_the_app_is_removed() -> None:
    from starlette.responses import PlainTextResponse

    app = create_app(SETTINGS)

    @app.get("/test-only/server")
    async def server() -> PlainTextResponse:
        return PlainTextResponse("x", headers={"server": "uvicorn"})

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        assert "server" not in (await client.get("/test-only/server")).headers


# ---------------------------------------------------------------- the OpenAPI document


def test_every_limit_declares_its_bounds_and_every_date_is_strict(app: FastAPI) -> None:
    schema = app.openapi()
    unbounded, dates = [], []
    for path, item in schema["paths"].items():
        for method, op in item.items():
            for param in op.get("parameters", []):
                if param["in"] != "query":
                    continue
                s = param.get("schema", {})
                if param["name"] == "limit" and (
                    s.get("minimum") != 1 or s.get("maximum") != MAX_LIMIT
                ):
                    unbounded.append(f"{method.upper()} {path}")
                options = s.get("anyOf", [s])
                if any(o.get("format") in ("date", "date-time") for o in options):
                    dates.append((path, param["name"]))
    assert not unbounded, "limit without ge=1, le=MAX_LIMIT:\n" + "\n".join(unbounded)
    assert dates  # the audit and time lists take dates


async def test_numbers_are_not_taken_for_dates(client: httpx.AsyncClient) -> None:
    from pydantic import TypeAdapter, ValidationError

    from tenantry.http.params import QueryDate, QueryDateTime

    for kind, good in ((QueryDateTime, "2026-01-02T03:04:05Z"), (QueryDate, "2026-01-02")):
        adapter: TypeAdapter[Any] = TypeAdapter(kind)
        assert adapter.validate_python(good)
        for bad in ("12345", "1700000000", "-1"):
            with pytest.raises(ValidationError):
                adapter.validate_python(bad)
