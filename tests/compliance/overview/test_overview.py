"""The MSP's compliance overview across clients (issue #16): exactly the clients where
the caller holds compliance:read, from the kept scores; sorting, filters, keyset pages,
totals, overdue assessments, the CSV; bad input named. Both databases."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

import httpx

from tests.compliance.overview.seed import adopt
from tests.web.conftest import World, add_customer, delegate

API = "/api/v1/msp/compliance/overview"


async def _programmes(world: World) -> dict[str, uuid.UUID]:
    """Contoso 40% (2 overdue), Fabrikam 85%, Tailspin 60% baseline and 20% NIST, a
    fourth client without a programme, and Globex's Initech at 10%."""
    c = world.customers
    ids = {
        "contoso": await adopt(
            _db(world),
            c["contoso-ltd"],
            "msp-baseline",
            4000,
            recent=[2000, 3000, 4000],
            due=[
                (-1, "not_implemented"),  # overdue
                (-2, "partial"),  # overdue
                (-1, "implemented"),  # done: never overdue
                (-3, "not_applicable"),  # done
                (0, "not_assessed"),  # due today: not yet overdue
                (5, "partial"),
            ],
        ),
        "fabrikam": await adopt(_db(world), c["fabrikam-inc"], "msp-baseline", 8500),
        "tailspin": await adopt(_db(world), c["tailspin-toys"], "msp-baseline", 6000),
        "tailspin-nist": await adopt(
            _db(world), c["tailspin-toys"], "nist-csf", 2000, due=[(-10, "not_assessed")]
        ),
        "initech": await adopt(_db(world), world.other_customer, "msp-baseline", 1000),
    }
    return ids


def _db(world: World) -> Any:
    return world.app.state.db


def _rows(response: httpx.Response) -> list[tuple[str, str, float | None]]:
    assert response.status_code == 200, response.text
    return [(r["tenant_slug"], r["framework_key"], r["score"]) for r in response.json()["items"]]


async def test_the_admin_sees_every_client_worst_first_with_totals(
    world: World, as_alex: httpx.AsyncClient
) -> None:
    await add_customer(_db(world), world.msp, world.users["alex"], "Umbrella Corp")
    ids = await _programmes(world)
    response = await as_alex.get(API)
    assert _rows(response) == [
        ("tailspin-toys", "nist-csf", 20.0),
        ("contoso-ltd", "msp-baseline", 40.0),
        ("tailspin-toys", "msp-baseline", 60.0),
        ("fabrikam-inc", "msp-baseline", 85.0),
    ]
    body = response.json()
    contoso = body["items"][1]
    assert contoso["overdue"] == 2
    assert contoso["trend"] == [20.0, 30.0, 40.0]
    assert contoso["framework_id"] == str(ids["contoso"])
    assert contoso["tenant_name"] == "Contoso Ltd"
    assert body["items"][0]["overdue"] == 1
    assert body["next_cursor"] is None
    totals = body["totals"]
    assert totals["clients"] == 4
    assert totals["with_programme"] == 3
    assert totals["not_started"] == 1
    assert totals["with_overdue"] == 2
    by_key = {f["framework_key"]: f for f in totals["frameworks"]}
    assert by_key["msp-baseline"]["clients"] == 3
    assert by_key["msp-baseline"]["average"] == 61.7  # (40 + 85 + 60) / 3, half up
    assert by_key["nist-csf"]["average"] == 20.0
    assert "not_started_clients" not in body or body["not_started_clients"] is None
    listed = (await as_alex.get(API, params={"not_started": "true"})).json()
    assert [c["tenant_slug"] for c in listed["not_started_clients"]] == ["umbrella-corp"]


