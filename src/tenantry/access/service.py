"""Access decisions (DESIGN.md, "The access rules"): the only maker of TenantContext
and of the TenantScope a unit of work runs under. The engine alone: managing roles,
groups and grants is ``access/admin/``, showing them ``access/presenters.py``."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access import delegated, ended, repository
from tenantry.access.blocks import refusal_of
from tenantry.access.context import PermissionSource, Principal, TenantContext, TenantRef
from tenantry.access.decision import RoleBook, by_permission, client_share, live, unblocked
from tenantry.access.decision import customer_sources as customer_sources
from tenantry.access.decision import home_sources as home_sources
from tenantry.access.decision import role_permissions as role_permissions
from tenantry.access.decisions import KeptDecisions, earliest, versions_of
from tenantry.access.grants import create_grant as create_grant
from tenantry.access.grants import revoke_grant as revoke_grant
from tenantry.access.models import Grant
from tenantry.access.repository import BlockRef
from tenantry.access.rolebook import role_book, sources_in_customer
from tenantry.db.base import utcnow
from tenantry.db.reads import AlsoRead
from tenantry.db.scope import TenantScope
from tenantry.errors import NotFound, TenantSuspended
from tenantry.tenancy import service as tenancy
from tenantry.tenancy.models import Tenant, TenantLink, TenantStatus

# Kept importable from here: older callers use this name.
_live = live


def tenant_ref(tenant: Tenant) -> TenantRef:
    return TenantRef(
        tenant.id,
        tenant.slug,
        tenant.display_name,
        tenant.status.value,
        tenant.is_msp,
        tenant.time_zone,
    )


@dataclass(frozen=True, slots=True)
class Decision:
    """What the access rules give one user in one tenant: per permission its sources,
    capped by the link's ceiling, and the same before the cap (what the link withheld)."""

    relation: Literal["home", "customer", "none"]
    sources: dict[str, tuple[PermissionSource, ...]]
    uncapped: dict[str, tuple[PermissionSource, ...]]
    link: TenantLink | None = None
    # At home in a customer an MSP manages: that MSP (its permissions are withheld from
    # the home roles, access rule 10; ``uncapped`` keeps what the roles would give).
    managed_by: Tenant | None = None
    # The customer's blocks that took something away from this user (issue #14).
    blocks: tuple[BlockRef, ...] = ()
    # When it stops being true by itself: the earliest expiry of a grant or link it
    # used (None: only a change can end it). A kept decision is not used past it.
    valid_until: datetime | None = None

    @property
    def ceiling(self) -> frozenset[str] | None:
        return frozenset(self.link.ceiling) if self.link is not None else None


# This worker's decisions (``access/decisions.py``): used only under the versions they
# were made under, which each request reads afresh.
KEPT: KeptDecisions[Decision] = KeptDecisions()


