"""A customer's blocks of its MSP's people (issue #14): the rows (``access_blocks``), what
a blocked technician is told, and whom a block can name. The decision itself is
``decision.unblocked``; who may block and the audit record are the links domain's
(``links/blocks.py``): blocking is the customer's decision about its link."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access import repository
from tenantry.access.models import AccessBlock, UserGroup
from tenantry.errors import Conflict, ValidationFailed
from tenantry.identity import service as identity
from tenantry.identity.models import User
from tenantry.tenancy.models import Tenant


@dataclass(frozen=True, slots=True)
class BlockShown:
    """One block with the names it needs: the person or group blocked (with the group's
    members, which is how a customer tells groups apart without their internal names)
    and who decided it."""

    block: AccessBlock
    user: User | None = None
    group: UserGroup | None = None
    members: tuple[User, ...] = ()
    by: User | None = None

    @property
    def name(self) -> str:
        if self.user is not None:
            return self.user.display_name
        return self.group.name if self.group is not None else "a deleted group"


@dataclass(frozen=True, slots=True)
class BlockTarget:
    """Whom a block names: one user of the MSP, or one of its user groups."""

    user: User | None = None
    group: UserGroup | None = None
    label: str = field(default="")


def _day(block: AccessBlock, customer: Tenant) -> str:
    try:
        zone = ZoneInfo(customer.time_zone or "UTC")
    except (ValueError, KeyError):
        zone = ZoneInfo("UTC")
    return block.created_at.astimezone(zone).date().isoformat()


async def refusal_of(session: AsyncSession, customer: Tenant, blocks: Sequence[AccessBlock]) -> str:
    """What a technician the customer blocked is told instead of "No such tenant":
    ``Contoso blocked your access on 2026-12-07 (Carol Owner).``"""
    people = await identity.users_by_ids(
        session, (b.created_by_user_id for b in blocks if b.created_by_user_id)
    )
    groups = await repository.groups_by_id(
        session, repository.USER_GROUP_TABLES, (b.user_group_id for b in blocks if b.user_group_id)
    )
    said = []
    for block in sorted(blocks, key=lambda b: (b.user_id is None, b.created_at)):
        by = people.get(block.created_by_user_id) if block.created_by_user_id else None
        whom = "your access"
        if block.user_group_id is not None:
            group = groups.get(block.user_group_id)
            whom = f"the access of your group {group.name if group else '(deleted)'}"
        said.append(
            f"{customer.display_name} blocked {whom} on {_day(block, customer)}"
            + (f" ({by.display_name})" if by else "")
            + "."
        )
    return " ".join(said) + f" Only {customer.display_name}'s own admins can lift it."


async def target_of(
    session: AsyncSession,
    msp_id: uuid.UUID,
    *,
    user_id: uuid.UUID | None,
    user_group_id: uuid.UUID | None,
) -> BlockTarget:
    """The MSP's user or user group a block would name; 422 naming the field for
    anything else (another tenant's user, an unknown id), saying nothing about it."""
    if (user_id is None) == (user_group_id is None):
        raise ValidationFailed("user_id", "give exactly one of user_id and user_group_id")
    if user_id is not None:
        user = await identity.user_by_id(session, user_id)
        if user is None or user.home_tenant_id != msp_id:
            raise ValidationFailed("user_id", "is not one of your MSP's people")
        return BlockTarget(user=user, label=user.display_name)
    assert user_group_id is not None
    group = await repository.group_in(session, repository.USER_GROUP_TABLES, msp_id, user_group_id)
    if group is None:
        raise ValidationFailed("user_group_id", "is not one of your MSP's user groups")
    return BlockTarget(group=group, label=group.name)


async def add_block(
    session: AsyncSession,
    *,
    customer_id: uuid.UUID,
    msp_id: uuid.UUID,
    target: BlockTarget,
    by: uuid.UUID | None,
) -> AccessBlock:
    """A new block; 409 naming the field when this user or group is blocked already."""
    user_id = target.user.id if target.user else None
    group_id = target.group.id if target.group else None
    if await existing(session, customer_id, target):
        field_name = "user_id" if user_id else "user_group_id"
        raise Conflict(
            f"{target.label} is blocked already.",
            errors=[{"field": field_name, "message": "is blocked already"}],
        )
    return await repository.add_block(
        session,
        AccessBlock(
            customer_tenant_id=customer_id,
            msp_tenant_id=msp_id,
            user_id=user_id,
            user_group_id=group_id,
            created_by_user_id=by,
        ),
    )


async def existing(
    session: AsyncSession, customer_id: uuid.UUID, target: BlockTarget
) -> AccessBlock | None:
    """The customer's block of this user or group, if there is one."""
    return await repository.block_of(
        session,
        customer_id,
        user_id=target.user.id if target.user else None,
        group_id=target.group.id if target.group else None,
    )


async def block_in(
    session: AsyncSession, customer_id: uuid.UUID, block_id: uuid.UUID
) -> AccessBlock | None:
    return await repository.block_in(session, customer_id, block_id)


async def remove_block(session: AsyncSession, block: AccessBlock) -> None:
    await repository.delete_block(session, block)


async def shown(session: AsyncSession, blocks: Iterable[AccessBlock]) -> list[BlockShown]:
    """Blocks with their names, in a few batched reads."""
    blocks = list(blocks)
    group_ids = [b.user_group_id for b in blocks if b.user_group_id]
    groups = await repository.groups_by_id(session, repository.USER_GROUP_TABLES, group_ids)
    members = await repository.memberships_of_groups(session, group_ids)
    users = await identity.users_by_ids(
        session,
        [b.user_id for b in blocks if b.user_id]
        + [b.created_by_user_id for b in blocks if b.created_by_user_id]
        + [user_id for _, user_id in members],
    )
    in_group: dict[uuid.UUID, list[User]] = {}
    for group_id, user_id in members:
        if user_id in users:
            in_group.setdefault(group_id, []).append(users[user_id])
    return [
        BlockShown(
            block=b,
            user=users.get(b.user_id) if b.user_id else None,
            group=groups.get(b.user_group_id) if b.user_group_id else None,
            members=tuple(sorted(in_group.get(b.user_group_id, []), key=lambda u: u.display_name))
            if b.user_group_id
            else (),
            by=users.get(b.created_by_user_id) if b.created_by_user_id else None,
        )
        for b in blocks
    ]


async def blocks_of_customer(
    session: AsyncSession, customer_id: uuid.UUID, msp_id: uuid.UUID | None = None
) -> list[BlockShown]:
    """The customer's blocks (of one MSP's people, if given), oldest first, named."""
    return await shown(session, await repository.blocks_of_customer(session, customer_id, msp_id))
