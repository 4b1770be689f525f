"""Queries of tenants and links (platform tables)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Row,
    Select,
    String,
    and_,
    cast,
    func,
    or_,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased

from tenantry.tenancy.models import LinkState, Tenant, TenantLink


async def by_slug(session: AsyncSession, slug: str) -> Tenant | None:
    return await session.scalar(select(Tenant).where(Tenant.slug == slug.lower()))


async def by_id(session: AsyncSession, tenant_id: uuid.UUID) -> Tenant | None:
    return await session.get(Tenant, tenant_id)


async def slug_taken(session: AsyncSession, slug: str) -> bool:
    return (await session.scalar(select(Tenant.id).where(Tenant.slug == slug))) is not None


def _search(query: str | None) -> list[ColumnElement[bool]]:
    if not query:
        return []
    needle = query.strip().lower()
    return [
        or_(
            Tenant.slug.contains(needle, autoescape=True),
            func.lower(Tenant.display_name).contains(needle, autoescape=True),
        )
    ]


async def customers_of(
    session: AsyncSession,
    msp_id: uuid.UUID,
    *,
    query: str | None,
    after_slug: str | None,
    limit: int,
) -> Sequence[tuple[Tenant, TenantLink]]:
    """The MSP's customers with their active link, ordered by slug (keyset paging)."""
    stmt = (
        select(Tenant, TenantLink)
        .join(TenantLink, TenantLink.customer_tenant_id == Tenant.id)
        .where(TenantLink.msp_tenant_id == msp_id, TenantLink.state == LinkState.ACTIVE)
        .where(*_search(query))
        .order_by(Tenant.slug)
        .limit(limit)
    )
    if after_slug:
        stmt = stmt.where(Tenant.slug > after_slug)
    return [(t, link) for t, link in (await session.execute(stmt)).all()]


async def customer_of(
    session: AsyncSession, msp_id: uuid.UUID, ref: str
) -> tuple[Tenant, TenantLink] | None:
    """One customer of the MSP by slug or id; None for anyone else's tenant."""
    try:
        condition = Tenant.id == uuid.UUID(ref)
    except ValueError:
        condition = Tenant.slug == ref.lower()
    row = (
        await session.execute(
            select(Tenant, TenantLink)
            .join(TenantLink, TenantLink.customer_tenant_id == Tenant.id)
            .where(
                condition,
                TenantLink.msp_tenant_id == msp_id,
                TenantLink.state == LinkState.ACTIVE,
            )
        )
    ).first()
    return (row[0], row[1]) if row else None


async def all_tenants(
    session: AsyncSession, *, query: str | None = None, limit: int = 1000
) -> Sequence[Tenant]:
    result = await session.scalars(
        select(Tenant).where(*_search(query)).order_by(Tenant.slug).limit(limit)
    )
    return result.all()


async def count_customers(session: AsyncSession, msp_id: uuid.UUID) -> int:
    value = await session.scalar(
        select(func.count())
        .select_from(TenantLink)
        .where(TenantLink.msp_tenant_id == msp_id, TenantLink.state == LinkState.ACTIVE)
    )
    return int(value or 0)


# --- used by access ---
Column = ColumnElement[Any] | InstrumentedAttribute[Any]
# The switcher and the MSP-wide scopes list an MSP's linked customers that some grant
# could cover, at 10,000 clients: each is one statement, narrowed by what access passes
# in (ids it names, a subquery of ids in granted groups, an ordering table).


def linked_customer_conditions(
    msp_id: uuid.UUID,
    now: datetime,
    *,
    every_customer: bool,
    named: Sequence[uuid.UUID] = (),
    in_ids: Select[uuid.UUID] | None = None,
    needle: str = "",
    leave_out: Sequence[uuid.UUID] = (),
) -> list[ColumnElement[bool]]:
    """The customers under an active, unexpired link of ``msp_id`` (all of them, or only
    those ``named`` or in ``in_ids``) whose slug or name contains ``needle``, but not
    those in ``leave_out``."""
    conditions: list[ColumnElement[bool]] = [
        TenantLink.msp_tenant_id == msp_id,
        TenantLink.state == LinkState.ACTIVE,
        or_(TenantLink.expires_at.is_(None), TenantLink.expires_at > now),
    ]
    if not every_customer:
        # Only named customers: a short IN list, and a subquery (indexed by group).
        only: list[ColumnElement[bool]] = []
        if named:
            only.append(Tenant.id.in_(sorted(named)))
        if in_ids is not None:
            only.append(Tenant.id.in_(in_ids))
        conditions.append(or_(*only))
    if needle:
        conditions.append(
            or_(
                Tenant.slug.contains(needle, autoescape=True),
                func.lower(Tenant.display_name).contains(needle, autoescape=True),
            )
        )
    if leave_out:
        conditions.append(Tenant.id.not_in(leave_out))
    return conditions


