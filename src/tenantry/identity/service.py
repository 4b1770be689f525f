"""Identity rules: accounts, the second factor and the home security policy; sessions
(``sessions.py``) and API tokens (``api_tokens.py``) are parts of ``IdentityService``.
Session-bound: the caller's unit of work commits. The sign-in steps that must keep a
record of failures even when they refuse live in ``flows.py``.

Identity is the only owner of users and their credentials: other domains read them with
the functions at the end of this module."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.context import Principal, TenantContext, TenantRef
from tenantry.audit import service as audit
from tenantry.audit.changes import Changes, set_to
from tenantry.audit.schemas import Actor, AuditAction
from tenantry.billing import limits
from tenantry.db.base import utcnow
from tenantry.errors import Conflict, PermissionDenied, ValidationFailed
from tenantry.identity import repository
from tenantry.identity.api_tokens import TokenService
from tenantry.identity.common import (
    MFA_GRACE_MAX_DAYS,
    MfaImpact,
    NewSession,
    RequestInfo,
    actor_of,
    anonymous_actor,
    ensure_home_active,
    mfa_enforced,
    mfa_grace_until,
    principal_of,
    require_browser_session,
    require_enrolment_allowed,
    session_is_live,
    user_actor,
)
from tenantry.identity.mfa import Enrolment, MfaService
from tenantry.identity.models import User
from tenantry.identity.passwords import check_policy, hash_password
from tenantry.identity.schemas import normalise_email
from tenantry.identity.sessions import PENDING_SESSION_MINUTES, SessionService
from tenantry.tenancy import service as tenancy
from tenantry.tenancy.models import Tenant

__all__ = [
    "PENDING_SESSION_MINUTES",
    "SESSION_LIFETIME_RANGE",
    "IdentityService",
    "MfaImpact",
    "NewSession",
    "RequestInfo",
    "actor_of",
    "anonymous_actor",
    "ensure_home_active",
    "mfa_enforced",
    "mfa_grace_until",
    "principal_of",
    "require_browser_session",
    "require_enrolment_allowed",
    "session_is_live",
    "user_actor",
]

# Bounds of a tenant's own session lifetime: five minutes to thirty days.
SESSION_LIFETIME_RANGE = (5, 30 * 24 * 60)


class IdentityService(SessionService, TokenService):
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
        if home.is_msp:
            await ensure_seat(self.session, home)
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
            changes=set_to(email=email, display_name=display_name),
        )
        return user

    async def user_by_id(self, user_id: uuid.UUID) -> User | None:
        return await repository.user_by_id(self.session, user_id)

    async def set_password(
        self, user: User, home: Tenant, new_password: str, *, actor: Actor, keep: uuid.UUID | None
    ) -> int:
        """Store a new password and end every other session; returns how many ended."""
        check_policy(new_password, email=user.email, field="new_password")
        user.password_hash = await anyio.to_thread.run_sync(hash_password, new_password)
        user.password_changed_at = utcnow()
        ended = await repository.revoke_sessions_of(self.session, user.id, utcnow(), keep=keep)
        await self._audit_user(
            home, actor, AuditAction.PASSWORD_CHANGED, user, set_to(other_sessions_ended=ended)
        )
        return ended

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
        await self._audit_user(home, actor, AuditAction.MFA_ENROLLED, user, set_to(method="totp"))
        replaced = None
        if principal.session_id is not None:
            replaced = await self.replace_session(principal, user, home, info)
        return codes, replaced

    async def regenerate_recovery_codes(self, principal: Principal, *, actor: Actor) -> list[str]:
        require_browser_session(principal)
        user, home = await self.me(principal)
        if not user.has_mfa:
            raise Conflict("Set up an authenticator app first; recovery codes come with it.")
        codes = await MfaService(self.session).new_recovery_codes(user)
        await self._audit_user(home, actor, AuditAction.RECOVERY_CODES_REGENERATED, user, Changes())
        return codes

    async def mfa_state(self, principal: Principal) -> dict[str, Any]:
        user, home = await self.me(principal)
        remaining = await MfaService(self.session).remaining_codes(user) if user.has_mfa else 0
        return {
            "enabled": user.has_mfa,
            "enabled_at": user.totp_enabled_at,
            "required_by_home": home.require_mfa,
            "required_from": mfa_grace_until(home),
            "passed": principal.mfa_passed,
            "enrolment_pending": user.totp_secret is not None and not user.has_mfa,
            "recovery_codes_remaining": remaining,
        }

    # --- home security policy ----------------------------------------------------------

    async def mfa_impact(self, tenant: Tenant, principal: Principal) -> MfaImpact:
        """Who a required second factor stops: the tenant's users without one and their
        live API tokens (and whether the caller is among them)."""
        users, tokens = await repository.without_second_factor(self.session, tenant.id, utcnow())
        you = principal.home_tenant_id == tenant.id and not principal.has_mfa
        return MfaImpact(users=users, api_tokens=tokens, includes_you=you)

    async def set_security_policy(
        self,
        ctx: TenantContext,
        *,
        require_mfa: bool | None,
        session_lifetime_minutes: int | None,
        lifetime_given: bool,
        actor: Actor,
        require_mfa_from: datetime | None = None,
        from_given: bool = False,
        confirm_immediate: bool = True,
        require_mfa_for_clients: bool | None = None,
    ) -> Tenant:
        """The home tenant's policy, binding on its users wherever they act. Only the
        tenant's own admins set it: an MSP acting in a customer may not.

        ``require_mfa_from`` gives users without a second factor until then to set one up
        (their sessions and API tokens keep working; they are asked to enrol). Without
        ``confirm_immediate`` a requirement that would stop anyone at once is refused
        with what it would stop, and nothing changes. ``require_mfa_for_clients`` (an
        MSP's only) asks a second factor of its staff before they act in any client."""
        if ctx.relation != "home":
            raise PermissionDenied(
                f"The security policy of {ctx.tenant.display_name} is set by its own admins.",
                permission="settings:manage",
            )
        low, high = SESSION_LIFETIME_RANGE
        if (
            lifetime_given
            and session_lifetime_minutes is not None
            and not (low <= session_lifetime_minutes <= high)
        ):
            raise ValidationFailed(
                "session_lifetime_minutes", f"must be between {low} and {high} minutes"
            )
        current = await tenancy.tenant(self.session, ctx.tenant.id)
        if require_mfa_for_clients and not current.is_msp:
            raise ValidationFailed(
                "require_mfa_for_clients",
                f"applies to an MSP's staff in its clients; {current.display_name} is no MSP",
            )
        wants_mfa = current.require_mfa if require_mfa is None else require_mfa
        if from_given and require_mfa_from is not None:
            if require_mfa_from.tzinfo is None:
                require_mfa_from = require_mfa_from.replace(tzinfo=UTC)
            if not wants_mfa:
                raise ValidationFailed(
                    "require_mfa_from", "applies only when a second factor is required"
                )
            if require_mfa_from > utcnow() + timedelta(days=MFA_GRACE_MAX_DAYS):
                raise ValidationFailed(
                    "require_mfa_from", f"must be within {MFA_GRACE_MAX_DAYS} days from now"
                )
        if not confirm_immediate and not mfa_enforced(current):
            kept = current.require_mfa_from if current.require_mfa else None
            starts = require_mfa_from if from_given else kept
            if wants_mfa and (starts is None or starts <= utcnow()):
                impact = await self.mfa_impact(current, ctx.principal)
                if impact.users:
                    raise Conflict(
                        f"{impact.describe(current.display_name)} Choose a date from which "
                        "it is required, or confirm that it applies now."
                    )
        tenant, changes = await tenancy.set_security_policy(
            self.session,
            ctx.tenant.id,
            require_mfa=require_mfa,
            session_lifetime_minutes=session_lifetime_minutes,
            lifetime_given=lifetime_given,
            require_mfa_from=require_mfa_from,
            from_given=from_given,
            require_mfa_for_clients=require_mfa_for_clients,
        )
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
        return await tenancy.tenant(self.session, tenant_id)


# ---------------------------------------------------------------- reads for other domains


async def ensure_seat(session: AsyncSession, home: Tenant | TenantRef) -> None:
    """A new person at an MSP takes a technician seat of its plan (409 when full)."""
    await limits.ensure_room(session, home.id, "seats", msp_name=home.display_name)


async def seats_used(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    """The seats a tenant's plan counts: its enabled people at home and its invitations
    still open (an accepted invitation becomes the person it counted already)."""
    return await repository.count_enabled_at_home(
        session, tenant_id
    ) + await repository.count_pending_invitations(session, tenant_id, utcnow())


async def user_by_id(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await repository.user_by_id(session, user_id)


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    return await repository.user_by_email(session, email)


async def users_by_ids(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, User]:
    return await repository.users_by_ids(session, ids)


async def user_ids_of_home(session: AsyncSession, tenant_id: uuid.UUID) -> list[uuid.UUID]:
    """Every user whose home is ``tenant_id``."""
    return await repository.user_ids_of_home(session, tenant_id)


async def delete_credentials_of(
    session: AsyncSession, user_ids: Sequence[uuid.UUID]
) -> dict[str, int]:
    """Deleting a tenant: its users' recovery codes, sessions and API tokens (counts)."""
    return await repository.delete_credentials_of(session, user_ids)


async def delete_people_of_home(
    session: AsyncSession, tenant_id: uuid.UUID, user_ids: Sequence[uuid.UUID]
) -> dict[str, int]:
    """Deleting a tenant: its invitations (and its users' ones), then its users (counts)."""
    return await repository.delete_people_of_home(session, tenant_id, user_ids)


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
    home = await tenancy.tenant_by_id(session, user.home_tenant_id)
    if home is None:
        return None
    return principal_of(user, home, auth_method="cli")


async def user_id_by_email(session: AsyncSession, email: str) -> uuid.UUID | None:
    """The id of the user with this (lower-case) email address, if any."""
    user = await repository.user_by_email(session, email)
    return user.id if user is not None else None


# --- used by access: users by reference, pickers, a user group's members ---


async def user_by_ref(session: AsyncSession, ref: str) -> User | None:
    """A user by id or email, whatever their home (the caller decides who may see them)."""
    return await repository.user_by_ref(session, ref)


async def user_at_home(session: AsyncSession, tenant_id: uuid.UUID, ref: str) -> User | None:
    """A user at home in the tenant, by id or email; None for anyone else."""
    return await repository.user_by_ref(session, ref, home_id=tenant_id)


async def users_of_home(
    session: AsyncSession, tenant_id: uuid.UUID, limit: int = 1000
) -> Sequence[User]:
    """The tenant's own users by name (for pickers)."""
    return await repository.users_of_home_by_name(session, tenant_id, limit)


async def users_among(session: AsyncSession, ids: Select[uuid.UUID]) -> Sequence[User]:
    """The users whose ids a caller's subquery selects (the members of a user group), by
    email: one statement."""
    return await repository.users_among(session, ids)
