"""The access pages: roles, users & access (grants, groups, review, explain), client
groups and a customer's delegations. Forms redirect after a change (POST-redirect-GET),
keep their input and put the error next to the field."""

from __future__ import annotations

import html
import re

import httpx

from tenantry.access.models import CustomRole, Grant
from tests.access.conftest import World
from tests.factories import signed_in_client
from tests.web.conftest import form_client


def text_of(page: str) -> str:
    """Visible text, tags dropped, entities decoded and spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def sidebar(html: str) -> str:
    start = html.index('<aside id="sidebar"')
    return text_of(html[start : html.index("</aside>", start)])


async def follow(world: World, who: str, response: httpx.Response) -> str:
    """Follow a 303 as a browser does; the page it lands on (with the notice)."""
    assert response.status_code == 303, response.text
    landed = await world.get(who, response.headers["location"])
    assert landed.status_code == 200
    return landed.text


async def test_the_sidebar_links_users_access_and_roles_to_those_who_read_users(
    world: World,
) -> None:
    page = await world.get("alex", "/t/northwind/")
    nav = sidebar(page.text)
    assert "Users & access" in nav and "Roles" in nav and "Client groups" in nav
    await world.grant(
        "alex",
        "northwind",
        user="tina@northwind.example",
        role="first_level_support",
        scope="customer",
        customer="contoso-ltd",
    )
    inside = sidebar((await world.get("tina", "/t/contoso-ltd/")).text)
    assert "Users & access" not in inside and "Client groups" not in inside
    assert (await world.get("tina", "/t/contoso-ltd/access")).status_code == 403


async def test_roles_are_listed_created_and_errors_keep_the_input(world: World) -> None:
    page = text_of((await world.get("alex", "/t/northwind/roles")).text)
    assert "Owner built-in" in page and "1st Level Support built-in" in page

    refused = await world.form(
        "alex",
        "/t/northwind/roles",
        {"name": "Owner", "description": "mine", "permissions": ["tickets:read", "tickets:write"]},
    )
    assert refused.status_code == 422
    assert "'Owner' is a built-in role; choose another name" in text_of(refused.text)
    assert 'value="mine"' in refused.text
    assert re.search(r'value="tickets:write"\s+checked', refused.text)
    assert await world.count(CustomRole) == 0

    created = await world.form(
        "alex",
        "/t/northwind/roles",
        {"name": "Patch crew", "permissions": ["tenant:read", "tickets:read"]},
    )
    landed = await follow(world, "alex", created)
    assert "Role Patch crew created." in landed
    assert re.search(r'value="tickets:read"\s+checked', landed)
    assert "No active grant uses Patch crew." in text_of(landed)


async def test_a_role_in_use_is_not_deleted_and_the_page_lists_its_grants(world: World) -> None:
    role = (
        await world.post(
            "alex",
            "/api/v1/tenants/northwind/roles",
            json={"name": "Desk", "permissions": ["tenant:read"]},
        )
    ).json()
    await world.grant("alex", "northwind", user="sam@northwind.example", role=role["key"])
    refused = await world.form("alex", f"/t/northwind/roles/{role['id']}/delete", {})
    assert refused.status_code == 409
    page = text_of(refused.text)
    assert "Desk is used by 1 active grant(s)" in page
    assert "Sam Support sam@northwind.example at home in Northwind IT" in page
    assert await world.count(CustomRole) == 1


async def test_cloning_and_comparing_from_the_pages(world: World) -> None:
    cloned = await world.form(
        "alex", "/t/northwind/roles/clone", {"clone_from": "technician", "clone_name": "Tech+"}
    )
    landed = await follow(world, "alex", cloned)
    assert "Role Tech+ created as a copy" in landed
    bad = await world.form(
        "alex", "/t/northwind/roles/clone", {"clone_from": "technician", "clone_name": ""}
    )
    assert bad.status_code == 422 and "must not be empty" in bad.text
    compared = await world.get(
        "tina", "/t/northwind/roles/compare", params={"a": "technician", "b": "read_only"}
    )
    page = text_of(compared.text)
    assert "Technician and Read-only share" in page
    assert compared.text.count('class="differs"') > 0


async def test_grants_are_given_listed_filtered_and_revoked_from_the_page(world: World) -> None:
    tina = world.users["tina"]
    given = await world.form(
        "alex",
        "/t/northwind/access/grants",
        {
            "grantee": f"user:{tina.id}",
            "role": "technician",
            "scope": "customer",
            "customer": "contoso-ltd",
            "expires_at": "2999-01-31T18:00",
        },
    )
    landed = text_of(await follow(world, "alex", given))
    assert "Tina Tech now holds Technician in the customer Contoso Ltd." in landed
    assert "contoso-ltd" in await world.tenants_of("tina")

    filtered = await world.get(
        "alex", "/t/northwind/access", params={"scope": "customer", "role": "technician"}
    )
    page = text_of(filtered.text)
    assert "Tina Tech tina@northwind.example Technician in the customer Contoso Ltd" in page
    assert "2999-01-31 18:00 UTC" in page  # the tenant's zone is UTC
    assert "Clear filters" in page
    back = re.search(r'name="back" value="([^"]+)"', filtered.text)
    assert back is not None and "scope=customer" in back.group(1)
    grant_id = re.search(r"/access/grants/([0-9a-f-]+)/revoke", filtered.text)
    assert grant_id is not None

    revoked = await world.form(
        "alex",
        f"/t/northwind/access/grants/{grant_id.group(1)}/revoke",
        {"back": back.group(1).replace("&amp;", "&")},
    )
    assert revoked.status_code == 303
    assert revoked.headers["location"].startswith("/t/northwind/access?")
    assert "contoso-ltd" not in await world.tenants_of("tina")
    # An outside "back" is ignored: no open redirect.
    again = await world.form(
        "alex",
        f"/t/northwind/access/grants/{grant_id.group(1)}/revoke",
        {"back": "https://evil.example/"},
    )
    assert again.headers["location"] == "/t/northwind/access"


async def test_a_bad_grant_form_shows_the_error_at_the_field_and_keeps_the_input(
    world: World,
) -> None:
    before = await world.count(Grant)
    response = await world.form(
        "alex",
        "/t/northwind/access/grants",
        {
            "grantee": f"user:{world.users['tina'].id}",
            "role": "technician",
            "scope": "customer",
            "customer": "initech",
            "expires_at": "",
        },
    )
    assert response.status_code == 422
    assert '<p class="error" id="f-customer-error">Customer' in response.text
    assert "is not a customer of Northwind IT" in response.text
    assert 'value="initech"' in response.text
    assert re.search(rf'value="user:{world.users["tina"].id}" selected', response.text)
    assert await world.count(Grant) == before
    missing = await world.form("alex", "/t/northwind/access/grants", {"role": "technician"})
    assert missing.status_code == 422 and 'id="f-grantee-error"' in missing.text


async def test_readers_see_grants_without_the_forms(world: World) -> None:
    page = await world.get("tina", "/t/northwind/access")
    assert page.status_code == 200
    assert "Give access" not in page.text and "/revoke" not in page.text
    denied = await world.form("tina", "/t/northwind/access/grants", {"role": "admin"})
    assert denied.status_code == 403 and "users:manage" in denied.text


async def test_user_groups_from_the_pages(world: World) -> None:
    created = await world.form("alex", "/t/northwind/access/groups", {"name": "Night shift"})
    location = created.headers["location"]
    assert "Group Night shift created" in await follow(world, "alex", created)
    added = await world.form("alex", f"{location}/members", {"user": "sam@northwind.example"})
    page = text_of(await follow(world, "alex", added))
    assert "Sam Support added to Night shift" in page
    assert "1 member" in page
    duplicate = await world.form("alex", "/t/northwind/access/groups", {"name": "night shift"})
    assert duplicate.status_code == 409 and "is already taken by another group" in duplicate.text
    listed = text_of((await world.get("tina", "/t/northwind/access/groups")).text)
    assert "Night shift 1" in listed


async def test_review_explain_and_csv_pages(world: World) -> None:
    await world.grant(
        "alex",
        "northwind",
        user="tina@northwind.example",
        role="first_level_support",
        scope="customer",
        customer="contoso-ltd",
    )
    review = text_of((await world.get("carol", "/t/contoso-ltd/access/review")).text)
    assert "Carol carol@contoso.example own user" in review
    assert "Tina Tech tina@northwind.example MSP technician Northwind IT" in review
    assert "1st Level Support — direct grant, in the customer Contoso Ltd" in review
    csv = await world.get("carol", "/t/contoso-ltd/access/review.csv")
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0].startswith("tenant,user_email,user_name,relation")

    explained = await world.get(
        "carol", "/t/contoso-ltd/access/explain", params={"user": "tina@northwind.example"}
    )
    page = text_of(explained.text)
    assert "Tina Tech holds 6 of" in page
    assert "tickets:write See" not in page  # descriptions sit under their permission
    nobody = await world.get(
        "carol", "/t/contoso-ltd/access/explain", params={"user": "gary@globex.example"}
    )
    assert nobody.status_code == 422 and 'id="f-user-error"' in nobody.text


async def test_client_groups_from_the_pages(world: World) -> None:
    created = await world.form("alex", "/msp/client-groups", {"name": "Healthcare"})
    location = created.headers["location"]
    await follow(world, "alex", created)
    added = await world.form("alex", f"{location}/members", {"customer": "contoso-ltd"})
    assert "Added to Healthcare" in await follow(world, "alex", added)
    stranger = await world.form("alex", f"{location}/members", {"customer": "initech"})
    assert stranger.status_code == 422 and 'value="initech"' in stranger.text
    assert (await world.get("carol", "/msp/client-groups")).status_code == 404


async def test_delegating_from_the_customer_page(world: World) -> None:
    customer = text_of((await world.get("alex", "/msp/customers/contoso-ltd")).text)
    assert "Who acts in Contoso Ltd" in customer
    page = await world.get("alex", "/msp/customers/contoso-ltd/access")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "No technician is delegated to Contoso Ltd." in text
    assert "Alex alex@northwind.example Owner — MSP admin" in text
    # Admins own every customer already: only non-admins are offered.
    assert f'value="user:{world.users["tina"].id}"' in page.text
    assert f'value="user:{world.users["alex"].id}"' not in page.text

    delegated = await world.form(
        "alex",
        "/msp/customers/contoso-ltd/access",
        {
            "grantee": f"user:{world.users['tina'].id}",
            "role": "first_level_support",
            "expires_at": "",
        },
    )
    landed = text_of(await follow(world, "alex", delegated))
    assert "Tina Tech can now act in Contoso Ltd as 1st Level Support." in landed
    assert "contoso-ltd" in await world.tenants_of("tina")

    past = await world.form(
        "alex",
        "/msp/customers/contoso-ltd/access",
        {
            "grantee": f"user:{world.users['sam'].id}",
            "role": "technician",
            "expires_at": "2001-01-01T00:00",
        },
    )
    assert past.status_code == 422
    assert 'id="f-expires_at-error"' in past.text and 'value="2001-01-01T00:00"' in past.text

    listed = (await world.get("alex", "/msp/customers/contoso-ltd/access")).text
    grant_id = re.search(r"/msp/customers/contoso-ltd/access/([0-9a-f-]+)/revoke", listed)
    assert grant_id is not None
    revoked = await world.form(
        "alex", f"/msp/customers/contoso-ltd/access/{grant_id.group(1)}/revoke", {}
    )
    assert "Delegation revoked" in await follow(world, "alex", revoked)
    assert "contoso-ltd" not in await world.tenants_of("tina")
    assert (await world.get("gary", "/msp/customers/contoso-ltd/access")).status_code == 404


async def test_forms_from_a_session_need_the_csrf_field(world: World) -> None:
    async with await signed_in_client(world.app, "alex@northwind.example") as browser:
        token = form_client(browser)
        refused = await browser.post("/t/northwind/access/groups", data={"name": "X"})
        assert refused.status_code == 403
        accepted = await browser.post(
            "/t/northwind/access/groups", data={"name": "X", "csrf_token": token}
        )
        assert accepted.status_code == 303