class AccessService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def context_for(
        self,
        principal: Principal,
        tenant_ref_or_slug: str,
        *,
        allow_suspended: bool = False,
        read: AlsoRead | None = None,
    ) -> TenantContext:
        """Decide what ``principal`` may do in a tenant; 404 if they may do nothing.

        The tenant is read with the access versions of it and of the caller's home (one
        statement, or none when ``read``, from ``tenant_read``, rode on the statement that
        resolved the caller); a decision this worker made under the same versions, still
        in time, is used as it is (``access/decisions.py``), else the rules decide again."""
        if read is not None and read.found:
            tenant, tenant_version, home_version = read.found
        else:
            found = await repository.with_versions(
                self.session, tenancy.tenant_matching(tenant_ref_or_slug), principal.home_tenant_id
            )
            tenant, tenant_version, home_version = found or (None, None, None)
        if tenant is None:
            raise NotFound("No such tenant.")
        now = utcnow()
        key = (principal.user_id, tenant.id)
        versions = versions_of(home_version, tenant_version)
        decision = KEPT.get(key, versions, now)
        if decision is None:
            decision = await self.decide(principal, tenant, now)
            KEPT.put(key, versions, decision.valid_until, decision)
        return await self.context_in(
            principal,
            tenant,
            allow_suspended=allow_suspended,
            decision=decision,
            home_version=home_version,
        )

    @staticmethod
    def tenant_read(tenant_ref_or_slug: str) -> AlsoRead:
        """What ``context_for`` reads first, to ride on the statement that resolves the
        caller (``resolve_principal``): one round trip for both."""
        return repository.with_versions_riding(tenancy.tenant_matching(tenant_ref_or_slug))

    async def role_book(self, grants: Sequence[Grant]) -> RoleBook:
        """Built-in roles plus the custom roles these grants name (one query, if any)."""
        return await role_book(self.session, grants)

    async def decide(
        self, principal: Principal, tenant: Tenant, now: datetime | None = None
    ) -> Decision:
        """The access rules for ``principal`` in ``tenant``, kept whole (also when they
        give nothing) so that a refusal can be explained as well as an allowance."""
        now = now or utcnow()
        # The customer's blocks of this user or their groups come in the same statement.
        found_grants, blocks = await repository.live_grants_and_blocks(
            self.session, principal.user_id, deciding_for=tenant.id
        )
        grants = live(found_grants, now)
        grants_end = earliest(*(g.expires_at for g in grants))
        book = await self.role_book(grants)
        if tenant.id == principal.home_tenant_id:
            sources = by_permission(home_sources(grants, book), None, book)
            managing, link_end = (
                (None, None) if tenant.is_msp else await self._managing_msp(tenant, now)
            )
            return Decision(
                "home",
                client_share(sources, managing is not None),
                sources,
                None,
                managing,
                valid_until=earliest(grants_end, link_end),
            )
        link = await tenancy.active_link(self.session, principal.home_tenant_id, tenant.id)
        if link is None or (link.expires_at is not None and link.expires_at <= now):
            return Decision("none", {}, {})
        found = await sources_in_customer(
            self.session, grants, tenant.id, principal.home_is_msp, book
        )
        # Blocks that take something away: someone the block keeps out learns who blocked
        # them; someone who could not act here anyway learns nothing about it (rule 9).
        held = {s.user_group_id for s in found}
        could = bool(by_permission(found, frozenset(link.ceiling), book))
        taking = tuple(
            b for b in blocks if could and (b.user_id is not None or b.user_group_id in held)
        )
        if taking:
            found = unblocked(
                found,
                user_blocked=any(b.user_id is not None for b in taking),
                blocked_groups=frozenset(b.user_group_id for b in taking if b.user_group_id),
            )
        return Decision(
            "customer",
            by_permission(found, frozenset(link.ceiling), book),
            by_permission(found, None, book),
            link,
            blocks=taking,
            valid_until=earliest(grants_end, link.expires_at),
        )

    async def _managing_msp(
        self, tenant: Tenant, now: datetime
    ) -> tuple[Tenant | None, datetime | None]:
        """The MSP managing ``tenant`` through an active, unexpired link (one query), and
        when that link expires."""
        found = await tenancy.msp_of(self.session, tenant.id)
        if found is None:
            return None, None
        msp, link = found
        if link.expires_at is None or link.expires_at > now:
            return msp, link.expires_at
        return None, None

    async def context_in(
        self,
        principal: Principal,
        tenant: Tenant,
        *,
        allow_suspended: bool = False,
        decision: Decision | None = None,
        home_version: int | None = None,
    ) -> TenantContext:
        decision = decision or await self.decide(principal, tenant)
        relation = decision.relation
        if relation == "customer" and not decision.sources and decision.blocks:
            # The customer's own decision about this person: saying so leaks nothing
            # they did not already know (they could open it until then).
            blocks = await repository.blocks_by_id(self.session, (b.id for b in decision.blocks))
            raise NotFound(await refusal_of(self.session, tenant, blocks))
        if relation == "none" or not decision.sources:
            # Explained (who ended the link, when) only to the MSP's people it reached.
            raise await ended.refusal(self.session, principal, tenant, utcnow())
        if relation == "customer" and principal.kept_from_clients:
            raise delegated.mfa_refusal(principal, tenant)
        link = decision.link
        context = TenantContext(
            tenant=tenant_ref(tenant),
            principal=principal,
            relation=relation,
            permissions=frozenset(decision.sources),
            sources=decision.sources,
            link_id=decision.link.id if decision.link is not None else None,
            link_ceiling=decision.ceiling,
            scope=TenantScope.of([tenant.id]),
            link_narrowing=delegated.narrowing_of(link, tenant, principal) if link else None,
            managed_by=decision.managed_by.display_name if decision.managed_by else None,
            held_back=frozenset(decision.uncapped) - frozenset(decision.sources)
            if decision.managed_by
            else frozenset(),
            home_version=home_version,
        )
        if tenant.status != TenantStatus.ACTIVE and not allow_suspended:
            raise TenantSuspended(
                f"{tenant.display_name} is suspended: its data is kept, but nothing can be "
                "done in it until it is resumed."
            )
        return context

    async def with_narrower_named(self, context: TenantContext) -> TenantContext:
        """For a page's banner or a refusal: who narrowed the link, by name."""
        return await delegated.with_narrower_named(self.session, context)

    async def home_context(self, principal: Principal) -> TenantContext:
        return await self.context_for(principal, str(principal.home_tenant_id))


def self_scope(principal: Principal) -> TenantScope:
    """A user acting on their own account: their events go to their home tenant."""
    return TenantScope.of([principal.home_tenant_id])


def operator_scope(tenant_ids: Iterable[uuid.UUID]) -> TenantScope:
    """Scope for the instance operator's CLI commands, which act outside any grant."""
    return TenantScope.of(tenant_ids)


async def users_holding_at_home(
    session: AsyncSession, tenant_id: uuid.UUID, permission: str, now: datetime | None = None
) -> list[uuid.UUID]:
    """The tenant's own people who hold ``permission`` at home through its live ``home``
    grants (built-in or custom roles, to them or to a user group they belong to): e.g.
    its admins, the people told about its links (``links:manage``)."""
    grants = await repository.live_home_grants(session, tenant_id, now or utcnow())
    book = await role_book(session, grants)
    holding = [g for g in grants if permission in book.permissions(g.role)]
    users = {g.user_id for g in holding if g.user_id is not None}
    groups = {g.user_group_id for g in holding if g.user_group_id is not None}
    users |= {user for _, user in await repository.memberships_of_groups(session, groups)}
    return sorted(users)


# --- used by tenancy ---


async def delete_grants_touching(
    session: AsyncSession, tenant_id: uuid.UUID, user_ids: Sequence[uuid.UUID]
) -> int:
    """Deleting a tenant: every grant its users hold, it issued, or that reaches into it."""
    return await repository.delete_grants_touching(session, tenant_id, user_ids)


async def delete_access_of(session: AsyncSession, tenant_id: uuid.UUID) -> dict[str, int]:
    """Deleting a tenant, after its grants: the groups and custom roles it owns, and its
    membership of an MSP's client groups (row counts per table)."""
    return await repository.delete_access_of(session, tenant_id)
