"""Who is calling (Principal) and what they may do in one tenant (TenantContext)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from tenantry.access.permissions import MSP_OWNED
from tenantry.db.scope import TenantScope
from tenantry.errors import PermissionDenied


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller, resolved once per request from a session cookie or an API token."""

    user_id: uuid.UUID
    email: str
    display_name: str
    home_tenant_id: uuid.UUID
    home_tenant_slug: str
    home_tenant_name: str
    home_is_msp: bool
    home_requires_mfa: bool
    has_mfa: bool
    auth_method: Literal["session", "token", "cli"]
    session_id: uuid.UUID | None = None
    token_id: uuid.UUID | None = None
    csrf_token: str | None = None
    mfa_passed: bool = True

    @property
    def needs_mfa_enrolment(self) -> bool:
        return self.home_requires_mfa and not self.has_mfa


@dataclass(frozen=True, slots=True)
class TenantRef:
    id: uuid.UUID
    slug: str
    display_name: str
    status: str
    is_msp: bool
    # The tenant's IANA zone: dates a tenant sees (time entries, SLA business hours,
    # invoice dates) are its local dates, so every request carries it.
    time_zone: str = "UTC"


@dataclass(frozen=True, slots=True)
class PermissionSource:
    """One reason a permission is held: a grant's role, possibly capped by a link."""

    grant_id: uuid.UUID | None
    role: str
    scope: str
    expires_at: datetime | None = None
    implicit: bool = False
    role_name: str | None = None
    user_group_id: uuid.UUID | None = None

    def describe(self) -> str:
        how = "implicit MSP-admin Owner grant" if self.implicit else f"grant {self.grant_id}"
        group = f" to user group {self.user_group_id}" if self.user_group_id else ""
        until = f" until {self.expires_at.isoformat()}" if self.expires_at else ""
        return f"role {self.role_name or self.role} via {how}{group} (scope {self.scope}){until}"


@dataclass(frozen=True, slots=True)
class TenantContext:
    """The decision for one principal in one tenant; made only by AccessService."""

    tenant: TenantRef
    principal: Principal
    relation: Literal["home", "customer"]
    permissions: frozenset[str]
    sources: dict[str, tuple[PermissionSource, ...]] = field(default_factory=dict)
    link_id: uuid.UUID | None = None
    link_ceiling: frozenset[str] | None = None
    scope: TenantScope = field(default_factory=lambda: TenantScope(frozenset()))
    # The tenant's own people in a customer an MSP manages (access rule 10): the MSP's
    # display name, and what the caller's own roles give that the MSP owns there.
    managed_by: str | None = None
    held_back: frozenset[str] = frozenset()

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def require(self, permission: str) -> None:
        if permission not in self.permissions:
            extra = {"reason": "msp-owned"} if self._msp_owns(permission) else {}
            raise PermissionDenied(
                f"You need the permission '{permission}' in {self.tenant.slug}; "
                + self.explain(permission),
                permission=permission,
                **extra,
            )

    def _msp_owns(self, permission: str) -> bool:
        return self.managed_by is not None and permission in MSP_OWNED

    def explain(self, permission: str) -> str:
        """Which grant, role and link allowed it, or which was missing (access rule 10)."""
        sources = self.sources.get(permission, ())
        link = f" within link {self.link_id}" if self.link_id else ""
        if sources:
            return "allowed by " + "; ".join(s.describe() for s in sources) + link
        if self.managed_by is not None and permission in MSP_OWNED:
            name = self.tenant.display_name
            return (
                f"{permission} belongs to {self.managed_by}, the MSP that manages {name}: "
                f"{name}'s own roles give it only while no MSP manages it"
            )
        if self.link_ceiling is not None and permission not in self.link_ceiling:
            return f"the customer's link {self.link_id} does not include it"
        return "none of your grants here gives it"

    @property
    def primary_source(self) -> PermissionSource | None:
        for sources in self.sources.values():
            if sources:
                return sources[0]
        return None
