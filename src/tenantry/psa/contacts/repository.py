"""Every contacts query. Each takes the tenant id and puts it in the WHERE, even though
the session's scope (and row-level security on PostgreSQL) would add it anyway."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.psa.contacts.models import Contact


async def by_id(
    session: AsyncSession, tenant_id: uuid.UUID, contact_id: uuid.UUID
) -> Contact | None:
    return await session.scalar(
        select(Contact).where(Contact.tenant_id == tenant_id, Contact.id == contact_id)
    )


async def by_email(session: AsyncSession, tenant_id: uuid.UUID, email: str) -> Contact | None:
    return await session.scalar(
        select(Contact).where(Contact.tenant_id == tenant_id, Contact.email == email)
    )


async def existing_emails(
    session: AsyncSession, tenant_id: uuid.UUID, emails: Iterable[str]
) -> set[str]:
    wanted = sorted(set(emails))
    if not wanted:
        return set()
    found: set[str] = set()
    # In chunks: both databases cap the number of bound parameters.
    for start in range(0, len(wanted), 500):
        rows = await session.scalars(
            select(Contact.email).where(
                Contact.tenant_id == tenant_id, Contact.email.in_(wanted[start : start + 500])
            )
        )
        found.update(rows)
    return found


async def page(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    query: str | None,
    after: tuple[str, uuid.UUID] | None,
    limit: int,
) -> Sequence[Contact]:
    """Contacts ordered by (name, id), ``limit`` + 1 rows so the caller knows if more exist."""
    stmt = select(Contact).where(Contact.tenant_id == tenant_id)
    if query:
        needle = query.lower()
        stmt = stmt.where(
            or_(
                func.lower(Contact.name).contains(needle, autoescape=True),
                Contact.email.contains(needle, autoescape=True),
                func.lower(Contact.job_title).contains(needle, autoescape=True),
                Contact.phone.contains(needle, autoescape=True),
            )
        )
    if after is not None:
        stmt = stmt.where(tuple_(Contact.name, Contact.id) > tuple_(*after))
    stmt = stmt.order_by(Contact.name, Contact.id).limit(limit + 1)
    return (await session.scalars(stmt)).all()


async def by_ids(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Contact]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = await session.scalars(
        select(Contact).where(Contact.tenant_id == tenant_id, Contact.id.in_(wanted))
    )
    return {c.id: c for c in rows}


async def count(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    """How many contacts the tenant has (its counted users for a service plan)."""
    return int(
        await session.scalar(
            select(func.count()).select_from(Contact).where(Contact.tenant_id == tenant_id)
        )
        or 0
    )
