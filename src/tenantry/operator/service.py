"""Operator tokens: create (the secret is shown once), list, revoke, and the token
behind a bearer secret. Hashed like users' API tokens (identity/tokens.py)."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.audit.schemas import Actor
from tenantry.db.base import utcnow
from tenantry.errors import NotAuthenticated, NotFound, ValidationFailed
from tenantry.identity.service import RequestInfo
from tenantry.identity.tokens import digest
from tenantry.operator import repository
from tenantry.operator.models import OperatorToken

OPERATOR_TOKEN_PREFIX = "tnop_"  # noqa: S105 - a visible marker, not a secret


def operator_actor(token: OperatorToken, info: RequestInfo) -> Actor:
    """The actor of a change made through the operator API: names the token used, and
    the request (id, address, agent) like any other change made over HTTP."""
    return Actor(
        user_id=None,
        name=f"instance operator (token {token.name}, {token.prefix})",
        explanation=f"operator: operator token {token.id}",
        request_id=info.request_id,
        source_address=info.source_address,
        user_agent=info.user_agent,
    )


class OperatorTokenService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(self, name: str, *, days: int | None) -> tuple[str, OperatorToken]:
        name = " ".join(name.split())
        if not name:
            raise ValidationFailed("name", "must not be empty")
        if len(name) > 100:
            raise ValidationFailed("name", "must be at most 100 characters long")
        if days is not None and not 1 <= days <= 366:
            raise ValidationFailed("days", "must be between 1 and 366")
        secret = OPERATOR_TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = utcnow()
        token = OperatorToken(
            name=name,
            prefix=secret[:12],
            token_hash=digest(secret),
            created_at=now,
            expires_at=now + timedelta(days=days) if days else None,
        )
        self.session.add(token)
        await self.session.flush()
        return secret, token

    async def list(self) -> Sequence[OperatorToken]:
        return await repository.every(self.session)

    async def revoke(self, token_id: str) -> OperatorToken:
        try:
            parsed = uuid.UUID(token_id.strip())
        except ValueError:
            raise ValidationFailed("id", "is not an operator token id") from None
        token = await repository.by_id(self.session, parsed)
        if token is None or token.revoked_at is not None:
            raise NotFound(f"no live operator token {parsed} (see `tenantry operator tokens list`)")
        token.revoked_at = utcnow()
        await self.session.flush()
        return token

    async def authenticate(self, secret: str) -> OperatorToken:
        """The live token behind ``secret``; a user's API token is not one (401)."""
        if not secret.startswith(OPERATOR_TOKEN_PREFIX):
            raise NotAuthenticated("An operator token is required.")
        token = await repository.by_hash(self.session, digest(secret))
        if token is None:
            raise NotAuthenticated("The operator token is not valid.")
        if token.revoked_at is not None or (
            token.expires_at is not None and token.expires_at <= utcnow()
        ):
            raise NotAuthenticated("The operator token has expired or was revoked.")
        return token
