"""Sign-in steps that run their own units of work.

A refused attempt must still be counted (throttle) and recorded (audit event), but a
request's unit of work rolls back when it raises. So each attempt is first counted in a
unit of work of its own (``Throttle.reserve``: decided and counted in one step, so a burst
of parallel guesses gets no more checks than a sequence), then checked; a right answer
gives the attempt back, and a refusal commits its record before it is raised.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.context import Principal
from tenantry.access.service import self_scope
from tenantry.access.widening import Why, widen
from tenantry.audit import service as audit
from tenantry.audit.changes import set_to
from tenantry.audit.schemas import AuditAction
from tenantry.config import Settings
from tenantry.db.engine import Database
from tenantry.db.scope import NO_SCOPE
from tenantry.errors import Conflict, NotAuthenticated, TenantryError, ValidationFailed
from tenantry.identity import devices, repository, throttle
from tenantry.identity.invitations import InvitationService
from tenantry.identity.mfa import MfaService
from tenantry.identity.models import User
from tenantry.identity.passwords import (
    check_policy,
    hash_password,
    needs_rehash,
    verify_password,
)
from tenantry.identity.schemas import normalise_email
from tenantry.identity.service import (
    IdentityService,
    NewSession,
    RequestInfo,
    anonymous_actor,
    ensure_home_active,
    mfa_enforced,
    mfa_grace_until,
    require_browser_session,
    user_actor,
)
from tenantry.identity.throttle import Throttle
from tenantry.logging import get_logger
from tenantry.tenancy import service as tenancy
from tenantry.tenancy.models import Tenant, TenantStatus

log = get_logger("tenantry.identity")

INCORRECT = "Email or password is incorrect."
SignInStatus = Literal["signed_in", "mfa_required", "mfa_enrolment_required"]


@dataclass(frozen=True, slots=True)
class SignInResult:
    status: SignInStatus
    new: NewSession
    # Set while the home's second-factor requirement is still ahead and the user has
    # none: the date by which to set one up (the web sign-in offers it at once).
    enrol_by: datetime | None = None


def status_of(principal: Principal) -> SignInStatus:
    if principal.mfa_passed:
        return "signed_in"
    return "mfa_required" if principal.has_mfa else "mfa_enrolment_required"


class AuthFlows:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    # --- password sign-in --------------------------------------------------------------

    async def sign_in(
        self,
        *,
        email: str,
        password: str,
        totp_code: str | None,
        info: RequestInfo,
        previous_token: str | None,
    ) -> SignInResult:
        """Email + password (and, in one step, the second factor when given)."""
        email = normalise_email(email)
        if not password:
            raise ValidationFailed("password", "must not be empty")
        keys = self._keys(email, info)
        # The attempt is decided on and counted in one step before anything is checked,
        # so parallel guesses cannot all pass a check that none of them has counted yet.
        async with self.db.unit_of_work(NO_SCOPE) as session:
            state = await Throttle(session, self.settings).reserve(keys)
        async with self.db.platform_reader() as session:
            found = await self._user_with_home(session, email)
        if state.locked_until is not None:
            await self._failed(email, found, keys, "locked", info)
            raise throttle.too_many(state.locked_until)
        # The wait happens outside any transaction: a slowed attacker holds no connection.
        delay = state.delay(self.settings)
        if delay > 0:
            await throttle.sleep(delay)
        # Unknown accounts are verified against a dummy hash: the same work, the same time.
        stored = found[0].password_hash if found else None
        ok = await anyio.to_thread.run_sync(verify_password, stored, password)
        if found is None or not ok or found[0].disabled_at is not None:
            reason = "unknown_account" if found is None else "password" if not ok else "disabled"
            await self._failed(email, found, keys, reason, info)
            raise NotAuthenticated(INCORRECT)
        user, home = found
        if home.status != TenantStatus.ACTIVE:
            # The right password: not a failure, so the attempt is given back.
            await self._failed(email, found, keys, "tenant_suspended", info, refund=True)
            ensure_home_active(home)

        failure: TenantryError | None = None
        result: SignInResult | None = None
        async with self.db.unit_of_work(NO_SCOPE) as session:
            await widen(session, home.id, why=Why.SIGN_IN)
            user, home = await IdentityService(session, self.settings).me_by_ids(user.id, home.id)
            factor = None
            if user.has_mfa and totp_code:
                try:
                    factor = await MfaService(session).check_second_factor(
                        user, totp_code, field="totp_code"
                    )
                except ValidationFailed as exc:
                    failure = exc
                    # Counted already (the reservation): a wrong code stays a failure.
                    await self._record_failure(
                        session, email, user, home, keys, "second_factor", info
                    )
            if failure is None:
                result = await self._open_session(
                    session, user, home, password, factor, info, previous_token, email, keys
                )
        if failure is not None:
            raise failure
        assert result is not None
        return result

    async def _open_session(
        self,
        session: AsyncSession,
        user: User,
        home: Tenant,
        password: str,
        factor: str | None,
        info: RequestInfo,
        previous_token: str | None,
        email: str,
        keys: Sequence[str],
    ) -> SignInResult:
        identity = IdentityService(session, self.settings)
        if previous_token:
            await identity.revoke_by_token(previous_token)
        if user.password_hash and needs_rehash(user.password_hash):
            user.password_hash = await anyio.to_thread.run_sync(hash_password, password)
        passed = factor is not None or not (user.has_mfa or mfa_enforced(home))
        new = await identity.new_session(user, home, info, mfa_passed=passed)
        # The account's count is reset only once the whole sign-in succeeded: a password
        # alone must not buy more guesses at the second factor. A right password is no
        # failure either way, so the attempt counted for it is given back.
        limiter = Throttle(session, self.settings)
        if passed or not user.has_mfa:
            await limiter.reset(throttle.account_key(email))
            await limiter.refund([k for k in keys if k != throttle.account_key(email)])
            await self._record_sign_in(session, user, home, info, factor, new)
        else:
            await limiter.refund(keys)
        enrol_by = None if user.has_mfa else mfa_grace_until(home)
        return SignInResult(status_of(new.principal), new, enrol_by)

    # --- second step -------------------------------------------------------------------

    async def second_step(self, principal: Principal, code: str, info: RequestInfo) -> SignInResult:
        """The code (or a recovery code) after the password: the session is replaced by a
        full one with a new token."""
        if principal.session_id is None:
            raise Conflict("The second step finishes a browser sign-in; API tokens need none.")
        if principal.mfa_passed:
            raise Conflict("You are already signed in.")
        if not principal.has_mfa:
            raise Conflict("No authenticator app is set up for this account; set one up instead.")
        keys = self._keys(principal.email, info)
        await self._reserve(keys)
        failure: TenantryError | None = None
        result: SignInResult | None = None
        async with self.db.unit_of_work(self_scope(principal)) as session:
            identity = IdentityService(session, self.settings)
            user, home = await identity.me(principal)
            try:
                factor = await MfaService(session).check_second_factor(user, code)
            except ValidationFailed as exc:
                failure = exc
                await self._record_failure(
                    session, principal.email, user, home, keys, "second_factor", info
                )
            else:
                new = await identity.replace_session(principal, user, home, info)
                limiter = Throttle(session, self.settings)
                account = throttle.account_key(principal.email)
                await limiter.reset(account)
                await limiter.refund([k for k in keys if k != account])
                await self._record_sign_in(session, user, home, info, factor, new)
                result = SignInResult(status_of(new.principal), new)
        if failure is not None:
            raise failure
        assert result is not None
        return result

    # --- changes that ask for the password again ---------------------------------------

    async def change_password(
        self, principal: Principal, *, current: str, new: str, info: RequestInfo
    ) -> int:
        """Returns how many other sessions were ended."""
        require_browser_session(principal)
        if not current:
            raise ValidationFailed("current_password", "must not be empty")
        if new == current:
            raise ValidationFailed("new_password", "must differ from the current password")
        # The new password is judged before the attempt is counted: a weak choice is
        # no guess at the current one.
        check_policy(new, email=principal.email, field="new_password")
        keys = self._keys(principal.email, info)
        await self._reserve(keys)
        failure: TenantryError | None = None
        ended = 0
        async with self.db.unit_of_work(self_scope(principal)) as session:
            identity = IdentityService(session, self.settings)
            user, home = await identity.me(principal)
            if not await anyio.to_thread.run_sync(verify_password, user.password_hash, current):
                failure = ValidationFailed("current_password", "is incorrect")
            else:
                await Throttle(session, self.settings).refund(keys)
                ended = await identity.set_password(
                    user, home, new, actor=user_actor(user, home, info), keep=principal.session_id
                )
        if failure is not None:
            raise failure
        return ended

    async def disable_totp(
        self, principal: Principal, *, password: str | None, code: str | None, info: RequestInfo
    ) -> None:
        """Turning the second factor off needs the password or a code again."""
        require_browser_session(principal)
        async with self.db.platform_reader() as session:
            home = await tenancy.tenant_by_id(session, principal.home_tenant_id)
        if principal.home_requires_mfa or (home is not None and home.require_mfa):
            raise Conflict(
                f"{principal.home_tenant_name} requires a second factor, so it cannot be "
                "turned off."
            )
        if not principal.has_mfa:
            raise Conflict("No authenticator app is set up.")
        if not password and not code:
            raise ValidationFailed(
                "password", "enter your password or a code from your authenticator app"
            )
        keys = self._keys(principal.email, info)
        await self._reserve(keys)
        failure: TenantryError | None = None
        async with self.db.unit_of_work(self_scope(principal)) as session:
            identity = IdentityService(session, self.settings)
            user, home = await identity.me(principal)
            mfa = MfaService(session)
            try:
                if password:
                    if not await anyio.to_thread.run_sync(
                        verify_password, user.password_hash, password
                    ):
                        raise ValidationFailed("password", "is incorrect")
                else:
                    await mfa.check_second_factor(user, code or "", field="code")
            except ValidationFailed as exc:
                failure = exc
            else:
                await Throttle(session, self.settings).refund(keys)
                await mfa.disable(user)
                await audit.record(
                    session,
                    tenant_id=home.id,
                    actor=user_actor(user, home, info),
                    action=AuditAction.MFA_DISABLED,
                    target_type="user",
                    target_id=user.id,
                    target_label=user.email,
                    changes=set_to(confirmed_with="password" if password else "code"),
                )
        if failure is not None:
            raise failure

    # --- invitations -------------------------------------------------------------------

    async def accept_invitation(
        self,
        token: str,
        *,
        display_name: str,
        password: str,
        info: RequestInfo,
        previous_token: str | None,
    ) -> SignInResult:
        """Create the account the invitation offers, and sign the new user in."""
        async with self.db.unit_of_work(NO_SCOPE) as session:
            if previous_token:
                await IdentityService(session, self.settings).revoke_by_token(previous_token)
            new = await InvitationService(session, self.settings).accept(
                token, display_name=display_name, password=password, info=info
            )
            # Accepting signs the new user in: recorded like any other sign-in.
            user, home = await IdentityService(session, self.settings).me_by_ids(
                new.principal.user_id, new.principal.home_tenant_id
            )
            await self._record_sign_in(session, user, home, info, None, new, method="invitation")
        return SignInResult(status_of(new.principal), new)

    # --- helpers -----------------------------------------------------------------------

    @staticmethod
    async def _user_with_home(session: AsyncSession, email: str) -> tuple[User, Tenant] | None:
        user = await repository.user_by_email(session, email)
        home = await tenancy.tenant_by_id(session, user.home_tenant_id) if user else None
        return (user, home) if user is not None and home is not None else None

    def _keys(self, email: str, info: RequestInfo) -> list[str]:
        known = devices.is_known_device(self.settings, info.device, email)
        return throttle.keys_for(email, info.source_address, known_device=known)

    async def _reserve(self, keys: Sequence[str]) -> None:
        """Count the attempt before checking it (see ``Throttle.reserve``); refuse it when
        a key is locked, else wait as long as the failures ask."""
        async with self.db.unit_of_work(NO_SCOPE) as session:
            state = await Throttle(session, self.settings).reserve(keys)
        if state.locked_until is not None:
            raise throttle.too_many(state.locked_until)
        delay = state.delay(self.settings)
        if delay > 0:
            await throttle.sleep(delay)

    async def _failed(
        self,
        email: str,
        found: tuple[User, Tenant] | None,
        keys: Sequence[str],
        reason: str,
        info: RequestInfo,
        *,
        refund: bool = False,
    ) -> None:
        """Record a refused sign-in in a unit of work of its own. It was counted when it
        was reserved; ``refund`` gives the attempt back (it was no wrong guess)."""
        async with self.db.unit_of_work(NO_SCOPE) as session:
            if refund:
                await Throttle(session, self.settings).refund(keys)
            user = home = None
            if found is not None:
                await widen(session, found[1].id, why=Why.SIGN_IN)
                user, home = found
            await self._record_failure(session, email, user, home, keys, reason, info)

    async def _record_failure(
        self,
        session: AsyncSession,
        email: str,
        user: User | None,
        home: Tenant | None,
        keys: Sequence[str],
        reason: str,
        info: RequestInfo,
    ) -> None:
        # The attempt's throttle rows are held while its record is written, so records of
        # parallel attempts are written one after another (on SQLite this first write
        # takes the database's write lock before the audit chain's head is read).
        await Throttle(session, self.settings).hold(keys)
        if user is None or home is None:
            # No tenant to hold the event: the log is the only record.
            log.info(
                "sign-in failed",
                email=email,
                reason=reason,
                source_address=info.source_address,
            )
            return
        await audit.record(
            session,
            tenant_id=home.id,
            actor=anonymous_actor(f"sign-in attempt as {email}", info),
            action=AuditAction.SIGN_IN_FAILED,
            target_type="user",
            target_id=user.id,
            target_label=user.email,
            changes=set_to(reason=reason),
        )

    async def _record_sign_in(
        self,
        session: AsyncSession,
        user: User,
        home: Tenant,
        info: RequestInfo,
        factor: str | None,
        new: NewSession,
        *,
        method: Literal["password", "invitation"] = "password",
    ) -> None:
        """One ``auth.sign_in`` event in the user's home trail: how they signed in
        (``method``) and with which second factor, if any."""
        if factor is None:
            second = "enrolment_required" if mfa_enforced(home) and not user.has_mfa else "none"
        else:
            second = factor
        actor = user_actor(user, home, info)
        await audit.record(
            session,
            tenant_id=home.id,
            actor=actor,
            action=AuditAction.SIGN_IN,
            target_type="session",
            target_id=new.auth_session.id,
            target_label=user.email,
            changes=set_to(method=method, second_factor=second),
        )
        if factor == "recovery_code":
            remaining = await MfaService(session).remaining_codes(user)
            await audit.record(
                session,
                tenant_id=home.id,
                actor=actor,
                action=AuditAction.RECOVERY_CODE_USED,
                target_type="user",
                target_id=user.id,
                target_label=user.email,
                changes=set_to(remaining=remaining),
            )
