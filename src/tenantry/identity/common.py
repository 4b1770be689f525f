"""What every identity service shares: who a request's principal and actor are, the
checks on a home tenant and a session, and the base that reads the caller's own rows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.context import Principal
from tenantry.audit import service as audit
from tenantry.audit.changes import Changes
from tenantry.audit.schemas import Actor, AuditAction
from tenantry.config import Settings
from tenantry.db.base import utcnow
from tenantry.errors import NotAuthenticated, PermissionDenied, TenantSuspended
from tenantry.identity import repository
from tenantry.identity.models import ApiToken, AuthSession, User
from tenantry.tenancy import service as tenancy
from tenantry.tenancy.models import Tenant, TenantStatus


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """Where a request came from, for sessions and audit events."""

    request_id: str | None = None
    source_address: str | None = None
    user_agent: str | None = None
    # The known-device cookie the browser sent (devices.py), if any.
    device: str | None = None


@dataclass(frozen=True, slots=True)
class NewSession:
    """A session just started: the cookie value is only ever seen here."""

    token: str
    auth_session: AuthSession
    principal: Principal


def principal_of(
    user: User,
    home: Tenant,
    *,
    auth_method: str,
    auth_session: AuthSession | None = None,
    token: ApiToken | None = None,
) -> Principal:
    return Principal(
        user_id=user.id,
        email=user.email,
        display_name=user.display_name,
        home_tenant_id=home.id,
        home_tenant_slug=home.slug,
        home_tenant_name=home.display_name,
        home_is_msp=home.is_msp,
        home_requires_mfa=mfa_enforced(home),
        has_mfa=user.has_mfa,
        auth_method=auth_method,  # type: ignore[arg-type]
        session_id=auth_session.id if auth_session else None,
        token_id=token.id if token else None,
        csrf_token=auth_session.csrf_token if auth_session else None,
        mfa_passed=auth_session.mfa_passed if auth_session else True,
        home_requires_mfa_for_clients=home.require_mfa_for_clients,
    )


# The longest grace period an admin may give before a second factor is required.
MFA_GRACE_MAX_DAYS = 180


@dataclass(frozen=True, slots=True)
class MfaImpact:
    """Who a required second factor stops: users without one and their live API tokens."""

    users: int
    api_tokens: int
    includes_you: bool

    def describe(self, tenant_name: str) -> str:
        people = "1 user" if self.users == 1 else f"{self.users} users"
        you = " (you among them)" if self.includes_you else ""
        if self.users == 1:
            you = " (you)" if self.includes_you else ""
        verb = "has" if self.users == 1 else "have"
        if self.api_tokens == 0:
            tokens = ""
        elif self.api_tokens == 1:
            tokens = ", and their 1 API token stops working until they do"
        else:
            tokens = f", and their {self.api_tokens} API tokens stop working until they do"
        return (
            f"{people} of {tenant_name} {verb} no second factor{you}. Once it is required "
            f"they must set one up before anything else{tokens}."
        )


def mfa_enforced(home: Tenant, now: datetime | None = None) -> bool:
    """Whether the home's "second factor required" is in force: set, and its date (if it
    has one) reached. Before the date users without one keep working (the grace period)."""
    if not home.require_mfa:
        return False
    start = home.require_mfa_from
    return start is None or start <= (now or utcnow())


def mfa_grace_until(home: Tenant) -> datetime | None:
    """The date a second factor becomes required, while it is still ahead."""
    return None if mfa_enforced(home) or not home.require_mfa else home.require_mfa_from


def actor_of(principal: Principal, info: RequestInfo | None = None) -> Actor:
    info = info or RequestInfo()
    return Actor(
        user_id=principal.user_id,
        name=f"{principal.display_name} <{principal.email}>",
        home_tenant_id=principal.home_tenant_id,
        home_tenant_name=principal.home_tenant_name,
        request_id=info.request_id,
        source_address=info.source_address,
        user_agent=info.user_agent,
    )


def user_actor(user: User, home: Tenant, info: RequestInfo | None = None) -> Actor:
    info = info or RequestInfo()
    return Actor(
        user_id=user.id,
        name=f"{user.display_name} <{user.email}>",
        home_tenant_id=home.id,
        home_tenant_name=home.display_name,
        request_id=info.request_id,
        source_address=info.source_address,
        user_agent=info.user_agent,
    )


def anonymous_actor(label: str, info: RequestInfo) -> Actor:
    """Someone not (yet) signed in: a failed sign-in, a person accepting an invitation."""
    return Actor(
        user_id=None,
        name=label[:254],
        request_id=info.request_id,
        source_address=info.source_address,
        user_agent=info.user_agent,
    )


def ensure_home_active(home: Tenant) -> None:
    if home.status != TenantStatus.ACTIVE:
        raise TenantSuspended(
            f"{home.display_name} is suspended: its users cannot sign in until it is resumed."
        )


def require_browser_session(principal: Principal) -> None:
    """Credentials are changed from a signed-in browser, never with an API token: a leaked
    token must not be able to mint more tokens or turn off the second factor."""
    if principal.auth_method != "session":
        raise PermissionDenied(
            "Passwords, second factors and API tokens are managed from a signed-in "
            "browser session, not with an API token.",
            permission="self",
        )


def require_enrolment_allowed(principal: Principal) -> None:
    """A half-signed-in session (password only) of a user who has a second factor may only
    give that factor: it must not enrol another or change anything."""
    if not principal.mfa_passed and principal.has_mfa:
        raise NotAuthenticated("Enter the code from your authenticator app to finish signing in.")


def session_is_live(auth_session: AuthSession, settings: Settings, now: datetime) -> bool:
    idle_limit = auth_session.last_seen_at + timedelta(minutes=settings.session_idle_minutes)
    return auth_session.revoked_at is None and auth_session.expires_at > now and idle_limit > now


class IdentityBase:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings

    async def me(self, principal: Principal) -> tuple[User, Tenant]:
        """The caller's own user row and home tenant (they may have gone since)."""
        user = await repository.user_by_id(self.session, principal.user_id)
        home = await tenancy.tenant_by_id(self.session, principal.home_tenant_id)
        if user is None or home is None or user.disabled_at is not None:
            raise NotAuthenticated("Your account is no longer available; sign in again.")
        return user, home

    async def me_by_ids(self, user_id: uuid.UUID, home_id: uuid.UUID) -> tuple[User, Tenant]:
        user = await repository.user_by_id(self.session, user_id)
        home = await tenancy.tenant_by_id(self.session, home_id)
        if user is None or home is None:
            raise NotAuthenticated("Email or password is incorrect.")
        return user, home

    async def _audit_user(
        self,
        home: Tenant,
        actor: Actor,
        action: AuditAction,
        user: User,
        changes: Changes,
    ) -> None:
        await audit.record(
            self.session,
            tenant_id=home.id,
            actor=actor,
            action=action,
            target_type="user",
            target_id=user.id,
            target_label=user.email,
            changes=changes,
        )
