"""MSP self sign-up: a request emails a single-use, expiring link; following it creates
the MSP tenant with its first Owner, signed in.

Runs its own units of work (like identity's sign-in flows): a request is counted by the
throttle in a unit of work of its own before anything else happens, so a refused or
failed request still counts, and the link is mailed only after the pending sign-up was
committed. Nothing exists in any tenant before the link is followed, so both audit
events (requested, verified) are written then, in the new tenant's trail.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.models import GrantScope
from tenantry.access.service import create_grant
from tenantry.audit import service as audit
from tenantry.audit.changes import set_to
from tenantry.audit.schemas import Actor, AuditAction
from tenantry.billing.service import SubscriptionService
from tenantry.config import Settings
from tenantry.db.base import utcnow
from tenantry.db.engine import Database
from tenantry.db.scope import NO_SCOPE
from tenantry.errors import Conflict, NotFound, TenantryError, TooManyAttempts, ValidationFailed
from tenantry.identity import service as identity
from tenantry.identity.mail import MailError, send_mail
from tenantry.identity.passwords import check_policy
from tenantry.identity.service import (
    IdentityService,
    NewSession,
    RequestInfo,
    anonymous_actor,
    mfa_enforced,
    user_actor,
)
from tenantry.identity.throttle import SIGNUP_EMAIL, SIGNUP_NETWORK, Throttle
from tenantry.identity.tokens import digest, new_secret
from tenantry.logging import get_logger
from tenantry.signup import repository
from tenantry.signup.models import SignupRequest
from tenantry.signup.schemas import SignupForm
from tenantry.tenancy import service as tenancy
from tenantry.tenancy.models import Tenant

log = get_logger("tenantry.signup")

# A used or expired sign-up is forgotten this long after its link ran out.
KEEP_FOR = timedelta(days=30)
CHECK_YOUR_EMAIL = (
    "If the address can receive mail, a link to finish signing up is on its way. "
    "It works once, within {hours} hours."
)


class SignupUnusable(TenantryError):
    status = 410
    type_slug = "signup-unusable"
    title = "Sign-up link can no longer be used"


@dataclass(frozen=True, slots=True)
class SignupRequested:
    """What a request did. ``link`` is for the mail only (and tests): never answered."""

    detail: str
    link: str | None


@dataclass(frozen=True, slots=True)
class SignedUp:
    signup: SignupRequest
    tenant: Tenant
    new: NewSession


def ensure_open(settings: Settings) -> None:
    """Sign-up is the operator's choice (``TENANTRY_SIGNUP_ENABLED``); off, it is not there."""
    if not settings.signup_enabled:
        raise NotFound("Not found.")


