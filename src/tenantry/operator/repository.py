"""Every query of ``operator_tokens``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.operator.models import OperatorToken


async def by_hash(session: AsyncSession, token_hash: str) -> OperatorToken | None:
    return await session.scalar(select(OperatorToken).where(OperatorToken.token_hash == token_hash))


async def by_id(session: AsyncSession, token_id: uuid.UUID) -> OperatorToken | None:
    return await session.get(OperatorToken, token_id)


async def every(session: AsyncSession) -> Sequence[OperatorToken]:
    return (
        await session.scalars(select(OperatorToken).order_by(OperatorToken.created_at.desc()))
    ).all()
