"""The links pages as a browser uses them: forms with the CSRF field, errors next to
their fields with the input kept, POST-redirect-GET, and what each person may see."""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncIterator
from html import unescape

import httpx
import pytest
from sqlalchemy import update

from tenantry.access.permissions import BUILTIN_ROLES, CEILING_TEMPLATES
from tenantry.access.service import operator_scope
from tenantry.identity.models import User
from tenantry.identity.passwords import hash_password
from tests.factories import PASSWORD, signed_in_client
from tests.links.conftest import PEOPLE, World, approved


def text_of(page: str) -> str:
    """Visible text, tags dropped, entities decoded and spaces collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", page)).split())


def sidebar(html: str) -> str:
    start = html.index('<aside id="sidebar"')
    return html[start : html.index("</aside>", start)]


class Browser:
    """A signed-in browser: posts forms with the CSRF token in the form field."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.csrf = str(client.headers.pop("x-csrf-token"))

    async def get(self, path: str) -> httpx.Response:
        return await self.client.get(path)

    async def post(
        self, path: str, data: dict[str, str | list[str]], *, csrf: bool = True
    ) -> httpx.Response:
        body = {**data, **({"csrf_token": self.csrf} if csrf else {})}
        return await self.client.post(path, data=body)

    async def follow(self, response: httpx.Response) -> httpx.Response:
        assert response.status_code == 303, response.text[:2000]
        return await self.client.get(response.headers["location"])


