"""Queries of a customer's blocks of its MSP's people (``access_blocks``): the few the
access decision reads with a request, the ones the switcher leaves out, and the rows the
customer manages."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from sqlalchemy import ColumnElement, and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.models import AccessBlock, Grant, GrantScope, UserGroupMember


class BlockRef(NamedTuple):
    """What the decision needs of a block: where, and whom (the user or a group)."""

    id: uuid.UUID
    customer_id: uuid.UUID
    user_id: uuid.UUID | None
    user_group_id: uuid.UUID | None


async def live_grants_and_blocks(
    session: AsyncSession, user_id: uuid.UUID, *, deciding_for: uuid.UUID | None = None
) -> tuple[list[Grant], list[BlockRef]]:
    """The user's unrevoked grants (to them and to their groups) and, in the same
    statement, the customers' blocks of the user or of those groups: an outer join, so
    the blocks cost no round trip of their own (blocks are few; each grant row repeats
    once per block that concerns it). Expiry is checked by the caller.

    ``deciding_for``: one tenant's decision, as ``live_grants_of_user`` reads it, with
    only that customer's blocks."""
    groups = select(UserGroupMember.group_id).where(UserGroupMember.user_id == user_id)
    conditions = [
        Grant.revoked_at.is_(None),
        or_(Grant.user_id == user_id, Grant.user_group_id.in_(groups)),
    ]
    concerns: ColumnElement[bool] = or_(
        AccessBlock.user_id == user_id, AccessBlock.user_group_id == Grant.user_group_id
    )
    if deciding_for is not None:
        conditions.append(
            or_(Grant.scope != GrantScope.CUSTOMER, Grant.customer_tenant_id == deciding_for)
        )
        concerns = and_(AccessBlock.customer_tenant_id == deciding_for, concerns)
    rows = await session.execute(
        select(
            Grant,
            AccessBlock.id,
            AccessBlock.customer_tenant_id,
            AccessBlock.user_id,
            AccessBlock.user_group_id,
        )
        .outerjoin(AccessBlock, concerns)
        .where(*conditions)
    )
    grants: dict[uuid.UUID, Grant] = {}
    blocks: dict[uuid.UUID, BlockRef] = {}
    for grant, block_id, customer_id, blocked_user, blocked_group in rows.all():
        grants.setdefault(grant.id, grant)
        if block_id is not None:
            blocks[block_id] = BlockRef(block_id, customer_id, blocked_user, blocked_group)
    return list(grants.values()), list(blocks.values())


async def blocks_by_id(session: AsyncSession, ids: Iterable[uuid.UUID]) -> Sequence[AccessBlock]:
    wanted = sorted(set(ids))
    if not wanted:
        return []
    result = await session.scalars(select(AccessBlock).where(AccessBlock.id.in_(wanted)))
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
