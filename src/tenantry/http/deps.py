"""Request dependencies: the principal (resolved once), the access decision and the unit
of work. Every route names what it needs with one of the markers below; a test walks
the route table and fails on a route that names nothing (access rule 1)."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Path, Request
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.context import Principal, TenantContext
from tenantry.access.service import AccessService, self_scope
from tenantry.audit.schemas import Actor
from tenantry.billing.service import SubscriptionService
from tenantry.config import IPNetwork, Settings
from tenantry.db.engine import Database
from tenantry.db.reads import AlsoRead
from tenantry.db.scope import NO_SCOPE, TenantScope
from tenantry.errors import MfaRequired, NotAuthenticated, PermissionDenied
from tenantry.identity.devices import DEVICE_COOKIE
from tenantry.identity.models import ApiToken, AuthSession
from tenantry.identity.service import IdentityService, RequestInfo, actor_of

SESSION_COOKIE = "tenantry_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def request_info(request: Request) -> RequestInfo:
    return RequestInfo(
        request_id=getattr(request.state, "request_id", None),
        source_address=client_address(request),
        user_agent=request.headers.get("user-agent"),
        device=request.cookies.get(DEVICE_COOKIE),
    )


def client_address(request: Request) -> str | None:
    """The address the request came from. Behind trusted proxies (config.py:
    ``trusted_proxies`` or ``trusted_proxy_hops``) it is read from X-Forwarded-For, from
    the right: each proxy appends the address it saw, so only the hops the trusted
    proxies wrote are believed, never what the client put to their left."""
    settings = get_settings(request)
    peer = request.client.host if request.client else None
    if not settings.behind_proxy:
        return _normalised(peer)
    hops = [
        hop.strip()
        for value in request.headers.getlist("x-forwarded-for")
        for hop in value.split(",")
        if hop.strip()
    ]
    if settings.proxy_hops:
        if len(hops) < settings.proxy_hops:
            return _normalised(peer)
        ip = _ip(hops[-settings.proxy_hops])
        return str(ip) if ip is not None else _normalised(peer)
    networks = settings.trusted_proxy_networks
    current = _ip(peer)
    if current is None or not _trusted(current, networks):
        return _normalised(peer)
    for hop in reversed(hops):
        ip = _ip(hop)
        if ip is None:
            # A hop no proxy would write: the last proxy we trust is all we know.
            break
        current = ip
        if not _trusted(ip, networks):
            break
    return str(current)


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _ip(value: str | None) -> IPAddress | None:
    """An address as proxies write it ("a.b.c.d", "a.b.c.d:port", "[v6]:port", "v6"),
    IPv4-mapped IPv6 as IPv4; None when it is not one."""
    if not value:
        return None
    text = value.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _normalised(value: str | None) -> str | None:
    ip = _ip(value)
    return str(ip) if ip is not None else value


def _trusted(ip: IPAddress, networks: tuple[IPNetwork, ...]) -> bool:
    return any(ip.version == net.version and ip in net for net in networks)


async def _check_csrf(request: Request, principal: Principal) -> None:
    """Cookie-authenticated unsafe requests carry the session's CSRF token."""
    if request.method not in UNSAFE_METHODS or principal.auth_method != "session":
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or sent != principal.csrf_token:
        raise PermissionDenied(
            "The form has expired or did not come from this site; reload the page and try again.",
            problem="csrf",
        )


async def resolve_principal(
    request: Request,
    *,
    allow_pending_mfa: bool = False,
    reader: AsyncSession | None = None,
    also: AlsoRead | None = None,
) -> Principal:
    """Session cookie or ``Authorization: Bearer`` token → one Principal, cached per
    request. ``reader``: a platform reader the caller goes on using (the access decision
    reads in the same one: one connection for both); ``also``: what that decision reads
    first, read in the same statement (left unread when the principal was cached)."""
    cached = getattr(request.state, "principal", None)
    if isinstance(cached, Principal):
        principal = cached
    else:
        db = get_db(request)
        settings = get_settings(request)
        auth = request.headers.get("authorization", "")
        cookie = request.cookies.get(SESSION_COOKIE)
        async with _reading(db, reader) as session:
            identity = IdentityService(session, settings)
            touch: AuthSession | ApiToken | None = None
            if auth.lower().startswith("bearer "):
                principal, touch = await identity.principal_from_api_token(
                    auth[7:].strip(), also
                )
            elif cookie:
                principal, touch = await identity.principal_from_session_token(cookie, also)
            else:
                raise NotAuthenticated("Sign in to continue.")
        if identity.needs_touch(touch):
            async with db.unit_of_work(NO_SCOPE) as session:
                await IdentityService(session, settings).touch(touch)
        request.state.principal = principal
    if not allow_pending_mfa:
        if principal.needs_mfa_enrolment:
            raise MfaRequired(
                f"{principal.home_tenant_name} requires a second factor: set up an "
                "authenticator app before you continue.",
                next="/account/security/totp",
            )
        if not principal.mfa_passed:
            raise NotAuthenticated(
                "Enter the code from your authenticator app to finish signing in."
            )
    await _check_csrf(request, principal)
    return principal


def _reading(
    db: Database, reader: AsyncSession | None
) -> AbstractAsyncContextManager[AsyncSession]:
    return nullcontext(reader) if reader is not None else db.platform_reader()


