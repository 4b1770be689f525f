"""Identity pages: sign-in (and its second step), sign-out, the account security page,
authenticator enrolment, invitations (send, list, revoke, accept) and the home security
policy. Thin: the rules live in the services; here errors become messages next to the
field they name, with the input kept (passwords excepted)."""

from __future__ import annotations

from fastapi import APIRouter

from tenantry.identity.pages import invitations, policy, security, sign_in
from tenantry.identity.pages.common import safe_next

__all__ = ["router", "safe_next"]

router = APIRouter(include_in_schema=False)
for part in (sign_in, security, invitations, policy):
    router.include_router(part.router)
