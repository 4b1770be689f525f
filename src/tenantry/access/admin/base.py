"""What every part of access management shares: the actor's limits (nobody hands out
more than they hold), the lookups of customers, and the audit record."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access import repository
from tenantry.access.context import TenantContext, TenantRef
from tenantry.access.models import (
    GrantScope,
)
from tenantry.access.permissions import ADMIN_ROLES, ALL, CATALOG
from tenantry.access.service import AccessService
from tenantry.audit import service as audit
from tenantry.audit.changes import Changes
from tenantry.audit.schemas import Actor, AuditAction
from tenantry.db.base import utcnow
from tenantry.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tenantry.identity import service as identity
from tenantry.identity.models import User
from tenantry.tenancy import service as tenancy
from tenantry.tenancy.models import Tenant, TenantLink

# ================================================================ managing access
#
# Roles, user groups, tenant groups and grants of one tenant, changed by someone acting
# there (their TenantContext) or by the instance operator (the CLI: no context, no
# limits). Rules a user would notice, all enforced here:
#
# * nobody hands out more than they hold: a home grant's role, a custom role's added or
#   removed permissions, and joining a group that holds grants are all limited to the
#   permissions the actor holds in the tenant; a one-customer delegation to what the
#   actor holds in that customer; tenant-group and all-customers grants reach customers
#   added later, so only an MSP admin (who owns every customer) may issue them;
# * a home grant is revoked only by someone who could have issued it (an Admin cannot
#   strip the Owner), and never the last Admin/Owner grant of the tenant;
# * a role or group still used by a live grant cannot be deleted: the refusal lists them.

NAME_MAX = 100
DESCRIPTION_MAX = 500
_SECOND = timedelta(seconds=1)


def _clean_name(value: str, field: str = "name") -> str:
    value = " ".join(value.split())
    if not value:
        raise ValidationFailed(field, "must not be empty")
    if len(value) > NAME_MAX:
        raise ValidationFailed(field, f"must be at most {NAME_MAX} characters long")
    return value


def _clean_description(value: str | None) -> str:
    value = (value or "").strip()
    if len(value) > DESCRIPTION_MAX:
        raise ValidationFailed("description", f"must be at most {DESCRIPTION_MAX} characters long")
    return value


def _clean_permissions(values: Sequence[str], field: str = "permissions") -> frozenset[str]:
    found = {v.strip() for v in values if v.strip()}
    unknown = sorted(found - set(CATALOG))
    if unknown:
        raise ValidationFailed(
            field, f"unknown permission {', '.join(repr(u) for u in unknown)} (see the catalog)"
        )
    if not found:
        raise ValidationFailed(field, "choose at least one permission")
    return frozenset(found)


def _listed(values: Iterable[str]) -> str:
    return ", ".join(sorted(values))


class AdminBase:
    """Access management in one tenant. ``ctx`` is the decision of whoever acts there;
    None for the instance operator, who acts outside any grant. Every change takes the
    ``actor`` its audit event names."""

    def __init__(
        self, session: AsyncSession, tenant: TenantRef, ctx: TenantContext | None = None
    ) -> None:
        self.session = session
        self.tenant = tenant
        self.ctx = ctx

    @classmethod
    def acting(cls, ctx: TenantContext, session: AsyncSession) -> Self:
        return cls(session, ctx.tenant, ctx)

    # ------------------------------------------------------------ limits on the actor

    def _beyond(self, permissions: Iterable[str]) -> frozenset[str]:
        """The permissions the actor does not hold in this tenant (none for the operator);
        ``TenantContext.beyond`` says what counts as held."""
        if self.ctx is None:
            return frozenset()
        return self.ctx.beyond(permissions)

    def _is_msp_admin(self) -> bool:
        if self.ctx is None:
            return True
        return (
            self.ctx.relation == "home"
            and self.ctx.tenant.is_msp
            and any(
                s.scope == "home" and s.role in ADMIN_ROLES
                for sources in self.ctx.sources.values()
                for s in sources
            )
        )

    async def _check_may_give(
        self, role: str, permissions: frozenset[str], scope: GrantScope, customer: Tenant | None
    ) -> None:
        """May the actor give ``role`` over ``scope``? Nobody hands out more than they hold."""
        if self.ctx is None:
            return
        if scope == GrantScope.HOME:
            beyond = self._beyond(permissions)
            if beyond:
                raise ValidationFailed(
                    "role",
                    f"gives permissions you do not have in {self.tenant.display_name} "
                    f"({_listed(beyond)})",
                )
            return
        if scope == GrantScope.CUSTOMER and customer is not None:
            try:
                there = await AccessService(self.session).context_in(
                    self.ctx.principal, customer, allow_suspended=True
                )
            except NotFound as exc:
                raise ValidationFailed(
                    "customer",
                    f"you hold no access in {customer.display_name} yourself, "
                    "so you cannot delegate there",
                ) from exc
            ceiling = there.link_ceiling if there.link_ceiling is not None else ALL
            beyond = (permissions & ceiling) - there.permissions
            if beyond:
                raise ValidationFailed(
                    "role",
                    f"gives permissions you do not have in {customer.display_name} "
                    f"({_listed(beyond)})",
                )
            return
        if not self._is_msp_admin():
            raise ValidationFailed(
                "scope",
                "only an MSP admin (Admin or Owner at home) can grant access to a client "
                "group or to every customer: those reach customers added later",
            )

    def _check_may_take(self, role: str, permissions: frozenset[str], scope: GrantScope) -> None:
        """Taking a home grant away needs what giving it needed (an Admin cannot strip the
        Owner); a delegation into customers only reduces access and may always go."""
        if scope != GrantScope.HOME:
            return
        beyond = self._beyond(permissions)
        if beyond:
            raise PermissionDenied(
                f"Only someone who holds every permission of {role} here can take it away "
                f"(you lack {_listed(beyond)}).",
                permission=sorted(beyond)[0],
            )

    async def _check_admins_left(
        self,
        *,
        without_grant: uuid.UUID | None = None,
        without_member: tuple[uuid.UUID, uuid.UUID] | None = None,
    ) -> None:
        """Refuse a change that would leave the tenant with nobody holding Admin or Owner
        at home: nobody could manage its users any more."""
        now = utcnow()
        admin_grants = [
            g
            for g in await repository.live_home_grants(self.session, self.tenant.id, now)
            if g.role in ADMIN_ROLES
        ]
        if not any(g.id == without_grant for g in admin_grants) and without_member is None:
            return
        holders: set[uuid.UUID] = set()
        before: set[uuid.UUID] = set()
        members = await repository.memberships_of_groups(
            self.session, (g.user_group_id for g in admin_grants if g.user_group_id)
        )
        for g in admin_grants:
            users = (
                {g.user_id} if g.user_id else {u for gid, u in members if gid == g.user_group_id}
            )
            before |= users
            if g.id == without_grant:
                continue
            if without_member is not None and g.user_group_id == without_member[0]:
                users = users - {without_member[1]}
            holders |= users
        if before and not holders:
            raise Conflict(
                f"That would leave {self.tenant.display_name} without anyone holding Admin or "
                "Owner: give someone else one of those roles first.",
                errors=[{"field": "grant", "message": "is the last Admin or Owner grant"}],
            )

    async def _customer(self, ref: str, field: str = "customer") -> Tenant:
        found = await tenancy.customer_of(self.session, self.tenant.id, ref.strip())
        if found is None:
            raise ValidationFailed(
                field, f"'{ref}' is not a customer of {self.tenant.display_name}"
            )
        return found[0]

    def _require_msp_field(self, field: str) -> None:
        if not self.tenant.is_msp:
            raise ValidationFailed(
                field,
                f"{self.tenant.display_name} is not an MSP: it has no customers, so its "
                "grants are for home only",
            )

    async def _record(
        self,
        actor: Actor,
        action: AuditAction,
        target_type: str,
        target_id: uuid.UUID | None,
        label: str,
        changes: Changes,
    ) -> None:
        await audit.record(
            self.session,
            tenant_id=self.tenant.id,
            actor=actor,
            action=action,
            target_type=target_type,
            target_id=target_id,
            target_label=label,
            changes=changes,
        )

    # ------------------------------------------------------------ what forms offer

    async def home_users(self) -> Sequence[User]:
        """The tenant's own users by name (for pickers; the API takes an id or email)."""
        return await identity.users_of_home(self.session, self.tenant.id)

    async def delegation_candidates(self) -> list[User]:
        """The users a delegation can go to: not the home admins, who own every
        customer already."""
        home_grants = await repository.live_home_grants(self.session, self.tenant.id, utcnow())
        admins = {g.user_id for g in home_grants if g.user_id and g.role in ADMIN_ROLES}
        return [u for u in await self.home_users() if u.id not in admins]

    async def customer_and_link(self, ref: str) -> tuple[Tenant, TenantLink]:
        """One of this MSP's customers and the link it acts under; 404 otherwise."""
        found = await tenancy.customer_of(self.session, self.tenant.id, ref)
        if found is None:
            raise NotFound("No such customer.")
        return found
