"""The web pages, as an MSP admin, a delegated technician and a customer's own admin."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.audit.models import AuditEvent
from tenantry.tenancy.models import Tenant, TenantStatus
from tests.web.conftest import World, form_client


def text_of(html: str) -> str:
    """Visible text, tags dropped and spaces collapsed, for plain-language assertions."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def sidebar(html: str) -> str:
    start = html.index('<aside id="sidebar"')
    return html[start : html.index("</aside>", start)]


async def tenant_row(owner_engine: AsyncEngine, slug: str) -> Tenant | None:
    async with owner_engine.connect() as conn:
        row = (await conn.execute(select(Tenant).where(Tenant.slug == slug))).first()
    return None if row is None else Tenant(**row._mapping)


# ---- the start page and the frame


async def test_the_start_page_sends_visitors_to_sign_in(world: World) -> None:
    from tests.factories import client

    async with client(world.app) as anonymous:
        response = await anonymous.get("/")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/sign-in")


async def test_the_start_page_opens_the_msps_dashboard(as_alex: httpx.AsyncClient) -> None:
    # The MSP's people land on its dashboard (issue #17); a client's on their home.
    response = await as_alex.get("/")
    assert response.status_code == 303
    assert response.headers["location"] == "/msp/dashboard"


async def test_msp_admin_sees_the_msp_overview_with_its_customer_count(
    as_alex: httpx.AsyncClient,
) -> None:
    response = await as_alex.get("/t/northwind/")
    assert response.status_code == 200
    page = text_of(response.text)
    assert "MSP (home) Northwind IT northwind" in page  # switcher and page header
    assert "3 customers with an active link" in page
    nav = text_of(sidebar(response.text))
    assert "This tenant Overview" in nav
    # The dashboard first (issue #17), then customers; other MSP pages come between.
    assert "MSP Northwind IT Dashboard Customers" in nav and "Security policy" in nav
    assert "Acting in" not in page
    assert '<a href="/t/northwind/" aria-current="page">Overview</a>' in response.text


async def test_msp_admin_in_a_client_sees_the_client_badge_and_keeps_the_msp_links(
    as_alex: httpx.AsyncClient,
) -> None:
    response = await as_alex.get("/t/contoso-ltd/")
    assert response.status_code == 200
    page = text_of(response.text)
    assert "Client Contoso Ltd contoso-ltd" in page
    assert "Client of Northwind IT" in page
    assert "Owner — as an MSP admin, in every customer" in page
    assert "kind-customer" in response.text
    nav = text_of(sidebar(response.text))
    # Overview first; the client's work pages (tickets, contacts, …) follow it.
    assert "This client Overview" in nav and "Invitations" in nav
    assert "MSP Northwind IT Dashboard Customers" in nav
    # An MSP admin owns every customer: no delegation banner.
    assert "Acting in" not in page


async def test_technician_acting_through_a_delegation_sees_the_banner(
    as_tina: httpx.AsyncClient, world: World
) -> None:
    response = await as_tina.get("/t/contoso-ltd/")
    assert response.status_code == 200
    page = text_of(response.text)
    until = world.tina_until.strftime("%H:%M UTC")
    assert f"Acting in Contoso Ltd as 1st Level Support until {until} ." in page
    stamp = world.tina_until.isoformat().replace("+00:00", "Z")
    assert f'<time datetime="{stamp}" data-local="time">' in response.text
    nav = text_of(sidebar(response.text))
    # 1st Level Support cannot manage users; a technician cannot list customers.
    assert "Invitations" not in nav
    assert "Customers" not in nav


async def test_technician_cannot_see_clients_without_a_delegation(
    as_tina: httpx.AsyncClient,
) -> None:
    for path in ("/t/fabrikam-inc/", "/t/initech/", "/t/globex/", "/t/fabrikam-inc/switch"):
        response = await as_tina.get(path)
        assert response.status_code == 404, path
        assert "Fabrikam" not in response.text


async def test_technician_is_told_which_permission_the_customers_page_needs(
    as_tina: httpx.AsyncClient,
) -> None:
    response = await as_tina.get("/msp/customers")
    assert response.status_code == 403
    assert "customers:read" in response.text
    # Still inside the frame: the technician is not lost.
    assert 'id="sidebar"' in response.text


async def test_customer_admin_sees_their_own_tenant_as_home(as_carol: httpx.AsyncClient) -> None:
    response = await as_carol.get("/")
    assert response.headers["location"] == "/t/contoso-ltd/"
    response = await as_carol.get("/t/contoso-ltd/")
    assert response.status_code == 200
    page = text_of(response.text)
    assert "Home Contoso Ltd contoso-ltd" in page
    assert "MSP (home)" not in page
    assert "Client of" not in page
    nav = text_of(sidebar(response.text))
    assert "Organisation Contoso Ltd Security policy" in nav
    assert "Customers" not in nav


async def test_customer_admin_never_sees_into_the_msp(as_carol: httpx.AsyncClient) -> None:
    for path in ("/t/northwind/", "/t/fabrikam-inc/", "/msp/customers", "/msp/customers/x"):
        response = await as_carol.get(path)
        assert response.status_code == 404, path
        assert "Fabrikam" not in response.text


