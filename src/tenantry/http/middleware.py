"""Pure ASGI middleware: a request id on every response, the security headers, one log
line per request, and a problem document for any exception nothing else answered."""

from __future__ import annotations

import json
import re
import time
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tenantry.logging import get_logger

REQUEST_ID_HEADER = b"x-request-id"
_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
log = get_logger("tenantry.access_log")
errors_log = get_logger("tenantry.http")

# Applied to every response: no framing, no sniffing, nothing from elsewhere, no script
# but the instance's own files (templates carry no inline script or handler), and no
# powerful browser feature the product does not use.
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        b"script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
        b"form-action 'self'",
    ),
    (
        b"permissions-policy",
        b"accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
        b"microphone=(), payment=(), usb=(), interest-cohort=()",
    ),
]
# Pages, API answers and exports are about someone's tenants: never kept by a browser's
# history cache or a shared proxy. A response that chose its own caching (a logo, the
# static files) keeps it.
_NOT_STORED = (b"text/html", b"application/json", b"application/problem+json", b"text/csv")
_DROPPED = {b"server", REQUEST_ID_HEADER}


def _headers(message: Message, request_id: str) -> list[tuple[bytes, bytes]]:
    headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _DROPPED]
    names = {k.lower() for k, _ in headers}
    content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
    if b"cache-control" not in names and content_type.lower().startswith(_NOT_STORED):
        headers.append((b"cache-control", b"no-store"))
    headers.append((REQUEST_ID_HEADER, request_id.encode()))
    # A response that set a stricter header of its own keeps it (a downloaded evidence
    # file: "Content-Security-Policy: sandbox"); every other response gets the defaults.
    headers.extend((k, v) for k, v in SECURITY_HEADERS if k not in names)
    return headers


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(REQUEST_ID_HEADER, b"").decode("latin-1")
        request_id = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message["headers"] = _headers(message, request_id)
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            except Exception as exc:
                # A bug: the request id names it in the log; the caller gets a problem
                # document like any other error, never a traceback or a bare text.
                errors_log.error("unhandled error", exc_info=exc)
                if response_started:
                    raise
                await _internal_error(scope, send_with_id, request_id)
            finally:
                log.info(
                    "request",
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    ms=round((time.perf_counter() - started) * 1000, 2),
                )


async def _internal_error(scope: Scope, send: Send, request_id: str) -> None:
    body = json.dumps(
        {
            "type": "about:blank",
            "title": "Internal error",
            "status": 500,
            "detail": "Something went wrong on our side; the request id names it in the logs.",
            "instance": scope["path"],
            "request_id": request_id,
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
