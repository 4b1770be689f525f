"""Every query of tenants and tenant links (platform tables): tenancy is their only
owner, and other domains reach them through ``tenancy.service``."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    String,
    and_,
    cast,
    delete,
    func,
    or_,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased

from tenantry.tenancy.models import LinkState, Tenant, TenantLink

LIVE = (LinkState.PENDING, LinkState.ACTIVE)
ENDED = (LinkState.REVOKED, LinkState.EXPIRED)

Msp = aliased(Tenant, name="msp")
Customer = aliased(Tenant, name="customer")


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


async def by_slug(session: AsyncSession, slug: str) -> Tenant | None:
    return await session.scalar(select(Tenant).where(Tenant.slug == slug.lower()))


async def by_id(session: AsyncSession, tenant_id: uuid.UUID) -> Tenant | None:
    return await session.get(Tenant, tenant_id)


async def by_ref(session: AsyncSession, ref: str) -> Tenant | None:
    """A tenant by slug or by id (the API accepts either in the path)."""
    try:
        tenant_id = uuid.UUID(ref)
    except ValueError:
        return await by_slug(session, ref)
    return await session.get(Tenant, tenant_id)


async def by_ids(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Tenant]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = await session.scalars(select(Tenant).where(Tenant.id.in_(wanted)))
    return {t.id: t for t in rows}


async def oldest_first(session: AsyncSession) -> Sequence[Tenant]:
    return (await session.scalars(select(Tenant).order_by(Tenant.created_at))).all()


async def every_id(session: AsyncSession) -> list[uuid.UUID]:
    return list(await session.scalars(select(Tenant.id)))


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


async def delete_owned_rows(session: AsyncSession, model: Any, tenant_id: uuid.UUID) -> int:
    """Every row of a tenant-owned ``model`` that ``tenant_id`` owns (deletion)."""
    return _rowcount(await session.execute(delete(model).where(model.tenant_id == tenant_id)))


async def delete_links_of(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    """Every link with ``tenant_id`` at either end (deletion)."""
    result = await session.execute(
        delete(TenantLink).where(
            or_(TenantLink.customer_tenant_id == tenant_id, TenantLink.msp_tenant_id == tenant_id)
        )
    )
    return _rowcount(result)


async def delete_tenant(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    return _rowcount(await session.execute(delete(Tenant).where(Tenant.id == tenant_id)))


# ---------------------------------------------------------------- links


async def active_link(
    session: AsyncSession, msp_tenant_id: uuid.UUID, customer_tenant_id: uuid.UUID
) -> TenantLink | None:
    return await session.scalar(
        select(TenantLink).where(
            TenantLink.msp_tenant_id == msp_tenant_id,
            TenantLink.customer_tenant_id == customer_tenant_id,
            TenantLink.state == LinkState.ACTIVE,
        )
    )


async def newest_link(
    session: AsyncSession, msp_tenant_id: uuid.UUID, customer_tenant_id: uuid.UUID
) -> TenantLink | None:
    """The latest link between the two, in any state (ids are time-ordered)."""
    return await session.scalar(
        select(TenantLink)
        .where(
            TenantLink.customer_tenant_id == customer_tenant_id,
            TenantLink.msp_tenant_id == msp_tenant_id,
        )
        .order_by(TenantLink.id.desc())
        .limit(1)
    )


async def live_link_of(session: AsyncSession, customer_id: uuid.UUID) -> TenantLink | None:
    """The customer's pending or active link (at most one: a partial unique index)."""
    return await session.scalar(
        select(TenantLink).where(
            TenantLink.customer_tenant_id == customer_id, TenantLink.state.in_(LIVE)
        )
    )


async def link_with_parties(
    session: AsyncSession, link_id: uuid.UUID, *, for_update: bool = False
) -> tuple[TenantLink, Tenant, Tenant] | None:
    """A link with its MSP and customer. ``for_update`` locks the link row so that two
    decisions on it (approve and revoke, two sweeps) run one after the other."""
    stmt = (
        select(TenantLink, Msp, Customer)
        .join(Msp, Msp.id == TenantLink.msp_tenant_id)
        .join(Customer, Customer.id == TenantLink.customer_tenant_id)
        .where(TenantLink.id == link_id)
    )
    if for_update:
        stmt = stmt.with_for_update(of=TenantLink)
    row = (await session.execute(stmt)).first()
    return (row[0], row[1], row[2]) if row else None


