"""Personal API tokens: the principal behind a bearer token, creating (the secret is
shown once), listing and revoking them."""

from __future__ import annotations

import uuid
from datetime import timedelta

from tenantry.access.context import Principal
from tenantry.audit import service as audit
from tenantry.audit.changes import set_to
from tenantry.audit.schemas import Actor, AuditAction
from tenantry.db.base import utcnow
from tenantry.db.reads import AlsoRead
from tenantry.errors import NotAuthenticated, NotFound, ValidationFailed
from tenantry.identity import repository
from tenantry.identity.common import (
    IdentityBase,
    ensure_home_active,
    principal_of,
    require_browser_session,
)
from tenantry.identity.models import ApiToken, User
from tenantry.identity.tokens import digest, new_api_token
from tenantry.tenancy import service as tenancy


class TokenService(IdentityBase):
    async def principal_from_api_token(
        self, token: str, also: AlsoRead | None = None
    ) -> tuple[Principal, ApiToken]:
        found = await repository.token_with_user(
            self.session, digest(token), tenancy.joined_tenant(User.home_tenant_id), also
        )
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
            changes=set_to(name=name, expires_at=api_token.expires_at),
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

    async def revoke_token(
        self, principal: Principal, token_id: uuid.UUID, *, actor: Actor
    ) -> None:
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
            changes=set_to(revoked_at=found.revoked_at),
        )
