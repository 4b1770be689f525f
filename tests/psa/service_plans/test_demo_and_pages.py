"""The demo's service plans, the ``/msp/service-plans`` page (forms, errors next to the
field, input kept), the client's read-only view on its invoices page, and the sidebar's
MSP section (Team one click away from a client)."""

from __future__ import annotations

import re

from tenantry.app import create_app
from tenantry.config import Settings
from tenantry.db.engine import Database
from tenantry.demo import USERS, ensure_demo
from tests.factories import signed_in_client


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def sidebar(html: str) -> str:
    start = html.index('<aside id="sidebar"')
    return html[start : html.index("</aside>", start)]


async def test_the_demo_msp_offers_plans_and_every_client_is_on_one(
    settings: Settings, database: Database
) -> None:
    passwords = await ensure_demo(database, settings)
    app = create_app(settings, database)
    admin = USERS[0].email
    async with await signed_in_client(app, admin, passwords[admin]) as alex:
        plans = (await alex.get("/api/v1/tenants/northwind-it/service-plans")).json()
        assert len(plans) == 3 and all(p["clients"] >= 0 for p in plans)
        given = (await alex.get("/api/v1/tenants/northwind-it/service-plans/assignments")).json()
        assert len(given["items"]) == 3
        assert all(a["counted_users"] > 0 for a in given["items"]), given
        # The demo invoices carry the plan's line.
        invoices = (await alex.get("/api/v1/tenants/contoso-ltd/invoices")).json()["items"]
        draft = (await alex.get(f"/api/v1/tenants/contoso-ltd/invoices/{invoices[0]['id']}")).json()
        assert any("Managed Premium" in line["description"] for line in draft["lines"])
        page = await alex.get("/msp/service-plans")
        assert page.status_code == 200
        assert "Managed Premium" in page.text and "Contoso" in page.text


async def test_the_page_creates_assigns_and_keeps_bad_input(
    settings: Settings, database: Database
) -> None:
    passwords = await ensure_demo(database, settings)
    app = create_app(settings, database)
    admin = USERS[0].email
    async with await signed_in_client(app, admin, passwords[admin]) as alex:
        page = await alex.get("/msp/service-plans")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        csrf = token.group(1)
        bad = await alex.post(
            "/msp/service-plans",
            data={
                "csrf_token": csrf,
                "name": "Starter",
                "included_users": "10",
                "price": "-3",
                "currency": "EUX",
            },
        )
        assert bad.status_code == 422
        assert "Currency must be an ISO 4217 currency code" in text_of(bad.text) or (
            "Price" in text_of(bad.text)
        )
        assert 'value="Starter"' in bad.text
        made = await alex.post(
            "/msp/service-plans",
            data={
                "csrf_token": csrf,
                "name": "Starter",
                "included_users": "10",
                "price": "30.00",
                "currency": "EUR",
            },
        )
        assert made.status_code == 303, made.text
        plans = (await alex.get("/api/v1/tenants/northwind-it/service-plans")).json()
        starter = next(p for p in plans if p["name"] == "Starter")
        assert starter["price_minor"] == 3000
        moved = await alex.post(
            "/msp/service-plans/clients/fabrikam-inc",
            data={"csrf_token": csrf, "plan_id": starter["id"], "back": "/msp/service-plans"},
        )
        assert moved.status_code == 303, moved.text
        given = (await alex.get("/api/v1/tenants/northwind-it/service-plans/assignments")).json()
        assert "Starter" in {a["plan_name"] for a in given["items"]}
        off = await alex.post(
            "/msp/service-plans/clients/fabrikam-inc",
            data={"csrf_token": csrf, "plan_id": "", "back": "https://evil.example/"},
        )
        assert off.status_code == 303 and off.headers["location"] == "/msp/service-plans"


async def test_the_clients_admin_sees_its_plan_read_only(
    settings: Settings, database: Database
) -> None:
    passwords = await ensure_demo(database, settings)
    (carol,) = [u for u in USERS if u.home == "contoso-ltd"]
    app = create_app(settings, database)
    async with await signed_in_client(app, carol.email, passwords[carol.email]) as c:
        page = await c.get("/t/contoso-ltd/invoices")
        assert page.status_code == 200
        body = text_of(page.text)
        assert "Service plan Managed Premium : 65.00 EUR per user (monthly)" in body
        assert (await c.get("/msp/service-plans")).status_code == 404


async def test_team_is_one_click_away_from_a_client(settings: Settings, database: Database) -> None:
    passwords = await ensure_demo(database, settings)
    app = create_app(settings, database)
    admin = USERS[0].email
    async with await signed_in_client(app, admin, passwords[admin]) as alex:
        page = await alex.get("/t/contoso-ltd/tickets")
        nav = sidebar(page.text)
        msp_part = nav[nav.index('id="nav-msp"') :]
        hrefs = dict(
            (label.strip(), href)
            for href, label in re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', msp_part)
        )
        assert hrefs["Team"] == "/t/northwind-it/access"
        assert hrefs["Team roles"] == "/t/northwind-it/roles"
        assert hrefs["Service plans"] == "/msp/service-plans"
        team = await alex.get(hrefs["Team"])
        assert team.status_code == 200
        # On the team page the MSP entry is the current one.
        assert re.search(r'href="/t/northwind-it/access" aria-current="page"', team.text)
