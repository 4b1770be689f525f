"""The per-client open and breached counts (issue #15): kept in ``ticket_open_counts`` in
the unit of work of every ticket change, equal to a recount after each kind of change,
exact while time breaches tickets (and the sweep flags them), paged, and never showing
a client the caller may not see. Both databases."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tenantry.access.models import GrantScope
from tenantry.access.service import create_grant, operator_scope
from tenantry.audit.schemas import OPERATOR
from tenantry.db.base import utcnow
from tenantry.db.engine import Database
from tenantry.psa.tickets.clock import sla_of
from tenantry.psa.tickets.models import OPEN_STATUSES, Ticket, TicketOpenCount
from tenantry.psa.tickets.open_counts.sweep import sweep
from tests.psa.conftest import PsaWorld
from tests.psa.tickets.test_pages import _browser

COUNTS = "/api/v1/tenants/northwind/msp-tickets/counts"
Key = tuple[uuid.UUID, uuid.UUID | None]


async def _kept_and_recounted(
    database: Database, tenant_ids: list[uuid.UUID]
) -> tuple[dict[Key, tuple[int, int]], dict[Key, tuple[int, int]]]:
    """The kept rows (zero rows left out), and the same figures recounted from tickets:
    open per (tenant, assignee), and of those the ones with a breach flag."""
    async with database.unit_of_work(operator_scope(tenant_ids)) as session:
        kept = {
            (r.tenant_id, r.assignee_user_id): (r.open, r.breached)
            for r in await session.scalars(select(TicketOpenCount))
            if r.open or r.breached
        }
        recounted: dict[Key, tuple[int, int]] = {}
        for t in await session.scalars(select(Ticket)):
            if t.status in OPEN_STATUSES:
                opened, breached = recounted.get((t.tenant_id, t.assignee_user_id), (0, 0))
                flagged = t.first_response_breached or t.resolution_breached
                recounted[(t.tenant_id, t.assignee_user_id)] = (opened + 1, breached + flagged)
    return kept, recounted


async def _as_seen_on_tickets(
    database: Database, tenant_ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[int, int]]:
    """What each ticket's own SLA says now, summed per client: the figure the counts
    must show (open, and breached = flagged or overdue now)."""
    now = utcnow()
    seen: dict[uuid.UUID, tuple[int, int]] = {}
    async with database.unit_of_work(operator_scope(tenant_ids)) as session:
        for t in await session.scalars(select(Ticket)):
            if t.status in OPEN_STATUSES:
                sla = sla_of(t, now)
                late = sla.first_response_breached or sla.resolution_breached
                opened, breached = seen.get(t.tenant_id, (0, 0))
                seen[t.tenant_id] = (opened + 1, breached + late)
    return seen


async def _check(psa: PsaWorld, step: str) -> None:
    tenants = [psa.tenants[s] for s in ("contoso", "fabrikam", "umbrella") if s in psa.tenants]
    kept, recounted = await _kept_and_recounted(psa.database, tenants)
    assert kept == recounted, step
    shown = (await psa.call("alex", "GET", COUNTS)).json()
    by_id = {uuid.UUID(c["tenant_id"]): (c["open"], c["breached"]) for c in shown["items"]}
    expected = await _as_seen_on_tickets(psa.database, tenants)
    expected.pop(psa.tenants.get("umbrella", uuid.uuid4()), None)  # Globex's client
    assert by_id == {t: c for t, c in expected.items() if c[0]}, step
    assert shown["total_open"] == sum(n for n, _ in by_id.values()), step


async def _overdue(database: Database, tenant_id: uuid.UUID, number: int, kind: str) -> None:
    """As if the clock had run out: the ticket's due time moves into the past, with no
    change the service sees (no flag, no count moved)."""
    async with database.unit_of_work(operator_scope([tenant_id])) as session:
        ticket = await session.scalar(select(Ticket).where(Ticket.number == number))
        assert ticket is not None
        setattr(ticket, f"{kind}_due_at", utcnow() - timedelta(minutes=5))


async def test_the_counts_equal_a_recount_after_every_kind_of_change(psa: PsaWorld) -> None:
    contoso, fabrikam = "/api/v1/tenants/contoso/tickets", "/api/v1/tenants/fabrikam/tickets"
    alex, dora, carl = (str(psa.users[u].id) for u in ("alex", "dora", "carl"))
    t1 = (await psa.ticket("alex", "contoso", priority="P1"))["number"]
    t2 = (await psa.ticket("alex", "contoso", assignee_user_id=alex))["number"]
    t3 = (await psa.ticket("dora", "contoso", assignee_user_id=dora))["number"]
    f1 = (await psa.ticket("alex", "fabrikam"))["number"]
    await psa.ticket("alex", "fabrikam", assignee_user_id=alex)
    await psa.ticket("gary", "umbrella")
    await _check(psa, "created")

    async def patch(url: str, number: int, **body: Any) -> None:
        response = await psa.call("alex", "PATCH", f"{url}/{number}", json=body)
        assert response.status_code == 200, response.text
        await _check(psa, f"#{number} {body}")

    for status in ("waiting_on_customer", "open", "resolved", "closed", "new", "on_hold", "open"):
        await patch(contoso, t1, status=status)
    await patch(contoso, t2, assignee_user_id=carl)
    await patch(contoso, t2, assignee_user_id=None)
    await patch(contoso, t2, priority="P1", title="Faster now")
    # Time breaches t3: the counts show it at once, before anything flags it.
    await _overdue(psa.database, psa.tenants["contoso"], t3, "first_response")
    await _check(psa, "t3 overdue, unflagged")
    # Answering late flags it: it moves into the kept breached count.
    reply = {"body": "Looking", "visibility": "public"}
    assert (await psa.call("dora", "POST", f"{contoso}/{t3}/comments", json=reply)).is_success
    await _check(psa, "t3 answered late")
    await patch(contoso, t3, assignee_user_id=alex)
    await _overdue(psa.database, psa.tenants["contoso"], t1, "resolution")
    await patch(contoso, t1, status="on_hold")  # pausing records the missed target
    await patch(contoso, t1, status="resolved")  # leaves the counts, flag and all

    async def bulk(**body: Any) -> None:
        body["numbers"] = [t1, t2, t3]
        response = await psa.call("alex", "POST", f"{contoso}/bulk", json=body)
        assert response.status_code == 200, response.text
        await _check(psa, f"bulk {body}")

    await bulk(status="closed")
    await bulk(status="open")  # reopened: t1 and t3 keep their breach
    await bulk(assignee_user_id=dora)
    await bulk(assignee_user_id=None, priority="P2")
    # Time breaches f1; the sweep flags it and moves it into the kept rows.
    await _overdue(psa.database, psa.tenants["fabrikam"], f1, "resolution")
    await _check(psa, "f1 overdue, unflagged")
    assert await sweep(psa.database) == 1
    await _check(psa, "swept")
    assert await sweep(psa.database) == 0
    await patch(fabrikam, f1, status="closed")
    # Deleting a client takes its counts with it.
    deleted = await psa.call(
        "alex",
        "DELETE",
        "/api/v1/tenants/northwind/customers/fabrikam",
        params={"confirm_slug": "fabrikam"},
    )
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["rows_deleted"]["ticket_open_counts"] >= 1
    gone = psa.tenants.pop("fabrikam")
    kept, _ = await _kept_and_recounted(psa.database, [gone])
    assert kept == {}
    await _check(psa, "fabrikam deleted")


async def test_the_sweep_flags_a_ticket_whose_target_passed(
    psa: PsaWorld, database: Database
) -> None:
    contoso = psa.tenants["contoso"]
    late = (await psa.ticket("alex", "contoso", priority="P1"))["number"]
    done = (await psa.ticket("alex", "contoso"))["number"]
    url = "/api/v1/tenants/contoso/tickets"
    await psa.call("alex", "PATCH", f"{url}/{done}", json={"status": "resolved"})
    await _overdue(database, contoso, late, "first_response")
    await _overdue(database, contoso, done, "resolution")  # resolved: not counted at all

    async def ticket_row(number: int) -> Ticket:
        async with database.unit_of_work(operator_scope([contoso])) as session:
            found = await session.scalar(select(Ticket).where(Ticket.number == number))
        assert found is not None
        return found

    before = await ticket_row(late)
    shown = (await psa.call("alex", "GET", COUNTS)).json()["items"]
    assert [(c["tenant_slug"], c["open"], c["breached"]) for c in shown] == [("contoso", 1, 1)]
    kept, _ = await _kept_and_recounted(database, [contoso])
    assert kept == {(contoso, None): (1, 0)}  # not flagged yet: added when read
    assert await sweep(database) == 1
    after = await ticket_row(late)
    assert after.first_response_breached and not after.resolution_breached
    assert after.updated_at == before.updated_at  # nobody changed the ticket
    assert not (await ticket_row(done)).resolution_breached
    kept, _ = await _kept_and_recounted(database, [contoso])
    assert kept == {(contoso, None): (1, 1)}
    shown = (await psa.call("alex", "GET", COUNTS)).json()["items"]
    assert [(c["tenant_slug"], c["open"], c["breached"]) for c in shown] == [("contoso", 1, 1)]
    assert await sweep(database) == 0


async def _customers(psa: PsaWorld, names: list[str]) -> dict[str, str]:
    """New customers of Northwind by name → slug."""
    slugs = {}
    for name in names:
        response = await psa.call(
            "alex", "POST", "/api/v1/tenants/northwind/customers", json={"name": name}
        )
        assert response.status_code == 201, response.text
        slugs[name] = response.json()["slug"]
        psa.tenants[slugs[name]] = uuid.UUID(response.json()["id"])
    return slugs


async def test_counts_come_a_page_at_a_time_most_breached_first(psa: PsaWorld) -> None:
    slug = await _customers(psa, ["Echo", "Alpha", "Delta", "Bravo", "Charlie"])
    wanted = {"Echo": (3, 0), "Alpha": (1, 1), "Delta": (2, 1), "Bravo": (3, 0)}
    for name, (opened, breached) in wanted.items():
        for i in range(opened):
            number = (await psa.ticket("alex", slug[name]))["number"]
            if i < breached:
                await _overdue(psa.database, psa.tenants[slug[name]], number, "first_response")
    resolved = (await psa.ticket("alex", slug["Charlie"]))["number"]
    url = f"/api/v1/tenants/{slug['Charlie']}/tickets/{resolved}"
    await psa.call("alex", "PATCH", url, json={"status": "resolved"})

    async def walk(**params: Any) -> list[tuple[str, int, int]]:
        seen: list[tuple[str, int, int]] = []
        cursor = None
        while True:
            query = {**params, "limit": 3, **({"cursor": cursor} if cursor else {})}
            page = (await psa.call("alex", "GET", COUNTS, params=query)).json()
            assert len(page["items"]) <= 3
            seen += [(c["tenant_name"], c["open"], c["breached"]) for c in page["items"]]
            assert (page["total_open"], page["total_breached"]) == (9, 2)
            cursor = page["next_cursor"]
            if cursor is None:
                return seen

    ranked = [("Delta", 2, 1), ("Alpha", 1, 1), ("Bravo", 3, 0), ("Echo", 3, 0)]
    assert await walk() == ranked
    empty = [("Charlie", 0, 0), ("Contoso", 0, 0), ("Fabrikam", 0, 0)]
    assert await walk(include_empty="true") == ranked + empty
    for params, field in (
        ({"cursor": "not-ours"}, "cursor"),
        ({"limit": 0}, "limit"),
        ({"include_empty": "perhaps"}, "include_empty"),
        ({"assignee": "somebody"}, "assignee"),
    ):
        refused = await psa.call("alex", "GET", COUNTS, params=params)
        assert refused.status_code == 422, params
        assert field in refused.text


async def test_the_assignee_filter_counts_mine_unassigned_or_one_user(psa: PsaWorld) -> None:
    alex, dora = str(psa.users["alex"].id), str(psa.users["dora"].id)
    await psa.ticket("alex", "contoso", assignee_user_id=alex)
    await psa.ticket("alex", "contoso", assignee_user_id=dora)
    await psa.ticket("alex", "contoso")
    await psa.ticket("alex", "fabrikam", assignee_user_id=alex)

    async def counts(who: str, assignee: str) -> list[tuple[str, int]]:
        page = await psa.call(who, "GET", COUNTS, params={"assignee": assignee})
        return [(c["tenant_slug"], c["open"]) for c in page.json()["items"]]

    assert await counts("alex", "me") == [("contoso", 1), ("fabrikam", 1)]
    assert await counts("alex", "none") == [("contoso", 1)]
    assert await counts("alex", dora) == [("contoso", 1)]
    assert await counts("dora", "me") == [("contoso", 1)]
    assert await counts("alex", "") == [("contoso", 3), ("fabrikam", 1)]


async def test_a_technician_sees_the_counts_of_their_clients_only(psa: PsaWorld) -> None:
    slugs = await _customers(psa, [f"Client {n:02d}" for n in range(22)])
    delegated = sorted(slugs.values())[:20]
    async with psa.database.unit_of_work(operator_scope([psa.tenants["northwind"]])) as session:
        for s in delegated:
            await create_grant(
                session,
                issuer_tenant_id=psa.tenants["northwind"],
                user_id=psa.users["tina"].id,
                role="technician",
                scope=GrantScope.CUSTOMER,
                customer_tenant_id=psa.tenants[s],
                actor=OPERATOR,
            )
    for s in [*slugs.values(), "contoso", "fabrikam"]:
        await psa.ticket("alex", s)
    await psa.ticket("gary", "umbrella")

    async def seen(who: str, **params: Any) -> set[str]:
        page = await psa.call(who, "GET", COUNTS, params={"limit": 100, **params})
        assert page.status_code == 200, page.text
        return {c["tenant_slug"] for c in page.json()["items"]}

    assert await seen("tina") == set(delegated)
    assert await seen("tina", include_empty="true") == set(delegated)
    assert await seen("alex") == {*slugs.values(), "contoso", "fabrikam"}
    # Another MSP's clients never appear, nor do Northwind's in Globex's counts.
    gary = await psa.call("gary", "GET", "/api/v1/tenants/globex/msp-tickets/counts")
    assert [c["tenant_slug"] for c in gary.json()["items"]] == ["umbrella"]
    assert gary.json()["total_open"] == 1
    assert (await psa.call("gary", "GET", COUNTS)).status_code == 404


async def test_the_msp_page_lists_the_busiest_clients_and_links_to_more(
    psa: PsaWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tenantry.psa.tickets.pages.msp.COUNTS", 1)
    await psa.ticket("alex", "contoso")
    await psa.ticket("alex", "fabrikam")
    await psa.ticket("alex", "fabrikam")
    async with await _browser(psa, "alex@northwind.example") as browser:
        page = await browser.get("/msp/tickets")
        assert page.status_code == 200
        assert "3 open in 2 of 2 clients" in page.text
        nav = page.text.split('class="tk-counts"')[1].split("</nav>")[0]
        assert "Fabrikam" in nav and "Contoso" not in nav and "More clients" in nav
        more = nav.split("More clients")[0].rsplit('href="', 1)[1].split('"')[0]
        second = await browser.get(more.replace("&amp;", "&"))
        nav = second.text.split('class="tk-counts"')[1].split("</nav>")[0]
        assert "Contoso" in nav and "Fabrikam" not in nav and "First clients" in nav
        odd = await browser.get("/msp/tickets", params={"counts_cursor": "x"})
        assert odd.status_code == 200 and "Filter counts_cursor" in odd.text


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_concurrent_changes_and_the_sweep_keep_the_counts_exact(psa: PsaWorld) -> None:
    """Single edits, bulk edits, late answers and the sweep on the same tickets at once:
    each takes the tickets, then the counts, then the audit chain, so none deadlocks,
    and the counts still equal a recount."""
    contoso, url = psa.tenants["contoso"], "/api/v1/tenants/contoso/tickets"
    alex = str(psa.users["alex"].id)
    numbers = [(await psa.ticket("alex", "contoso"))["number"] for _ in range(12)]
    # Bulk edits hold the audit chain while they write their records; the single edits
    # (of other tickets, so no ticket lock orders them) must not hold the counts then.
    bulked, single = numbers[:6], numbers[6:]

    async def call(method: str, path: str, body: dict[str, Any]) -> None:
        response = await psa.call("alex", method, f"{url}{path}", json=body)
        assert response.status_code in (200, 201), response.text

    for round_ in range(4):
        for n in numbers[round_::4]:
            await _overdue(psa.database, contoso, n, "first_response")
        statuses = ["on_hold", "open", "resolved", "new"]
        await asyncio.gather(
            call("POST", "/bulk", {"numbers": bulked, "status": statuses[round_]}),
            *(call("PATCH", f"/{n}", {"status": statuses[(n + round_) % 4]}) for n in single),
            call("POST", "/bulk", {"numbers": bulked[2:], "assignee_user_id": alex}),
            *(call("POST", f"/{n}/comments", {"body": "on it"}) for n in single[:3]),
            sweep(psa.database),
        )
        await _check(psa, f"round {round_}")