@dataclass(slots=True)
class Work:
    """What a tenant route works with: the decision, the unit of work and the actor."""

    ctx: TenantContext
    session: AsyncSession
    actor: Actor
    info: RequestInfo


@dataclass(slots=True)
class SelfWork:
    """A signed-in user acting on their own account (home-tenant scope for its audit)."""

    principal: Principal
    session: AsyncSession
    actor: Actor
    info: RequestInfo


class AccessMarker:
    """Base of the dependency callables that say what a route needs."""

    permission: str | None = None
    public: bool = False


def _actor_for(ctx: TenantContext, permission: str, info: RequestInfo) -> Actor:
    base = actor_of(ctx.principal, info)
    sources = ctx.sources.get(permission, ())
    return Actor(
        user_id=base.user_id,
        name=base.name,
        home_tenant_id=base.home_tenant_id,
        home_tenant_name=base.home_tenant_name,
        via_grant_id=sources[0].grant_id if sources else None,
        via_link_id=ctx.link_id,
        explanation=f"{permission}: {ctx.explain(permission)}",
        request_id=info.request_id,
        source_address=info.source_address,
        user_agent=info.user_agent,
    )


async def _unit_of_work(db: Database, scope: TenantScope) -> AsyncIterator[AsyncSession]:
    session = db.session(scope)
    try:
        yield session
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    finally:
        await session.close()


class InTenant(AccessMarker):
    """``permission`` in the tenant named by the ``tenant`` path parameter (slug or id)."""

    permission: str

    def __init__(
        self,
        permission: str,
        *,
        home: bool = False,
        allow_suspended: bool = False,
        allow_lapsed: bool = False,
    ):
        self.permission = permission
        self.home = home
        self.allow_suspended = allow_suspended
        # Lets an MSP whose subscription lapsed still ask for more (the billing page).
        self.allow_lapsed = allow_lapsed

    async def context(self, request: Request) -> TenantContext:
        db = get_db(request)
        async with db.platform_reader() as session:
            access = AccessService(session)
            # The tenant in the path, with its access versions, rides on the statement
            # that resolves the caller (the home's is read by the decision itself).
            path_ref = request.path_params.get("tenant", "")
            read = None if self.home else access.tenant_read(path_ref)
            principal = await resolve_principal(request, reader=session, also=read)
            ref = str(principal.home_tenant_id) if self.home else path_ref
            ctx = await access.context_for(
                principal, ref, allow_suspended=self.allow_suspended, read=read
            )
            if not ctx.can(self.permission) and ctx.link_narrowing is not None:
                # The refusal says who narrowed the link: one lookup, on refusal only.
                ctx = await access.with_narrower_named(ctx)
            ctx.require(self.permission)
            if (
                principal.home_is_msp
                and not self.allow_lapsed
                and request.method in UNSAFE_METHODS
            ):
                # A lapsed or suspended subscription leaves the MSP's staff read-only,
                # at home and in every client (one read, on mutating requests only).
                await SubscriptionService(session).ensure_writable(
                    principal.home_tenant_id, principal.home_tenant_name
                )
        request.state.tenant_context = ctx
        return ctx

    async def __call__(self, request: Request) -> AsyncIterator[Work]:
        ctx = await self.context(request)
        info = request_info(request)
        async for session in _unit_of_work(get_db(request), ctx.scope):
            yield Work(ctx, session, _actor_for(ctx, self.permission or "", info), info)


class InTenantFromPath(InTenant):
    """The same, declaring ``{tenant}`` so the OpenAPI document names the parameter."""

    async def __call__(  # type: ignore[override]
        self,
        request: Request,
        tenant: Annotated[str, Path(description="The tenant's slug or id")],
    ) -> AsyncIterator[Work]:
        async for work in super().__call__(request):
            yield work


def in_tenant(permission: str, *, allow_suspended: bool = False) -> InTenant:
    return InTenantFromPath(permission, allow_suspended=allow_suspended)


def in_home(permission: str, *, allow_lapsed: bool = False) -> InTenant:
    """MSP-level pages and APIs (``/msp/…``): the permission in the caller's home tenant."""
    return InTenant(permission, home=True, allow_lapsed=allow_lapsed)


class SignedIn(AccessMarker):
    """Any signed-in user, acting on their own account only."""

    permission = "self"

    def __init__(self, *, allow_pending_mfa: bool = False) -> None:
        self.allow_pending_mfa = allow_pending_mfa

    async def __call__(self, request: Request) -> AsyncIterator[SelfWork]:
        principal = await resolve_principal(request, allow_pending_mfa=self.allow_pending_mfa)
        info = request_info(request)
        async for session in _unit_of_work(get_db(request), self_scope(principal)):
            yield SelfWork(principal, session, actor_of(principal, info), info)


class Public(AccessMarker):
    """Explicitly public: no sign-in needed (sign-in pages, health checks, docs)."""

    public = True

    async def __call__(self, request: Request) -> None:
        return None


signed_in = SignedIn()
signed_in_pending_mfa = SignedIn(allow_pending_mfa=True)
public = Public()


def access_marker_of(dependency: Callable[..., Any] | Awaitable[Any] | None) -> AccessMarker | None:
    return dependency if isinstance(dependency, AccessMarker) else None
