"""Plain async factories for tests in every domain: tenants, users with a role, API
tokens, and HTTP clients (anonymous or signed in).

Rows are made through the services as the instance operator, so they carry their audit
events exactly as in production. Import with ``from tests.factories import …``.
"""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tenantry.access.models import GrantScope
from tenantry.access.service import create_grant, operator_scope
from tenantry.audit.schemas import OPERATOR
from tenantry.db.engine import Database
from tenantry.identity.models import User
from tenantry.identity.service import IdentityService
from tenantry.tenancy.models import Tenant
from tenantry.tenancy.service import TenancyService

PASSWORD = "correct horse battery staple"
BASE_URL = "http://testserver"


async def make_tenant(
    db: Database,
    slug: str,
    *,
    is_msp: bool = False,
    display_name: str | None = None,
    require_mfa_for_clients: bool = False,
) -> Tenant:
    """A top-level tenant, as ``tenantry tenants create`` makes one, except that an MSP
    does not require a second factor of its staff in clients (as after an upgrade):
    most tests act in clients without one; tests/web/test_mfa_for_clients.py turns
    it on."""
    async with db.unit_of_work(operator_scope([])) as session:
        return await TenancyService(session).create_tenant(
            name=display_name or slug.replace("-", " ").title(),
            display_name=display_name,
            is_msp=is_msp,
            actor=OPERATOR,
            slug=slug,
            require_mfa_for_clients=require_mfa_for_clients,
        )


async def make_user(
    db: Database,
    tenant: Tenant,
    email: str,
    *,
    role: str | None = "admin",
    password: str | None = PASSWORD,
    display_name: str | None = None,
) -> User:
    """A user at home in ``tenant`` with a ``home`` grant of ``role`` (None: no grant)."""
    async with db.unit_of_work(operator_scope([tenant.id])) as session:
        home = await session.get(Tenant, tenant.id)
        assert home is not None
        user = await IdentityService(session, db.settings).create_user(
            home=home,
            email=email,
            display_name=display_name or email.split("@")[0].replace(".", " ").title(),
            password=password,
            actor=OPERATOR,
        )
        if role is not None:
            await create_grant(
                session,
                issuer_tenant_id=home.id,
                user_id=user.id,
                role=role,
                scope=GrantScope.HOME,
                actor=OPERATOR,
            )
        return user


async def api_token(db: Database, user: User, *, days: int | None = 1, name: str = "tests") -> str:
    """A personal API token of ``user``; returns the secret (send as Bearer)."""
    async with db.unit_of_work(operator_scope([user.home_tenant_id])) as session:
        account = await session.get(User, user.id)
        assert account is not None
        secret, _ = await IdentityService(session, db.settings).create_api_token(
            account, name=name, expires_in_days=days, actor=OPERATOR
        )
    return secret


def client(
    app: FastAPI, *, address: str = "127.0.0.1", base_url: str = BASE_URL
) -> httpx.AsyncClient:
    """An anonymous client of the app, calling from ``address`` (the caller closes it,
    e.g. ``async with``)."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(address, 50000)), base_url=base_url
    )


async def signed_in_client(
    app: FastAPI,
    email: str,
    password: str = PASSWORD,
    *,
    totp_code: str | None = None,
    address: str = "127.0.0.1",
) -> httpx.AsyncClient:
    """A client holding a session cookie, with its CSRF token as a default header so
    unsafe API requests pass. Fails the test when the sign-in is refused. A user with a
    second factor and no ``totp_code`` gets a session still waiting for it. Use as
    ``async with await signed_in_client(...) as c:``."""
    body: dict[str, str] = {"email": email, "password": password}
    if totp_code is not None:
        body["totp_code"] = totp_code
    async with client(app, address=address) as signing:
        response = await signing.post("/api/v1/auth/sign-in", json=body)
    if response.status_code != 200:
        raise AssertionError(f"sign-in as {email} failed: {response.status_code} {response.text}")
    # A fresh, unopened client with the cookie, so callers may use ``async with``.
    browser = client(app, address=address)
    browser.cookies.update(signing.cookies)
    browser.headers["x-csrf-token"] = response.json()["me"]["csrf_token"]
    return browser
