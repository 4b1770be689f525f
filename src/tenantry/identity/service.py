"""Identity rules: accounts, sessions, API tokens, the second factor and the home
security policy. Session-bound: the caller's unit of work commits. The sign-in steps that
must keep a record of failures even when they refuse live in ``flows.py``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import anyio
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.context import Principal, TenantContext
from tenantry.audit import service as audit
from tenantry.audit.schemas import Actor, AuditAction
from tenantry.config import Settings
from tenantry.db.base import utcnow
from tenantry.errors import (
    Conflict,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    TenantSuspended,
    ValidationFailed,
)
from tenantry.identity import repository
from tenantry.identity.mfa import Enrolment, MfaService
from tenantry.identity.models import ApiToken, AuthSession, User
from tenantry.identity.passwords import check_policy, hash_password
from tenantry.identity.schemas import normalise_email
from tenantry.identity.tokens import digest, new_api_token, new_secret
from tenantry.tenancy.models import Tenant, TenantStatus

# Refresh last_seen_at at most this often: one write per minute, not per request.
_TOUCH_EVERY = timedelta(minutes=1)
# A session still waiting for its second factor (or for enrolment) lives this long at most.
PENDING_SESSION_MINUTES = 30
# Bounds of a tenant's own session lifetime: five minutes to thirty days.
SESSION_LIFETIME_RANGE = (5, 30 * 24 * 60)


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """Where a request came from, for sessions and audit events."""

    request_id: str | None = None
    source_address: str | None = None
    user_agent: str | None = None


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
        home_requires_mfa=home.require_mfa,
        has_mfa=user.has_mfa,
        auth_method=auth_method,  # type: ignore[arg-type]
        session_id=auth_session.id if auth_session else None,
        token_id=token.id if token else None,
        csrf_token=auth_session.csrf_token if auth_session else None,
        mfa_passed=auth_session.mfa_passed if auth_session else True,
    )


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


class IdentityService:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings

    # --- accounts ----------------------------------------------------------------------

    async def create_user(
        self,
        *,
        home: Tenant,
        email: str,
        display_name: str,
        password: str | None,
        actor: Actor,
    ) -> User:
        """A new account in ``home``. The caller grants it roles (access service)."""
        email = normalise_email(email)
        display_name = " ".join(display_name.split())
        if not display_name:
            raise ValidationFailed("display_name", "must not be empty")
        if len(display_name) > 200:
            raise ValidationFailed("display_name", "must be at most 200 characters long")
        if password is not None:
            check_policy(password, email=email)
        if await repository.user_by_email(self.session, email) is not None:
            raise Conflict(
                f"A user with the email {email} already exists.",
                errors=[{"field": "email", "message": "is already registered"}],
            )
        password_hash = (
            await anyio.to_thread.run_sync(hash_password, password) if password else None
        )
        user = User(
            home_tenant_id=home.id,
            email=email,
            display_name=display_name,
            password_hash=password_hash,
            password_changed_at=utcnow() if password else None,
        )
        self.session.add(user)
        await self.session.flush()
        await audit.record(
            self.session,
            tenant_id=home.id,
            actor=actor,
            action=AuditAction.USER_CREATED,
            target_type="user",
            target_id=user.id,
            target_label=email,
            changes={"email": [None, email], "display_name": [None, display_name]},
        )
        return user

    async def user_by_id(self, user_id: uuid.UUID) -> User | None:
        return await repository.user_by_id(self.session, user_id)

    async def me(self, principal: Principal) -> tuple[User, Tenant]:
        """The caller's own user row and home tenant (they may have gone since)."""
        user = await repository.user_by_id(self.session, principal.user_id)
        home = await repository.tenant_by_id(self.session, principal.home_tenant_id)
        if user is None or home is None or user.disabled_at is not None:
            raise NotAuthenticated("Your account is no longer available; sign in again.")
        return user, home

    async def me_by_ids(self, user_id: uuid.UUID, home_id: uuid.UUID) -> tuple[User, Tenant]:
        user = await repository.user_by_id(self.session, user_id)
        home = await repository.tenant_by_id(self.session, home_id)
        if user is None or home is None:
            raise NotAuthenticated("Email or password is incorrect.")
        return user, home

    async def set_password(
        self, user: User, home: Tenant, new_password: str, *, actor: Actor, keep: uuid.UUID | None
    ) -> int:
        """Store a new password and end every other session; returns how many ended."""
        check_policy(new_password, email=user.email, field="new_password")
        user.password_hash = await anyio.to_thread.run_sync(hash_password, new_password)
        user.password_changed_at = utcnow()
        ended = await repository.revoke_sessions_of(self.session, user.id, utcnow(), keep=keep)
        await self._audit_user(
            home, actor, AuditAction.PASSWORD_CHANGED, user, {"other_sessions_ended": ended}
        )
        return ended

    # --- sessions ----------------------------------------------------------------------

    def session_expiry(self, home: Tenant, now: datetime) -> datetime:
        minutes = home.session_lifetime_minutes or self.settings.session_lifetime_minutes
        return now + timedelta(minutes=minutes)

    async def start_session(
        self, user: User, home: Tenant, info: RequestInfo, *, mfa_passed: bool
    ) -> tuple[str, AuthSession]:
        """A fresh session (new token at every sign-in: no fixation)."""
        ensure_home_active(home)
        now = utcnow()
        token = new_secret()
        expires_at = self.session_expiry(home, now)
        if not mfa_passed:
            expires_at = min(expires_at, now + timedelta(minutes=PENDING_SESSION_MINUTES))
        auth_session = AuthSession(
            user_id=user.id,
            token_hash=digest(token),
            csrf_token=new_secret(24),
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
            mfa_passed=mfa_passed,
            source_address=info.source_address,
            user_agent=(info.user_agent or "")[:400] or None,
        )
        self.session.add(auth_session)
        user.last_sign_in_at = now
        await self.session.flush()
        return token, auth_session

    async def new_session(
        self, user: User, home: Tenant, info: RequestInfo, *, mfa_passed: bool
    ) -> NewSession:
        token, auth_session = await self.start_session(user, home, info, mfa_passed=mfa_passed)
        principal = principal_of(user, home, auth_method="session", auth_session=auth_session)
        return NewSession(token, auth_session, principal)

    async def replace_session(
        self, principal: Principal, user: User, home: Tenant, info: RequestInfo
    ) -> NewSession:
        """After the second factor: the password-only session ends and a full one starts,
        with a new token (privilege changed, so the cookie changes too)."""
        if principal.session_id is not None:
            old = await repository.session_of_user(self.session, user.id, principal.session_id)
            if old is not None and old.revoked_at is None:
                old.revoked_at = utcnow()
        return await self.new_session(user, home, info, mfa_passed=True)

    async def revoke_by_token(self, token: str) -> None:
        """The browser's previous session ends when it signs in again."""
        old = await repository.session_by_token_hash(self.session, digest(token))
        if old is not None and old.revoked_at is None:
            old.revoked_at = utcnow()

    async def principal_from_session_token(self, token: str) -> tuple[Principal, AuthSession]:
        found = await repository.session_with_user(self.session, digest(token))
        if found is None:
            raise NotAuthenticated("Your session has ended; sign in again.")
        auth_session, user, home = found
        if not session_is_live(auth_session, self.settings, utcnow()) or user.disabled_at:
            raise NotAuthenticated("Your session has ended; sign in again.")
        ensure_home_active(home)
        principal = principal_of(user, home, auth_method="session", auth_session=auth_session)
        return principal, auth_session

    @staticmethod
    def needs_touch(used: AuthSession | ApiToken | None) -> bool:
        if isinstance(used, AuthSession):
            return utcnow() - used.last_seen_at >= _TOUCH_EVERY
        if isinstance(used, ApiToken):
            return used.last_used_at is None or utcnow() - used.last_used_at >= _TOUCH_EVERY
        return False

    async def touch(self, used: AuthSession | ApiToken) -> None:
        """Record last use (sessions' idle timeout, tokens' last-used time)."""
        now = utcnow()
        if isinstance(used, AuthSession):
            await self.session.execute(
                update(AuthSession).where(AuthSession.id == used.id).values(last_seen_at=now)
            )
        else:
            await self.session.execute(
                update(ApiToken).where(ApiToken.id == used.id).values(last_used_at=now)
            )

    async def list_sessions(self, principal: Principal) -> list[tuple[AuthSession, bool]]:
        """The caller's live sessions, most recently used first; True marks this one."""
        now = utcnow()
        return [
            (s, s.id == principal.session_id)
            for s in await repository.live_sessions_of(self.session, principal.user_id)
            if session_is_live(s, self.settings, now)
        ]

    async def revoke_session(
        self, principal: Principal, session_id: uuid.UUID, actor: Actor
    ) -> AuthSession:
        found = await repository.session_of_user(self.session, principal.user_id, session_id)
        if found is None or not session_is_live(found, self.settings, utcnow()):
            raise NotFound("No such session.")
        found.revoked_at = utcnow()
        await audit.record(
            self.session,
            tenant_id=principal.home_tenant_id,
            actor=actor,
            action=AuditAction.SESSION_REVOKED,
            target_type="session",
            target_id=found.id,
            target_label=found.user_agent or found.source_address,
            changes={"current": [None, found.id == principal.session_id]},
        )
        return found

    async def sign_out(self, principal: Principal, actor: Actor) -> None:
        if principal.session_id is None:
            raise Conflict("Signing out ends a browser session; API tokens are revoked instead.")
        found = await repository.session_of_user(
            self.session, principal.user_id, principal.session_id
        )
        if found is not None and found.revoked_at is None:
            found.revoked_at = utcnow()
        await audit.record(
            self.session,
            tenant_id=principal.home_tenant_id,
            actor=actor,
            action=AuditAction.SIGN_OUT,
            target_type="session",
            target_id=principal.session_id,
        )

    async def sign_out_everywhere(self, principal: Principal, actor: Actor) -> int:
        """Every session of the caller ends, this one included (API tokens stay)."""
        ended = await repository.revoke_sessions_of(self.session, principal.user_id, utcnow())
        await audit.record(
            self.session,
            tenant_id=principal.home_tenant_id,
            actor=actor,
            action=AuditAction.SIGN_OUT_EVERYWHERE,
            target_type="user",
            target_id=principal.user_id,
            target_label=principal.email,
            changes={"sessions_ended": ended},
        )
        return ended

    # --- API tokens --------------------------------------------------------------------

    async def principal_from_api_token(self, token: str) -> tuple[Principal, ApiToken]:
        found = await repository.token_with_user(self.session, digest(token))
        if found is None:
            raise NotAuthenticated("The API token is not valid.")
        api_token, user, home = found
        now = utcnow()
        if (
            api_token.revoked_at is not None
            or (api_token.expires_at is not None and api_token.expires_at <= now)
            or user.disabled_at is not None
        ):
            raise NotAuthenticated("The API token has expired or was revoked.")
        ensure_home_active(home)
        return principal_of(user, home, auth_method="token", token=api_token), api_token

    async def create_api_token(
        self,
        user: User,
        *,
        name: str,
        expires_in_days: int | None,
        actor: Actor,
    ) -> tuple[str, ApiToken]:
        """A new personal API token; the secret is returned once and stored hashed."""
        name = " ".join(name.split())
        if not name:
            raise ValidationFailed("name", "must not be empty")
        if len(name) > 100:
            raise ValidationFailed("name", "must be at most 100 characters long")
        if expires_in_days is not None and not 1 <= expires_in_days <= 366:
            raise ValidationFailed("expires_in_days", "must be between 1 and 366")
        secret = new_api_token()
        now = utcnow()
        api_token = ApiToken(
            user_id=user.id,
            name=name,
            prefix=secret[:10],
            token_hash=digest(secret),
            created_at=now,
            expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
        )
        self.session.add(api_token)
        await self.session.flush()
        await audit.record(
            self.session,
            tenant_id=user.home_tenant_id,
            actor=actor,
            action=AuditAction.TOKEN_CREATED,
            target_type="api_token",
            target_id=api_token.id,
            target_label=name,
            changes={"name": [None, name], "expires_at": [None, api_token.expires_at]},
        )
        return secret, api_token

    async def create_own_token(
        self, principal: Principal, *, name: str, expires_in_days: int | None, actor: Actor
    ) -> tuple[str, ApiToken]:
        require_browser_session(principal)
        user, _home = await self.me(principal)
        days = self.settings.api_token_default_days if expires_in_days is None else expires_in_days
        return await self.create_api_token(user, name=name, expires_in_days=days, actor=actor)

    async def list_tokens(self, principal: Principal) -> list[ApiToken]:
        return list(await repository.tokens_of(self.session, principal.user_id))

    async def revoke_token(self, principal: Principal, token_id: uuid.UUID, actor: Actor) -> None:
        found = await repository.token_of_user(self.session, principal.user_id, token_id)
        if found is None or found.revoked_at is not None:
            raise NotFound("No such API token.")
        found.revoked_at = utcnow()
        await audit.record(
            self.session,
            tenant_id=principal.home_tenant_id,
            actor=actor,
            action=AuditAction.TOKEN_REVOKED,
            target_type="api_token",
            target_id=found.id,
            target_label=found.name,
            changes={"revoked_at": [None, found.revoked_at]},
        )

    # --- second factor -----------------------------------------------------------------

    async def totp_enrolment(self, principal: Principal, *, fresh: bool = False) -> Enrolment:
        """The pending authenticator secret to scan (made on first call; ``fresh`` renews)."""
        require_enrolment_allowed(principal)
        require_browser_session(principal)
        user, _home = await self.me(principal)
        enrolment = MfaService(self.session).begin_enrolment(user, fresh=fresh)
        await self.session.flush()
        return enrolment

    async def confirm_totp(
        self, principal: Principal, code: str, info: RequestInfo
    ) -> tuple[list[str], NewSession | None]:
        """Turn TOTP on with a code from the app. Returns the recovery codes (shown once)
        and, for a browser session, the session that replaces it with the factor passed."""
        require_enrolment_allowed(principal)
        require_browser_session(principal)
        user, home = await self.me(principal)
        codes = await MfaService(self.session).confirm_enrolment(user, code)
        actor = user_actor(user, home, info)
        await self._audit_user(home, actor, AuditAction.MFA_ENROLLED, user, {"method": "totp"})
        replaced = None
        if principal.session_id is not None:
            replaced = await self.replace_session(principal, user, home, info)
        return codes, replaced

    async def regenerate_recovery_codes(self, principal: Principal, actor: Actor) -> list[str]:
        require_browser_session(principal)
        user, home = await self.me(principal)
        if not user.has_mfa:
            raise Conflict("Set up an authenticator app first; recovery codes come with it.")
        codes = await MfaService(self.session).new_recovery_codes(user)
        await self._audit_user(home, actor, AuditAction.RECOVERY_CODES_REGENERATED, user, {})
        return codes

    async def mfa_state(self, principal: Principal) -> dict[str, Any]:
        user, home = await self.me(principal)
        remaining = await MfaService(self.session).remaining_codes(user) if user.has_mfa else 0
        return {
            "enabled": user.has_mfa,
            "enabled_at": user.totp_enabled_at,
            "required_by_home": home.require_mfa,
            "passed": principal.mfa_passed,
            "enrolment_pending": user.totp_secret is not None and not user.has_mfa,
            "recovery_codes_remaining": remaining,
        }

    # --- home security policy ----------------------------------------------------------

    async def set_security_policy(
        self,
        ctx: TenantContext,
        *,
        require_mfa: bool | None,
        session_lifetime_minutes: int | None,
        lifetime_given: bool,
        actor: Actor,
    ) -> Tenant:
        """The home tenant's policy, binding on its users wherever they act. Only the
        tenant's own admins set it: an MSP acting in a customer may not."""
        if ctx.relation != "home":
            raise PermissionDenied(
                f"The security policy of {ctx.tenant.display_name} is set by its own admins.",
                permission="settings:manage",
            )
        tenant = await repository.tenant_by_id(self.session, ctx.tenant.id)
        if tenant is None:
            raise NotFound("No such tenant.")
        low, high = SESSION_LIFETIME_RANGE
        if (
            lifetime_given
            and session_lifetime_minutes is not None
            and not (low <= session_lifetime_minutes <= high)
        ):
            raise ValidationFailed(
                "session_lifetime_minutes", f"must be between {low} and {high} minutes"
            )
        changes: dict[str, Any] = {}
        if require_mfa is not None and require_mfa != tenant.require_mfa:
            changes["require_mfa"] = [tenant.require_mfa, require_mfa]
            tenant.require_mfa = require_mfa
        if lifetime_given and session_lifetime_minutes != tenant.session_lifetime_minutes:
            changes["session_lifetime_minutes"] = [
                tenant.session_lifetime_minutes,
                session_lifetime_minutes,
            ]
            tenant.session_lifetime_minutes = session_lifetime_minutes
        if changes:
            await audit.record(
                self.session,
                tenant_id=tenant.id,
                actor=actor,
                action=AuditAction.TENANT_SETTINGS_CHANGED,
                target_type="tenant",
                target_id=tenant.id,
                target_label=tenant.slug,
                changes=changes,
            )
        return tenant

    async def tenant(self, tenant_id: uuid.UUID) -> Tenant:
        tenant = await repository.tenant_by_id(self.session, tenant_id)
        if tenant is None:
            raise NotFound("No such tenant.")
        return tenant

    # --- helpers -----------------------------------------------------------------------

    async def _audit_user(
        self,
        home: Tenant,
        actor: Actor,
        action: AuditAction,
        user: User,
        changes: dict[str, Any],
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


# --- used by access ---


async def people_at_home(
    session: AsyncSession, tenant_id: uuid.UUID, limit: int = 500
) -> list[User]:
    """The users at home in a tenant, by name (the technician filter of the MSP view)."""
    return list(await repository.users_at_home_by_name(session, tenant_id, limit))


# --- used by psa ---


async def principal_for(session: AsyncSession, user_id: uuid.UUID) -> Principal | None:
    """The principal an active user would be when signed in, to decide what they may do
    somewhere (a ticket's assignee must be able to work tickets there; the demo acts as
    its people). None for no such user or a disabled one."""
    user = await repository.user_by_id(session, user_id)
    if user is None or user.disabled_at is not None:
        return None
    home = await repository.tenant_by_id(session, user.home_tenant_id)
    if home is None:
        return None
    return principal_of(user, home, auth_method="cli")


async def user_id_by_email(session: AsyncSession, email: str) -> uuid.UUID | None:
    """The id of the user with this (lower-case) email address, if any."""
    user = await repository.user_by_email(session, email)
    return user.id if user is not None else None

# --- used by cli ---


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    """The account with this email (the operator names users by email), or None."""
    return await repository.user_by_email(session, email)
