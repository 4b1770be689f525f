"""Queries of invitations."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.identity.models import (
    Invitation,
    User,
)


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


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


async def count_pending_invitations(
    session: AsyncSession, tenant_id: uuid.UUID, now: datetime
) -> int:
    value = await session.scalar(
        select(func.count())
        .select_from(Invitation)
        .where(
            Invitation.tenant_id == tenant_id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
        )
    )
    return int(value or 0)


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


