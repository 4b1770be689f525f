"""Queries of sessions, API tokens and recovery codes (resolving the caller is one
statement, the home tenant's join handed over by tenancy)."""

from __future__ import annotations

import uuid
from collections.abc import Hashable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.db.reads import AlsoRead
from tenantry.identity.models import (
    ApiToken,
    AuthSession,
    RecoveryCode,
    User,
)


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


# --- sessions ------------------------------------------------------------------------------


# The user's home tenant, joined in the same statement (tenancy supplies the join).
HomeJoin = tuple[Any, ColumnElement[bool]]


async def _with_user_and_home(
    session: AsyncSession,
    model: type[Any],
    token_hash: str,
    home: HomeJoin,
    also: AlsoRead | None = None,
) -> tuple[Any, User, Any] | None:
    """One round trip: the credential with this hash, its user and the user's home tenant
    (and what ``also`` adds, into ``also.found``)."""
    params = {"token_hash": token_hash, **(also.params if also else {})}
    row = (await session.execute(_credential_statement(model, home, also), params)).first()
    if row is None:
        return None
    if also is not None:
        also.found = tuple(row[3:])
    return (row[0], row[1], row[2])


# Built once per credential kind (and rider): every request resolves its caller, and
# building the statement cost as much as running it (tenancy hands over one join object).
_STATEMENTS: dict[tuple[type[Any], int, Hashable], Select[Any]] = {}


def _credential_statement(
    model: type[Any], home: HomeJoin, also: AlsoRead | None = None
) -> Select[Any]:
    key = (model, id(home), also.key if also else None)
    statement = _STATEMENTS.get(key)
    if statement is None:
        tenants, on = home
        statement = (
            select(model, User, tenants, *(also.columns if also else ()))
            .join(User, User.id == model.user_id)
            .join(tenants, on)
        )
        for target, onclause in also.joins if also else ():
            statement = statement.outerjoin(target, onclause)
        statement = _STATEMENTS[key] = statement.where(
            model.token_hash == bindparam("token_hash")
        )
    return statement


async def session_with_user(
    session: AsyncSession, token_hash: str, home: HomeJoin, also: AlsoRead | None = None
) -> tuple[AuthSession, User, Any] | None:
    """One round trip: the session, its user and the user's home tenant."""
    return await _with_user_and_home(session, AuthSession, token_hash, home, also)


async def touch_session(session: AsyncSession, session_id: uuid.UUID, now: datetime) -> None:
    await session.execute(
        update(AuthSession).where(AuthSession.id == session_id).values(last_seen_at=now)
    )


async def touch_token(session: AsyncSession, token_id: uuid.UUID, now: datetime) -> None:
    await session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))


async def session_by_token_hash(session: AsyncSession, token_hash: str) -> AuthSession | None:
    return await session.scalar(select(AuthSession).where(AuthSession.token_hash == token_hash))


async def session_of_user(
    session: AsyncSession, user_id: uuid.UUID, session_id: uuid.UUID
) -> AuthSession | None:
    return await session.scalar(
        select(AuthSession).where(AuthSession.id == session_id, AuthSession.user_id == user_id)
    )


async def live_sessions_of(session: AsyncSession, user_id: uuid.UUID) -> Sequence[AuthSession]:
    result = await session.scalars(
        select(AuthSession)
        .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
        .order_by(AuthSession.last_seen_at.desc())
    )
    return result.all()


async def revoke_sessions_of(
    session: AsyncSession,
    user_id: uuid.UUID,
    now: datetime,
    *,
    keep: uuid.UUID | None = None,
) -> int:
    stmt = update(AuthSession).where(
        AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None)
    )
    if keep is not None:
        stmt = stmt.where(AuthSession.id != keep)
    result = await session.execute(
        stmt.values(revoked_at=now).execution_options(synchronize_session=False)
    )
    return _rowcount(result)


# --- API tokens ----------------------------------------------------------------------------


async def token_with_user(
    session: AsyncSession, token_hash: str, home: HomeJoin, also: AlsoRead | None = None
) -> tuple[ApiToken, User, Any] | None:
    """One round trip: the token, its user and the user's home tenant."""
    return await _with_user_and_home(session, ApiToken, token_hash, home, also)


async def tokens_of(session: AsyncSession, user_id: uuid.UUID) -> Sequence[ApiToken]:
    """The user's tokens that were not revoked, newest first (expired ones included)."""
    result = await session.scalars(
        select(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    )
    return result.all()


async def token_of_user(
    session: AsyncSession, user_id: uuid.UUID, token_id: uuid.UUID
) -> ApiToken | None:
    return await session.scalar(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user_id)
    )


# --- recovery codes ------------------------------------------------------------------------


async def unused_recovery_codes(session: AsyncSession, user_id: uuid.UUID) -> int:
    value = await session.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
    )
    return int(value or 0)


async def delete_recovery_codes(session: AsyncSession, user_id: uuid.UUID) -> None:
    await session.execute(
        delete(RecoveryCode)
        .where(RecoveryCode.user_id == user_id)
        .execution_options(synchronize_session=False)
    )


async def use_recovery_code(
    session: AsyncSession, user_id: uuid.UUID, code_hash: str, now: datetime
) -> bool:
    """Mark one unused code as used; False if there is none (single use, race-free)."""
    result = await session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user_id,
            RecoveryCode.code_hash == code_hash,
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) >= 1
