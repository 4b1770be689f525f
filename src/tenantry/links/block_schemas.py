"""Shapes of a customer's blocks and of "who can act now" (issue #14). The customer's
side never reads the MSP's internal group names (DESIGN.md rule 6): a user group is
shown to it as "a group of <MSP>'s technicians" with its members."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from tenantry.access.acting import Acting
from tenantry.access.blocks import BlockShown
from tenantry.links.schemas import BlockIn as BlockIn
from tenantry.links.schemas import LinkOut, Side

MAX_BLOCKS_AT_APPROVAL = 200


class BlockOut(BaseModel):
    id: uuid.UUID
    kind: Literal["user", "group"]
    user_id: uuid.UUID | None
    user_group_id: uuid.UUID | None
    name: str = Field(description="The person's name, or the group as this side may see it.")
    members: list[str] = Field(description="A group's members, by name.")
    created_at: datetime
    created_by: str | None = Field(description="Who of the customer decided it.")


class ActingSourceOut(BaseModel):
    role_name: str
    via: str = Field(
        description="'a delegation to this client', 'a group of clients', 'all customers', "
        "'all customers, with exclusions' or 'MSP admin (implicit)'."
    )
    through_group: bool = Field(description="Held through a user group of the MSP.")
    expires_at: datetime | None
    blocked: bool


class ActingOut(BaseModel):
    """One technician or user group of the MSP that can act in the customer (or would,
    for a pending request)."""

    kind: Literal["user", "group"]
    id: uuid.UUID
    name: str
    email: str | None
    members: list[str]
    roles: list[str]
    sources: list[ActingSourceOut]
    permissions: list[str] = Field(description="What they may do now, blocks applied.")
    grant_expires_at: datetime | None = Field(
        description="When their last grant here ends (null: one has no end)."
    )
    link_expires_at: datetime | None
    blocked: bool
    block_id: uuid.UUID | None
    had_access_until: datetime | None = Field(
        description="When the earlier link with this MSP ended, if they could act under it: "
        "approving gives them access again."
    )
    events: str | None = Field(
        description="A person's events in the customer's audit trail (web page)."
    )


class LinkAccessOut(BaseModel):
    link_id: uuid.UUID
    state: str
    items: list[ActingOut]
    blocks: list[BlockOut]


def group_label(msp_name: str) -> str:
    return f"A group of {msp_name}'s technicians"


def block_out(found: BlockShown, side: Side, msp_name: str) -> BlockOut:
    block = found.block
    name = found.name
    if found.group is not None and side == "customer":
        name = group_label(msp_name)
    return BlockOut(
        id=block.id,
        kind="user" if block.user_id else "group",
        user_id=block.user_id,
        user_group_id=block.user_group_id,
        name=name,
        members=[u.display_name for u in found.members],
        created_at=block.created_at,
        created_by=found.by.display_name if found.by else None,
    )


class BlocksOut(BaseModel):
    items: list[BlockOut]


def events_url(customer_slug: str, row: Acting) -> str | None:
    """The person's events in the customer's trail (the trail page's actor filter)."""
    return f"/t/{customer_slug}/audit?actor={row.id}" if row.kind == "user" else None


def acting_out(
    row: Acting, *, side: Side, msp_name: str, link_expires_at: datetime | None, customer_slug: str
) -> ActingOut:
    ends = [s.expires_at for s in row.sources]
    return ActingOut(
        kind=row.kind,
        id=row.id,
        name=group_label(msp_name) if row.kind == "group" and side == "customer" else row.name,
        email=row.email,
        members=list(row.members),
        roles=list(row.roles),
        sources=[
            ActingSourceOut(
                role_name=s.role_name,
                via=s.via,
                through_group=s.through_group is not None,
                expires_at=s.expires_at,
                blocked=s.blocked,
            )
            for s in row.sources
        ],
        permissions=list(row.permissions),
        grant_expires_at=None if not ends or None in ends else max(e for e in ends if e),
        link_expires_at=link_expires_at,
        blocked=row.blocked,
        block_id=row.block_id,
        had_access_until=row.had_access_until,
        events=events_url(customer_slug, row),
    )


class LinkDetailOut(LinkOut):
    """One link, with the customer's blocks of the MSP's people (both ends see them) and,
    for a pending request, who would gain access when it is approved."""

    blocks: list[BlockOut]
    would_gain: list[ActingOut] | None = Field(
        default=None,
        description="Pending only: each technician or user group of the MSP who would gain "
        "access on approval; had_access_until marks those who had it under an earlier link.",
    )
