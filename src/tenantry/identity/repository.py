"""Queries of users, sessions, tokens, recovery codes, invitations and sign-in throttles
(platform tables)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.db.upsert import insert_missing
from tenantry.identity.models import (
    ApiToken,
    AuthSession,
    Invitation,
    RecoveryCode,
    SignInThrottle,
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


# --- sessions ------------------------------------------------------------------------------


# The user's home tenant, joined in the same statement (tenancy supplies the join).
HomeJoin = tuple[Any, ColumnElement[bool]]


async def session_with_user(
    session: AsyncSession, token_hash: str, home: HomeJoin
) -> tuple[AuthSession, User, Any] | None:
    """One round trip: the session, its user and the user's home tenant."""
    tenants, on = home
    row = (
        await session.execute(
            select(AuthSession, User, tenants)
            .join(User, User.id == AuthSession.user_id)
            .join(tenants, on)
            .where(AuthSession.token_hash == token_hash)
        )
    ).first()
    return (row[0], row[1], row[2]) if row else None


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
    session: AsyncSession, token_hash: str, home: HomeJoin
) -> tuple[ApiToken, User, Any] | None:
    """One round trip: the token, its user and the user's home tenant."""
    tenants, on = home
    row = (
        await session.execute(
            select(ApiToken, User, tenants)
            .join(User, User.id == ApiToken.user_id)
            .join(tenants, on)
            .where(ApiToken.token_hash == token_hash)
        )
    ).first()
    return (row[0], row[1], row[2]) if row else None


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


# --- invitations ---------------------------------------------------------------------------


async def invitation_by_token_hash(session: AsyncSession, token_hash: str) -> Invitation | None:
    return await session.scalar(select(Invitation).where(Invitation.token_hash == token_hash))


async def invitation_in_tenant(
    session: AsyncSession, tenant_id: uuid.UUID, invitation_id: uuid.UUID
) -> Invitation | None:
    return await session.scalar(
        select(Invitation).where(Invitation.tenant_id == tenant_id, Invitation.id == invitation_id)
    )


async def pending_invitation_for(
    session: AsyncSession, tenant_id: uuid.UUID, email: str, now: datetime
) -> Invitation | None:
    return await session.scalar(
        select(Invitation).where(
            Invitation.tenant_id == tenant_id,
            Invitation.email == email,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
        )
    )


async def pending_invitations(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    now: datetime,
    *,
    before_id: uuid.UUID | None,
    limit: int,
) -> Sequence[tuple[Invitation, User | None]]:
    """Unused, unrevoked, unexpired invitations, newest first (ids are time-ordered),
    each with the user who sent it."""
    stmt = (
        select(Invitation, User)
        .outerjoin(User, User.id == Invitation.invited_by_user_id)
        .where(
            Invitation.tenant_id == tenant_id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
        )
        .order_by(Invitation.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        stmt = stmt.where(Invitation.id < before_id)
    return [(inv, user) for inv, user in (await session.execute(stmt)).all()]


async def claim_invitation(session: AsyncSession, invitation_id: uuid.UUID, now: datetime) -> bool:
    """Mark the invitation accepted if it is still open; False when someone was first."""
    result = await session.execute(
        update(Invitation)
        .where(
            Invitation.id == invitation_id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
        )
        .values(accepted_at=now)
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
