"""Queries of the sign-in throttle rows (one per account key and address key)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.db.upsert import insert_missing
from tenantry.identity.models import (
    SignInThrottle,
)


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


# --- sign-in throttles ---------------------------------------------------------------------


async def ensure_throttles(session: AsyncSession, keys: Sequence[str], now: datetime) -> None:
    """Create missing throttle rows without racing a concurrent attempt (ON CONFLICT)."""
    rows = [{"key": k, "failures": 0, "window_started_at": now} for k in keys]
    await insert_missing(session, SignInThrottle, rows, keys=["key"])


async def throttles(
    session: AsyncSession, keys: Sequence[str], *, for_update: bool = False
) -> Sequence[SignInThrottle]:
    stmt = (
        select(SignInThrottle)
        .where(SignInThrottle.key.in_(list(keys)))
        .order_by(SignInThrottle.key)
    )
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.scalars(stmt)).all()


async def hold_throttles(session: AsyncSession, keys: Sequence[str]) -> None:
    """Lock the rows of ``keys`` until the transaction ends: an update that changes
    nothing, so it locks on SQLite (the database's write lock) as well as on PostgreSQL."""
    await session.execute(
        update(SignInThrottle)
        .where(SignInThrottle.key.in_(sorted(keys)))
        .values(failures=SignInThrottle.failures)
        .execution_options(synchronize_session=False)
    )


async def clear_throttle(session: AsyncSession, key: str) -> None:
    await session.execute(
        delete(SignInThrottle)
        .where(SignInThrottle.key == key)
        .execution_options(synchronize_session=False)
    )


async def prune_throttles(
    session: AsyncSession, window_start_before: datetime, now: datetime
) -> int:
    """Forget windows that ended and locks that ran out (housekeeping). Rows another
    transaction holds are skipped (PostgreSQL; SQLite has one writer at a time), so two
    attempts pruning at once never wait on each other."""
    ended = (
        select(SignInThrottle.key)
        .where(
            SignInThrottle.window_started_at < window_start_before,
            or_(SignInThrottle.locked_until.is_(None), SignInThrottle.locked_until < now),
        )
        .with_for_update(skip_locked=True)
    )
    result = await session.execute(
        delete(SignInThrottle)
        .where(SignInThrottle.key.in_(ended))
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result)


