"""Who is calling (Principal) and what they may do in one tenant (TenantContext)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from tenantry.access.permissions import ALL as ALL_PERMISSIONS
from tenantry.access.permissions import CLIENT_MEANINGFUL, MSP_OWNED
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
    # The home MSP requires a second factor of whoever acts in its clients.
    home_requires_mfa_for_clients: bool = False

    @property
    def needs_mfa_enrolment(self) -> bool:
        return self.home_requires_mfa and not self.has_mfa

    @property
    def kept_from_clients(self) -> bool:
        """Their MSP requires a second factor to act in clients, and they have not used
        one (none enrolled, or a session short of its second step)."""
        return (
            self.home_is_msp
            and self.home_requires_mfa_for_clients
            and not (self.has_mfa and self.mfa_passed)
        )


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


def day_of(moment: datetime) -> str:
    """ "7 December 2026" (UTC), as people write a date in a sentence."""
    return f"{moment.day} {moment:%B %Y}"


@dataclass(frozen=True, slots=True)
class LinkNarrowing:
    """The customer gave the MSP less than it asked for: approved with less, or narrowed
    since. Made from the link row the decision loaded; ``by_name`` is looked up only
    where it is shown (a page's banner, a refusal)."""

    customer_name: str
    msp_name: str
    narrowed: bool  # False: approved with less than asked, and not narrowed since
    at: datetime
    by_user_id: uuid.UUID | None
    removed: frozenset[str]
    by_name: str | None = None

    def _by(self) -> str:
        return f" ({self.by_name})" if self.by_name else ""

    def describe(self) -> str:
        """The banner: "Contoso narrowed Northwind IT's access on 7 December 2026 (Carol
        Owner): removed invoices:write." """
        removed = ", ".join(sorted(self.removed))
        if self.narrowed:
            return (
                f"{self.customer_name} narrowed {self.msp_name}'s access on "
                f"{day_of(self.at)}{self._by()}: removed {removed}."
            )
        return (
            f"{self.customer_name} approved {self.msp_name}'s request with less on "
            f"{day_of(self.at)}{self._by()}: withheld {removed}."
        )

    def of_permission(self) -> str:
        """Why one removed permission is missing, for a 403."""
        if self.narrowed:
            return f"{self.customer_name} took it away on {day_of(self.at)}{self._by()}"
        return f"{self.customer_name} approved the link without it on {day_of(self.at)}{self._by()}"


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
    # Set for the MSP's people when the customer gave less than was asked (issue #14).
    link_narrowing: LinkNarrowing | None = None
    # The tenant's own people in a customer an MSP manages (access rule 10): the MSP's
    # display name, and what the caller's own roles give that the MSP owns there.
    managed_by: str | None = None
    held_back: frozenset[str] = frozenset()
    # The caller's home tenant's access version as this request read it before deciding
    # (None: unknown, or the tenant has no row): what kept reaches are checked against.
    home_version: int | None = None

    def beyond(self, permissions: Iterable[str]) -> frozenset[str]:
        """What handing ``permissions`` on (a role, an invitation) would give beyond what
        the caller holds here: nobody escalates by delegating. Two kinds count as held:
        what the managing MSP owns here (``held_back``: nobody at home holds it while the
        tenant is managed, so handing it on gives nothing now), and, for the MSP's people
        in a client, what means nothing inside a client (links, customers, the MSP's own
        plan): no ceiling carries it, yet setting up the client's own admins is the MSP's
        job, and those are the client's rights in its own tenant, never the MSP's."""
        held = self.permissions | self.held_back
        if self.relation == "customer":
            held |= ALL_PERMISSIONS - CLIENT_MEANINGFUL
        return frozenset(permissions) - held

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
            said = f"the customer's link {self.link_id} does not include it"
            narrowing = self.link_narrowing
            if narrowing is not None and permission in narrowing.removed:
                said += f": {narrowing.of_permission()}"
            return said
        return "none of your grants here gives it"

    @property
    def primary_source(self) -> PermissionSource | None:
        for sources in self.sources.values():
            if sources:
                return sources[0]
        return None
