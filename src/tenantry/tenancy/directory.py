"""The tenants and links other domains ask tenancy for (tenancy is the only owner of both
tables): reads by id, slug or reference, the managing MSP and active link, the setters of
tenant-wide settings kept on the tenant row, and the SQL pieces hot paths compose into
one statement (``joined_tenant``, ``linked_customer_conditions``). ``tenancy.service``
is their public face."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.audit.changes import Changes, of_pairs
from tenantry.db.base import Base, TenantOwned
from tenantry.errors import NotFound
from tenantry.tenancy import repository
from tenantry.tenancy.models import Tenant, TenantLink
from tenantry.tenancy.schemas import check_time_zone

# ---------------------------------------------------------------- reads for every domain


async def tenant_by_id(session: AsyncSession, tenant_id: uuid.UUID) -> Tenant | None:
    return await repository.by_id(session, tenant_id)


async def tenant(session: AsyncSession, tenant_id: uuid.UUID) -> Tenant:
    """The tenant, or 404."""
    found = await repository.by_id(session, tenant_id)
    if found is None:
        raise NotFound("No such tenant.")
    return found


async def tenant_by_slug(session: AsyncSession, slug: str) -> Tenant | None:
    return await repository.by_slug(session, slug)


async def tenant_by_ref(session: AsyncSession, ref: str) -> Tenant | None:
    """A tenant by slug or by id (the API accepts either in the path)."""
    return await repository.by_ref(session, ref)


async def tenants_by_ids(
    session: AsyncSession, ids: Sequence[uuid.UUID] | set[uuid.UUID]
) -> dict[uuid.UUID, Tenant]:
    return await repository.by_ids(session, ids)


async def all_tenants(
    session: AsyncSession, *, query: str | None = None, limit: int = 1000
) -> Sequence[Tenant]:
    """The instance's tenants by slug, optionally matching ``query`` (the operator's list)."""
    return await repository.all_tenants(session, query=query, limit=limit)


async def tenants_oldest_first(session: AsyncSession) -> Sequence[Tenant]:
    return await repository.oldest_first(session)


async def every_tenant_id(session: AsyncSession) -> list[uuid.UUID]:
    """The id of every tenant (background sweeps: a minute's loop over 10,000 tenants
    must not load 10,000 rows to read their ids)."""
    return await repository.every_id(session)


async def customer_of(
    session: AsyncSession, msp_id: uuid.UUID, ref: str
) -> tuple[Tenant, TenantLink] | None:
    """One customer of the MSP (by slug or id) with its active link; None otherwise."""
    return await repository.customer_of(session, msp_id, ref)


async def count_customers(session: AsyncSession, msp_id: uuid.UUID) -> int:
    return await repository.count_customers(session, msp_id)


async def count_live_customers(session: AsyncSession, msp_id: uuid.UUID) -> int:
    """Active and pending links of the MSP: the client tenants its plan counts."""
    return await repository.count_customers(session, msp_id, repository.LIVE)


async def active_link(
    session: AsyncSession, msp_id: uuid.UUID, customer_id: uuid.UUID
) -> TenantLink | None:
    return await repository.active_link(session, msp_id, customer_id)


async def newest_link(
    session: AsyncSession, msp_id: uuid.UUID, customer_id: uuid.UUID
) -> TenantLink | None:
    """The latest link of this MSP with this customer, whatever its state: explaining
    why a client an MSP once managed is closed to it now."""
    return await repository.newest_link(session, msp_id, customer_id)


async def set_time_zone(session: AsyncSession, tenant_id: uuid.UUID, time_zone: str) -> str:
    """Set the tenant's time zone (its SLA calendar and time entry dates use it); returns
    the previous one. The caller records the change in the action's own audit event
    (the SLA policy page and API are where it is edited)."""
    zone = check_time_zone(time_zone)
    found = await tenant(session, tenant_id)
    before = found.time_zone
    found.time_zone = zone
    return before


async def set_security_policy(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    require_mfa: bool | None,
    session_lifetime_minutes: int | None,
    lifetime_given: bool,
    require_mfa_from: datetime | None = None,
    from_given: bool = False,
    require_mfa_for_clients: bool | None = None,
) -> tuple[Tenant, Changes]:
    """Store the home security policy (identity checks and records it); returns the
    tenant and what changed. ``require_mfa_from`` (when given) is when the requirement
    takes effect; turning the requirement off clears it."""
    found = await tenant(session, tenant_id)
    pairs: list[tuple[str, object, object]] = []
    if require_mfa is not None and require_mfa != found.require_mfa:
        pairs.append(("require_mfa", found.require_mfa, require_mfa))
        found.require_mfa = require_mfa
    wanted_from = require_mfa_from if from_given else found.require_mfa_from
    if not found.require_mfa:
        wanted_from = None
    if wanted_from != found.require_mfa_from:
        pairs.append(("require_mfa_from", _iso(found.require_mfa_from), _iso(wanted_from)))
        found.require_mfa_from = wanted_from
    if lifetime_given and session_lifetime_minutes != found.session_lifetime_minutes:
        pairs.append(
            ("session_lifetime_minutes", found.session_lifetime_minutes, session_lifetime_minutes)
        )
        found.session_lifetime_minutes = session_lifetime_minutes
    wanted = require_mfa_for_clients
    if wanted is not None and wanted != found.require_mfa_for_clients:
        pairs.append(("require_mfa_for_clients", found.require_mfa_for_clients, wanted))
        found.require_mfa_for_clients = wanted
    return found, of_pairs(pairs)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def tenant_owned_models() -> list[type[TenantOwned]]:
    """Tenant-owned mapped classes, children before parents (safe delete order)."""
    by_table: dict[object, type[TenantOwned]] = {
        m.local_table: m.class_ for m in Base.registry.mappers if issubclass(m.class_, TenantOwned)
    }
    ordered = [t for t in reversed(Base.metadata.sorted_tables) if t in by_table]
    return [by_table[t] for t in ordered]


# --- used by identity and access ---
joined_tenant = repository.joined_tenant
tenant_matching = repository.tenant_matching

# The switcher's and the MSP-wide scopes' reads of linked customers (hot paths at
# 10,000 clients: one statement each, as access builds its narrowing).
linked_customer_conditions = repository.linked_customer_conditions


async def linked_customers_listed(
    session: AsyncSession, conditions: Sequence[ColumnElement[bool]]
) -> Sequence[Row[uuid.UUID, str, str, Any, str, str | None, datetime | None]]:
    return await repository.linked_customers_listed(session, conditions)


async def linked_customers_by_name(
    session: AsyncSession,
    conditions: Sequence[ColumnElement[bool]],
    *,
    after: tuple[str, uuid.UUID] | None,
    limit: int,
) -> list[Any]:
    return await repository.linked_customers_by_name(session, conditions, after=after, limit=limit)


# --- used by audit and cli ---


async def set_audit_retention(
    session: AsyncSession, tenant_id: uuid.UUID, days: int | None
) -> tuple[Tenant, int | None]:
    """Set how many days the tenant's audit events are kept; returns the tenant and the
    previous value. The audit domain validates the value and records the change."""
    found = await tenant(session, tenant_id)
    before = found.audit_retention_days
    found.audit_retention_days = days
    return found, before


# --- used by access: the managing MSP, a client group's customers ---


async def msp_of(session: AsyncSession, customer_id: uuid.UUID) -> tuple[Tenant, TenantLink] | None:
    """The MSP managing this customer through an active link, if any, with that link."""
    return await repository.managing_msp(session, customer_id)


async def msps_of(
    session: AsyncSession, customer_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID]:
    """customer id → its managing MSP's id, for those with an active link (one read)."""
    return await repository.managing_msps(session, customer_ids)


async def msp_client_totals(session: AsyncSession, msp_id: uuid.UUID) -> list[tuple[str, str, int]]:
    """(link state, customer status, how many) over the MSP's pending and active links."""
    return await repository.msp_client_totals(session, msp_id)


async def active_links_of_msp(
    session: AsyncSession, msp_id: uuid.UUID, customer_ids: Iterable[uuid.UUID] | None = None
) -> dict[uuid.UUID, tuple[datetime | None, str]]:
    """customer id → (active link's expiry, customer status) (the MSP dashboard's rows)."""
    return await repository.active_links_of_msp(session, msp_id, customer_ids)


async def tenants_among(session: AsyncSession, ids: Select[uuid.UUID]) -> Sequence[Tenant]:
    """The tenants whose ids a caller's subquery selects (the customers of a client group),
    by display name: one statement."""
    return await repository.tenants_among(session, ids)
