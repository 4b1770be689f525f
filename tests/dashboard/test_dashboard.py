"""The MSP dashboard (issue #17): its kept rows move in the transaction of each change in
a client (a ticket opened, resolved or breached; a compliance score; an MSP technician's
action), equal a rebuild from the sources, and are gone with a deleted client; who sees
which clients (the admin all, a delegated technician only theirs, a client's own user
404); sorting, search, filters, pages and CSV; the landing page. Both databases."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from tenantry.access.service import operator_scope
from tenantry.dashboard.models import ClientRollup
from tenantry.dashboard.rebuild import rebuild
from tenantry.db.base import utcnow
from tenantry.db.engine import Database
from tenantry.psa.tickets.models import Ticket
from tenantry.psa.tickets.open_counts.sweep import sweep
from tests.psa.conftest import PsaWorld

API = "/api/v1/msp/dashboard"


async def _dashboard(psa: PsaWorld, who: str = "alex", **params: Any) -> dict[str, Any]:
    response = await psa.call(who, "GET", API, params=params)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def _rows(page: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["tenant_slug"]: r for r in page["items"]}


async def _kept(database: Database, msp: uuid.UUID) -> dict[uuid.UUID, tuple[Any, ...]]:
    async with database.unit_of_work(operator_scope([msp])) as session:
        return {
            r.client_id: (r.open, r.breached, r.score_bp, r.scores, r.last_activity_at)
            for r in await session.scalars(select(ClientRollup))
        }


async def _overdue(database: Database, tenant_id: uuid.UUID, number: int) -> None:
    async with database.unit_of_work(operator_scope([tenant_id])) as session:
        ticket = await session.scalar(select(Ticket).where(Ticket.number == number))
        assert ticket is not None
        ticket.resolution_due_at = utcnow() - timedelta(minutes=5)


async def test_tickets_opened_resolved_and_breached_move_the_dashboard(psa: PsaWorld) -> None:
    url = "/api/v1/tenants/contoso/tickets"
    first = (await psa.ticket("alex", "contoso"))["number"]
    await psa.ticket("alex", "contoso")
    await psa.ticket("alex", "fabrikam")
    await psa.ticket("gary", "umbrella")  # Globex's client: not on Northwind's dashboard
    page = await _dashboard(psa)
    rows = _rows(page)
    assert set(rows) == {"contoso", "fabrikam"}
    assert (rows["contoso"]["open_tickets"], rows["fabrikam"]["open_tickets"]) == (2, 1)
    assert (page["totals"]["open_tickets"], page["totals"]["sla_breaches"]) == (3, 0)
    # Resolved: it leaves the count.
    done = await psa.call("alex", "PATCH", f"{url}/{first}", json={"status": "resolved"})
    assert done.status_code == 200, done.text
    assert _rows(await _dashboard(psa))["contoso"]["open_tickets"] == 1
    # Breached: the sweep flags it in its own transaction, and the dashboard follows.
    second = first + 1
    await _overdue(psa.database, psa.tenants["contoso"], second)
    assert await sweep(psa.database) == 1
    page = await _dashboard(psa)
    assert (_rows(page)["contoso"]["open_tickets"], _rows(page)["contoso"]["sla_breaches"]) == (
        1,
        1,
    )
    assert page["totals"]["sla_breaches"] == 1
    # Closing the breached ticket takes both away.
    await psa.call("alex", "PATCH", f"{url}/{second}", json={"status": "closed"})
    assert (
        _rows(await _dashboard(psa))["contoso"]["open_tickets"],
        _rows(await _dashboard(psa))["contoso"]["sla_breaches"],
    ) == (0, 0)
    # What was kept equals what a rebuild makes from the sources.
    kept = await _kept(psa.database, psa.tenants["northwind"])
    await rebuild(psa.database, [psa.tenants["northwind"]])
    assert await _kept(psa.database, psa.tenants["northwind"]) == kept


async def test_a_score_change_moves_the_dashboard(psa: PsaWorld) -> None:
    base = "/api/v1/tenants/contoso/compliance"
    made = await psa.call("alex", "POST", f"{base}/adopted", json={"framework": "msp-baseline@1"})
    assert made.status_code == 201, made.text
    framework = made.json()
    row = _rows(await _dashboard(psa))["contoso"]
    assert [(f["framework_key"], f["score"]) for f in row["frameworks"]] == [("msp-baseline", 0.0)]
    assert row["score"] == 0.0
    got = await psa.call("alex", "GET", f"{base}/adopted/{framework['id']}/requirements")
    first = next(r for r in got.json()["items"] if r["assessable"])
    patched = await psa.call(
        "alex",
        "PATCH",
        f"{base}/assessments/{first['assessment']['id']}",
        json={"status": "implemented"},
    )
    assert patched.status_code == 200, patched.text
    page = await _dashboard(psa)
    row = _rows(page)["contoso"]
    assert row["score"] is not None and row["score"] > 0
    assert row["frameworks"][0]["trend"][-1] == row["score"]
    assert len(row["frameworks"][0]["trend"]) == 2
    assert page["totals"]["average_score"] == row["score"]
    assert page["totals"]["scored_clients"] == 1
    assert _rows(page)["fabrikam"]["frameworks"] == []
    kept = await _kept(psa.database, psa.tenants["northwind"])
    await rebuild(psa.database)
    assert await _kept(psa.database, psa.tenants["northwind"]) == kept
    # Retiring the framework takes its score off the row.
    retired = await psa.call("alex", "DELETE", f"{base}/adopted/{framework['id']}")
    assert retired.status_code in (200, 204), retired.text
    row = _rows(await _dashboard(psa))["contoso"]
    assert (row["frameworks"], row["score"]) == ([], None)


async def test_an_msp_technicians_action_moves_last_activity(psa: PsaWorld) -> None:
    rows = _rows(await _dashboard(psa))
    before = rows["contoso"]["last_msp_activity_at"]
    assert rows["fabrikam"]["last_msp_activity_at"] is not None  # created by Alex
    # Carl is Contoso's own: his action is not the MSP's.
    await psa.ticket("carl", "contoso")
    assert _rows(await _dashboard(psa))["contoso"]["last_msp_activity_at"] == before
    # Dora acts in Contoso through her delegation.
    await psa.ticket("dora", "contoso")
    row = _rows(await _dashboard(psa))["contoso"]
    assert row["last_msp_activity_at"] is not None and row["last_msp_activity_at"] != before
    assert row["last_msp_activity_by"].startswith(psa.users["dora"].display_name)


async def test_who_sees_which_clients(psa: PsaWorld) -> None:
    assert set(_rows(await _dashboard(psa, "alex"))) == {"contoso", "fabrikam"}
    # Dora reaches Contoso only (a delegation); the totals are hers too.
    await psa.ticket("alex", "fabrikam")
    dora = await _dashboard(psa, "dora")
    assert set(_rows(dora)) == {"contoso"}
    assert dora["totals"]["clients"] == 1 and dora["totals"]["open_tickets"] == 0
    # Tina has no delegation: no rows, not an error.
    tina = await _dashboard(psa, "tina")
    assert tina["items"] == [] and tina["totals"]["clients"] == 0
    # Another MSP's admin sees its own client only.
    assert set(_rows(await _dashboard(psa, "gary"))) == {"umbrella"}
    # A client's own user: the MSP level does not exist for them.
    for url in (API, API + ".csv", "/msp/dashboard"):
        assert (await psa.call("carl", "GET", url)).status_code == 404, url


async def test_sort_search_filter_page_and_csv(psa: PsaWorld) -> None:
    await psa.ticket("alex", "fabrikam")
    await psa.ticket("alex", "fabrikam")
    await psa.ticket("alex", "contoso")
    names = lambda page: [r["tenant_slug"] for r in page["items"]]  # noqa: E731
    assert names(await _dashboard(psa)) == ["fabrikam", "contoso"]  # most open first
    assert names(await _dashboard(psa, sort="name")) == ["contoso", "fabrikam"]
    assert names(await _dashboard(psa, sort="-name")) == ["fabrikam", "contoso"]
    assert names(await _dashboard(psa, sort="open")) == ["contoso", "fabrikam"]
    assert names(await _dashboard(psa, sort="expiry")) == ["contoso", "fabrikam"]
    assert names(await _dashboard(psa, q="fabr")) == ["fabrikam"]
    assert names(await _dashboard(psa, q="nothing")) == []
    first = await _dashboard(psa, sort="name", limit=1)
    assert names(first) == ["contoso"] and first["next_cursor"]
    second = await _dashboard(psa, sort="name", limit=1, cursor=first["next_cursor"])
    assert names(second) == ["fabrikam"] and second["next_cursor"] is None
    assert second["totals"]["clients"] == 2
    # Bad input names its field.
    for params, field in (
        ({"sort": "colour"}, "sort"),
        ({"client_group": "not-a-group"}, "client_group"),
        ({"client_group": str(uuid.uuid4())}, "client_group"),
        ({"q": "x" * 101}, "q"),
    ):
        response = await psa.call("alex", "GET", API, params=params)
        assert response.status_code == 422, params
        assert field in response.text
    # A client group filters.
    made = await psa.call(
        "alex", "POST", "/api/v1/tenants/northwind/tenant-groups", json={"name": "Priority"}
    )
    assert made.status_code == 201, made.text
    group = made.json()["id"]
    added = await psa.call(
        "alex",
        "POST",
        f"/api/v1/tenants/northwind/tenant-groups/{group}/members",
        json={"customer": "contoso"},
    )
    assert added.is_success, added.text
    assert names(await _dashboard(psa, client_group=group)) == ["contoso"]
    # The CSV: every row the filters match.
    exported = await psa.call("alex", "GET", API + ".csv", params={"sort": "name"})
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["client"], r["open_tickets"]) for r in lines] == [
        ("contoso", "1"),
        ("fabrikam", "2"),
    ]


async def test_a_deleted_clients_row_goes_with_it(psa: PsaWorld) -> None:
    await psa.ticket("alex", "fabrikam")
    fabrikam = psa.tenants["fabrikam"]
    assert fabrikam in await _kept(psa.database, psa.tenants["northwind"])
    deleted = await psa.call(
        "alex",
        "DELETE",
        "/api/v1/tenants/northwind/customers/fabrikam",
        params={"confirm_slug": "fabrikam"},
    )
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["rows_deleted"]["msp_dashboard_row"] == 1
    assert fabrikam not in await _kept(psa.database, psa.tenants["northwind"])
    assert set(_rows(await _dashboard(psa))) == {"contoso"}


async def test_the_page_and_the_landing(psa: PsaWorld) -> None:
    await psa.ticket("alex", "contoso")
    page = await psa.call("alex", "GET", "/msp/dashboard")
    assert page.status_code == 200, page.text
    assert "Contoso" in page.text and "Fabrikam" in page.text
    assert 'href="/t/contoso/tickets"' in page.text
    assert 'href="/t/contoso/audit"' in page.text
    dora = await psa.call("dora", "GET", "/msp/dashboard")
    assert dora.status_code == 200 and "Contoso" in dora.text and "Fabrikam" not in dora.text
    exported = await psa.call("alex", "GET", "/msp/dashboard.csv", params={"q": "cont"})
    assert exported.status_code == 200 and "contoso" in exported.text
    assert "fabrikam" not in exported.text
    # A bad filter on the page is shown next to its field; the rest still answers.
    bad = await psa.call("alex", "GET", "/msp/dashboard", params={"sort": "colour"})
    assert bad.status_code == 200 and "dash-sort-error" in bad.text


async def test_the_rebuild_command_restores_lost_rows(psa: PsaWorld, cli: Any) -> None:
    """Rows lost (or a database upgraded with clients in it): ``tenantry dashboard
    rebuild`` makes them again from the sources, and a second run changes nothing."""
    await psa.ticket("alex", "contoso")
    northwind = psa.tenants["northwind"]
    kept = await _kept(psa.database, northwind)
    async with psa.database.unit_of_work(operator_scope([northwind])) as session:
        for row in await session.scalars(select(ClientRollup)):
            await session.delete(row)
    assert await _kept(psa.database, northwind) == {}
    code, out, err = await cli.run("dashboard", "rebuild", "--msp", "northwind", "--json")
    assert code == 0, err
    assert '"rows": 2' in out
    assert await _kept(psa.database, northwind) == kept
    assert (await cli.run("dashboard", "rebuild", "--json")).exit_code == 0
    assert await _kept(psa.database, northwind) == kept
