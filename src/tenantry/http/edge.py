"""What a request may bring at all, checked before any route runs (pure ASGI).

* **Body size, per kind of route.** JSON and forms: ``TENANTRY_MAX_BODY_BYTES`` (1 MiB).
  File uploads have their own limit: the contact CSV import ``TENANTRY_MAX_IMPORT_BYTES``
  (5 MiB), a logo its documented 256 KiB, a compliance evidence file
  ``TENANTRY_EVIDENCE_MAX_BYTES`` (10 MiB); each plus room for a form's framing, so the
  domain's own 422 naming the field still answers a file just past its limit. A declared
  ``Content-Length`` past the limit is refused before a byte is read; a body without one
  (chunked) is counted as it streams and cut the moment it passes. Either way: 413.
* **NUL characters** in the path, the query string or a JSON or form body: PostgreSQL
  cannot store them in text, and no field of ours has a use for them. A 422 naming where
  (``path``, the query parameter, the body field). Multipart uploads are files, checked
  by their domain; anything that still reaches the database is mapped to a 422 by
  ``http/problems.py``.

Refusals are problem documents; ``RequestIdMiddleware`` (outside this one) adds the
request id and the security headers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tenantry.branding.schemas import MAX_LOGO_BYTES
from tenantry.config import Settings
from tenantry.http.bodies import BodyTooLarge
from tenantry.http.problems import problem_response

# A multipart body carries boundaries and part headers around the file.
FORM_FRAMING = 64 * 1024
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")

# The routes that take a file, with their limit. A test checks each pattern still names a
# route of the app, so renaming one cannot silently fall back to the small limit.
UPLOADS: tuple[tuple[re.Pattern[str], Callable[[Settings], int]], ...] = (
    (
        re.compile(r"^(/api/v1/tenants/[^/]+|/t/[^/]+)/contacts/import$"),
        lambda s: s.max_import_bytes + FORM_FRAMING,
    ),
    (
        re.compile(
            r"^(/api/v1/tenants/[^/]+/compliance/frameworks/import/(oscal|csv)"
            r"|/t/[^/]+/compliance/library/import)$"
        ),
        lambda s: s.max_import_bytes + FORM_FRAMING,
    ),
    (
        re.compile(r"^(/api/v1/tenants/[^/]+/branding|/settings/branding)/logo$"),
        lambda s: MAX_LOGO_BYTES + FORM_FRAMING,
    ),
    (
        re.compile(r"^(/api/v1/tenants/[^/]+|/t/[^/]+)/compliance/assessments/[^/]+/evidence$"),
        lambda s: s.evidence_max_bytes + FORM_FRAMING,
    ),
)


def body_limit(settings: Settings, path: str) -> tuple[int, bool]:
    """The limit for a request to ``path``, and whether its body is a file."""
    for pattern, limit in UPLOADS:
        if pattern.match(path):
            return limit(settings), True
    return settings.max_body_bytes, False


def _nul_problem(where: str, instance: str) -> dict[str, Any]:
    message = "contains a NUL character"
    return {
        "type": "https://tenantry.dev/problems/validation",
        "title": "Invalid input",
        "status": 422,
        "detail": f"{where}: {message}",
        "instance": instance,
        "errors": [{"field": where, "message": message}],
    }


def _nul_in_pairs(raw: bytes) -> str | None:
    for name, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            return name.replace("\x00", "") or "query"
    return None


def _nul_field(value: Any, path: tuple[str, ...] = ()) -> str | None:
    """The dotted name of the first string (or key) holding a NUL in parsed JSON."""
    if isinstance(value, str):
        return ".".join(path) or "body" if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _nul_field(key, (*path, "key")) or _nul_field(item, (*path, str(key)))
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_field(item, (*path, str(index)))
            if found:
                return found
    return None


def _nul_in_body(body: bytes, content_type: str) -> str | None:
    if content_type.startswith("application/x-www-form-urlencoded"):
        found = _nul_in_pairs(body)
        return None if found is None else found
    if b"\x00" not in body and not _NUL_ESCAPE.search(body):
        return None
    try:
        parsed = json.loads(body)
    except ValueError:
        # Not JSON: the route's own parsing refuses it; a raw NUL is refused here.
        return "body" if b"\x00" in body else None
    return _nul_field(parsed)


class EdgeGuard:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if "\x00" in path:
            await self._answer(scope, receive, send, _nul_problem("path", path))
            return
        where = _nul_in_pairs(scope.get("query_string", b""))
        if where is not None:
            await self._answer(scope, receive, send, _nul_problem(where, path))
            return
        limit, is_file = body_limit(self.settings, path)
        headers = dict(scope["headers"])
        declared = _content_length(headers)
        if declared is not None and declared > limit:
            await self._answer(scope, receive, send, BodyTooLarge(limit).problem(path))
            return
        content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
        has_body = bool(declared) or b"transfer-encoding" in headers
        try:
            if has_body and not is_file and not content_type.startswith("multipart/"):
                # Small by the limit above: read it whole, look, and hand it on.
                body, more = await _read_all(receive, limit)
                where = _nul_in_body(body, content_type)
                if where is not None:
                    await self._answer(scope, receive, send, _nul_problem(where, path))
                    return
                receive = _replay(body, more, receive)
            else:
                receive = _counting(receive, limit)
            await self.app(scope, receive, _tracking(scope, send))
        except BodyTooLarge as exc:
            if scope.get("tenantry.response_started"):
                raise
            await self._answer(scope, receive, send, exc.problem(path))

    async def _answer(
        self, scope: Scope, receive: Receive, send: Send, body: dict[str, Any]
    ) -> None:
        response = problem_response(Request(scope, receive), body)
        await response(scope, receive, send)


def _content_length(headers: dict[bytes, bytes]) -> int | None:
    raw = headers.get(b"content-length")
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        return None


async def _read_all(receive: Receive, limit: int) -> tuple[bytes, Message | None]:
    """The whole body, or BodyTooLarge as soon as it passes ``limit``. A message that is
    not part of the body (a disconnect) is handed on as it came."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), message
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), None


def _replay(body: bytes, other: Message | None, receive: Receive) -> Receive:
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
    if other is not None:
        pending.append(other)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


def _counting(receive: Receive, limit: int) -> Receive:
    size = 0

    async def counted() -> Message:
        nonlocal size
        message = await receive()
        if message["type"] == "http.request":
            size += len(message.get("body", b""))
            if size > limit:
                raise BodyTooLarge(limit)
        return message

    return counted


def _tracking(scope: Scope, send: Send) -> Send:
    async def tracked(message: Message) -> None:
        if message["type"] == "http.response.start":
            scope["tenantry.response_started"] = True
        await send(message)

    return tracked