def network_of(address: str) -> str:
    """The network one subscriber holds: the /24 of an IPv4 address, the /64 of IPv6."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    bits = 24 if ip.version == 4 else 64
    return str(ipaddress.ip_network(f"{ip}/{bits}", strict=False))


def throttle_keys(email: str, address: str | None) -> list[str]:
    keys = [f"{SIGNUP_EMAIL}{email}"]
    if address:
        keys.append(f"{SIGNUP_NETWORK}{network_of(address)}")
    return keys


def signup_link(settings: Settings, token: str) -> str:
    return f"{settings.base_url.rstrip('/')}/signup/verify/{token}"


def ensure_usable(signup: SignupRequest) -> None:
    if signup.verified_at is not None:
        raise SignupUnusable(
            "This sign-up link was already used. Sign in with the account it created.",
            reason="used",
        )
    if signup.expires_at <= utcnow():
        raise SignupUnusable(
            "This sign-up link has expired. Sign up again to get a new one.", reason="expired"
        )


async def _start_trial(
    session: AsyncSession, tenant: Tenant, *, actor: Actor, plan_name: str
) -> None:
    """Put the new MSP on the operator's trial plan (``TENANTRY_SIGNUP_TRIAL_PLAN``).

    An instance whose operator defined no plans at all is unmetered (an MSP without a
    subscription has no limits, as before plans existed): the MSP gets licensing only.
    Once any plan exists, a missing trial plan refuses the sign-up instead of letting a
    misspelt setting hand out unlimited MSPs."""
    await tenancy.TenancyService(session).set_msp_license(tenant, True, actor=actor)
    subscriptions = SubscriptionService(session)
    names = {plan.name for plan in await subscriptions.plans()}
    if not names:
        return
    if plan_name not in names:
        raise Conflict(
            "Sign-up is not available right now: the operator's trial plan "
            f"'{plan_name[:100]}' does not exist (TENANTRY_SIGNUP_TRIAL_PLAN).",
            setting="TENANTRY_SIGNUP_TRIAL_PLAN",
        )
    await subscriptions.start_trial(tenant, plan_name, actor=actor)


class SignupFlows:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    # --- the request ---------------------------------------------------------------------

    async def request(self, form: SignupForm, info: RequestInfo) -> SignupRequested:
        """Record a pending sign-up and mail its link. The answer is the same whether or
        not the address already has an account (that one is told so by mail instead)."""
        ensure_open(self.settings)
        now = utcnow()
        async with self.db.platform_reader() as session:
            await self._check_slug_free(session, form)
        keys = throttle_keys(form.email, info.source_address)
        async with self.db.unit_of_work(NO_SCOPE) as session:
            state = await Throttle(session, self.settings).reserve(keys)
        if state.locked_until is not None:
            seconds = max(1, math.ceil((state.locked_until - utcnow()).total_seconds()))
            minutes = math.ceil(seconds / 60)
            raise TooManyAttempts(
                "Too many sign-up requests for this address or from this network. "
                f"Try again in {minutes} minute{'' if minutes == 1 else 's'}.",
                retry_after=seconds,
            )
        detail = CHECK_YOUR_EMAIL.format(hours=self.settings.signup_link_hours)
        token = new_secret()
        async with self.db.unit_of_work(NO_SCOPE) as session:
            await repository.prune(session, now - KEEP_FOR)
            known = await identity.user_id_by_email(session, form.email) is not None
            if not known:
                await repository.retire_waiting_of(session, form.email, now)
                session.add(
                    SignupRequest(
                        email=form.email,
                        admin_name=form.admin_name,
                        organisation=form.organisation,
                        slug=form.slug,
                        token_hash=digest(token),
                        requested_at=now,
                        expires_at=now + timedelta(hours=self.settings.signup_link_hours),
                        source_address=info.source_address,
                        request_id=info.request_id,
                    )
                )
        log.info("sign-up requested", slug=form.slug, source_address=info.source_address)
        if known:
            await self._mail(form.email, *self._known_message())
            return SignupRequested(detail, None)
        link = signup_link(self.settings, token)
        await self._mail(form.email, *self._link_message(form, link))
        return SignupRequested(detail, link)

    async def _check_slug_free(self, session: AsyncSession, form: SignupForm) -> None:
        taken = await tenancy.tenant_by_slug(session, form.slug) is not None
        if taken or await repository.slug_waiting(session, form.slug, utcnow(), email=form.email):
            raise ValidationFailed("slug", f"'{form.slug}' is already taken; choose another")

    def _link_message(self, form: SignupForm, link: str) -> tuple[str, str]:
        return (
            f"Finish signing up {form.organisation} on Tenantry",
            f"Hello {form.admin_name},\n\nfollow this link to set your password and create "
            f"{form.organisation} ({form.slug}) on Tenantry. It works once, within "
            f"{self.settings.signup_link_hours} hours:\n\n{link}\n\nIf you did not ask for "
            "this, ignore this message: nothing is created without the link.\n",
        )

    def _known_message(self) -> tuple[str, str]:
        base = self.settings.base_url.rstrip("/")
        return (
            "Signing up on Tenantry",
            "Someone, perhaps you, asked to sign up a new organisation on Tenantry with this "
            "address. It already has an account, so nothing was created. Sign in here:\n\n"
            f"{base}/sign-in\n\nIf you did not ask for this, ignore this message.\n",
        )

    async def _mail(self, to: str, subject: str, body: str) -> None:
        if not self.settings.smtp_host:
            # No mail server: the operator reads the link from the log (as invitations do).
            log.info("sign-up mail (no SMTP configured)", email=to, subject=subject, body=body)
            return
        try:
            await send_mail(self.settings, to=to, subject=subject, body=body)
        except MailError as exc:
            # The answer stays the same: it must not tell whether anything was sent.
            log.warning("sign-up mail failed", email=to, error=str(exc))

    # --- following the link --------------------------------------------------------------

    async def preview(self, token: str) -> SignupRequest:
        """What the link offers; refused clearly when used or expired."""
        ensure_open(self.settings)
        async with self.db.platform_reader() as session:
            signup = await repository.by_token_hash(session, digest(token))
        if signup is None:
            raise NotFound("This sign-up link is not valid. Check that it was copied whole.")
        ensure_usable(signup)
        return signup

    async def verify(
        self, token: str, *, password: str, info: RequestInfo, previous_token: str | None
    ) -> SignedUp:
        """Set the password: the MSP tenant, its Owner and their session are created in
        one unit of work, or nothing is."""
        signup = await self.preview(token)
        check_policy(password, email=signup.email)
        async with self.db.unit_of_work(NO_SCOPE) as session:
            if not await repository.claim(session, signup.id, utcnow()):
                # Someone used the same link a moment ago (or it ran out just now).
                fresh = await repository.by_token_hash(session, digest(token))
                ensure_usable(fresh or signup)
                raise SignupUnusable("This sign-up link can no longer be used.")
            if previous_token:
                await IdentityService(session, self.settings).revoke_by_token(previous_token)
            done = await self._create(session, signup, password, info)
        return done

    async def _create(
        self, session: AsyncSession, signup: SignupRequest, password: str, info: RequestInfo
    ) -> SignedUp:
        person = anonymous_actor(f"{signup.admin_name} <{signup.email}> (sign-up)", info)
        try:
            tenant = await tenancy.TenancyService(session).create_tenant(
                name=signup.organisation,
                display_name=None,
                is_msp=False,
                actor=person,
                slug=signup.slug,
            )
        except Conflict as exc:
            raise Conflict(
                f"The slug '{signup.slug}' was taken after you asked for it. Sign up again "
                "with another.",
                errors=[{"field": "slug", "message": "is already taken"}],
            ) from exc
        await audit.record(
            session,
            tenant_id=tenant.id,
            actor=person,
            action=AuditAction.SIGNUP_REQUESTED,
            target_type="signup",
            target_id=signup.id,
            target_label=signup.email,
            changes=set_to(
                email=signup.email,
                organisation=signup.organisation,
                slug=signup.slug,
                requested_at=signup.requested_at.isoformat(),
                requested_from=signup.source_address,
                request_id=signup.request_id,
            ),
        )
        await _start_trial(
            session, tenant, actor=person, plan_name=self.settings.signup_trial_plan
        )
        identities = IdentityService(session, self.settings)
        user = await identities.create_user(
            home=tenant,
            email=signup.email,
            display_name=signup.admin_name,
            password=password,
            actor=person,
        )
        await create_grant(
            session,
            issuer_tenant_id=tenant.id,
            user_id=user.id,
            role="owner",
            scope=GrantScope.HOME,
            actor=person,
        )
        await repository.mark_created(session, signup.id, tenant.id)
        owner = user_actor(user, tenant, info)
        await audit.record(
            session,
            tenant_id=tenant.id,
            actor=owner,
            action=AuditAction.SIGNUP_VERIFIED,
            target_type="signup",
            target_id=signup.id,
            target_label=signup.email,
            changes=set_to(tenant=tenant.slug, is_msp=tenant.is_msp, owner=user.email),
        )
        new = await identities.new_session(user, tenant, info, mfa_passed=not mfa_enforced(tenant))
        await audit.record(
            session,
            tenant_id=tenant.id,
            actor=owner,
            action=AuditAction.SIGN_IN,
            target_type="session",
            target_id=new.auth_session.id,
            target_label=user.email,
            changes=set_to(method="signup", second_factor="none"),
        )
        return SignedUp(signup, tenant, new)