class Browsers:
    """Signed-in browsers, one per person, signed in when first asked for (a sign-in
    verifies a password: a fraction of a second each)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.opened: dict[str, Browser] = {}

    async def __call__(self, who: str) -> Browser:
        if who not in self.opened:
            await self._give_password(who)
            client = await signed_in_client(self.world.app, PEOPLE[who][1])
            self.opened[who] = Browser(client)
        return self.opened[who]

    async def _give_password(self, who: str) -> None:
        # One hash for the whole run: hashing costs a fifth of a second each time.
        user = self.world.users[who]
        async with self.world.db.unit_of_work(operator_scope([user.home_tenant_id])) as session:
            await session.execute(
                update(User).where(User.id == user.id).values(password_hash=password_hash())
            )


@functools.cache
def password_hash() -> str:
    return hash_password(PASSWORD)


@pytest.fixture
async def browsers(world: World) -> AsyncIterator[Browsers]:
    opened = Browsers(world)
    try:
        yield opened
    finally:
        for browser in opened.opened.values():
            await browser.client.aclose()


async def test_msp_asks_from_the_client_links_page(world: World, browsers: Browsers) -> None:
    alex = await browsers("alex")
    page = await alex.get("/msp/links")
    assert page.status_code == 200
    assert 'name="csrf_token"' in page.text
    html = text_of(page.text)
    assert "Ask to manage an existing tenant" in html
    assert "Contoso Ltd" in html  # the customer Northwind created, active
    assert "Client links" in text_of(sidebar(page.text))
    for template in CEILING_TEMPLATES:
        assert f'value="{template}"' in page.text
    # Only what means something inside a client is offered (access rule 10).
    assert 'value="customers:create"' not in page.text
    assert 'value="links:manage"' not in page.text

    done = await alex.post(
        "/msp/links",
        {
            "customer": "initech",
            "ceiling": ["technician", "invoices:write"],
            "duration_days": "30",
            "auto_extend": "yes",
        },
    )
    assert done.headers["location"].startswith("/msp/links/")
    detail = await alex.follow(done)
    html = text_of(detail.text)
    assert "Request sent to Initech" in html
    assert "Waiting for Initech's admins to approve" in html
    assert "30 days" in html and "if Initech agrees when it approves" in html
    assert "Withdraw request" in html
    assert "Asked to manage" in html  # the history, from Northwind's own trail
    listed = text_of((await alex.get("/msp/links?state=pending")).text)
    assert "Initech" in listed and "Contoso" not in listed


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"customer": "nope", "template": "helpdesk"}, "customer", "The slug matches no tenant"),
        ({"customer": "globex", "template": "helpdesk"}, "customer", "is an MSP"),
        ({"customer": "initech", "template": ""}, "ceiling", "Must name at least one permission"),
        (
            {"customer": "initech", "template": "helpdesk", "duration_days": "soon"},
            "duration_days",
            "whole number of days",
        ),
        (
            {"customer": "initech", "template": "helpdesk", "duration_days": "0"},
            "duration_days",
            "between 1 and 3650",
        ),
    ],
)
async def test_bad_requests_come_back_with_the_error_next_to_the_field(
    world: World,
    browsers: Browsers,
    form: dict[str, str | list[str]],
    field: str,
    message: str,
) -> None:
    response = await (await browsers("alex")).post("/msp/links", form)
    assert response.status_code in (404, 409, 422)
    html = response.text
    error = re.search(rf'id="(f-)?{field}-error"[^>]*>([^<]*)<', html)
    assert error is not None, html[:3000]
    assert message in error.group(2)
    # What was typed and ticked is kept.
    if form.get("customer"):
        assert f'value="{form["customer"]}"' in html
    if form.get("template"):
        assert f'value="{form["template"]}" checked' in html
    # Nothing was asked.
    pending = await world.get(
        "alex", "/api/v1/tenants/northwind/links", params={"state": "pending"}
    )
    assert pending.json()["items"] == []


async def test_forms_without_the_csrf_field_are_refused(world: World, browsers: Browsers) -> None:
    response = await (await browsers("alex")).post(
        "/msp/links", {"customer": "initech", "ceiling": ["technician"]}, csrf=False
    )
    assert response.status_code == 403
    assert "did not come from this site" in response.text


async def test_the_customer_approves_with_less_narrows_and_ends_it(
    world: World, browsers: Browsers
) -> None:
    link_id = (await world.ask(ceiling=["technician"], duration_days=30, auto_extend=True)).json()[
        "id"
    ]
    ian = await browsers("ian")
    page = await ian.get("/t/initech/msp")
    assert page.status_code == 200
    html = text_of(page.text)
    assert "Northwind IT asks to manage Initech" in html
    assert "Your MSP" in text_of(sidebar(page.text))
    # Everything asked is ticked; only what was asked is offered.
    assert 'value="tickets:write" checked' in page.text
    assert 'value="billing:manage"' not in page.text
    assert "See tickets" in html and "Tickets" in html  # in words, grouped by area

    # Unticking everything is refused next to the group, nothing changes.
    refused = await ian.post(f"/t/initech/msp/{link_id}/approve", {"ceiling": []})
    assert refused.status_code == 422
    assert 'id="approve-ceiling-error"' in refused.text
    assert (await world.link(link_id)).state.value == "pending"

    given = [p for p in BUILTIN_ROLES["technician"].permissions if p != "compliance:write"]
    done = await ian.post(
        f"/t/initech/msp/{link_id}/approve", {"ceiling": given, "auto_extend": "yes"}
    )
    page = await ian.follow(done)
    html = text_of(page.text)
    assert "You approved Northwind IT's request" in html
    assert "Managed by Northwind IT" in html
    assert "yes, every 30 days: both sides agreed" in html
    assert "Asked for but not allowed now (1)" in html
    assert 'value="compliance:write"' not in page.text.split("Asked for but not allowed now")[0]
    assert (await world.get("tina", "/api/v1/tenants/initech")).status_code == 200

    # Narrowing: a permission not in the ceiling cannot be added back by hand.
    wider = await ian.post(
        f"/t/initech/msp/{link_id}/narrow", {"ceiling": [*given, "billing:manage"]}
    )
    assert wider.status_code == 422
    assert "billing:manage" in wider.text and 'id="narrow-ceiling-error"' in wider.text
    assert 'value="tickets:write" checked' in wider.text  # the ticks are kept
    narrower = [p for p in given if p != "audit:read"]
    page = await ian.follow(
        await ian.post(f"/t/initech/msp/{link_id}/narrow", {"ceiling": narrower})
    )
    assert "can do only what is ticked" in text_of(page.text)
    assert (await world.get("tina", "/api/v1/tenants/initech/audit-events")).status_code == 403

    # Ending it needs the box ticked.
    unconfirmed = await ian.post(f"/t/initech/msp/{link_id}/revoke", {})
    assert unconfirmed.status_code == 422
    assert 'id="f-revoke-confirm-error"' in unconfirmed.text
    assert (await world.link(link_id)).state.value == "active"
    page = await ian.follow(await ian.post(f"/t/initech/msp/{link_id}/revoke", {"confirm": "yes"}))
    html = text_of(page.text)
    assert "Link ended" in html and "No MSP manages Initech" in html
    assert "Earlier links" in html and "revoked" in html
    assert (await world.get("tina", "/api/v1/tenants/initech")).status_code == 404
    # The whole history on both sides, in words: the customer's from the ended link's page.
    for who, path in (("ian", f"/t/initech/msp/{link_id}"), ("alex", f"/msp/links/{link_id}")):
        html = text_of((await (await browsers(who)).get(path)).text)
        for words in (
            "Asked to manage",
            "Approved",
            "not given: compliance:write",
            "Narrowed",
            "took away: audit:read",
            "Ended",
            "by the client",
        ):
            assert words in html, (who, words)


async def test_the_customer_declines(world: World, browsers: Browsers) -> None:
    link_id = (await world.ask()).json()["id"]
    ian = await browsers("ian")
    refused = await ian.post(f"/t/initech/msp/{link_id}/decline", {})
    assert refused.status_code == 422 and 'id="f-decline-confirm-error"' in refused.text
    page = await ian.follow(await ian.post(f"/t/initech/msp/{link_id}/decline", {"confirm": "yes"}))
    assert "You declined Northwind IT's request" in text_of(page.text)
    assert (await world.link(link_id)).state.value == "revoked"


async def test_the_msp_ends_a_link_from_its_page(world: World, browsers: Browsers) -> None:
    link_id = await approved(world)
    alex = await browsers("alex")
    unconfirmed = await alex.post(f"/msp/links/{link_id}/revoke", {})
    assert unconfirmed.status_code == 422 and 'id="f-confirm-error"' in unconfirmed.text
    page = await alex.follow(await alex.post(f"/msp/links/{link_id}/revoke", {"confirm": "yes"}))
    assert "Link with Initech ended" in text_of(page.text)
    assert (await world.get("tina", "/api/v1/tenants/initech")).status_code == 404


async def test_who_sees_what(world: World, browsers: Browsers) -> None:
    link_id = await approved(world)
    # Initech's read-only user sees who manages it, but no forms.
    page = await (await browsers("ivy")).get("/t/initech/msp")
    html = text_of(page.text)
    assert (
        "Managed by Northwind IT" in html
        and "End link" not in html
        and "<form" not in page.text.split('id="main"')[1].replace('action="/sign-out"', "")
    )
    # A technician acting in Initech sees the link, is told who decides, cannot decide.
    tina = await browsers("tina")
    page = await tina.get("/t/initech/msp")
    assert page.status_code == 200
    assert "You act in Initech for Northwind IT" in text_of(page.text)
    assert f"/t/initech/msp/{link_id}/narrow" not in page.text
    refused = await tina.post(f"/t/initech/msp/{link_id}/narrow", {"ceiling": ["tenant:read"]})
    assert refused.status_code == 403
    # Customers never see the MSP's pages; an MSP's own page points to its client links.
    for path in ("/msp/links", f"/msp/links/{link_id}"):
        assert (await (await browsers("ian")).get(path)).status_code == 404, path
    page = await (await browsers("alex")).get("/t/northwind/msp")
    assert "is an MSP" in text_of(page.text)
    # Another customer of no MSP sees an empty state that says what happens next.
    page = await (await browsers("uma")).get("/t/umbrella/msp")
    assert "No MSP manages Umbrella Corp" in text_of(page.text)
