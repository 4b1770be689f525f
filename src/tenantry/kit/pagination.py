"""Cursor pagination: ``limit`` and an opaque ``cursor`` in, ``items`` and ``next_cursor``
out (DESIGN.md's conventions).

A cursor is the position after the last row of a page, as a short list of JSON values in
URL-safe base64. ``Keyset`` names the types of those values once per list, so a domain
never decodes a cursor by hand: whatever a caller sends that this API did not return is
one 422 on ``cursor``, never a 500 (an int beyond 64 bits, a wrong type, a bad date).
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from tenantry.errors import ValidationFailed

T = TypeVar("T")
MAX_LIMIT = 200
# An offset cursor is read a page or two deep; anything past this was not made by us
# (and 2**63 would overflow the database's OFFSET).
MAX_OFFSET = 1_000_000
# Longer than any cursor the API makes: a crafted megabyte is refused before decoding.
MAX_CURSOR_LENGTH = 4_096

_NOT_OURS = "is not a cursor this API returned"


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed("limit", f"must be between 1 and {MAX_LIMIT}")
    return limit


def encode_cursor(values: Sequence[Any]) -> str:
    """The opaque form of a position; dates and ids are written as ISO text and hex."""
    plain = [v.isoformat() if isinstance(v, date) else v for v in values]
    raw = json.dumps(plain, default=str, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> list[Any] | None:
    """The raw values of a cursor (None when there is none); prefer ``Keyset.decode``."""
    if not cursor:
        return None
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise ValidationFailed("cursor", _NOT_OURS)
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error) as exc:
        raise ValidationFailed("cursor", _NOT_OURS) from exc
    if not isinstance(values, list):
        raise ValidationFailed("cursor", _NOT_OURS)
    return values


def _as_str(value: Any) -> str:
    if not isinstance(value, str) or "\x00" in value:
        raise ValueError(value)
    return value


def _as_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_OFFSET:
        raise ValueError(value)
    return value


def _as_uuid(value: Any) -> uuid.UUID:
    return uuid.UUID(_as_str(value))


def _as_datetime(value: Any) -> datetime:
    return datetime.fromisoformat(_as_str(value))


def _as_date(value: Any) -> date:
    return date.fromisoformat(_as_str(value))


_READERS: dict[type, Callable[[Any], Any]] = {
    str: _as_str,
    int: _as_int,
    uuid.UUID: _as_uuid,
    datetime: _as_datetime,
    date: _as_date,
}


class Keyset:
    """The typed shape of one list's cursor, e.g. ``Keyset(datetime, uuid.UUID)`` for
    "newest first, ties by id". ``decode`` gives a tuple of those types or None."""

    def __init__(self, *types: type) -> None:
        unknown = [t for t in types if t not in _READERS]
        if unknown:
            raise TypeError(f"no cursor reader for {unknown}")
        self.types = types

    def decode(self, cursor: str | None) -> tuple[Any, ...] | None:
        values = decode_cursor(cursor)
        if values is None:
            return None
        if len(values) != len(self.types):
            raise ValidationFailed("cursor", _NOT_OURS)
        try:
            return tuple(_READERS[t](v) for t, v in zip(self.types, values, strict=True))
        except (ValueError, TypeError) as exc:
            raise ValidationFailed("cursor", _NOT_OURS) from exc

    def encode(self, *values: Any) -> str:
        return encode_cursor(values)


OFFSET = Keyset(int)


def decode_offset(cursor: str | None) -> int:
    """For lists sorted on several nullable columns, read a page or two deep."""
    position = OFFSET.decode(cursor)
    return 0 if position is None else int(position[0])


def page_of(
    rows: Sequence[T], limit: int, key: Callable[[T], Sequence[Any]]
) -> tuple[list[T], str | None]:
    """``limit`` rows and the cursor after the last one, from a read of ``limit + 1``."""
    page = list(rows[:limit])
    more = len(rows) > limit
    return page, encode_cursor(key(page[-1])) if more and page else None
