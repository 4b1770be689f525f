"""Browser sessions: starting one (a new token at every sign-in), reading the principal
from its cookie, recording use, listing and ending them."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from tenantry.access.context import Principal
from tenantry.audit import service as audit
from tenantry.audit.changes import set_to
from tenantry.audit.schemas import Actor, AuditAction
from tenantry.db.base import utcnow
from tenantry.db.reads import AlsoRead
from tenantry.errors import Conflict, NotAuthenticated, NotFound
from tenantry.identity import repository
from tenantry.identity.common import (
    IdentityBase,
    NewSession,
    RequestInfo,
    ensure_home_active,
    principal_of,
    session_is_live,
)
from tenantry.identity.models import ApiToken, AuthSession, User
from tenantry.identity.tokens import digest, new_secret
from tenantry.tenancy import service as tenancy
from tenantry.tenancy.models import Tenant

# Refresh last_seen_at at most this often: one write per minute, not per request.
TOUCH_EVERY = timedelta(minutes=1)
# A session still waiting for its second factor (or for enrolment) lives this long at most.
PENDING_SESSION_MINUTES = 30


class SessionService(IdentityBase):
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

    async def principal_from_session_token(
        self, token: str, also: AlsoRead | None = None
    ) -> tuple[Principal, AuthSession]:
        found = await repository.session_with_user(
            self.session, digest(token), tenancy.joined_tenant(User.home_tenant_id), also
        )
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
            return utcnow() - used.last_seen_at >= TOUCH_EVERY
        if isinstance(used, ApiToken):
            return used.last_used_at is None or utcnow() - used.last_used_at >= TOUCH_EVERY
        return False

    async def touch(self, used: AuthSession | ApiToken) -> None:
        """Record last use (sessions' idle timeout, tokens' last-used time)."""
        if isinstance(used, AuthSession):
            await repository.touch_session(self.session, used.id, utcnow())
        else:
            await repository.touch_token(self.session, used.id, utcnow())

    async def list_sessions(self, principal: Principal) -> list[tuple[AuthSession, bool]]:
        """The caller's live sessions, most recently used first; True marks this one."""
        now = utcnow()
        return [
            (s, s.id == principal.session_id)
            for s in await repository.live_sessions_of(self.session, principal.user_id)
            if session_is_live(s, self.settings, now)
        ]

    async def revoke_session(
        self, principal: Principal, session_id: uuid.UUID, *, actor: Actor
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
            changes=set_to(current=found.id == principal.session_id),
        )
        return found

    async def sign_out(self, principal: Principal, *, actor: Actor) -> None:
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

    async def sign_out_everywhere(self, principal: Principal, *, actor: Actor) -> int:
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
            changes=set_to(sessions_ended=ended),
        )
        return ended
