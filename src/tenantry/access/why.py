"""Why: a user's effective permissions in a tenant and what gave each (or what was
missing), and a tenant's access review (who can act in it, through what). Read-only;
built on the same decision functions as ``AccessService.context_in``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access import repository, schemas
from tenantry.access.context import PermissionSource, TenantRef
from tenantry.access.decision import by_permission, customer_sources, home_sources, unblocked
from tenantry.access.models import Grant
from tenantry.access.permissions import ADMIN_ROLES, CATALOG, MSP_OWNED
from tenantry.access.presenters import Names, load_names, page_after, tenant_brief, user_ref
from tenantry.access.service import AccessService
from tenantry.db.base import utcnow
from tenantry.errors import NotFound, ValidationFailed
from tenantry.identity import service as identity
from tenantry.identity.models import User
from tenantry.identity.service import principal_of
from tenantry.kit.pagination import MAX_LIMIT, Keyset
from tenantry.tenancy import service as tenancy
from tenantry.tenancy.models import Tenant, TenantLink


class WhyService:
    """Answers about one tenant, for someone allowed to read its users' access."""

    def __init__(self, session: AsyncSession, tenant: TenantRef) -> None:
        self.session = session
        self.tenant = tenant

    async def _tenant_model(self) -> Tenant:
        tenant = await tenancy.tenant_by_id(self.session, self.tenant.id)
        if tenant is None:
            raise NotFound("No such tenant.")
        return tenant

    async def _link_out(self, link: TenantLink | None) -> schemas.LinkOut | None:
        if link is None:
            return None
        msp = (await tenancy.tenants_by_ids(self.session, [link.msp_tenant_id]))[link.msp_tenant_id]
        return schemas.LinkOut(
            id=link.id,
            msp=tenant_brief(msp),
            ceiling=[p for p in CATALOG if p in set(link.ceiling)],
            expires_at=link.expires_at,
        )

    async def explain(self, user_ref_or_email: str) -> schemas.Explanation:
        """A user's effective permissions here and what gave each (or why not). The user
        is one of this tenant's own, or a technician of the MSP managing it."""
        tenant = await self._tenant_model()
        user = await identity.user_by_ref(self.session, user_ref_or_email.strip())
        managing = await tenancy.msp_of(self.session, tenant.id)
        allowed = {tenant.id} | ({managing[0].id} if managing else set())
        if user is None or user.home_tenant_id not in allowed:
            raise ValidationFailed(
                "user",
                f"no user with that id or email works in {tenant.display_name} "
                "(its own users, or the technicians of the MSP that manages it)",
            )
        home = (await tenancy.tenants_by_ids(self.session, [user.home_tenant_id]))[
            user.home_tenant_id
        ]
        principal = principal_of(user, home, auth_method="cli")
        now = utcnow()
        decision = await AccessService(self.session).decide(principal, tenant, now)
        every = [s for group in decision.uncapped.values() for s in group]
        grants = await repository.grants_by_id(
            self.session, (s.grant_id for s in every if s.grant_id)
        )
        names = await load_names(self.session, home, grants.values())
        names.shown_in = tenant
        names.user_groups |= await repository.groups_by_id(
            self.session,
            repository.USER_GROUP_TABLES,
            (s.user_group_id for s in every if s.user_group_id),
        )
        link = await self._link_out(decision.link)
        # Only when the blocks left nothing: otherwise each missing permission has its
        # ordinary reason (a blocked group's grants may overlap the others).
        blocked_note = (
            None if decision.sources else _blocked_note(decision.blocks, user, home, tenant)
        )
        rows = []
        for permission, description in CATALOG.items():
            held = decision.sources.get(permission, ())
            would = decision.uncapped.get(permission, ())
            sources = [names.source_out(s, grants) for s in held]
            if held:
                reason = "allowed by " + "; ".join(
                    f"{s.role_name} ({s.via}, {s.scope_label})" for s in sources
                )
            elif decision.relation == "none":
                reason = f"{home.display_name} has no active link to {tenant.display_name}"
            elif decision.managed_by is not None and permission in MSP_OWNED:
                reason = (
                    f"it belongs to {decision.managed_by.display_name}, the MSP that manages "
                    f"{tenant.display_name}: {tenant.display_name}'s own roles give it only "
                    "while no MSP manages it"
                )
            elif blocked_note:
                reason = blocked_note
            elif would:
                reason = (
                    f"{', '.join(sorted({names.source_out(s, grants).role_name for s in would}))}"
                    f" would give it, but the link from {home.display_name} does not include it"
                )
            else:
                reason = "none of the grants here gives it"
            rows.append(
                schemas.PermissionExplained(
                    permission=permission,
                    description=description,
                    held=bool(held),
                    sources=sources,
                    reason=reason,
                )
            )
        held_count = sum(1 for r in rows if r.held)
        if decision.relation == "none":
            summary = (
                f"{user.display_name} cannot act in {tenant.display_name}: "
                f"{home.display_name} has no active link to it."
            )
        elif not held_count:
            summary = f"{user.display_name} holds nothing in {tenant.display_name}." + (
                f" {blocked_note[:1].upper()}{blocked_note[1:]}." if blocked_note else ""
            )
        else:
            summary = (
                f"{user.display_name} holds {held_count} of {len(CATALOG)} permissions in "
                f"{tenant.display_name}"
                + (f", within the link from {home.display_name}." if decision.link else ".")
            )
        if user.disabled_at is not None:
            summary += " The account is disabled, so it cannot sign in."
        return schemas.Explanation(
            user=user_ref(user),
            user_home=tenant_brief(home),
            tenant=tenant_brief(tenant),
            relation=decision.relation,
            has_access=bool(held_count),
            summary=summary,
            link=link,
            permissions=rows,
        )

    async def review(
        self, *, limit: int = MAX_LIMIT, cursor: str | None = None
    ) -> schemas.AccessReview:
        """Who can act in this tenant and through what: its own users by their home
        grants; for a customer, the managing MSP's technicians by their grants and the
        implicit admin grant, each capped by the link's ceiling. Own users first, then
        technicians, each by email."""
        review = await self.review_all()
        review.items, review.next_cursor = page_after(
            review.items, _review_key, REVIEW_ORDER, limit, cursor
        )
        return review

    async def review_all(self) -> schemas.AccessReview:
        """The whole review at once (the CSV export)."""
        tenant = await self._tenant_model()
        now = utcnow()
        entries = await self._review_own(tenant, now)
        managing = await tenancy.msp_of(self.session, tenant.id)
        link: TenantLink | None = None
        if managing is not None:
            msp, link = managing
            if link.expires_at is not None and link.expires_at <= now:
                link = None
            else:
                entries += await self._review_msp(tenant, msp, link, now)
        entries.sort(key=_review_key)
        return schemas.AccessReview(
            tenant=tenant_brief(tenant),
            generated_at=now,
            link=await self._link_out(link),
            items=entries,
        )

    async def _grants_by_user(
        self, grants: Sequence[Grant], home_id: uuid.UUID
    ) -> tuple[dict[uuid.UUID, list[Grant]], dict[uuid.UUID, User]]:
        """Each user of ``home_id`` → the grants they hold, directly or through a group."""
        members = await repository.memberships_of_groups(
            self.session, (g.user_group_id for g in grants if g.user_group_id)
        )
        in_group: dict[uuid.UUID, set[uuid.UUID]] = {}
        for group_id, user_id in members:
            in_group.setdefault(group_id, set()).add(user_id)
        held: dict[uuid.UUID, list[Grant]] = {}
        for grant in grants:
            users = (
                {grant.user_id}
                if grant.user_id
                else in_group.get(grant.user_group_id or uuid.UUID(int=0), set())
            )
            for user_id in users:
                held.setdefault(user_id, []).append(grant)
        found = await identity.users_by_ids(self.session, held)
        return held, {i: u for i, u in found.items() if u.home_tenant_id == home_id}

    def _entry(
        self,
        user: User,
        home: Tenant,
        relation: Literal["own user", "MSP technician"],
        sources: Sequence[PermissionSource],
        ceiling: frozenset[str] | None,
        names: Names,
        grants: Mapping[uuid.UUID, Grant],
    ) -> schemas.ReviewEntry | None:
        book = names.book
        total = by_permission(sources, ceiling, book)
        if not total:
            return None
        return schemas.ReviewEntry(
            user=user_ref(user),
            home=tenant_brief(home),
            relation=relation,
            disabled=user.disabled_at is not None,
            permissions=[p for p in CATALOG if p in total],
            sources=[
                schemas.ReviewSource(
                    **names.source_out(s, grants).model_dump(),
                    permissions=[p for p in CATALOG if p in by_permission([s], ceiling, book)],
                )
                for s in sources
            ],
        )

    async def _review_own(self, tenant: Tenant, now: datetime) -> list[schemas.ReviewEntry]:
        grants = await repository.live_home_grants(self.session, tenant.id, now)
        held, users = await self._grants_by_user(grants, tenant.id)
        names = await load_names(self.session, tenant, grants)
        by_id = {g.id: g for g in grants}
        entries = []
        for user_id, user in users.items():
            sources = home_sources(held[user_id], names.book)
            entry = self._entry(user, tenant, "own user", sources, None, names, by_id)
            if entry is not None:
                entries.append(entry)
        return entries

    async def _review_msp(
        self, tenant: Tenant, msp: Tenant, link: TenantLink, now: datetime
    ) -> list[schemas.ReviewEntry]:
        groups = frozenset(
            g.id for g in await repository.tenant_groups_holding(self.session, msp.id, tenant.id)
        )
        grants = await repository.live_grants_reaching(
            self.session, msp.id, tenant.id, groups, ADMIN_ROLES, now
        )
        held, users = await self._grants_by_user(grants, msp.id)
        names = await load_names(self.session, msp, grants)
        names.shown_in = tenant
        names.tenants.setdefault(tenant.id, tenant)
        by_id = {g.id: g for g in grants}
        ceiling = frozenset(link.ceiling)
        # The customer's blocks (issue #14): a blocked technician holds nothing here, a
        # blocked group's grants give nothing.
        blocks = await repository.blocks_of_customer(self.session, tenant.id, msp.id)
        blocked_users = {b.user_id for b in blocks if b.user_id}
        blocked_groups = frozenset(b.user_group_id for b in blocks if b.user_group_id)
        entries = []
        for user_id, user in users.items():
            sources = unblocked(
                customer_sources(held[user_id], tenant.id, msp.is_msp, groups, names.book),
                user_blocked=user_id in blocked_users,
                blocked_groups=blocked_groups,
            )
            entry = self._entry(user, msp, "MSP technician", sources, ceiling, names, by_id)
            if entry is not None:
                entries.append(entry)
        return entries


