"""The plan figures on the MSP dashboard (issue #17): client tenants and technician seats
used against the subscription's limits ("unlimited" without one); each client's service
plan with its counted users against the plan's included users, on the page, the API and
the CSV; the filter by service plan (422 naming ``service_plan`` for a plan not the
MSP's, the page showing the error by its field). Both databases."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

from tests.psa.conftest import PsaWorld

API = "/api/v1/msp/dashboard"
PLANS = "/api/v1/tenants/northwind/service-plans"


async def _get(psa: PsaWorld, who: str = "alex", url: str = API, **params: Any) -> Any:
    response = await psa.call(who, "GET", url, params=params)
    assert response.status_code == 200, response.text
    return response


async def _plan(psa: PsaWorld, name: str, included: int) -> str:
    body = {"name": name, "included_users": included, "price_minor": 4500, "currency": "EUR"}
    r = await psa.call("alex", "POST", PLANS, json=body)
    assert r.status_code == 201, r.text
    plan_id: str = r.json()["id"]
    return plan_id


async def _contacts(psa: PsaWorld, tenant: str, n: int) -> None:
    for i in range(n):
        r = await psa.call(
            "alex",
            "POST",
            f"/api/v1/tenants/{tenant}/contacts",
            json={"name": f"User {i}", "email": f"user{i}@{tenant}.example"},
        )
        assert r.status_code == 201, r.text


async def test_totals_show_clients_and_seats_against_the_plan(psa: PsaWorld, cli: Any) -> None:
    unmetered = (await _get(psa)).json()["totals"]
    assert unmetered["plan"] is None
    assert unmetered["client_tenants"]["limit"] is None
    assert unmetered["client_tenants"]["used"] >= 2
    assert "(unlimited)" in (await _get(psa, url="/msp/dashboard")).text

    assert (await cli.run("plans", "create", "Growth", "--clients", "25", "--seats", "10"))[0] == 0
    assert (await cli.run("tenants", "license", "northwind", "--plan", "Growth"))[0] == 0
    totals = (await _get(psa)).json()["totals"]
    assert totals["plan"] == "Growth"
    clients, seats = totals["client_tenants"], totals["technician_seats"]
    assert clients["limit"] == 25 and seats["limit"] == 10
    assert clients["percent"] == clients["used"] * 100 // 25
    page = (await _get(psa, url="/msp/dashboard")).text
    assert f"{clients['used']} of 25" in page and f"{seats['used']} of 10" in page
    assert "Growth plan" in page
    # A technician sees the same totals (the MSP's), without the billing link.
    dora = (await _get(psa, "dora")).json()["totals"]
    assert dora["client_tenants"] == clients


async def test_each_client_shows_its_service_plan_and_the_filter(psa: PsaWorld) -> None:
    essentials = await _plan(psa, "Managed Essentials", 25)
    premium = await _plan(psa, "Managed Premium", 2)
    await _contacts(psa, "contoso", 3)
    r = await psa.call("alex", "PUT", f"{PLANS}/assignments/contoso", json={"plan_id": essentials})
    assert r.status_code in (200, 201), r.text

    rows = {r["tenant_slug"]: r for r in (await _get(psa)).json()["items"]}
    plan = rows["contoso"]["service_plan"]
    assert (plan["plan_name"], plan["included_users"]) == ("Managed Essentials", 25)
    assert plan["counted_users"] >= 3 and plan["plan_id"] == essentials
    assert rows["fabrikam"]["service_plan"] is None

    page = (await _get(psa, url="/msp/dashboard")).text
    assert "Managed Essentials" in page and f"{plan['counted_users']} of 25 users" in page
    assert 'href="/msp/service-plans"' in page and 'id="dash-plan"' in page

    exported = (await _get(psa, url=API + ".csv")).text
    by_slug = {row["client"]: row for row in csv.DictReader(io.StringIO(exported))}
    assert by_slug["contoso"]["service_plan"] == "Managed Essentials"
    assert by_slug["contoso"]["included_users"] == "25"
    assert by_slug["fabrikam"]["service_plan"] == ""

    # The filter: only the clients on the plan; totals over them.
    only = (await _get(psa, service_plan=essentials)).json()
    assert [r["tenant_slug"] for r in only["items"]] == ["contoso"]
    assert only["totals"]["clients"] == 1
    assert (await _get(psa, service_plan=premium)).json()["items"] == []
    filtered_csv = (await _get(psa, url=API + ".csv", service_plan=essentials)).text
    assert "contoso" in filtered_csv and "fabrikam" not in filtered_csv
    on_page = (await _get(psa, url="/msp/dashboard", service_plan=essentials)).text
    assert "Contoso" in on_page and "Fabrikam" not in on_page


async def test_an_unknown_service_plan_is_refused_by_name(psa: PsaWorld) -> None:
    # Another MSP's plan is unknown here, as is a random id and a malformed one.
    theirs = await psa.call(
        "gary",
        "POST",
        "/api/v1/tenants/globex/service-plans",
        json={"name": "Theirs", "included_users": 5, "price_minor": 100, "currency": "EUR"},
    )
    assert theirs.status_code == 201, theirs.text
    for bad in (theirs.json()["id"], str(uuid.uuid4()), "not-a-plan"):
        for url in (API, API + ".csv"):
            r = await psa.call("alex", "GET", url, params={"service_plan": bad})
            assert r.status_code == 422, (url, r.text)
            assert "service_plan" in r.text
        page = await psa.call("alex", "GET", "/msp/dashboard", params={"service_plan": bad})
        assert page.status_code == 200 and "dash-plan-error" in page.text
        assert "Contoso" in page.text and "Fabrikam" in page.text
