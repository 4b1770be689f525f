"""Queries of users: by id, email or reference, at home in a tenant, the second-factor
step, and deleting a tenant's people and credentials."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.identity.models import (
    ApiToken,
    AuthSession,
    Invitation,
    RecoveryCode,
    User,
)


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


# --- users -------------------------------------------------------------------------------


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == email.strip().lower()))


async def user_by_id(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def users_by_ids(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, User]:
    wanted = set(ids)
    if not wanted:
        return {}
    return {u.id: u for u in await session.scalars(select(User).where(User.id.in_(wanted)))}


async def user_ids_of_home(session: AsyncSession, tenant_id: uuid.UUID) -> list[uuid.UUID]:
    return list(await session.scalars(select(User.id).where(User.home_tenant_id == tenant_id)))


async def count_enabled_at_home(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    value = await session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.home_tenant_id == tenant_id, User.disabled_at.is_(None))
    )
    return int(value or 0)


async def claim_totp_step(session: AsyncSession, user_id: uuid.UUID, step: int) -> bool:
    """Record ``step`` as used unless it (or a later one) already was: one statement, so
    two requests racing with the same code cannot both win."""
    result = await session.execute(
        update(User)
        .where(
            User.id == user_id,
            or_(User.totp_last_step.is_(None), User.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


# --- deleting a tenant ---------------------------------------------------------------------


async def delete_credentials_of(
    session: AsyncSession, user_ids: Sequence[uuid.UUID]
) -> dict[str, int]:
    """The users' recovery codes, sessions and API tokens."""
    ids = list(user_ids)
    counts: dict[str, int] = {}
    for name, model in (
        ("recovery_codes", RecoveryCode),
        ("auth_sessions", AuthSession),
        ("api_tokens", ApiToken),
    ):
        result = await session.execute(delete(model).where(model.user_id.in_(ids)))
        counts[name] = _rowcount(result)
    return counts


async def delete_people_of_home(
    session: AsyncSession, tenant_id: uuid.UUID, user_ids: Sequence[uuid.UUID]
) -> dict[str, int]:
    """The tenant's invitations (and those its users sent), then its users."""
    invitations = await session.execute(
        delete(Invitation).where(
            or_(
                Invitation.tenant_id == tenant_id,
                Invitation.invited_by_user_id.in_(list(user_ids)),
            )
        )
    )
    users = await session.execute(delete(User).where(User.home_tenant_id == tenant_id))
    return {"invitations": _rowcount(invitations), "users": _rowcount(users)}


async def without_second_factor(
    session: AsyncSession, tenant_id: uuid.UUID, now: datetime
) -> tuple[int, int]:
    """(users, live API tokens) of the active users at home in ``tenant_id`` who have no
    second factor: who a required second factor stops."""
    lacking = (
        User.home_tenant_id == tenant_id,
        User.totp_enabled_at.is_(None),
        User.disabled_at.is_(None),
    )
    users = await session.scalar(select(func.count()).select_from(User).where(*lacking))
    tokens = await session.scalar(
        select(func.count())
        .select_from(ApiToken)
        .join(User, User.id == ApiToken.user_id)
        .where(
            *lacking,
            ApiToken.revoked_at.is_(None),
            or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now),
        )
    )
    return int(users or 0), int(tokens or 0)


# --- used by access ---


async def users_at_home_by_name(
    session: AsyncSession, tenant_id: uuid.UUID, limit: int
) -> Sequence[User]:
    """The users at home in a tenant, by display name."""
    rows = await session.scalars(
        select(User)
        .where(User.home_tenant_id == tenant_id)
        .order_by(User.display_name)
        .limit(limit)
    )
    return rows.all()


# --- used by access: users by reference, pickers, a user group's members ---


def _by_ref(ref: str) -> ColumnElement[bool]:
    try:
        return User.id == uuid.UUID(ref)
    except ValueError:
        return User.email == ref.strip().lower()


async def user_by_ref(
    session: AsyncSession, ref: str, *, home_id: uuid.UUID | None = None
) -> User | None:
    """A user by id or email; with ``home_id``, only one at home there."""
    stmt = select(User).where(_by_ref(ref))
    if home_id is not None:
        stmt = stmt.where(User.home_tenant_id == home_id)
    return await session.scalar(stmt)


async def users_of_home_by_name(
    session: AsyncSession, tenant_id: uuid.UUID, limit: int
) -> Sequence[User]:
    """The users at home in a tenant, by name regardless of case."""
    result = await session.scalars(
        select(User)
        .where(User.home_tenant_id == tenant_id)
        .order_by(func.lower(User.display_name), User.id)
        .limit(limit)
    )
    return result.all()


async def users_among(session: AsyncSession, ids: Select[uuid.UUID]) -> Sequence[User]:
    """The users whose ids ``ids`` selects (a caller's subquery), by email."""
    result = await session.scalars(select(User).where(User.id.in_(ids)).order_by(User.email))
    return result.all()

