"""Every query of the pending sign-ups (``signup_requests``, owned by this domain)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.signup.models import SignupRequest


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


async def by_token_hash(session: AsyncSession, token_hash: str) -> SignupRequest | None:
    found = await session.scalars(
        select(SignupRequest).where(SignupRequest.token_hash == token_hash)
    )
    return found.first()


async def slug_waiting(session: AsyncSession, slug: str, now: datetime, *, email: str) -> bool:
    """Whether someone else's sign-up still waiting for its link asked for ``slug``."""
    found = await session.scalars(
        select(SignupRequest.id)
        .where(
            SignupRequest.slug == slug,
            SignupRequest.expires_at > now,
            SignupRequest.verified_at.is_(None),
            SignupRequest.email != email,
        )
        .limit(1)
    )
    return found.first() is not None


async def retire_waiting_of(session: AsyncSession, email: str, now: datetime) -> int:
    """A new request replaces the email's earlier ones: their links stop working."""
    result = await session.execute(
        update(SignupRequest)
        .where(
            SignupRequest.email == email,
            SignupRequest.expires_at > now,
            SignupRequest.verified_at.is_(None),
        )
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result)


async def claim(session: AsyncSession, signup_id: uuid.UUID, now: datetime) -> bool:
    """Mark the sign-up used, once: False when another request used it first or it
    expired meanwhile."""
    result = await session.execute(
        update(SignupRequest)
        .where(
            SignupRequest.id == signup_id,
            SignupRequest.verified_at.is_(None),
            SignupRequest.expires_at > now,
        )
        .values(verified_at=now)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


async def prune(session: AsyncSession, expired_before: datetime) -> int:
    """Forget sign-ups whose link ran out long ago (used ones are in the tenant's trail)."""
    result = await session.execute(
        delete(SignupRequest)
        .where(SignupRequest.expires_at < expired_before)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result)


async def mark_created(session: AsyncSession, signup_id: uuid.UUID, tenant_id: uuid.UUID) -> None:
    await session.execute(
        update(SignupRequest)
        .where(SignupRequest.id == signup_id)
        .values(created_tenant_id=tenant_id)
        .execution_options(synchronize_session=False)
    )
