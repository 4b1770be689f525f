"""INSERT … ON CONFLICT for both databases: PostgreSQL and SQLite spell it the same,
only the construct differs. Used for rows that two first-ever writers may race to create
(counters, throttles) and for "touch" rows (recently used tenants)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def _insert(session: AsyncSession, model: type[Any]) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


async def insert_missing(
    session: AsyncSession,
    model: type[Any],
    rows: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    *,
    keys: Sequence[str],
) -> int:
    """Insert the rows whose ``keys`` are not taken yet; leave existing rows as they are.
    Returns how many were inserted."""
    if not rows:
        return 0
    stmt = _insert(session, model).values(rows).on_conflict_do_nothing(index_elements=keys)
    result = await session.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)


async def upsert(
    session: AsyncSession,
    model: type[Any],
    values: Mapping[str, Any],
    *,
    keys: Sequence[str],
    update: Mapping[str, Any],
) -> None:
    """Insert ``values``, or set ``update`` on the row whose ``keys`` match."""
    stmt = _insert(session, model).values(values)
    await session.execute(stmt.on_conflict_do_update(index_elements=keys, set_=dict(update)))


async def upsert_returning(
    session: AsyncSession,
    model: type[Any],
    values: Mapping[str, Any],
    *,
    keys: Sequence[str],
    update: Mapping[str, Any],
    returning: Any,
) -> Any:
    """``upsert`` in one statement that also answers ``returning`` of the row it wrote
    (its new value: e.g. a counter inserted or moved on, and locked until the end of the
    transaction on PostgreSQL, in one round trip)."""
    stmt = (
        _insert(session, model)
        .values(values)
        .on_conflict_do_update(index_elements=keys, set_=dict(update))
        .returning(returning)
    )
    return (await session.execute(stmt)).scalar_one()


async def add_to(
    session: AsyncSession,
    model: type[Any],
    rows: Sequence[Mapping[str, Any]],
    *,
    keys: Sequence[str],
    where: ColumnElement[bool] | None = None,
    add: Sequence[str],
) -> None:
    """Insert each row, or add its ``add`` columns to those of the row whose ``keys``
    match (counters kept by many writers: the addition happens in the database, so
    concurrent writers never lose one another's). ``where``: the predicate of a partial
    unique index on ``keys``. One statement for all rows, sent as an executemany so the
    tenant scope checks every row; rows are written (and locked) in the order given."""
    if not rows:
        return
    stmt = _insert(session, model)
    stmt = stmt.on_conflict_do_update(
        index_elements=keys,
        index_where=where,
        set_={c: getattr(model, c) + getattr(stmt.excluded, c) for c in add},
    )
    await session.execute(stmt, [dict(r) for r in rows])
