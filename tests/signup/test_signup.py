"""MSP self sign-up through the API with a real local SMTP server: the request, the mailed
link, the MSP tenant with its Owner; and every refusal (used or expired link, taken or
reserved slug, bad input, the rate limits, sign-up turned off) changing nothing."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.config import Settings
from tenantry.db.base import utcnow
from tenantry.db.engine import Database
from tenantry.signup.models import SignupRequest
from tenantry.signup.service import network_of
from tests.factories import client, make_tenant, make_user
from tests.harness.mailbox import Mailbox

from .conftest import (
    ANNA,
    PASSPHRASE,
    app_with,
    ask,
    digest,
    signups,
    tenants,
    token_in,
    trail,
)


async def test_a_signed_up_msp_exists_with_its_owner_signed_in(
    app: FastAPI, mailbox: Mailbox, owner_engine: AsyncEngine
) -> None:
    asked = await ask(app)
    assert asked.status_code == 202, asked.text
    assert "link" in asked.json()["detail"]
    [mail] = mailbox.to(ANNA)
    assert "Acme IT Services" in str(mail["Subject"])
    token = token_in(mailbox)
    # Only the digest of the link's secret is stored.
    [pending] = await signups(owner_engine)
    assert pending.token_hash == digest(token) and token not in pending.token_hash
    assert (pending.slug, pending.verified_at) == ("acme-it-services", None)

    async with client(app) as anna:
        preview = await anna.get(f"/api/v1/signup/{token}")
        assert preview.status_code == 200, preview.text
        assert preview.json()["slug"] == "acme-it-services"
        done = await anna.post(f"/api/v1/signup/{token}/verify", json={"password": PASSPHRASE})
        assert done.status_code == 201, done.text
        assert done.json()["slug"] == "acme-it-services"
        me = (await anna.get("/api/v1/me")).json()
        assert me["user"]["email"] == ANNA
        assert me["home_tenant"]["slug"] == "acme-it-services"
        # Owner of an MSP: it may create its first client.
        made = await anna.post(
            "/api/v1/tenants/acme-it-services/customers",
            json={"name": "First Client"},
            headers={"x-csrf-token": me["csrf_token"]},
        )
        assert made.status_code == 201, made.text

    acme = (await tenants(owner_engine))["acme-it-services"]
    assert acme.is_msp and acme.display_name == "Acme IT Services"
    actions = [e.action for e in await trail(owner_engine, acme)]
    assert actions[:7] == [
        "tenant.created",
        "signup.requested",
        "tenant.license_changed",
        "user.created",
        "access.grant_created",
        "signup.verified",
        "auth.sign_in",
    ]
    # And the admin signs in again later with the password she chose.
    async with client(app) as later:
        again = await later.post(
            "/api/v1/auth/sign-in", json={"email": ANNA, "password": PASSPHRASE}
        )
    assert again.status_code == 200, again.text


async def test_a_link_works_once(app: FastAPI, mailbox: Mailbox, owner_engine: AsyncEngine) -> None:
    await ask(app)
    token = token_in(mailbox)
    async with client(app) as anna:
        first = await anna.post(f"/api/v1/signup/{token}/verify", json={"password": PASSPHRASE})
        assert first.status_code == 201, first.text
        again = await anna.post(f"/api/v1/signup/{token}/verify", json={"password": PASSPHRASE})
        assert again.status_code == 410, again.text
        assert again.json()["reason"] == "used"
        assert (await anna.get(f"/api/v1/signup/{token}")).status_code == 410
    assert list(await tenants(owner_engine)) == ["acme-it-services"]


async def test_an_expired_link_is_refused(
    app: FastAPI, mailbox: Mailbox, owner_engine: AsyncEngine
) -> None:
    await ask(app)
    token = token_in(mailbox)
    async with owner_engine.begin() as conn:
        await conn.execute(update(SignupRequest).values(expires_at=utcnow() - timedelta(minutes=1)))
    async with client(app) as anna:
        done = await anna.post(f"/api/v1/signup/{token}/verify", json={"password": PASSPHRASE})
    assert done.status_code == 410, done.text
    assert done.json()["reason"] == "expired"
    assert await tenants(owner_engine) == {}


async def test_an_unknown_link_and_a_weak_password_change_nothing(
    app: FastAPI, mailbox: Mailbox, owner_engine: AsyncEngine
) -> None:
    await ask(app)
    token = token_in(mailbox)
    async with client(app) as anna:
        unknown = await anna.post("/api/v1/signup/nope/verify", json={"password": PASSPHRASE})
        assert unknown.status_code == 404
        weak = await anna.post(f"/api/v1/signup/{token}/verify", json={"password": "short"})
        assert weak.status_code == 422
        assert weak.json()["errors"][0]["field"] == "password"
        # The link is still good.
        assert (await anna.get(f"/api/v1/signup/{token}")).status_code == 200
    assert await tenants(owner_engine) == {}
    [pending] = await signups(owner_engine)
    assert pending.verified_at is None


async def test_taken_and_reserved_slugs_are_refused_naming_the_slug(
    app: FastAPI, mailbox: Mailbox, database: Database, owner_engine: AsyncEngine
) -> None:
    await make_tenant(database, "acme-it-services", display_name="Acme (the first)")
    for changes in ({}, {"slug": "admin"}, {"slug": "signup"}, {"slug": "www"}):
        refused = await ask(app, **changes)
        assert refused.status_code == 422, (changes, refused.text)
        assert [e["field"] for e in refused.json()["errors"]] == ["slug"]
    # Someone else's sign-up still waiting for its link holds its slug too.
    assert (await ask(app, slug="acme-two")).status_code == 202
    other = await ask(app, slug="acme-two", email="other@else.example")
    assert other.status_code == 422 and other.json()["errors"][0]["field"] == "slug"
    assert [s.slug for s in await signups(owner_engine)] == ["acme-two"]
    assert [str(m["To"]) for m in mailbox.messages] == [ANNA]


async def test_bad_input_names_the_field_and_changes_nothing(
    app: FastAPI, mailbox: Mailbox, owner_engine: AsyncEngine
) -> None:
    for changes, field in (
        ({"organisation": "  "}, "organisation"),
        ({"admin_name": ""}, "admin_name"),
        ({"email": "not-an-address"}, "email"),
        ({"slug": "-bad-"}, "slug"),
        ({"slug": "Has Spaces"}, "slug"),
        ({"organisation": "!!!"}, "slug"),
    ):
        refused = await ask(app, **changes)
        assert refused.status_code == 422, (changes, refused.text)
        assert refused.json()["errors"][0]["field"] == field, refused.text
    missing = await ask(app, email=None)
    assert missing.status_code == 422
    assert await signups(owner_engine) == []
    assert mailbox.messages == []


async def test_the_answer_does_not_tell_whether_the_address_has_an_account(
    app: FastAPI, mailbox: Mailbox, database: Database, owner_engine: AsyncEngine
) -> None:
    home = await make_tenant(database, "elsewhere", display_name="Elsewhere")
    await make_user(database, home, "known@acme.example", role="owner")
    known = await ask(app, email="known@acme.example", slug="acme-known")
    unknown = await ask(app, email="new@acme.example", slug="acme-new")
    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
    # The known address is told by mail that it has an account; nothing is pending for it.
    [told] = mailbox.to("known@acme.example")
    assert "already has an account" in told.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert [s.email for s in await signups(owner_engine)] == ["new@acme.example"]


async def test_requests_are_limited_per_address_and_per_network(
    database: Database, settings: Settings, mailbox: Mailbox, owner_engine: AsyncEngine
) -> None:
    app = app_with(database, settings, mailbox, signup_email_limit=2, signup_network_limit=3)
    # Per email address: the third request within the window is refused.
    assert (await ask(app, address="198.51.100.1")).status_code == 202
    assert (await ask(app, address="198.51.100.1")).status_code == 202
    third = await ask(app, address="203.0.113.9")
    assert third.status_code == 429, third.text
    assert int(third.headers["retry-after"]) > 0
    # Per network (/24): other addresses of one network share one count.
    for n, address in enumerate(("192.0.2.1", "192.0.2.77", "192.0.2.200")):
        ok = await ask(app, address=address, email=f"p{n}@acme.example", slug=f"acme-{n}")
        assert ok.status_code == 202, ok.text
    crowded = await ask(app, address="192.0.2.5", email="p9@acme.example", slug="acme-9")
    assert crowded.status_code == 429 and "retry-after" in crowded.headers
    # Another network is not held back by that one.
    free = await ask(app, address="192.0.3.5", email="p9@acme.example", slug="acme-9")
    assert free.status_code == 202, free.text
    assert "p9@acme.example" in {s.email for s in await signups(owner_engine)}


def test_a_network_is_a_slash_24_or_a_slash_64() -> None:
    assert network_of("203.0.113.77") == "203.0.113.0/24"
    assert network_of("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"


async def test_turned_off_sign_up_is_not_there(
    database: Database, settings: Settings, mailbox: Mailbox, owner_engine: AsyncEngine
) -> None:
    app = app_with(database, settings, mailbox, signup_enabled=False)
    async with client(app) as anonymous:
        for method, url in (
            ("GET", "/signup"),
            ("POST", "/signup"),
            ("GET", "/signup/verify/abc"),
            ("POST", "/api/v1/signup"),
            ("GET", "/api/v1/signup/abc"),
            ("POST", "/api/v1/signup/abc/verify"),
        ):
            body = {"json": {"organisation": "Acme", "admin_name": "A", "email": ANNA}}
            if url.endswith("/verify"):
                body = {"json": {"password": PASSPHRASE}}
            answer = await anonymous.request(method, url, **(body if "api" in url else {}))
            assert answer.status_code == 404, (method, url, answer.text)
    assert await signups(owner_engine) == []
    assert mailbox.messages == []
