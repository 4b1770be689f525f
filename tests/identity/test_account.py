"""The caller's own account through the API: personal API tokens and the password."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.db.base import utcnow
from tenantry.db.engine import Database
from tenantry.identity.models import ApiToken, SignInThrottle, User
from tenantry.tenancy.models import Tenant
from tests.factories import PASSWORD, api_token, client, signed_in_client

from .conftest import ALEX, actions, change, count, one

NEW_PASSWORD = "a brand new passphrase"


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def test_a_token_is_shown_once_and_works_as_me(
    app: FastAPI, alex: User, msp: Tenant, owner_engine: AsyncEngine
) -> None:
    async with await signed_in_client(app, ALEX) as browser:
        created = await browser.post(
            "/api/v1/me/tokens", json={"name": "  backup   script ", "expires_in_days": 30}
        )
        assert created.status_code == 201, created.text
        body = created.json()
        secret = body["secret"]
        assert secret.startswith("tnt_") and secret.startswith(body["prefix"])
        assert body["name"] == "backup script"
        listed = (await browser.get("/api/v1/me/tokens")).json()["items"]
        assert [t["name"] for t in listed] == ["backup script"]
        assert "secret" not in listed[0]
        assert listed[0]["last_used_at"] is None
    async with client(app) as script:
        me = await script.get("/api/v1/me", headers=bearer(secret))
        assert me.status_code == 200
        assert me.json()["auth_method"] == "token"
        assert me.json()["token_id"] == body["id"]
    last_used = await one(owner_engine, select(ApiToken.last_used_at))
    assert last_used is not None
    assert "auth.token_created" in await actions(owner_engine, msp.id)


async def test_tokens_default_to_the_instance_expiry(app: FastAPI, alex: User) -> None:
    async with await signed_in_client(app, ALEX) as browser:
        body = (await browser.post("/api/v1/me/tokens", json={"name": "ci"})).json()
    from datetime import datetime

    created = datetime.fromisoformat(body["created_at"])
    expires = datetime.fromisoformat(body["expires_at"])
    assert expires - created == timedelta(days=90)


async def test_bad_token_input_names_the_field_and_creates_nothing(
    app: FastAPI, alex: User, owner_engine: AsyncEngine
) -> None:
    async with await signed_in_client(app, ALEX) as browser:
        for body, field in (
            ({"name": "   "}, "name"),
            ({"name": "x" * 101}, "name"),
            ({"name": "ok", "expires_in_days": 0}, "expires_in_days"),
            ({"name": "ok", "expires_in_days": 367}, "expires_in_days"),
            ({"name": "ok", "expires_in_days": "soon"}, "expires_in_days"),
        ):
            response = await browser.post("/api/v1/me/tokens", json=body)
            assert response.status_code == 422, body
            assert response.json()["errors"][0]["field"] == field
    assert await count(owner_engine, ApiToken) == 0


async def test_an_expired_or_revoked_token_is_refused(
    app: FastAPI, database: Database, alex: User, owner_engine: AsyncEngine
) -> None:
    expiring = await api_token(database, alex, name="expiring")
    revoked = await api_token(database, alex, name="revoked")
    await change(
        owner_engine,
        update(ApiToken).where(ApiToken.name == "expiring").values(expires_at=utcnow()),
    )
    async with await signed_in_client(app, ALEX) as browser:
        listed = (await browser.get("/api/v1/me/tokens")).json()["items"]
        by_name = {t["name"]: t for t in listed}
        assert by_name["expiring"]["expired"] is True
        gone = await browser.delete(f"/api/v1/me/tokens/{by_name['revoked']['id']}")
        assert gone.status_code == 204
        assert [t["name"] for t in (await browser.get("/api/v1/me/tokens")).json()["items"]] == [
            "expiring"
        ]
        again = await browser.delete(f"/api/v1/me/tokens/{by_name['revoked']['id']}")
        assert again.status_code == 404
    async with client(app) as script:
        for secret in (expiring, revoked, "tnt_made_up"):
            response = await script.get("/api/v1/me", headers=bearer(secret))
            assert response.status_code == 401


async def test_a_token_cannot_mint_tokens_or_change_credentials(
    app: FastAPI, database: Database, alex: User
) -> None:
    secret = await api_token(database, alex)
    async with client(app, base_url="http://testserver") as script:
        script.headers.update(bearer(secret))
        made = await script.post("/api/v1/me/tokens", json={"name": "more"})
        assert made.status_code == 403
        password = await script.post(
            "/api/v1/me/password",
            json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        )
        assert password.status_code == 403
        assert (await script.get("/api/v1/me/tokens")).status_code == 200


async def test_changing_the_password_ends_the_other_sessions(
    app: FastAPI, alex: User, msp: Tenant, owner_engine: AsyncEngine
) -> None:
    async with (
        await signed_in_client(app, ALEX) as laptop,
        await signed_in_client(app, ALEX) as phone,
    ):
        response = await laptop.post(
            "/api/v1/me/password",
            json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        )
        assert response.status_code == 200, response.text
        assert response.json() == {"other_sessions_ended": 1}
        assert (await laptop.get("/api/v1/me")).status_code == 200
        assert (await phone.get("/api/v1/me")).status_code == 401
    async with client(app) as browser:
        old = await browser.post("/api/v1/auth/sign-in", json={"email": ALEX, "password": PASSWORD})
        new = await browser.post(
            "/api/v1/auth/sign-in", json={"email": ALEX, "password": NEW_PASSWORD}
        )
    assert (old.status_code, new.status_code) == (401, 200)
    changed = await actions(owner_engine, msp.id)
    assert "auth.password_changed" in changed


async def test_a_bad_password_change_names_the_field_and_changes_nothing(
    app: FastAPI, alex: User, owner_engine: AsyncEngine
) -> None:
    before = await one(owner_engine, select(User.password_hash))
    async with await signed_in_client(app, ALEX) as browser:
        for body, field in (
            (
                {"current_password": "wrong password!", "new_password": NEW_PASSWORD},
                "current_password",
            ),
            ({"current_password": PASSWORD, "new_password": "short"}, "new_password"),
            ({"current_password": PASSWORD, "new_password": ALEX}, "new_password"),
            ({"current_password": PASSWORD, "new_password": PASSWORD}, "new_password"),
            ({"current_password": "", "new_password": NEW_PASSWORD}, "current_password"),
        ):
            response = await browser.post("/api/v1/me/password", json=body)
            assert response.status_code == 422, (body, response.text)
            assert response.json()["errors"][0]["field"] == field
    assert await one(owner_engine, select(User.password_hash)) == before
    # A wrong current password counts like a failed sign-in (a stolen session cannot guess).
    failures = await one(
        owner_engine,
        select(SignInThrottle.failures).where(SignInThrottle.key == f"account:{ALEX}"),
    )
    assert failures == 1