async def links_page(
    session: AsyncSession,
    *,
    msp_id: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
    party_id: uuid.UUID | None = None,
    states: Sequence[LinkState] = (),
    before_id: uuid.UUID | None = None,
    limit: int,
) -> Sequence[tuple[TenantLink, Tenant, Tenant]]:
    """Links of an MSP, of a customer, or with ``party_id`` at either end, newest first
    (ids are time-ordered UUIDs, so keyset paging on the id alone is stable)."""
    conditions: list[ColumnElement[bool]] = []
    if msp_id is not None:
        conditions.append(TenantLink.msp_tenant_id == msp_id)
    if customer_id is not None:
        conditions.append(TenantLink.customer_tenant_id == customer_id)
    if party_id is not None:
        conditions.append(
            or_(TenantLink.msp_tenant_id == party_id, TenantLink.customer_tenant_id == party_id)
        )
    if states:
        conditions.append(TenantLink.state.in_(list(states)))
    if before_id is not None:
        conditions.append(TenantLink.id < before_id)
    stmt = (
        select(TenantLink, Msp, Customer)
        .join(Msp, Msp.id == TenantLink.msp_tenant_id)
        .join(Customer, Customer.id == TenantLink.customer_tenant_id)
        .where(*conditions)
        .order_by(TenantLink.id.desc())
        .limit(limit)
    )
    return [(link, msp, customer) for link, msp, customer in (await session.execute(stmt)).all()]


async def all_links(
    session: AsyncSession, tenant_id: uuid.UUID | None = None, limit: int = 10_000
) -> Sequence[tuple[TenantLink, Tenant, Tenant]]:
    """Every link (the operator's list), or those with ``tenant_id`` at either end."""
    stmt = (
        select(TenantLink, Msp, Customer)
        .join(Msp, Msp.id == TenantLink.msp_tenant_id)
        .join(Customer, Customer.id == TenantLink.customer_tenant_id)
        .order_by(Msp.slug, Customer.slug, TenantLink.id)
        .limit(limit)
    )
    if tenant_id is not None:
        stmt = stmt.where(
            or_(TenantLink.msp_tenant_id == tenant_id, TenantLink.customer_tenant_id == tenant_id)
        )
    return [(link, msp, customer) for link, msp, customer in (await session.execute(stmt)).all()]


async def due_link_ids(session: AsyncSession, before: datetime) -> Sequence[uuid.UUID]:
    """Active links whose expiry is at or before ``before`` (the sweep's work list)."""
    result = await session.scalars(
        select(TenantLink.id)
        .where(
            TenantLink.state == LinkState.ACTIVE,
            TenantLink.expires_at.is_not(None),
            TenantLink.expires_at <= before,
        )
        .order_by(TenantLink.expires_at)
    )
    return result.all()


async def count_customers(
    session: AsyncSession, msp_id: uuid.UUID, states: Sequence[LinkState] = (LinkState.ACTIVE,)
) -> int:
    value = await session.scalar(
        select(func.count())
        .select_from(TenantLink)
        .where(TenantLink.msp_tenant_id == msp_id, TenantLink.state.in_(states))
    )
    return int(value or 0)


# --- used by access ---
Column = ColumnElement[Any] | InstrumentedAttribute[Any]
# The switcher and the MSP-wide scopes list an MSP's linked customers that some grant
# could cover, at 10,000 clients: each is one statement, narrowed by what access passes
# in (ids it names, a subquery of ids in granted groups, an ordering table).


@functools.cache
def joined_tenant(
    tenant_id: InstrumentedAttribute[uuid.UUID],
) -> tuple[type[Tenant], ColumnElement[bool]]:
    """The tenants table and the condition joining it to ``tenant_id``, for another owner's
    read that needs the tenant in the same statement (one round trip, not two); the same
    object for the same column, so the reader builds its statement once."""
    return Tenant, Tenant.id == tenant_id


def tenant_matching(ref: str) -> tuple[type[Tenant], InstrumentedAttribute[Any], object]:
    """The tenants table, the column naming ``ref`` (id or slug) and the value, for another
    owner's read (the access decision's)."""
    try:
        return Tenant, Tenant.id, uuid.UUID(ref)
    except ValueError:
        return Tenant, Tenant.slug, ref.lower()


