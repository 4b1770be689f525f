"""The access rules as pure functions over grants, roles, groups and a link.

No I/O here: ``AccessService`` loads the facts, these decide. Keeping the rules pure
lets a property test compare them with an independent reference model.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from tenantry.access.context import PermissionSource
from tenantry.access.models import CUSTOM_ROLE_PREFIX, Grant, GrantScope
from tenantry.access.permissions import ADMIN_ROLES, BUILTIN_ROLES, CATALOG, MSP_OWNED


@dataclass(frozen=True, slots=True)
class RoleBook:
    """Permissions of built-in roles (from code) and of the custom roles in play."""

    custom: Mapping[str, frozenset[str]] = field(default_factory=dict)
    names: Mapping[str, str] = field(default_factory=dict)

    def permissions(self, role_key: str) -> frozenset[str]:
        builtin = BUILTIN_ROLES.get(role_key)
        if builtin is not None:
            return builtin.permissions
        # Unknown or deleted custom roles give nothing; unknown permissions are ignored.
        return self.custom.get(role_key, frozenset()) & frozenset(CATALOG)

    def name(self, role_key: str) -> str:
        builtin = BUILTIN_ROLES.get(role_key)
        return builtin.name if builtin else self.names.get(role_key, role_key)


BUILTINS_ONLY = RoleBook()


def custom_role_ids(grants: Iterable[Grant]) -> set[uuid.UUID]:
    ids = set()
    for grant in grants:
        if grant.role.startswith(CUSTOM_ROLE_PREFIX):
            try:
                ids.add(uuid.UUID(grant.role.removeprefix(CUSTOM_ROLE_PREFIX)))
            except ValueError:
                continue
    return ids


def role_permissions(role_key: str) -> frozenset[str]:
    """Built-in roles only (callers that also meet custom roles use a RoleBook)."""
    return BUILTINS_ONLY.permissions(role_key)


def live(grants: Iterable[Grant], now: datetime) -> list[Grant]:
    """Unexpired grants: an expired grant is ignored at once (rule 5)."""
    return [g for g in grants if g.expires_at is None or g.expires_at > now]


def _source(grant: Grant, scope: str, book: RoleBook) -> PermissionSource:
    return PermissionSource(
        grant.id,
        grant.role,
        scope,
        grant.expires_at,
        role_name=book.name(grant.role),
        user_group_id=grant.user_group_id,
    )


def home_sources(grants: Sequence[Grant], book: RoleBook = BUILTINS_ONLY) -> list[PermissionSource]:
    """Rule 2: in the home tenant, the roles of the ``home`` grants."""
    return [_source(g, "home", book) for g in grants if g.scope == GrantScope.HOME]


def is_msp_admin(grants: Sequence[Grant]) -> bool:
    """Rule 4: an Admin or Owner home grant (built-in roles only)."""
    return any(g.scope == GrantScope.HOME and g.role in ADMIN_ROLES for g in grants)


def covers(grant: Grant, customer_id: uuid.UUID, customer_groups: frozenset[uuid.UUID]) -> bool:
    """Does a grant's scope reach this customer of the home MSP?"""
    if grant.scope == GrantScope.CUSTOMER:
        return grant.customer_tenant_id == customer_id
    if grant.scope == GrantScope.TENANT_GROUP:
        return grant.tenant_group_id in customer_groups
    if grant.scope == GrantScope.ALL_CUSTOMERS:
        return str(customer_id) not in set(grant.excluded_customer_ids or ())
    return False


def _scope_label(grant: Grant) -> str:
    if grant.scope == GrantScope.CUSTOMER:
        return f"customer:{grant.customer_tenant_id}"
    if grant.scope == GrantScope.TENANT_GROUP:
        return f"tenant_group:{grant.tenant_group_id}"
    return grant.scope.value


def customer_sources(
    grants: Sequence[Grant],
    customer_id: uuid.UUID,
    home_is_msp: bool,
    customer_groups: frozenset[uuid.UUID] = frozenset(),
    book: RoleBook = BUILTINS_ONLY,
) -> list[PermissionSource]:
    """Rules 3-5: grants whose scope covers the customer, plus the implicit
    ``all_customers`` Owner grant of an MSP admin. The link's ceiling applies after."""
    sources: list[PermissionSource] = []
    if home_is_msp and is_msp_admin(grants):
        sources.append(
            PermissionSource(None, "owner", "all_customers", None, implicit=True, role_name="Owner")
        )
    for grant in grants:
        if grant.scope != GrantScope.HOME and covers(grant, customer_id, customer_groups):
            sources.append(_source(grant, _scope_label(grant), book))
    return sources


def by_permission(
    sources: Iterable[PermissionSource],
    ceiling: frozenset[str] | None,
    book: RoleBook = BUILTINS_ONLY,
) -> dict[str, tuple[PermissionSource, ...]]:
    """Permission → the sources that give it, capped by the link's ceiling if any."""
    found: dict[str, list[PermissionSource]] = {}
    for source in sources:
        for permission in book.permissions(source.role):
            if ceiling is None or permission in ceiling:
                found.setdefault(permission, []).append(source)
    return {p: tuple(s) for p, s in sorted(found.items())}


def client_share(
    found: Mapping[str, tuple[PermissionSource, ...]], managed: bool
) -> dict[str, tuple[PermissionSource, ...]]:
    """Rule 10: in a customer with an active MSP link, its own users' roles give only the
    permissions the client owns; the MSP's (rates, SLA policy, invoices, time approval)
    are held there only through the link. Without an active link, everything stays."""
    if not managed:
        return dict(found)
    return {p: s for p, s in found.items() if p not in MSP_OWNED}


def unblocked(
    sources: Iterable[PermissionSource],
    *,
    user_blocked: bool,
    blocked_groups: frozenset[uuid.UUID] = frozenset(),
) -> list[PermissionSource]:
    """A customer's blocks (issue #14): a blocked technician keeps nothing there, the
    implicit MSP-admin grant included; a blocked user group's grants give nothing there,
    while the same people keep what their other grants give."""
    if user_blocked:
        return []
    return [s for s in sources if s.user_group_id is None or s.user_group_id not in blocked_groups]
