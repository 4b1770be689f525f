"""The identity pages as a browser uses them: forms with their CSRF tokens, errors next
to the field with the input kept, redirects that keep ``next``, the second step, the
account security page and enrolment."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.identity.models import ApiToken, User
from tenantry.tenancy.models import Tenant
from tests.factories import PASSWORD, client

from .conftest import ALEX, change, code, count, one

HTML = {"accept": "text/html"}


def hidden(html: str, name: str = "csrf_token") -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no {name} in the page"
    return found.group(1)


async def sign_in(browser: httpx.AsyncClient, next_url: str = "/") -> httpx.Response:
    page = await browser.get(f"/sign-in?next={next_url}", headers=HTML)
    return await browser.post(
        "/sign-in",
        data={
            "email": ALEX,
            "password": PASSWORD,
            "csrf_token": hidden(page.text),
            "next": hidden(page.text, "next"),
        },
        headers=HTML,
    )


async def test_sign_in_page_signs_in_and_keeps_next(app: FastAPI, alex: User) -> None:
    async with client(app) as browser:
        page = await browser.get("/sign-in?next=/account/security", headers=HTML)
        assert page.status_code == 200
        assert '<label for="email">Email</label>' in page.text
        assert '<label for="password">Password</label>' in page.text
        assert "tenantry_form=" in page.headers["set-cookie"]
        response = await sign_in(browser, "/account/security")
        assert response.status_code == 303
        assert response.headers["location"] == "/account/security"
        assert browser.cookies.get("tenantry_session")
        security = await browser.get("/account/security", headers=HTML)
        assert security.status_code == 200
        assert "Account security" in security.text
        # Signed in already: the sign-in page moves on.
        again = await browser.get("/sign-in?next=/account/security", headers=HTML)
        assert again.status_code == 303


async def test_sign_in_errors_keep_the_email_and_never_leave_the_site(
    app: FastAPI, alex: User
) -> None:
    async with client(app) as browser:
        page = await browser.get("/sign-in?next=https://evil.example/", headers=HTML)
        assert hidden(page.text, "next") == "/"
        wrong = await browser.post(
            "/sign-in",
            data={
                "email": ALEX,
                "password": "wrong password!",
                "csrf_token": hidden(page.text),
                "next": "//evil.example",
            },
            headers=HTML,
        )
        assert wrong.status_code == 401
        assert "Email or password is incorrect." in wrong.text
        assert f'value="{ALEX}"' in wrong.text
        assert hidden(wrong.text, "next") == "/"
        bad = await browser.post(
            "/sign-in",
            data={"email": "nope", "password": "x", "csrf_token": hidden(wrong.text)},
            headers=HTML,
        )
        assert bad.status_code == 422
        assert 'aria-invalid="true"' in bad.text
        assert 'aria-describedby="email-error"' in bad.text
        assert 'id="email-error"' in bad.text
        assert 'value="nope"' in bad.text


async def test_sign_in_form_without_its_token_is_refused(app: FastAPI, alex: User) -> None:
    async with client(app) as browser:
        response = await browser.post(
            "/sign-in",
            data={"email": ALEX, "password": PASSWORD, "csrf_token": "x.y"},
            headers=HTML,
        )
        assert response.status_code == 403
        assert "form expired" in response.text
        assert not browser.cookies.get("tenantry_session")
        # A token made up by another site (no valid signature) fails even if planted.
        browser.cookies.set("tenantry_form", "made.up")
        forged = await browser.post(
            "/sign-in",
            data={"email": ALEX, "password": PASSWORD, "csrf_token": "made.up"},
            headers=HTML,
        )
        assert forged.status_code == 403


async def test_second_step_page(app: FastAPI, alex: User, owner_engine: AsyncEngine) -> None:
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    from tenantry.db.base import utcnow

    await change(
        owner_engine,
        update(User).values(totp_secret=secret, totp_enabled_at=utcnow()),
    )
    async with client(app) as browser:
        response = await sign_in(browser, "/account/security")
        assert response.status_code == 303
        assert response.headers["location"] == "/sign-in/totp?next=/account/security"
        # Anything else sends them back to finish.
        blocked = await browser.get("/account/security", headers=HTML)
        assert blocked.status_code == 303
        page = await browser.get(response.headers["location"], headers=HTML)
        assert page.status_code == 200
        assert '<label for="code">Code</label>' in page.text
        wrong = await browser.post(
            "/sign-in/totp",
            data={"code": "12", "csrf_token": hidden(page.text), "next": "/account/security"},
            headers=HTML,
        )
        assert wrong.status_code == 422
        assert 'id="code-error"' in wrong.text
        ok = await browser.post(
            "/sign-in/totp",
            data={
                "code": code(secret),
                "csrf_token": hidden(page.text),
                "next": "/account/security",
            },
            headers=HTML,
        )
        assert ok.status_code == 303
        assert ok.headers["location"] == "/account/security"
        assert (await browser.get("/account/security", headers=HTML)).status_code == 200


async def test_security_page_creates_a_token_shown_once_and_signs_out(
    app: FastAPI, alex: User, owner_engine: AsyncEngine
) -> None:
    async with client(app) as browser:
        await sign_in(browser)
        page = await browser.get("/account/security", headers=HTML)
        token = hidden(page.text)
        bad = await browser.post(
            "/account/security/tokens",
            data={"name": "", "expires_in_days": "30", "csrf_token": token},
            headers=HTML,
        )
        assert bad.status_code == 422
        assert 'id="token-name-error"' in bad.text
        assert 'value="30"' in bad.text
        assert await count(owner_engine, ApiToken) == 0
        made = await browser.post(
            "/account/security/tokens",
            data={"name": "backup", "expires_in_days": "30", "csrf_token": token},
            headers=HTML,
        )
        assert made.status_code == 201
        secret = re.search(r'value="(tnt_[^"]+)"', made.text)
        assert secret
        listed = await browser.get("/account/security", headers=HTML)
        assert secret.group(1) not in listed.text
        assert "backup" in listed.text
        no_csrf = await browser.post("/account/security/sign-out-everywhere", headers=HTML)
        assert no_csrf.status_code == 403
        out = await browser.post(
            "/account/security/sign-out-everywhere", data={"csrf_token": token}, headers=HTML
        )
        assert out.status_code == 303
        assert out.headers["location"] == "/sign-in"
        gone = await browser.get("/account/security", headers=HTML)
        assert gone.status_code == 303
        assert gone.headers["location"].startswith("/sign-in")


async def test_password_form_shows_errors_next_to_fields(app: FastAPI, alex: User) -> None:
    async with client(app) as browser:
        await sign_in(browser)
        token = hidden((await browser.get("/account/security", headers=HTML)).text)
        mismatch = await browser.post(
            "/account/security/password",
            data={
                "current_password": PASSWORD,
                "new_password": "a whole new phrase",
                "confirm_password": "something else entirely",
                "csrf_token": token,
            },
            headers=HTML,
        )
        assert mismatch.status_code == 422
        assert 'id="confirm_password-error"' in mismatch.text
        ok = await browser.post(
            "/account/security/password",
            data={
                "current_password": PASSWORD,
                "new_password": "a whole new phrase",
                "confirm_password": "a whole new phrase",
                "csrf_token": token,
            },
            headers=HTML,
        )
        assert ok.status_code == 303
        after = await browser.get("/account/security", headers=HTML)
        assert "Password changed." in after.text


async def test_enrolment_page_shows_a_local_qr_code_and_turns_mfa_on(
    app: FastAPI, alex: User, owner_engine: AsyncEngine
) -> None:
    async with client(app) as browser:
        await sign_in(browser)
        page = await browser.get("/account/security/totp", headers=HTML)
        assert page.status_code == 200
        assert "<svg" in page.text and "http" not in page.text.split("<svg", 1)[1].split("</svg>")[
            0
        ].replace("http://www.w3.org", "")
        secret = await one(owner_engine, select(User.totp_secret))
        assert secret and secret in page.text
        wrong = await browser.post(
            "/account/security/totp",
            data={"code": "000000", "csrf_token": hidden(page.text)},
            headers=HTML,
        )
        assert wrong.status_code == 422
        assert 'id="code-error"' in wrong.text
        done = await browser.post(
            "/account/security/totp",
            data={"code": code(secret), "csrf_token": hidden(page.text)},
            headers=HTML,
        )
        assert done.status_code == 200
        assert len(re.findall(r"<li><code>[a-z2-9-]{19}</code></li>", done.text)) == 10
        # The new session's page works straight away.
        assert (await browser.get("/account/security", headers=HTML)).status_code == 200


async def test_security_policy_page(
    app: FastAPI, alex: User, msp: Tenant, owner_engine: AsyncEngine
) -> None:
    async with client(app) as browser:
        await sign_in(browser)
        page = await browser.get("/settings/security", headers=HTML)
        assert page.status_code == 200
        bad = await browser.post(
            "/settings/security",
            data={"session_lifetime_minutes": "soon", "csrf_token": hidden(page.text)},
            headers=HTML,
        )
        assert bad.status_code == 422
        assert 'id="session_lifetime_minutes-error"' in bad.text
        ok = await browser.post(
            "/settings/security",
            data={
                "require_mfa": "on",
                "require_mfa_from": "",
                "confirm_now": "on",
                "session_lifetime_minutes": "60",
                "csrf_token": hidden(page.text),
            },
            headers=HTML,
        )
        assert ok.status_code == 303
        # Alex has no second factor yet, so he is sent to set one up first.
        after = await browser.get("/settings/security", headers=HTML)
        assert after.status_code == 303
        assert after.headers["location"] == "/account/security/totp"
    stored = await one(owner_engine, select(Tenant.require_mfa).where(Tenant.id == msp.id))
    assert stored is True


async def test_invite_through_the_pages_and_accept(
    app: FastAPI, alex: User, msp: Tenant, owner_engine: AsyncEngine
) -> None:
    async with client(app) as admin:
        await sign_in(admin)
        page = await admin.get("/t/northwind/invitations", headers=HTML)
        assert page.status_code == 200
        assert "No pending invitations" in page.text
        bad = await admin.post(
            "/t/northwind/invitations",
            data={"email": "not-an-email", "role": "technician", "csrf_token": hidden(page.text)},
            headers=HTML,
        )
        assert bad.status_code == 422
        assert 'id="email-error"' in bad.text and 'value="not-an-email"' in bad.text
        sent = await admin.post(
            "/t/northwind/invitations",
            data={
                "email": "nina@northwind.example",
                "role": "technician",
                "csrf_token": hidden(page.text),
            },
            headers=HTML,
        )
        assert sent.status_code == 201
        link = re.search(r'id="invite-link" type="text" readonly value="([^"]+)"', sent.text)
        assert link
        path = "/invite/" + link.group(1).rsplit("/", 1)[1]
    async with client(app) as person:
        offer = await person.get(path, headers=HTML)
        assert offer.status_code == 200
        assert "Join Northwind IT" in offer.text and "Technician" in offer.text
        mismatch = await person.post(
            path,
            data={
                "display_name": "Nina New",
                "password": "nina's long passphrase",
                "confirm_password": "something else",
                "csrf_token": hidden(offer.text),
            },
            headers=HTML,
        )
        assert mismatch.status_code == 422
        assert 'id="confirm_password-error"' in mismatch.text
        assert 'value="Nina New"' in mismatch.text
        forged = await person.post(
            path,
            data={
                "display_name": "Nina New",
                "password": "nina's long passphrase",
                "confirm_password": "nina's long passphrase",
                "csrf_token": "forged.token",
            },
            headers=HTML,
        )
        assert forged.status_code == 403
        assert await count(owner_engine, User, User.email == "nina@northwind.example") == 0
        done = await person.post(
            path,
            data={
                "display_name": "Nina New",
                "password": "nina's long passphrase",
                "confirm_password": "nina's long passphrase",
                "csrf_token": hidden(offer.text),
            },
            headers=HTML,
        )
        assert done.status_code == 303
        assert person.cookies.get("tenantry_session")
        used = await person.get(path, headers=HTML)
        assert used.status_code == 410
        assert "already used" in used.text
        missing = await person.get("/invite/nothing-here", headers=HTML)
        assert missing.status_code == 404