def linked_customer_conditions(
    msp_id: uuid.UUID, now: datetime, among: Iterable[uuid.UUID] | None = None
) -> list[ColumnElement[bool]]:
    """The customers under an active, unexpired link of ``msp_id`` (those ``among``: few)."""
    conditions: list[ColumnElement[bool]] = [
        TenantLink.msp_tenant_id == msp_id,
        TenantLink.state == LinkState.ACTIVE,
        or_(TenantLink.expires_at.is_(None), TenantLink.expires_at > now),
    ]
    if among is not None:
        conditions.append(Tenant.id.in_(sorted(among)))
    return conditions


async def linked_customers_listed(
    session: AsyncSession, conditions: Sequence[ColumnElement[bool]]
) -> Sequence[Row[uuid.UUID, str, str, Any, str, str | None, datetime | None]]:
    """(id, slug, display name, status, lower(display name), the link's ceiling as its
    JSON text, the link's expiry) of each customer, in the switcher's order (lower(display
    name), id, as ``linked_customers_by_name`` pages it): thousands of links share a few
    ceilings, so each distinct text is parsed once by the caller."""
    sort_name = func.lower(Tenant.display_name)
    result = await session.execute(
        select(
            Tenant.id,
            Tenant.slug,
            Tenant.display_name,
            Tenant.status,
            sort_name,
            cast(TenantLink.ceiling, String),
            TenantLink.expires_at,
        )
        .join(TenantLink, TenantLink.customer_tenant_id == Tenant.id)
        .where(and_(*conditions))
        .order_by(sort_name, Tenant.id)
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


# --- used by access: the managing MSP, a client group's customers ---


async def managing_msp(
    session: AsyncSession, customer_id: uuid.UUID
) -> tuple[Tenant, TenantLink] | None:
    """The MSP managing this customer through an active link, with that link."""
    row = (
        await session.execute(
            select(Tenant, TenantLink)
            .join(TenantLink, TenantLink.msp_tenant_id == Tenant.id)
            .where(
                TenantLink.customer_tenant_id == customer_id,
                TenantLink.state == LinkState.ACTIVE,
            )
        )
    ).first()
    return (row[0], row[1]) if row else None


async def managing_msps(
    session: AsyncSession, customer_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID]:
    """customer id → the id of the MSP managing it through an active link (one read)."""
    rows = await session.execute(
        select(TenantLink.customer_tenant_id, TenantLink.msp_tenant_id).where(
            TenantLink.customer_tenant_id.in_(sorted(set(customer_ids))),
            TenantLink.state == LinkState.ACTIVE,
        )
    )
    return {customer: msp for customer, msp in rows.all()}


async def msp_client_totals(session: AsyncSession, msp_id: uuid.UUID) -> list[tuple[str, str, int]]:
    """(link state, customer status, how many) over the MSP's pending and active links."""
    rows = await session.execute(
        select(TenantLink.state, Tenant.status, func.count())
        .join(Tenant, Tenant.id == TenantLink.customer_tenant_id)
        .where(TenantLink.msp_tenant_id == msp_id, TenantLink.state.in_(LIVE))
        .group_by(TenantLink.state, Tenant.status)
    )
    return [(str(state), str(status), int(n)) for state, status, n in rows.all()]


async def active_links_of_msp(
    session: AsyncSession, msp_id: uuid.UUID, among: Iterable[uuid.UUID] | None
) -> dict[uuid.UUID, tuple[datetime | None, str]]:
    """customer id → (active link's expiry, customer status), of all or those ``among``."""
    stmt = (
        select(TenantLink.customer_tenant_id, TenantLink.expires_at, Tenant.status)
        .join(Tenant, Tenant.id == TenantLink.customer_tenant_id)
        .where(TenantLink.msp_tenant_id == msp_id, TenantLink.state == LinkState.ACTIVE)
    )
    if among is not None:
        stmt = stmt.where(TenantLink.customer_tenant_id.in_(sorted(set(among))))
    return {c: (at, str(status)) for c, at, status in (await session.execute(stmt)).all()}


async def tenants_among(session: AsyncSession, ids: Select[uuid.UUID]) -> Sequence[Tenant]:
    """The tenants whose ids ``ids`` selects (a caller's subquery), by display name."""
    result = await session.scalars(
        select(Tenant)
        .where(Tenant.id.in_(ids))
        .order_by(func.lower(Tenant.display_name), Tenant.id)
    )
    return result.all()
