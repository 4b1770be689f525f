"""What a decision reads beside the grants: the roles they name (built-in ones from code,
custom ones read once) and the client groups that bring them into one customer."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access import repository
from tenantry.access.context import PermissionSource
from tenantry.access.decision import BUILTINS_ONLY, RoleBook, custom_role_ids, customer_sources
from tenantry.access.models import Grant


async def role_book(session: AsyncSession, grants: Sequence[Grant]) -> RoleBook:
    """Built-in roles plus the custom roles these grants name (one query, if any)."""
    ids = custom_role_ids(grants)
    if not ids:
        return RoleBook()
    roles = await repository.custom_roles_by_id(session, ids)
    return RoleBook(
        custom={r.key: frozenset(r.permissions) for r in roles},
        names={r.key: r.name for r in roles},
    )


async def sources_in_customer(
    session: AsyncSession,
    grants: Sequence[Grant],
    customer_id: uuid.UUID,
    home_is_msp: bool,
    book: RoleBook = BUILTINS_ONLY,
) -> list[PermissionSource]:
    """Rules 3-5 for one customer, before its link's ceiling: the grants whose scope
    covers it, client groups read only when a grant names one (one query)."""
    group_ids = {g.tenant_group_id for g in grants if g.tenant_group_id is not None}
    groups = (
        await repository.groups_containing(session, customer_id, group_ids)
        if group_ids
        else frozenset()
    )
    return customer_sources(grants, customer_id, home_is_msp, groups, book)
