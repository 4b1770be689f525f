"""Nobody left guessing on the MSP side (issue #14): a client whose link ended answers
404 with who ended it and when, to that MSP's people only; a narrowed link shows a banner
and explains its 403s; a pending request waits on the client's landing page."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.access.permissions import CLIENT_MEANINGFUL
from tenantry.db.base import utcnow
from tenantry.tenancy.models import TenantLink
from tests.factories import make_tenant, make_user, signed_in_client

from .conftest import CAROL, World

CONTOSO = "contoso-ltd"
PROBE = "/api/v1/tenants/{}/security-policy"  # any tenant:read route will do
HTML = {"accept": "text/html"}


def today() -> str:
    now = utcnow()
    return f"{now.day} {now:%B %Y}"


async def live_link_id(carol: httpx.AsyncClient) -> str:
    found = await carol.get(f"/api/v1/tenants/{CONTOSO}/links", params={"state": "live"})
    assert found.status_code == 200, found.text
    return str(found.json()["items"][0]["id"])


def plain_404(response: httpx.Response) -> None:
    """Exactly what a slug nobody uses answers: nothing about any link."""
    assert response.status_code == 404
    body = response.json()
    assert body["detail"] == "No such tenant."
    assert "reason" not in body and "ended_at" not in body


# ---------------------------------------------------------------- an ended link


async def test_the_client_ending_the_link_is_told_to_its_msps_technician_and_admin(
    world: World, as_alex: httpx.AsyncClient, as_tina: httpx.AsyncClient
) -> None:
    async with await signed_in_client(world.app, CAROL) as carol:
        link_id = await live_link_id(carol)
        ended = await carol.post(f"/api/v1/tenants/{CONTOSO}/links/{link_id}/revoke")
        assert ended.status_code == 200, ended.text
    for browser in (as_tina, as_alex):
        refused = await browser.get(PROBE.format(CONTOSO))
        assert refused.status_code == 404
        body = refused.json()
        assert body["reason"] == "link-ended"
        assert body["detail"].startswith(
            f"Contoso Ltd ended the link with Northwind IT on {today()} (Carol Contoso)."
        )
        assert body["ended_by"] == "Carol Contoso"
        assert body["links_url"] == "/msp/links"
    # The web page says the same and offers the way back to the MSP's client links.
    page = await as_tina.get(f"/t/{CONTOSO}/", headers=HTML)
    assert page.status_code == 404
    assert "Contoso Ltd ended the link with Northwind IT" in page.text
    assert 'href="/msp/links"' in page.text
    # The client's own people are unaffected.
    async with await signed_in_client(world.app, CAROL) as carol:
        assert (await carol.get(PROBE.format(CONTOSO))).status_code == 200


async def test_the_msp_ending_the_link_names_who_did(
    world: World, as_alex: httpx.AsyncClient, as_tina: httpx.AsyncClient
) -> None:
    links = await as_alex.get("/api/v1/tenants/northwind/links", params={"state": "active"})
    link_id = next(i["id"] for i in links.json()["items"] if i["customer"]["slug"] == CONTOSO)
    ended = await as_alex.post(f"/api/v1/tenants/northwind/links/{link_id}/revoke")
    assert ended.status_code == 200, ended.text
    body = (await as_tina.get(PROBE.format(CONTOSO))).json()
    assert body["reason"] == "link-ended"
    assert body["detail"].startswith(
        f"Northwind IT ended the link with Contoso Ltd on {today()} (by Alex Admin)."
    )


async def test_an_expired_link_says_when_it_expired(
    world: World, as_tina: httpx.AsyncClient, owner_engine: AsyncEngine
) -> None:
    lapsed = utcnow().replace(microsecond=0)
    async with owner_engine.begin() as conn:
        await conn.execute(
            update(TenantLink)
            .where(TenantLink.customer_tenant_id == world.customers[CONTOSO].id)
            .values(expires_at=lapsed)
        )
    body = (await as_tina.get(PROBE.format(CONTOSO))).json()
    assert body["reason"] == "link-ended"
    assert body["ended_how"] == "expired"
    assert body["detail"].startswith(f"The link with Contoso Ltd expired on {today()}.")
    assert body["ended_by"] is None


async def test_a_declined_request_is_explained_to_the_msp_admin_only(
    world: World, database, as_alex: httpx.AsyncClient, as_tina: httpx.AsyncClient
) -> None:
    umbrella = await make_tenant(database, "umbrella", display_name="Umbrella Corp")
    await make_user(database, umbrella, "uma@umbrella.example", display_name="Uma Umbrella")
    asked = await as_alex.post(
        "/api/v1/tenants/northwind/links", json={"customer": "umbrella", "ceiling": ["technician"]}
    )
    assert asked.status_code == 201, asked.text
    async with await signed_in_client(world.app, "uma@umbrella.example") as uma:
        declined = await uma.post(f"/api/v1/tenants/umbrella/links/{asked.json()['id']}/decline")
        assert declined.status_code == 200, declined.text
    body = (await as_alex.get(PROBE.format("umbrella"))).json()
    assert body["reason"] == "link-ended"
    assert body["ended_how"] == "declined"
    assert body["detail"].startswith(
        f"Umbrella Corp declined Northwind IT's request to manage it on {today()} (Uma Umbrella)."
    )
    # Tina was never given Umbrella: she learns nothing, not even that it was asked.
    plain_404(await as_tina.get(PROBE.format("umbrella")))


async def test_nothing_leaks_where_no_link_with_the_callers_msp_ended(
    world: World, as_alex: httpx.AsyncClient, as_tina: httpx.AsyncClient
) -> None:
    nobody = await as_alex.get(PROBE.format("no-such-tenant"))
    plain_404(nobody)
    # Another MSP's client, never linked to Northwind: the same answer, the same shape.
    other = await as_alex.get(PROBE.format("initech"))
    plain_404(other)
    assert other.json().keys() == nobody.json().keys()
    # A live client Tina holds nothing in: still the plain answer.
    plain_404(await as_tina.get(PROBE.format("fabrikam-inc")))
    # Another MSP's admin opening Contoso after its link with Northwind ended.
    async with await signed_in_client(world.app, CAROL) as carol:
        link_id = await live_link_id(carol)
        await carol.post(f"/api/v1/tenants/{CONTOSO}/links/{link_id}/revoke")
    async with await signed_in_client(world.app, "gary@globex.example") as gary:
        plain_404(await gary.get(PROBE.format(CONTOSO)))


# ---------------------------------------------------------------- a narrowed link


async def test_a_narrowed_link_shows_a_banner_and_explains_the_403(
    world: World, as_tina: httpx.AsyncClient
) -> None:
    async with await signed_in_client(world.app, CAROL) as carol:
        link_id = await live_link_id(carol)
        keep = sorted(CLIENT_MEANINGFUL - {"tickets:read"})
        narrowed = await carol.post(
            f"/api/v1/tenants/{CONTOSO}/links/{link_id}/narrow", json={"ceiling": keep}
        )
        assert narrowed.status_code == 200, narrowed.text
        # The client's own people see no banner about their own decision.
        own = await carol.get(f"/t/{CONTOSO}/", headers=HTML)
        assert own.status_code == 200
        assert "narrowed" not in own.text
    page = await as_tina.get(f"/t/{CONTOSO}/", headers=HTML)
    assert page.status_code == 200
    assert (
        f"Contoso Ltd narrowed Northwind IT&#39;s access on {today()} (Carol Contoso): "
        "removed tickets:read." in page.text
    )
    refused = await as_tina.get(f"/api/v1/tenants/{CONTOSO}/tickets")
    assert refused.status_code == 403
    detail = refused.json()["detail"]
    assert "does not include it" in detail
    assert f"Contoso Ltd took it away on {today()} (Carol Contoso)" in detail


async def test_a_link_at_full_ceiling_shows_no_banner(
    world: World, as_alex: httpx.AsyncClient
) -> None:
    page = await as_alex.get(f"/t/{CONTOSO}/", headers=HTML)
    assert page.status_code == 200
    assert "banner-narrowed" not in page.text


# ---------------------------------------------------------------- a pending request


@pytest.mark.parametrize("decider", [True, False])
async def test_a_pending_request_waits_on_the_clients_landing_page(
    world: World, database, as_alex: httpx.AsyncClient, decider: bool
) -> None:
    async with await signed_in_client(world.app, CAROL) as carol:
        link_id = await live_link_id(carol)
        await carol.post(f"/api/v1/tenants/{CONTOSO}/links/{link_id}/revoke")
    asked = await as_alex.post(
        "/api/v1/tenants/northwind/links", json={"customer": CONTOSO, "ceiling": ["technician"]}
    )
    assert asked.status_code == 201, asked.text
    email = CAROL
    if not decider:
        email = "rita@contoso.example"
        await make_user(database, world.customers[CONTOSO], email, role="read_only")
    async with await signed_in_client(world.app, email) as viewer:
        page = await viewer.get(f"/t/{CONTOSO}/", headers=HTML)
    assert page.status_code == 200
    assert "Northwind IT asks to manage Contoso Ltd" in page.text
    assert "by Alex Admin" in page.text
    assert "See tickets" in page.text  # what they ask for, in words
    button = f'<a class="button" href="/t/{CONTOSO}/msp">Review the request</a>'
    if decider:
        assert button in page.text
    else:
        assert button not in page.text
        assert "with the permission <code>links:manage</code> decides" in page.text
    # The MSP's side never sees it on its own landing page.
    own = await as_alex.get("/t/northwind/", headers=HTML)
    assert "asks to manage" not in own.text


async def test_tina_in_the_client_does_not_see_the_request_panel(
    world: World, as_tina: httpx.AsyncClient
) -> None:
    page = await as_tina.get(f"/t/{CONTOSO}/", headers=HTML)
    assert page.status_code == 200
    assert "asks to manage" not in page.text
