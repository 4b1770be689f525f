"""The roles a set of grants names: built-in ones from code, custom ones read once."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access import repository
from tenantry.access.decision import RoleBook, custom_role_ids
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