async def test_sorting_filters_and_keyset_pages(world: World, as_alex: httpx.AsyncClient) -> None:
    await _programmes(world)
    best = _rows(await as_alex.get(API, params={"sort": "-score"}))
    assert [s for _, _, s in best] == [85.0, 60.0, 40.0, 20.0]
    by_name = _rows(await as_alex.get(API, params={"sort": "name"}))
    assert [(c, k) for c, k, _ in by_name] == [
        ("contoso-ltd", "msp-baseline"),
        ("fabrikam-inc", "msp-baseline"),
        ("tailspin-toys", "msp-baseline"),
        ("tailspin-toys", "nist-csf"),
    ]
    for sort, whole in (("score", None), ("-score", best), ("name", by_name)):
        seen: list[Any] = []
        cursor = None
        while True:
            params = {"sort": sort, "limit": "3"} | ({"cursor": cursor} if cursor else {})
            page = await as_alex.get(API, params=params)
            seen += _rows(page)
            cursor = page.json()["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == 4 and len(set(seen)) == 4, sort
        if whole is not None:
            assert seen == whole, sort
    baseline = _rows(await as_alex.get(API, params={"framework": "msp-baseline"}))
    assert [c for c, _, _ in baseline] == ["contoso-ltd", "tailspin-toys", "fabrikam-inc"]
    below = _rows(await as_alex.get(API, params={"score_below": "60"}))
    assert [s for _, _, s in below] == [20.0, 40.0]
    overdue = _rows(await as_alex.get(API, params={"overdue": "true"}))
    assert [(c, k) for c, k, _ in overdue] == [
        ("tailspin-toys", "nist-csf"),
        ("contoso-ltd", "msp-baseline"),
    ]
    both = _rows(await as_alex.get(API, params={"overdue": "true", "framework": "msp-baseline"}))
    assert both == [("contoso-ltd", "msp-baseline", 40.0)]
    # A cursor belongs to its sort.
    first = (await as_alex.get(API, params={"limit": "1"})).json()["next_cursor"]
    wrong = await as_alex.get(API, params={"sort": "name", "cursor": first})
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "cursor"


async def test_a_client_group_narrows_the_rows_and_the_totals(
    world: World, as_alex: httpx.AsyncClient
) -> None:
    await _programmes(world)
    groups = "/api/v1/tenants/northwind/tenant-groups"
    made = await as_alex.post(groups, json={"name": "Healthcare"})
    assert made.status_code == 201, made.text
    group = made.json()["id"]
    added = await as_alex.post(f"{groups}/{group}/members", json={"customer": "tailspin-toys"})
    assert added.status_code == 201, added.text
    response = await as_alex.get(API, params={"client_group": group})
    assert {c for c, _, _ in _rows(response)} == {"tailspin-toys"}
    totals = response.json()["totals"]
    assert (totals["clients"], totals["with_programme"], totals["with_overdue"]) == (1, 1, 1)
    other = await as_alex.get(API, params={"client_group": str(uuid.uuid4())})
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "client_group"


async def test_only_clients_where_the_caller_holds_compliance_read(
    world: World,
    as_tina: httpx.AsyncClient,
    as_gary: httpx.AsyncClient,
    as_carol: httpx.AsyncClient,
) -> None:
    await _programmes(world)
    # Tina: 1st Level Support in Contoso (no compliance:read there): nothing.
    alone = await as_tina.get(API)
    assert _rows(alone) == [] and alone.json()["totals"]["clients"] == 0
    # Delegated as Technician in Fabrikam: Fabrikam, and only it.
    await delegate(
        _db(world), world.msp, world.users["tina"], world.customers["fabrikam-inc"], "technician"
    )
    assert _rows(await as_tina.get(API)) == [("fabrikam-inc", "msp-baseline", 85.0)]
    # Another MSP sees its own client only.
    assert _rows(await as_gary.get(API)) == [("initech", "msp-baseline", 10.0)]
    # A client's own admin has no clients: 404 on the API and the page, nothing shown.
    for path in (API, "/msp/compliance", API + ".csv"):
        refused = await as_carol.get(path)
        assert refused.status_code == 404, path
        assert "Fabrikam" not in refused.text and "Tailspin" not in refused.text


async def test_a_revoked_link_takes_the_client_out(
    world: World, as_alex: httpx.AsyncClient, as_carol: httpx.AsyncClient
) -> None:
    await _programmes(world)
    links = (await as_carol.get("/api/v1/tenants/contoso-ltd/links")).json()["items"]
    active = next(link for link in links if link["state"] == "active")
    revoked = await as_carol.post(f"/api/v1/tenants/contoso-ltd/links/{active['id']}/revoke")
    assert revoked.status_code == 200, revoked.text
    response = await as_alex.get(API)
    assert "contoso-ltd" not in {c for c, _, _ in _rows(response)}
    assert response.json()["totals"]["clients"] == 2


async def test_bad_input_names_the_field(world: World, as_alex: httpx.AsyncClient) -> None:
    await _programmes(world)
    for params, field in (
        ({"score_below": "0"}, "score_below"),
        ({"score_below": "101"}, "score_below"),
        ({"score_below": "12.34"}, "score_below"),
        ({"sort": "cheapest"}, "sort"),
        ({"client_group": "healthcare"}, "client_group"),
        ({"cursor": "bm90IG91cnM"}, "cursor"),
        ({"limit": "0"}, "limit"),
    ):
        response = await as_alex.get(API, params=params)
        assert response.status_code == 422, params
        assert response.headers["content-type"].startswith("application/problem+json")
        assert field in {e["field"] for e in response.json()["errors"]}, params


async def test_the_csv_has_every_matching_row(world: World, as_alex: httpx.AsyncClient) -> None:
    await _programmes(world)
    response = await as_alex.get(API + ".csv", params={"framework": "msp-baseline"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == [
        "client",
        "client_name",
        "framework",
        "framework_title",
        "score_percent",
        "implemented",
        "partial",
        "applicable",
        "requirements",
        "not_assessed",
        "overdue",
        "trend_percent",
        "changed_at",
    ]
    assert [(r["client"], r["score_percent"], r["overdue"]) for r in rows] == [
        ("contoso-ltd", "40.0", "2"),
        ("tailspin-toys", "60.0", "0"),
        ("fabrikam-inc", "85.0", "0"),
    ]
    assert rows[0]["trend_percent"] == "20.0 30.0 40.0"
    page_csv = await as_alex.get("/msp/compliance.csv", params={"score_below": "50"})
    assert [r["client"] for r in csv.DictReader(io.StringIO(page_csv.text))] == [
        "tailspin-toys",
        "contoso-ltd",
    ]