def _blocked_note(
    blocks: Sequence[repository.BlockRef], user: User, home: Tenant, tenant: Tenant
) -> str | None:
    """Why a customer's block took this access away, in words for either side (a group
    is named only as the MSP's: rule 6)."""
    if not blocks:
        return None
    if any(b.user_id is not None for b in blocks):
        return f"{tenant.display_name} blocked {user.display_name} here"
    return (
        f"{tenant.display_name} blocked a group of {home.display_name}'s technicians "
        f"that {user.display_name} belongs to"
    )


_RELATION_ORDER = {"own user": 0, "MSP technician": 1}


# Own users first, then the MSP's technicians; by email within each.
REVIEW_ORDER = Keyset(int, str)


def _review_key(entry: schemas.ReviewEntry) -> tuple[int, str]:
    return (_RELATION_ORDER[entry.relation], entry.user.email)


def review_csv_rows(review: schemas.AccessReview) -> Iterator[list[str]]:
    """One row per (user, source): what an auditor filters and pivots in a spreadsheet."""
    yield [
        "tenant",
        "user_email",
        "user_name",
        "relation",
        "home_tenant",
        "disabled",
        "role",
        "via",
        "scope",
        "expires_at",
        "grant_id",
        "permissions",
    ]
    for entry in review.items:
        for source in entry.sources:
            yield [
                review.tenant.slug,
                entry.user.email,
                entry.user.display_name,
                entry.relation,
                entry.home.slug,
                "yes" if entry.disabled else "no",
                source.role_name,
                source.via,
                source.scope_label,
                source.expires_at.isoformat() if source.expires_at else "",
                str(source.grant_id) if source.grant_id else "",
                " ".join(source.permissions),
            ]
