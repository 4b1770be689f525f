"""The sign-up pages without a browser, on both databases: the form with its
double-submit token, errors beside the fields with the input kept, "check your email",
the link's page, and the signed-in redirect. (tests/browser/test_signup.py drives them
in Chromium.)"""

from __future__ import annotations

import re

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.config import Settings
from tenantry.db.engine import Database
from tests.factories import client
from tests.harness.mailbox import Mailbox

from .conftest import ANNA, PASSPHRASE, app_with, signups, tenants, token_in


def hidden(html: str, name: str = "csrf_token") -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no hidden {name} in the page"
    return found.group(1)


async def test_sign_up_with_the_forms(
    app: FastAPI, mailbox: Mailbox, owner_engine: AsyncEngine
) -> None:
    async with client(app) as browser:
        form = await browser.get("/signup")
        assert form.status_code == 200
        fields = {
            "organisation": "Acme IT Services",
            "slug": "",
            "admin_name": "Anna Admin",
            "email": ANNA,
        }
        # A form that did not come from this site changes nothing.
        forged = await browser.post("/signup", data={**fields, "csrf_token": "made.up"})
        assert forged.status_code == 403 and mailbox.messages == []
        # A bad email is named beside its field; what was typed is kept.
        bad = await browser.post(
            "/signup", data={**fields, "email": "nope", "csrf_token": hidden(form.text)}
        )
        assert bad.status_code == 422
        assert 'id="email-error"' in bad.text and 'value="Acme IT Services"' in bad.text
        done = await browser.post("/signup", data={**fields, "csrf_token": hidden(bad.text)})
        assert done.status_code == 200 and "Check your email" in done.text

        token = token_in(mailbox)
        page = await browser.get(f"/signup/verify/{token}")
        assert page.status_code == 200 and "acme-it-services" in page.text
        finish = {"password": PASSPHRASE, "confirm_password": PASSPHRASE}
        created = await browser.post(
            f"/signup/verify/{token}", data={**finish, "csrf_token": hidden(page.text)}
        )
        assert created.status_code == 303, created.text
        assert "tenantry_session" in created.cookies
        again = await browser.get(f"/signup/verify/{token}")
        assert again.status_code == 410 and "already used" in again.text
    assert (await tenants(owner_engine))["acme-it-services"].is_msp
    [used] = await signups(owner_engine)
    assert used.verified_at is not None


async def test_the_sign_in_page_offers_sign_up_only_when_it_is_on(
    app: FastAPI, database: Database, settings: Settings, mailbox: Mailbox
) -> None:
    off = app_with(database, settings, mailbox, signup_enabled=False)
    async with client(app) as on_browser, client(off) as off_browser:
        assert 'href="/signup"' in (await on_browser.get("/sign-in")).text
        assert 'href="/signup"' not in (await off_browser.get("/sign-in")).text
