"""Invitations: an admin invites by email with a role; the person accepts once, before
the link expires, and lands at home in the tenant with that role."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.access.models import Grant, GrantScope
from tenantry.config import Settings
from tenantry.db.base import utcnow
from tenantry.db.engine import Database
from tenantry.identity import invitations as invitations_module
from tenantry.identity.models import Invitation, User
from tenantry.kit.mail import MailError
from tenantry.tenancy.models import Tenant
from tests.factories import client, make_tenant, make_user, signed_in_client

from .conftest import ALEX, actions, app_with, change, count, events, rows

NEW = "nina@northwind.example"
NEW_PASSWORD = "nina's long passphrase"


async def invite(app: FastAPI, email: str = NEW, role: str = "technician") -> dict[str, Any]:
    async with await signed_in_client(app, ALEX) as admin:
        response = await admin.post(
            "/api/v1/tenants/northwind/invitations", json={"email": email, "role": role}
        )
    assert response.status_code == 201, response.text
    return dict(response.json())


def token_of(link: str) -> str:
    return link.rsplit("/", 1)[1]


async def accept(app: FastAPI, token: str, name: str = "Nina New") -> Any:
    async with client(app) as browser:
        return await browser.post(
            f"/api/v1/invitations/{token}/accept",
            json={"display_name": name, "password": NEW_PASSWORD},
        )


async def test_invite_accept_and_work_with_the_role(
    app: FastAPI, alex: User, msp: Tenant, owner_engine: AsyncEngine, settings: Settings
) -> None:
    created = await invite(app)
    assert created["status"] == "pending"
    assert created["delivery"] == "logged"  # no SMTP configured: the admin passes it on
    assert created["invited_by"] == "Alex Admin"
    assert created["link"].startswith(f"{settings.base_url}/invite/")
    token = token_of(created["link"])
    async with client(app) as browser:
        offer = await browser.get(f"/api/v1/invitations/{token}")
        assert offer.status_code == 200
        assert offer.json()["tenant_display_name"] == "Northwind IT"
        assert offer.json()["role_name"] == "Technician"
        response = await browser.post(
            f"/api/v1/invitations/{token}/accept",
            json={"display_name": "Nina New", "password": NEW_PASSWORD},
        )
        assert response.status_code == 201, response.text
        assert response.json()["status"] == "signed_in"
        assert response.json()["me"]["user"]["email"] == NEW
        # Signed in straight away, with the invited role at home.
        tickets = await browser.get("/api/v1/tenants/northwind")
        assert tickets.status_code == 200
    user_id, home = (
        await rows(owner_engine, select(User.id, User.home_tenant_id).where(User.email == NEW))
    )[0]
    assert home == msp.id
    grants = await rows(
        owner_engine, select(Grant.role, Grant.scope).where(Grant.user_id == user_id)
    )
    assert [(g[0], GrantScope(g[1])) for g in grants] == [("technician", GrantScope.HOME)]
    trail = await actions(owner_engine, msp.id)
    for action in (
        "user.invited",
        "user.created",
        "access.grant_created",
        "user.invitation_accepted",
    ):
        assert action in trail
    granted = (await events(owner_engine, msp.id, "access.grant_created"))[-1]
    assert granted.actor_user_id == alex.id  # the inviter's decision
    # Accepting signed Nina in: recorded as her sign-in, like a password sign-in.
    [signed] = [
        e for e in await events(owner_engine, msp.id, "auth.sign_in") if e.actor_user_id == user_id
    ]
    assert signed.changes == {"method": [None, "invitation"], "second_factor": [None, "none"]}
    assert (signed.target_type, signed.target_label) == ("session", NEW)
    assert signed.actor_home_tenant_id == msp.id
    assert signed.source_address == "127.0.0.1"
    assert signed.request_id
    assert trail.index("user.invitation_accepted") < len(trail) - 1
    assert trail[-1] == "auth.sign_in"
    # The link worked once.
    again = await accept(app, token, "Someone Else")
    assert again.status_code == 410
    assert "already used" in again.json()["detail"]


async def test_pending_invitations_are_listed_and_can_be_withdrawn(
    app: FastAPI, alex: User, msp: Tenant, owner_engine: AsyncEngine
) -> None:
    first = await invite(app, "one@northwind.example")
    await invite(app, "two@northwind.example", "read_only")
    async with await signed_in_client(app, ALEX) as admin:
        listed = (await admin.get("/api/v1/tenants/northwind/invitations?limit=1")).json()
        assert [i["email"] for i in listed["items"]] == ["two@northwind.example"]
        rest = (
            await admin.get(
                f"/api/v1/tenants/northwind/invitations?limit=1&cursor={listed['next_cursor']}"
            )
        ).json()
        assert [i["email"] for i in rest["items"]] == ["one@northwind.example"]
        assert rest["next_cursor"] is None
        assert "link" not in rest["items"][0]
        withdrawn = await admin.delete(f"/api/v1/tenants/northwind/invitations/{first['id']}")
        assert withdrawn.status_code == 204
        twice = await admin.delete(f"/api/v1/tenants/northwind/invitations/{first['id']}")
        assert twice.status_code == 409
        after = (await admin.get("/api/v1/tenants/northwind/invitations")).json()["items"]
        assert [i["email"] for i in after] == ["two@northwind.example"]
    response = await accept(app, token_of(first["link"]))
    assert response.status_code == 410
    assert "withdrawn" in response.json()["detail"]
    assert "user.invitation_revoked" in await actions(owner_engine, msp.id)


async def test_an_expired_invitation_is_refused(
    app: FastAPI, alex: User, owner_engine: AsyncEngine
) -> None:
    created = await invite(app)
    await change(owner_engine, update(Invitation).values(expires_at=utcnow()))
    response = await accept(app, token_of(created["link"]))
    assert response.status_code == 410
    assert "expired" in response.json()["detail"]
    assert await count(owner_engine, User, User.email == NEW) == 0
    async with client(app) as browser:
        assert (
            await browser.get(f"/api/v1/invitations/{token_of(created['link'])}")
        ).status_code == 410
        assert (await browser.get("/api/v1/invitations/made-up")).status_code == 404


async def test_bad_acceptance_names_the_field_and_keeps_the_link_usable(
    app: FastAPI, alex: User, owner_engine: AsyncEngine
) -> None:
    token = token_of((await invite(app))["link"])
    async with client(app) as browser:
        for body, field in (
            ({"display_name": "  ", "password": NEW_PASSWORD}, "display_name"),
            ({"display_name": "Nina", "password": "short"}, "password"),
            ({"display_name": "Nina"}, "password"),
        ):
            response = await browser.post(f"/api/v1/invitations/{token}/accept", json=body)
            assert response.status_code == 422, response.text
            assert response.json()["errors"][0]["field"] == field
    assert await count(owner_engine, User, User.email == NEW) == 0
    assert (await accept(app, token)).status_code == 201


async def test_inviting_needs_users_manage_and_cannot_hand_out_more(
    app: FastAPI, database: Database, alex: User, msp: Tenant, owner_engine: AsyncEngine
) -> None:
    await make_user(database, msp, "tina@northwind.example", role="technician")
    async with await signed_in_client(app, "tina@northwind.example") as tina:
        refused = await tina.post(
            "/api/v1/tenants/northwind/invitations", json={"email": NEW, "role": "read_only"}
        )
        assert refused.status_code == 403
        assert refused.json()["permission"] == "users:manage"
    async with await signed_in_client(app, ALEX) as admin:
        # An admin lacks billing:manage, so cannot make an owner.
        owner = await admin.post(
            "/api/v1/tenants/northwind/invitations", json={"email": NEW, "role": "owner"}
        )
        assert owner.status_code == 422
        assert owner.json()["errors"][0]["field"] == "role"
        for body, field in (
            ({"email": "not an email", "role": "technician"}, "email"),
            ({"email": NEW, "role": "wizard"}, "role"),
        ):
            response = await admin.post("/api/v1/tenants/northwind/invitations", json=body)
            assert response.status_code == 422
            assert response.json()["errors"][0]["field"] == field
        existing = await admin.post(
            "/api/v1/tenants/northwind/invitations", json={"email": ALEX, "role": "technician"}
        )
        assert existing.status_code == 409
        assert existing.json()["errors"][0]["field"] == "email"
    assert await count(owner_engine, Invitation) == 0
    await invite(app)
    async with await signed_in_client(app, ALEX) as admin:
        duplicate = await admin.post(
            "/api/v1/tenants/northwind/invitations", json={"email": NEW, "role": "technician"}
        )
        assert duplicate.status_code == 409


async def test_another_tenants_invitations_are_not_found(
    app: FastAPI, database: Database, alex: User
) -> None:
    globex = await make_tenant(database, "globex", is_msp=True)
    await make_user(database, globex, "gary@globex.example")
    await invite(app)
    async with await signed_in_client(app, "gary@globex.example") as gary:
        response = await gary.get("/api/v1/tenants/northwind/invitations")
        assert response.status_code == 404


async def test_an_msp_invites_into_its_customer(
    app: FastAPI, alex: User, owner_engine: AsyncEngine
) -> None:
    async with await signed_in_client(app, ALEX) as admin:
        made = await admin.post("/api/v1/tenants/northwind/customers", json={"name": "Contoso"})
        assert made.status_code == 201, made.text
        contoso = uuid.UUID(made.json()["id"])
        response = await admin.post(
            "/api/v1/tenants/contoso/invitations",
            json={"email": "carol@contoso.example", "role": "admin"},
        )
        assert response.status_code == 201, response.text
    accepted = await accept(app, token_of(response.json()["link"]), "Carol")
    assert accepted.status_code == 201
    assert accepted.json()["me"]["home_tenant"]["slug"] == "contoso"
    invited = (await events(owner_engine, contoso, "user.invited"))[0]
    assert invited.actor_user_id == alex.id
    assert invited.via_link_id is not None  # the customer sees which link allowed it


async def test_invitations_are_mailed_when_smtp_is_configured(
    database: Database,
    settings: Settings,
    alex: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[dict[str, str]] = []

    async def fake_send(_settings: Settings, *, to: str, subject: str, body: str) -> None:
        sent.append({"to": to, "subject": subject, "body": body})

    monkeypatch.setattr(invitations_module, "send_mail", fake_send)
    app = app_with(database, settings, smtp_host="mail.example.internal")
    created = await invite(app)
    assert created["delivery"] == "sent"
    assert sent[0]["to"] == NEW
    assert created["link"] in sent[0]["body"]
    assert "Northwind IT" in sent[0]["subject"]

    async def broken(_settings: Settings, **_: str) -> None:
        raise MailError("connection refused")

    monkeypatch.setattr(invitations_module, "send_mail", broken)
    failed = await invite(app, "other@northwind.example")
    assert failed["delivery"] == "failed"  # the invitation stands; the admin passes it on
