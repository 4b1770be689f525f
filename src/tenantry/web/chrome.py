"""What the signed-in frame shows around every page: the switcher's current tenant, the
sidebar's links, the context header and the "acting in … as …" banner."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from fastapi import Request

from tenantry.access.context import PermissionSource, Principal, TenantContext
from tenantry.access.permissions import BUILTIN_ROLES
from tenantry.access.service import AccessService, self_scope
from tenantry.access.switcher import TenantChoice, home_permissions
from tenantry.billing.service import SubscriptionService
from tenantry.db.engine import Database
from tenantry.logging import get_logger
from tenantry.notifications.service import NotificationService
from tenantry.web import nav

log = get_logger("tenantry.web")


@dataclass(frozen=True, slots=True)
class NavLink:
    label: str
    href: str
    active: bool
    # A count shown beside the label (unread notifications); None or 0: none shown.
    count: int | None = None


@dataclass(frozen=True, slots=True)
class ActingRole:
    name: str
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class ActingBanner:
    """Shown while a technician works in a client through a delegation, not as an MSP
    admin who owns every customer anyway."""

    tenant_name: str
    roles: tuple[ActingRole, ...]


@dataclass(frozen=True, slots=True)
class Chrome:
    user_id: uuid.UUID
    user_name: str
    user_email: str
    home_name: str
    home_group_label: str
    current: TenantChoice
    kind_label: str
    page_key: str
    tenant_group_label: str
    tenant_links: tuple[NavLink, ...]
    msp_links: tuple[NavLink, ...]
    account_links: tuple[NavLink, ...]
    banner: ActingBanner | None
    notice: str | None = None
    unread: int = 0
    # For the MSP's people in a client that gave their MSP less than it asked for.
    narrowed: str | None = None
    # For the MSP's people while its subscription leaves them read-only: why.
    read_only: str | None = None


def kind_label(choice: TenantChoice, home_is_msp: bool) -> str:
    if choice.kind == "customer":
        return "Client"
    return "MSP (home)" if home_is_msp else "Home"


def role_name(source: PermissionSource) -> str:
    """A custom role's own name, a built-in role's display name, else its key."""
    if source.role_name:
        return source.role_name
    builtin = BUILTIN_ROLES.get(source.role)
    return builtin.name if builtin else source.role


def acting_banner(ctx: TenantContext) -> ActingBanner | None:
    if ctx.relation != "customer":
        return None
    sources: list[PermissionSource] = [s for group in ctx.sources.values() for s in group]
    if not sources or any(s.implicit for s in sources):
        return None
    # One entry per role; a role held without expiry anywhere does not expire.
    latest: dict[str, datetime | None] = {}
    for source in sources:
        name = role_name(source)
        if name in latest and latest[name] is None:
            continue
        current = latest.get(name, source.expires_at)
        if source.expires_at is None or current is None:
            latest[name] = None
        else:
            latest[name] = max(current, source.expires_at)
    roles = tuple(ActingRole(name, until) for name, until in sorted(latest.items()))
    return ActingBanner(ctx.tenant.display_name, roles)


def build_chrome(
    principal: Principal,
    ctx: TenantContext | None,
    home_held: frozenset[str],
    path: str,
    notice: str | None = None,
    unread: int = 0,
) -> Chrome:
    if ctx is not None:
        current = TenantChoice(
            id=ctx.tenant.id,
            slug=ctx.tenant.slug,
            display_name=ctx.tenant.display_name,
            kind=ctx.relation,
            status=ctx.tenant.status,
        )
        held = ctx.permissions
    else:
        current = TenantChoice(
            id=principal.home_tenant_id,
            slug=principal.home_tenant_slug,
            display_name=principal.home_tenant_name,
            kind="home",
            status="active",
        )
        held = home_held
    page_key = nav.page_key_of(path)
    in_tenant_page = path.startswith("/t/")

    tenant_links = tuple(
        NavLink(
            entry.label,
            nav.tenant_href(current.slug, entry),
            in_tenant_page and entry.key == page_key,
        )
        for entry in nav.TENANT_PAGES
        if entry.permission is None or entry.permission in held
    )
    msp_links = tuple(
        NavLink(
            entry.label,
            nav.msp_href(principal.home_tenant_slug, entry),
            nav.msp_active(principal.home_tenant_slug, entry, path, page_key),
        )
        for entry in nav.MSP_PAGES
        if (principal.home_is_msp or not entry.msp_only)
        and (entry.permission is None or entry.permission in home_held)
    )
    account_links = tuple(
        NavLink(
            entry.label,
            entry.path,
            entry.key == page_key,
            unread if entry.key == nav.NOTIFICATIONS else None,
        )
        for entry in nav.ACCOUNT_PAGES
    )
    return Chrome(
        user_id=principal.user_id,
        user_name=principal.display_name,
        user_email=principal.email,
        home_name=principal.home_tenant_name,
        home_group_label="MSP" if principal.home_is_msp else "Organisation",
        current=current,
        kind_label=kind_label(current, principal.home_is_msp),
        page_key=page_key,
        tenant_group_label="This client" if current.kind == "customer" else "This tenant",
        tenant_links=tenant_links,
        msp_links=msp_links,
        account_links=account_links,
        banner=acting_banner(ctx) if ctx is not None else None,
        notice=notice,
        unread=unread,
        narrowed=narrowed_banner(ctx),
    )


def narrowed_banner(ctx: TenantContext | None) -> str | None:
    if ctx is None or ctx.relation != "customer" or ctx.link_narrowing is None:
        return None
    return ctx.link_narrowing.describe()


async def load_chrome(request: Request, notice: str | None = None) -> Chrome | None:
    """The frame for a signed-in viewer past their second factor; None otherwise (the
    page then renders in the bare frame)."""
    principal = getattr(request.state, "principal", None)
    if not isinstance(principal, Principal):
        return None
    if principal.needs_mfa_enrolment or not principal.mfa_passed:
        return None
    ctx = getattr(request.state, "tenant_context", None)
    ctx = ctx if isinstance(ctx, TenantContext) else None
    db: Database = request.app.state.db
    if ctx is not None and ctx.relation == "home":
        home_held = ctx.permissions
    else:
        try:
            async with db.platform_reader() as session:
                home_held = await home_permissions(session, principal)
                if ctx is not None and ctx.link_narrowing is not None:
                    ctx = await AccessService(session).with_narrower_named(ctx)
        except Exception as exc:  # the page itself rendered; lose only the MSP links
            log.warning("sidebar permissions unavailable", error=str(exc))
            home_held = frozenset()
    unread, read_only = await _home_state(db, principal)
    chrome = build_chrome(principal, ctx, home_held, request.url.path, notice, unread)
    return replace(chrome, read_only=read_only) if read_only else chrome


async def _home_state(db: Database, principal: Principal) -> tuple[int, str | None]:
    """The badge (one indexed COUNT of the viewer's unread notifications, in their home
    tenant, whose rows they are, whatever tenant the page shows) and, for an MSP's people,
    why its subscription leaves them read-only (None: they may write)."""
    try:
        async with db.unit_of_work(self_scope(principal)) as session:
            unread = await NotificationService(session).unread_count(principal)
            if not principal.home_is_msp:
                return unread, None
            subscriptions = SubscriptionService(session)
            return unread, await subscriptions.read_only_status(principal.home_tenant_id)
    except Exception as exc:  # the page itself rendered; lose only the badge and banner
        log.warning("unread notifications unavailable", error=str(exc))
        return 0, None
