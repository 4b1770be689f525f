"""Queries of a customer's blocks of its MSP's people (``access_blocks``): the few the
access decision reads with a request, the ones the switcher leaves out, and the rows the
customer manages."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import ColumnElement, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.models import AccessBlock, UserGroupMember


async def blocks_deciding(
    session: AsyncSession,
    customer_id: uuid.UUID,
    user_id: uuid.UUID,
    group_ids: Iterable[uuid.UUID],
) -> Sequence[AccessBlock]:
    """The customer's blocks of this user, or of the groups whose grants they hold: one
    read on the (customer_tenant_id, …) unique indexes, only when a link exists."""
    who: list[ColumnElement[bool]] = [AccessBlock.user_id == user_id]
    groups = sorted(set(group_ids))
    if groups:
        who.append(AccessBlock.user_group_id.in_(groups))
    result = await session.scalars(
        select(AccessBlock).where(AccessBlock.customer_tenant_id == customer_id, or_(*who))
    )
    return result.all()


async def blocks_of_user(session: AsyncSession, user_id: uuid.UUID) -> Sequence[AccessBlock]:
    """Every block of this user or of a group they belong to, in any customer (the
    switcher and the MSP-wide reads; a handful of rows, on the user and group indexes)."""
    groups = select(UserGroupMember.group_id).where(UserGroupMember.user_id == user_id)
    result = await session.scalars(
        select(AccessBlock).where(
            or_(AccessBlock.user_id == user_id, AccessBlock.user_group_id.in_(groups))
        )
    )
    return result.all()


async def blocks_of_customer(
    session: AsyncSession, customer_id: uuid.UUID, msp_id: uuid.UUID | None = None
) -> Sequence[AccessBlock]:
    """The customer's blocks (of one MSP's people, if given), oldest first."""
    conditions = [AccessBlock.customer_tenant_id == customer_id]
    if msp_id is not None:
        conditions.append(AccessBlock.msp_tenant_id == msp_id)
    result = await session.scalars(
        select(AccessBlock).where(*conditions).order_by(AccessBlock.created_at, AccessBlock.id)
    )
    return result.all()


async def block_in(
    session: AsyncSession, customer_id: uuid.UUID, block_id: uuid.UUID
) -> AccessBlock | None:
    """One of the customer's blocks; None for another customer's."""
    return await session.scalar(
        select(AccessBlock).where(
            AccessBlock.customer_tenant_id == customer_id, AccessBlock.id == block_id
        )
    )


async def block_of(
    session: AsyncSession,
    customer_id: uuid.UUID,
    *,
    user_id: uuid.UUID | None = None,
    group_id: uuid.UUID | None = None,
) -> AccessBlock | None:
    """The customer's block of this user or group, if there is one."""
    column = AccessBlock.user_id if user_id is not None else AccessBlock.user_group_id
    return await session.scalar(
        select(AccessBlock).where(
            AccessBlock.customer_tenant_id == customer_id, column == (user_id or group_id)
        )
    )


async def add_block(session: AsyncSession, block: AccessBlock) -> AccessBlock:
    session.add(block)
    await session.flush()
    return block


async def delete_block(session: AsyncSession, block: AccessBlock) -> None:
    await session.execute(delete(AccessBlock).where(AccessBlock.id == block.id))