async def test_the_full_tenant_list_works_without_script(as_alex: httpx.AsyncClient) -> None:
    response = await as_alex.get("/tenants", params={"q": "fab", "to": "invitations"})
    assert response.status_code == 200
    assert 'action="/t/fabrikam-inc/switch"' in response.text
    assert '<input type="hidden" name="to" value="invitations">' in response.text
    assert "Contoso" not in text_of(response.text.split("<main", 1)[1])


async def test_switching_keeps_the_page_and_is_recorded(
    as_alex: httpx.AsyncClient, as_tina: httpx.AsyncClient, world: World, owner_engine: AsyncEngine
) -> None:
    response = await as_alex.post("/t/fabrikam-inc/switch", data={"to": "invitations"})
    assert response.status_code == 303
    assert response.headers["location"] == "/t/fabrikam-inc/invitations"
    # Tina may not see invitations in Contoso: she lands on its overview instead.
    response = await as_tina.post("/t/contoso-ltd/switch", data={"to": "invitations"})
    assert response.headers["location"] == "/t/contoso-ltd/"
    response = await as_tina.post("/t/contoso-ltd/switch", data={"to": "no-such-page"})
    assert response.headers["location"] == "/t/contoso-ltd/"
    async with owner_engine.connect() as conn:
        events = (
            await conn.execute(
                select(AuditEvent.actor_name, AuditEvent.via_grant_id).where(
                    AuditEvent.tenant_id == world.customers["contoso-ltd"].id,
                    AuditEvent.action == "access.context_switched",
                )
            )
        ).all()
    assert len(events) == 2
    assert all("Tina Tech" in name and grant is not None for name, grant in events)


# ---- the customers page


async def test_customers_page_lists_searches_and_pages(as_alex: httpx.AsyncClient) -> None:
    response = await as_alex.get("/msp/customers")
    assert response.status_code == 200
    page = text_of(response.text)
    for name in ("Contoso Ltd", "Fabrikam Inc", "Tailspin Toys"):
        assert name in page
    assert "Initech" not in page
    response = await as_alex.get("/msp/customers", params={"q": "TOYS"})
    page = text_of(response.text)
    assert "Tailspin Toys" in page and "Contoso Ltd" not in page
    response = await as_alex.get("/msp/customers", params={"q": "nothing-like-this"})
    assert "No customer matches “nothing-like-this”" in text_of(response.text)
    # A broken cursor shows the first page rather than an error.
    response = await as_alex.get("/msp/customers", params={"cursor": "garbage!"})
    assert response.status_code == 200
    assert "Contoso Ltd" in text_of(response.text)


async def test_customers_export_as_csv_without_formulas(as_alex: httpx.AsyncClient) -> None:
    token = form_client(as_alex)
    await as_alex.post(
        "/msp/customers", data={"csrf_token": token, "name": "=HYPERLINK(1)", "slug": "evil"}
    )
    response = await as_alex.get("/msp/customers.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    lines = response.text.splitlines()
    assert lines[0] == "slug,display_name,status,created_at"
    assert [line.split(",")[0] for line in lines[1:]] == [
        "contoso-ltd",
        "evil",
        "fabrikam-inc",
        "tailspin-toys",
    ]
    assert "'=HYPERLINK(1)" in response.text
    filtered = await as_alex.get("/msp/customers.csv", params={"q": "toys"})
    assert len(filtered.text.splitlines()) == 2


async def test_an_msp_without_customers_is_told_what_to_do_next(
    as_gary: httpx.AsyncClient, world: World, owner_engine: AsyncEngine
) -> None:
    form_client(as_gary)
    response = await as_gary.get("/msp/customers")
    assert "Initech" in text_of(response.text)
    response = await as_gary.get("/msp/customers", params={"q": "zzz"})
    assert "create it with the form above" in text_of(response.text)


def form_token_in(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]*)"', html)
    assert found is not None
    return found.group(1)


