"""Identity rules: accounts, password sign-in, sessions and API tokens."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.context import Principal
from tenantry.audit import service as audit
from tenantry.audit.schemas import Actor, AuditAction
from tenantry.config import Settings
from tenantry.db.base import utcnow
from tenantry.errors import Conflict, NotAuthenticated, TenantSuspended, ValidationFailed
from tenantry.identity import repository
from tenantry.identity.models import ApiToken, AuthSession, User
from tenantry.identity.passwords import check_policy, hash_password
from tenantry.identity.schemas import normalise_email
from tenantry.identity.tokens import digest, new_api_token, new_secret
from tenantry.tenancy.models import Tenant, TenantStatus

# Refresh last_seen_at at most this often: one write per minute, not per request.
_TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """Where a request came from, for sessions and audit events."""

    request_id: str | None = None
    source_address: str | None = None
    user_agent: str | None = None


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


def _ensure_home_active(home: Tenant) -> None:
    if home.status != TenantStatus.ACTIVE:
        raise TenantSuspended(
            f"{home.display_name} is suspended: its users cannot sign in until it is resumed."
        )


class IdentityService:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings

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
        display_name = display_name.strip()
        if not display_name:
            raise ValidationFailed("display_name", "must not be empty")
        if len(display_name) > 200:
            raise ValidationFailed("display_name", "must be at most 200 characters long")
        if password is not None:
            check_policy(password, email=email)
        if await repository.user_by_email(self.session, email) is not None:
            raise Conflict(f"A user with the email {email} already exists.", field="email")
        user = User(
            home_tenant_id=home.id,
            email=email,
            display_name=display_name,
            password_hash=hash_password(password) if password else None,
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

    def session_expiry(self, home: Tenant, now: datetime) -> datetime:
        minutes = home.session_lifetime_minutes or self.settings.session_lifetime_minutes
        return now + timedelta(minutes=minutes)

    async def start_session(
        self, user: User, home: Tenant, info: RequestInfo, *, mfa_passed: bool
    ) -> tuple[str, AuthSession]:
        """A fresh session (new token at every sign-in: no fixation)."""
        _ensure_home_active(home)
        now = utcnow()
        token = new_secret()
        auth_session = AuthSession(
            user_id=user.id,
            token_hash=digest(token),
            csrf_token=new_secret(24),
            created_at=now,
            last_seen_at=now,
            expires_at=self.session_expiry(home, now),
            mfa_passed=mfa_passed,
            source_address=info.source_address,
            user_agent=(info.user_agent or "")[:400] or None,
        )
        self.session.add(auth_session)
        user.last_sign_in_at = now
        await self.session.flush()
        return token, auth_session

    async def principal_from_session_token(self, token: str) -> tuple[Principal, AuthSession]:
        found = await repository.session_with_user(self.session, digest(token))
        if found is None:
            raise NotAuthenticated("Your session has ended; sign in again.")
        auth_session, user, home = found
        now = utcnow()
        idle_limit = auth_session.last_seen_at + timedelta(minutes=self.settings.session_idle_minutes)
        if (
            auth_session.revoked_at is not None
            or auth_session.expires_at <= now
            or idle_limit <= now
            or user.disabled_at is not None
        ):
            raise NotAuthenticated("Your session has ended; sign in again.")
        _ensure_home_active(home)
        return principal_of(user, home, auth_method="session", auth_session=auth_session), auth_session

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
        _ensure_home_active(home)
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
        name = name.strip()
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

    async def user_by_id(self, user_id: uuid.UUID) -> User | None:
        return await repository.user_by_id(self.session, user_id)