async def linked_customers_with_ceiling_text(
    session: AsyncSession, conditions: Sequence[ColumnElement[bool]]
) -> Sequence[Row[uuid.UUID, str, str, str]]:
    """(id, slug, display name, the link's ceiling as its JSON text) of each customer:
    thousands of links share a few ceilings, so each distinct text is parsed once."""
    result = await session.execute(
        select(Tenant.id, Tenant.slug, Tenant.display_name, cast(TenantLink.ceiling, String))
        .join(TenantLink, TenantLink.customer_tenant_id == Tenant.id)
        .where(and_(*conditions))
    )
    return result.all()


async def linked_customers_by_name(
    session: AsyncSession,
    conditions: Sequence[ColumnElement[bool]],
    *,
    after: tuple[str, uuid.UUID] | None,
    limit: int,
) -> list[Any]:
    """(id, slug, display name, status, lower(name), ceiling) of up to ``limit``
    customers after ``after`` in (lower(display name), id) order."""
    sort_name = func.lower(Tenant.display_name)
    stmt = (
        select(Tenant.id, Tenant.slug, Tenant.display_name, Tenant.status, sort_name)
        .add_columns(TenantLink.ceiling)
        .join(TenantLink, TenantLink.customer_tenant_id == Tenant.id)
        .where(and_(*conditions))
        .order_by(sort_name, Tenant.id)
        .limit(limit)
    )
    if after is not None:
        stmt = stmt.where(tuple_(sort_name, Tenant.id) > tuple_(*after))
    return list((await session.execute(stmt)).all())


async def linked_customers_in_order(
    session: AsyncSession,
    conditions: Sequence[ColumnElement[bool]],
    *,
    source: FromClause,
    customer_id: Column,
    where: Sequence[ColumnElement[bool]],
    order_by: Sequence[Column],
    members: tuple[FromClause, Column, ColumnElement[bool], Column] | None = None,
) -> list[Any]:
    """(id, slug, display name, status, ceiling[, member column]) of the customers a
    caller's table lists (``source``, whose ``customer_id`` names them; access's recently
    used tenants), in its ``order_by``; ``members``: (table, its customer id column, its
    filter, the column to add) outer-joined to each customer."""
    stmt = (
        select(Tenant.id, Tenant.slug, Tenant.display_name, Tenant.status, TenantLink.ceiling)
        .select_from(source)
        .join(Tenant, Tenant.id == customer_id)
        .join(TenantLink, TenantLink.customer_tenant_id == Tenant.id)
        .where(*where, *conditions)
        .order_by(*order_by)
    )
    if members is not None:
        table, member_customer_id, member_filter, column = members
        stmt = stmt.add_columns(column).outerjoin(
            table, and_(member_customer_id == Tenant.id, member_filter)
        )
    return list((await session.execute(stmt)).all())

# --- used by audit and cli ---


async def all_links_with_parties(
    session: AsyncSession, tenant_id: uuid.UUID | None = None, limit: int = 10_000
) -> Sequence[tuple[TenantLink, Tenant, Tenant]]:
    """Every link with its MSP and customer, or those with ``tenant_id`` at either end."""
    msp, customer = aliased(Tenant, name="msp"), aliased(Tenant, name="customer")
    stmt = (
        select(TenantLink, msp, customer)
        .join(msp, msp.id == TenantLink.msp_tenant_id)
        .join(customer, customer.id == TenantLink.customer_tenant_id)
        .order_by(msp.slug, customer.slug, TenantLink.id)
        .limit(limit)
    )
    if tenant_id is not None:
        stmt = stmt.where(
            or_(TenantLink.msp_tenant_id == tenant_id, TenantLink.customer_tenant_id == tenant_id)
        )
    return [(link, m, c) for link, m, c in (await session.execute(stmt)).all()]
