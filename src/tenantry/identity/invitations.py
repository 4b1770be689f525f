"""Invitations: an admin asks someone by email to join a tenant with a role; a
single-use, expiring link lets them create their account there."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.context import TenantContext
from tenantry.access.models import GrantScope
from tenantry.access.permissions import BUILTIN_ROLES
from tenantry.access.service import create_grant, role_permissions
from tenantry.access.widening import Why, widen
from tenantry.audit import service as audit
from tenantry.audit.changes import set_to
from tenantry.audit.schemas import Actor, AuditAction
from tenantry.config import Settings
from tenantry.db.base import utcnow
from tenantry.errors import Conflict, NotFound, TenantryError, ValidationFailed
from tenantry.identity import repository
from tenantry.identity.mail import MailError, send_mail
from tenantry.identity.models import Invitation, User
from tenantry.identity.schemas import normalise_email
from tenantry.identity.service import (
    IdentityService,
    NewSession,
    RequestInfo,
    anonymous_actor,
    ensure_home_active,
    ensure_seat,
    mfa_enforced,
    user_actor,
)
from tenantry.identity.tokens import digest, new_secret
from tenantry.kit.pagination import Keyset, check_limit, page_of
from tenantry.logging import get_logger
from tenantry.tenancy import service as tenancy
from tenantry.tenancy.models import Tenant

log = get_logger("tenantry.identity")

# Pending invitations page newest first by id (ids are time-ordered).
BY_ID = Keyset(uuid.UUID)

Delivery = Literal["sent", "logged", "failed"]
InvitationStatus = Literal["pending", "accepted", "revoked", "expired"]


class InvitationUnusable(TenantryError):
    """The link was used, withdrawn or has expired: say which, so the person knows what
    to ask for."""

    status = 410
    type_slug = "invitation-unusable"
    title = "Invitation can no longer be used"


@dataclass(frozen=True, slots=True)
class NewInvitation:
    invitation: Invitation
    link: str
    delivery: Delivery


def status_of(invitation: Invitation) -> InvitationStatus:
    if invitation.accepted_at is not None:
        return "accepted"
    if invitation.revoked_at is not None:
        return "revoked"
    if invitation.expires_at <= utcnow():
        return "expired"
    return "pending"


def ensure_usable(invitation: Invitation) -> None:
    status = status_of(invitation)
    if status == "accepted":
        raise InvitationUnusable(
            "This invitation was already used. Sign in with the account it created, "
            "or ask for a new invitation.",
            reason="accepted",
        )
    if status == "revoked":
        raise InvitationUnusable(
            "This invitation was withdrawn. Ask the person who invited you for a new one.",
            reason="revoked",
        )
    if status == "expired":
        raise InvitationUnusable(
            "This invitation has expired. Ask the person who invited you for a new one.",
            reason="expired",
        )


def invitation_link(settings: Settings, token: str) -> str:
    return f"{settings.base_url.rstrip('/')}/invite/{token}"


class InvitationService:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings

    async def invite(
        self, ctx: TenantContext, *, email: str, role: str, actor: Actor
    ) -> NewInvitation:
        email = normalise_email(email)
        found = BUILTIN_ROLES.get(role)
        if found is None:
            raise ValidationFailed("role", f"must be one of {', '.join(BUILTIN_ROLES)}")
        # Nobody hands out more than they hold: inviting is not a way to escalate.
        beyond = ctx.beyond(role_permissions(role))
        if beyond:
            raise ValidationFailed(
                "role",
                f"gives permissions you do not have here ({', '.join(sorted(beyond))})",
            )
        if await repository.user_by_email(self.session, email) is not None:
            raise Conflict(
                f"{email} already has an account.",
                errors=[{"field": "email", "message": "already has an account"}],
            )
        now = utcnow()
        if await repository.pending_invitation_for(self.session, ctx.tenant.id, email, now):
            raise Conflict(
                f"{email} already has a pending invitation here; revoke it to send a new one.",
                errors=[{"field": "email", "message": "already has a pending invitation"}],
            )
        if ctx.tenant.is_msp:
            # An open invitation holds a technician seat of the MSP's plan.
            await ensure_seat(self.session, ctx.tenant)
        token = new_secret()
        invitation = Invitation(
            tenant_id=ctx.tenant.id,
            email=email,
            role=role,
            token_hash=digest(token),
            invited_by_user_id=ctx.principal.user_id,
            created_at=now,
            expires_at=now + timedelta(hours=self.settings.invitation_lifetime_hours),
        )
        self.session.add(invitation)
        await self.session.flush()
        await audit.record(
            self.session,
            tenant_id=ctx.tenant.id,
            actor=actor,
            action=AuditAction.USER_INVITED,
            target_type="invitation",
            target_id=invitation.id,
            target_label=email,
            changes=set_to(email=email, role=role),
        )
        link = invitation_link(self.settings, token)
        delivery = await self._deliver(invitation, link, ctx, found.name)
        return NewInvitation(invitation, link, delivery)

    async def _deliver(
        self, invitation: Invitation, link: str, ctx: TenantContext, role_name: str
    ) -> Delivery:
        if not self.settings.smtp_host:
            # No mail server configured: the inviter passes the link on; the log keeps it.
            log.info(
                "invitation link (no SMTP configured)",
                email=invitation.email,
                tenant=ctx.tenant.slug,
                link=link,
            )
            return "logged"
        body = (
            f"{ctx.principal.display_name} invited you to {ctx.tenant.display_name} on "
            f"Tenantry as {role_name}.\n\nCreate your account here (the link works once, "
            f"until {invitation.expires_at:%Y-%m-%d %H:%M} UTC):\n\n{link}\n"
        )
        try:
            await send_mail(
                self.settings,
                to=invitation.email,
                subject=f"You are invited to {ctx.tenant.display_name}",
                body=body,
            )
        except MailError as exc:
            # The invitation stands: the inviter sees the link and can pass it on.
            log.warning("invitation mail failed", email=invitation.email, error=str(exc))
            return "failed"
        return "sent"

    async def pending(
        self, ctx: TenantContext, *, cursor: str | None, limit: int
    ) -> tuple[list[tuple[Invitation, User | None]], str | None]:
        check_limit(limit)
        after = BY_ID.decode(cursor)
        rows = await repository.pending_invitations(
            self.session,
            ctx.tenant.id,
            utcnow(),
            before_id=after[0] if after else None,
            limit=limit + 1,
        )
        return page_of(rows, limit, lambda row: [str(row[0].id)])

    async def revoke(
        self, ctx: TenantContext, invitation_id: uuid.UUID, *, actor: Actor
    ) -> Invitation:
        invitation = await repository.invitation_in_tenant(
            self.session, ctx.tenant.id, invitation_id
        )
        if invitation is None:
            raise NotFound("No such invitation.")
        if status_of(invitation) != "pending":
            raise Conflict(f"This invitation is already {status_of(invitation)}.")
        invitation.revoked_at = utcnow()
        await audit.record(
            self.session,
            tenant_id=ctx.tenant.id,
            actor=actor,
            action=AuditAction.INVITATION_REVOKED,
            target_type="invitation",
            target_id=invitation.id,
            target_label=invitation.email,
            changes=set_to(revoked_at=invitation.revoked_at),
        )
        return invitation

    async def _inviter_actor(self, invitation: Invitation, info: RequestInfo) -> Actor:
        """The grant is the inviter's decision, carried out when the link is used."""
        inviter = (
            await repository.user_by_id(self.session, invitation.invited_by_user_id)
            if invitation.invited_by_user_id
            else None
        )
        name = f"{inviter.display_name} <{inviter.email}>" if inviter else "a former user"
        return Actor(
            user_id=inviter.id if inviter else None,
            name=name,
            home_tenant_id=inviter.home_tenant_id if inviter else None,
            explanation=f"invitation {invitation.id} accepted by {invitation.email}",
            request_id=info.request_id,
            source_address=info.source_address,
            user_agent=info.user_agent,
        )

    async def preview(self, token: str) -> tuple[Invitation, Tenant]:
        """What the link offers, for the accept page; refused clearly when unusable."""
        invitation = await repository.invitation_by_token_hash(self.session, digest(token))
        if invitation is None:
            raise NotFound("This invitation link is not valid. Check that it was copied whole.")
        tenant = await tenancy.tenant(self.session, invitation.tenant_id)
        ensure_usable(invitation)
        ensure_home_active(tenant)
        return invitation, tenant

    async def accept(
        self, token: str, *, display_name: str, password: str, info: RequestInfo
    ) -> NewSession:
        """Creates the user at home in the invitation's tenant with the invited role, and
        a session for them. Runs in a unit of work the caller opened with no scope."""
        invitation, tenant = await self.preview(token)
        if not await repository.claim_invitation(self.session, invitation.id, utcnow()):
            # Someone used the same link a moment ago.
            await self.session.refresh(invitation)
            ensure_usable(invitation)
        await widen(self.session, tenant.id, why=Why.INVITATION)
        identity = IdentityService(self.session, self.settings)
        person = anonymous_actor(f"{display_name.strip()} <{invitation.email}> (invited)", info)
        user = await identity.create_user(
            home=tenant,
            email=invitation.email,
            display_name=display_name,
            password=password,
            actor=person,
        )
        actor = user_actor(user, tenant, info)
        await create_grant(
            self.session,
            issuer_tenant_id=tenant.id,
            user_id=user.id,
            role=invitation.role,
            scope=GrantScope.HOME,
            actor=await self._inviter_actor(invitation, info),
        )
        await audit.record(
            self.session,
            tenant_id=tenant.id,
            actor=actor,
            action=AuditAction.INVITATION_ACCEPTED,
            target_type="invitation",
            target_id=invitation.id,
            target_label=invitation.email,
            changes=set_to(user_id=str(user.id), role=invitation.role),
        )
        return await identity.new_session(user, tenant, info, mfa_passed=not mfa_enforced(tenant))