async def test_creating_a_customer_redirects_and_lists_it(
    as_alex: httpx.AsyncClient, owner_engine: AsyncEngine
) -> None:
    expected = form_client(as_alex)
    # As a browser does it: the token comes from the rendered form.
    token = form_token_in((await as_alex.get("/msp/customers")).text)
    assert token == expected
    response = await as_alex.post(
        "/msp/customers",
        data={"csrf_token": token, "name": "Woodgrove Bank", "display_name": "", "slug": ""},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/msp/customers?q=woodgrove-bank"
    listed = await as_alex.get(response.headers["location"])
    page = text_of(listed.text)
    assert "Customer Woodgrove Bank created with the slug woodgrove-bank." in page
    assert "Woodgrove Bank woodgrove-bank active" in page
    # The notice shows once.
    again = await as_alex.get("/msp/customers")
    assert "created with the slug" not in again.text
    assert await tenant_row(owner_engine, "woodgrove-bank") is not None


async def test_create_form_errors_sit_next_to_the_field_with_input_kept(
    as_alex: httpx.AsyncClient,
) -> None:
    token = form_client(as_alex)
    response = await as_alex.post(
        "/msp/customers",
        data={"csrf_token": token, "name": "   ", "display_name": "", "slug": ""},
    )
    assert response.status_code == 422
    assert re.search(r'id="f-name"[^>]*aria-invalid="true"', response.text)
    assert 'id="f-name-error">Name must' in response.text

    response = await as_alex.post(
        "/msp/customers",
        data={"csrf_token": token, "name": "Contoso Ltd", "display_name": "Contoso Two"},
    )
    assert response.status_code == 409
    assert (
        'id="f-name-error">Name makes the slug contoso-ltd, which is already taken: '
        "change the name or choose a slug" in response.text
    )
    assert 'value="Contoso Two"' in response.text
    assert "The slug is made from it: contoso-ltd." in response.text

    response = await as_alex.post(
        "/msp/customers",
        data={"csrf_token": token, "name": "Fine Name", "slug": "Not A Label!"},
    )
    assert response.status_code == 422
    assert 'id="f-slug-error">Slug must be a DNS label' in response.text
    assert 'value="Not A Label!"' in response.text


async def test_a_form_post_without_the_csrf_token_is_refused(
    as_alex: httpx.AsyncClient, owner_engine: AsyncEngine
) -> None:
    form_client(as_alex)
    response = await as_alex.post("/msp/customers", data={"name": "Sneaky Co"})
    assert response.status_code == 403
    assert "reload the page" in response.text
    response = await as_alex.post(
        "/msp/customers", data={"name": "Sneaky Co", "csrf_token": "not-the-token"}
    )
    assert response.status_code == 403
    assert await tenant_row(owner_engine, "sneaky-co") is None


async def test_rename_suspend_resume(as_alex: httpx.AsyncClient, owner_engine: AsyncEngine) -> None:
    token = form_client(as_alex)
    manage = await as_alex.get("/msp/customers/contoso-ltd")
    assert manage.status_code == 200
    assert "Type the slug contoso-ltd to confirm" in text_of(manage.text)

    response = await as_alex.post(
        "/msp/customers/contoso-ltd/rename", data={"csrf_token": token, "display_name": " "}
    )
    assert response.status_code == 422
    assert 'id="f-display_name-error">Display name must not be empty' in response.text
    response = await as_alex.post(
        "/msp/customers/contoso-ltd/rename",
        data={"csrf_token": token, "display_name": "Contoso Group"},
    )
    assert response.status_code == 303
    assert "Renamed to Contoso Group." in text_of(
        (await as_alex.get("/msp/customers/contoso-ltd")).text
    )

    response = await as_alex.post(
        "/msp/customers/contoso-ltd/suspend",
        data={"csrf_token": token, "back": "https://evil.example/"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/msp/customers"  # no open redirect
    row = await tenant_row(owner_engine, "contoso-ltd")
    assert row is not None and row.status == TenantStatus.SUSPENDED
    # Suspended: the overview still opens and says so.
    overview = await as_alex.get("/t/contoso-ltd/")
    assert "Contoso Group is suspended" in text_of(overview.text)

    response = await as_alex.post(
        "/msp/customers/contoso-ltd/resume",
        data={"csrf_token": token, "back": "/msp/customers?q=contoso"},
    )
    assert response.headers["location"] == "/msp/customers?q=contoso"
    row = await tenant_row(owner_engine, "contoso-ltd")
    assert row is not None and row.status == TenantStatus.ACTIVE


async def test_delete_asks_for_the_slug(
    as_alex: httpx.AsyncClient, owner_engine: AsyncEngine
) -> None:
    token = form_client(as_alex)
    response = await as_alex.post(
        "/msp/customers/fabrikam-inc/delete", data={"csrf_token": token, "confirm_slug": "fabrikam"}
    )
    assert response.status_code == 422
    assert "Type the customer&#39;s slug &#39;fabrikam-inc&#39; to confirm" in response.text
    assert 'value="fabrikam"' in response.text
    assert await tenant_row(owner_engine, "fabrikam-inc") is not None

    response = await as_alex.post(
        "/msp/customers/fabrikam-inc/delete",
        data={"csrf_token": token, "confirm_slug": "fabrikam-inc"},
    )
    assert response.status_code == 303
    listed = text_of((await as_alex.get(response.headers["location"])).text)
    assert "Customer Fabrikam Inc (fabrikam-inc) deleted" in listed
    assert await tenant_row(owner_engine, "fabrikam-inc") is None


async def test_another_msps_customer_cannot_be_managed(as_alex: httpx.AsyncClient) -> None:
    token = form_client(as_alex)
    assert (await as_alex.get("/msp/customers/initech")).status_code == 404
    response = await as_alex.post("/msp/customers/initech/suspend", data={"csrf_token": token})
    assert response.status_code == 404


async def test_account_pages_get_the_same_frame(as_tina: httpx.AsyncClient) -> None:
    response = await as_tina.get("/account/security")
    assert response.status_code == 200
    assert 'id="sidebar"' in response.text
    assert '<a href="/account/security" aria-current="page">Account security</a>' in response.text
    assert "MSP (home) Northwind IT" in text_of(response.text)
