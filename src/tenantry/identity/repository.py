"""Queries of users, sessions, tokens and invitations (platform tables)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.identity.models import ApiToken, AuthSession, User
from tenantry.tenancy.models import Tenant


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == email.strip().lower()))


async def user_by_id(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def session_with_user(
    session: AsyncSession, token_hash: str
) -> tuple[AuthSession, User, Tenant] | None:
    """One round trip: the session, its user and the user's home tenant."""
    row = (
        await session.execute(
            select(AuthSession, User, Tenant)
            .join(User, User.id == AuthSession.user_id)
            .join(Tenant, Tenant.id == User.home_tenant_id)
            .where(AuthSession.token_hash == token_hash)
        )
    ).first()
    return (row[0], row[1], row[2]) if row else None


async def token_with_user(
    session: AsyncSession, token_hash: str
) -> tuple[ApiToken, User, Tenant] | None:
    row = (
        await session.execute(
            select(ApiToken, User, Tenant)
            .join(User, User.id == ApiToken.user_id)
            .join(Tenant, Tenant.id == User.home_tenant_id)
            .where(ApiToken.token_hash == token_hash)
        )
    ).first()
    return (row[0], row[1], row[2]) if row else None


async def live_sessions_of(session: AsyncSession, user_id: uuid.UUID) -> Sequence[AuthSession]:
    result = await session.scalars(
        select(AuthSession)
        .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
        .order_by(AuthSession.last_seen_at.desc())
    )
    return result.all()


async def tokens_of(session: AsyncSession, user_id: uuid.UUID) -> Sequence[ApiToken]:
    result = await session.scalars(
        select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.created_at.desc())
    )
    return result.all()
