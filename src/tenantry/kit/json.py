"""JSON answers serialised once, for hot lists (issue #15).

A route that declares ``response_model=`` and returns models pays for building each
model and then for dumping it. A hot list instead returns ``json_response`` of plain
values already of the declared types (its ``response_model`` stays, for the OpenAPI
document): orjson writes them as Pydantic would (UUIDs and enums as strings, aware
datetimes in ISO 8601 with ``Z``), in a fraction of the time.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from fastapi import Response


def _other(value: Any) -> Any:
    # asyncpg hands out its own UUID class (a uuid.UUID, though not the exact type orjson
    # knows): written as the text Pydantic would write.
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not written as JSON")


def json_bytes(content: Any) -> bytes:
    return orjson.dumps(content, default=_other, option=orjson.OPT_UTC_Z)


def json_response(content: Any, status_code: int = 200) -> Response:
    return Response(json_bytes(content), status_code=status_code, media_type="application/json")


def json_page(items: list[Any], next_cursor: str | None) -> Response:
    """A ``kit.pagination.Page`` as it is written: its items and the next page's cursor."""
    return json_response({"items": items, "next_cursor": next_cursor})
