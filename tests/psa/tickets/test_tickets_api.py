"""Tickets through the API: numbering, SLA clock, comments, history, bulk changes,
filters, bad input, isolation between clients and MSPs, audit."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tenantry.access.service import operator_scope
from tenantry.audit.models import AuditEvent
from tenantry.audit.schemas import OPERATOR
from tenantry.db.engine import Database
from tenantry.psa.tickets.models import Ticket, TicketCounter, TicketEvent
from tenantry.psa.tickets.service import TicketService
from tests.psa.conftest import PsaWorld

BASE = "/api/v1/tenants/contoso/tickets"


async def _audit(database: Database, tenant_id: uuid.UUID, action: str) -> list[AuditEvent]:
    async with database.unit_of_work(operator_scope([tenant_id])) as session:
        rows = await session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
        )
        return list(rows)


async def _count(database: Database, tenant_id: uuid.UUID, model: type) -> int:
    async with database.unit_of_work(operator_scope([tenant_id])) as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_tickets_are_numbered_per_tenant_from_1001(psa: PsaWorld) -> None:
    a = await psa.ticket("alex", "contoso", priority="P1")
    b = await psa.ticket("alex", "contoso")
    c = await psa.ticket("alex", "fabrikam")
    assert (a["number"], b["number"], c["number"]) == (1001, 1002, 1001)
    assert a["status"] == "new" and a["priority"] == "P1"
    # Due times are computed at creation from the default policy (business hours).
    assert a["sla"]["first_response_due_at"] and a["sla"]["resolution_due_at"]
    assert a["sla"]["first_response_due_at"] <= a["sla"]["resolution_due_at"]
    got = await psa.call("dora", "GET", f"{BASE}/1001")
    assert got.status_code == 200 and got.json()["id"] == a["id"]
    events = await _audit(psa.database, psa.tenants["contoso"], "ticket.created")
    assert [e.target_label for e in events] == ["#1001 Printer on fire", "#1002 Printer on fire"]
    assert events[0].actor_name.lower().startswith("alex")
    assert "tickets:write" in (events[0].explanation or "")


async def test_bad_input_names_the_field_and_uses_no_number(psa: PsaWorld) -> None:
    await psa.ticket("alex", "contoso")
    cases = [
        ({"title": "   "}, "title"),
        ({"title": "x", "priority": "P9"}, "priority"),
        ({"title": "x", "requester_contact_id": str(uuid.uuid4())}, "requester_contact_id"),
        # Gary is another MSP's admin: he cannot work on Contoso's tickets.
        ({"title": "x", "assignee_user_id": str(psa.users["gary"].id)}, "assignee_user_id"),
        ({"title": "x", "tags": ["a" * 80]}, "tags"),
    ]
    for body, field in cases:
        response = await psa.call("alex", "POST", BASE, json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert field in {e["field"] for e in response.json()["errors"]}, response.json()
    assert await _count(psa.database, psa.tenants["contoso"], Ticket) == 1
    # A rejected ticket took no number: the next one is still gap-free.
    assert (await psa.ticket("alex", "contoso"))["number"] == 1002
    bad_patch = await psa.call("alex", "PATCH", f"{BASE}/1001", json={"status": "lost"})
    assert bad_patch.status_code == 422
    assert bad_patch.json()["errors"][0]["field"] == "status"


async def test_the_assignee_must_be_able_to_work_in_the_tenant(psa: PsaWorld) -> None:
    ticket = await psa.ticket("alex", "contoso")
    # Dora is delegated to Contoso as a technician: she may be assigned there...
    ok = await psa.call(
        "alex",
        "PATCH",
        f"{BASE}/{ticket['number']}",
        json={"assignee_user_id": str(psa.users["dora"].id)},
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["assignee_name"]
    # ...but not in Fabrikam, where she has no grant.
    other = await psa.ticket("alex", "fabrikam")
    refused = await psa.call(
        "alex",
        "PATCH",
        f"/api/v1/tenants/fabrikam/tickets/{other['number']}",
        json={"assignee_user_id": str(psa.users["dora"].id)},
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "assignee_user_id"
    # Contoso's own technician may be assigned in Contoso.
    carl = await psa.call(
        "alex",
        "PATCH",
        f"{BASE}/{ticket['number']}",
        json={"assignee_user_id": str(psa.users["carl"].id)},
    )
    assert carl.status_code == 200


async def test_waiting_and_on_hold_pause_the_clock_and_resolution_stops_it(
    psa: PsaWorld,
) -> None:
    t = await psa.ticket("alex", "contoso", priority="P2")
    url = f"{BASE}/{t['number']}"
    paused = (await psa.call("alex", "PATCH", url, json={"status": "waiting_on_customer"})).json()
    assert paused["sla"]["paused"] is True
    assert paused["sla"]["resolution_due_at"] is None
    resumed = (await psa.call("alex", "PATCH", url, json={"status": "open"})).json()
    assert resumed["sla"]["paused"] is False
    assert resumed["sla"]["resolution_due_at"] >= t["sla"]["resolution_due_at"]
    held = (await psa.call("alex", "PATCH", url, json={"status": "on_hold"})).json()
    assert held["sla"]["paused"] is True
    done = (await psa.call("alex", "PATCH", url, json={"status": "resolved"})).json()
    assert done["sla"]["resolved_at"] is not None and done["sla"]["resolution_due_at"] is None
    reopened = (await psa.call("alex", "PATCH", url, json={"status": "open"})).json()
    assert reopened["sla"]["resolved_at"] is None and reopened["sla"]["resolution_due_at"]
    events = (await psa.call("alex", "GET", f"{url}/events")).json()
    statuses = [e["changes"]["status"]["to"] for e in events if "status" in e["changes"]]
    assert statuses == ["waiting_on_customer", "open", "on_hold", "resolved", "open"]


async def test_breaches_are_flagged_and_counted(psa: PsaWorld, database: Database) -> None:
    late = await psa.ticket("alex", "contoso", priority="P1", title="Server down")
    await psa.ticket("alex", "contoso", priority="P4", title="New mouse")
    # Move the due times into the past, as if the clock had run out.
    async with database.unit_of_work(operator_scope([psa.tenants["contoso"]])) as session:
        ticket = await session.scalar(select(Ticket).where(Ticket.number == late["number"]))
        assert ticket is not None
        ticket.first_response_due_at = ticket.created_at - timedelta(minutes=1)
    breached = await psa.call("alex", "GET", BASE, params={"breached": "yes"})
    assert [t["number"] for t in breached.json()["items"]] == [late["number"]]
    assert breached.json()["items"][0]["sla"]["first_response_breached"] is True
    fine = await psa.call("alex", "GET", BASE, params={"breached": "no"})
    assert [t["title"] for t in fine.json()["items"]] == ["New mouse"]
    # Answering late keeps the breach on record.
    await psa.call("alex", "POST", f"{BASE}/{late['number']}/comments", json={"body": "On it"})
    still = (await psa.call("alex", "GET", f"{BASE}/{late['number']}")).json()
    assert still["sla"]["first_responded_at"] and still["sla"]["first_response_breached"]
    url = "/api/v1/tenants/northwind/msp-tickets/counts"
    counts = (await psa.call("alex", "GET", url)).json()
    assert [(c["tenant_slug"], c["open"], c["breached"]) for c in counts["items"]] == [
        ("contoso", 2, 1)
    ]
    totals = (counts["total_open"], counts["total_breached"], counts["clients_with_open"])
    assert totals == (2, 1, 1)
    # Clients without open tickets only when asked, after the others.
    every = (await psa.call("alex", "GET", url, params={"include_empty": "true"})).json()
    assert [(c["tenant_slug"], c["open"]) for c in every["items"]] == [
        ("contoso", 2),
        ("fabrikam", 0),
    ]


async def test_public_replies_and_internal_notes(psa: PsaWorld) -> None:
    t = await psa.ticket("alex", "contoso")
    url = f"{BASE}/{t['number']}/comments"
    note = await psa.call(
        "dora", "POST", url, json={"body": "Check the fuser", "visibility": "internal"}
    )
    assert note.status_code == 201
    after_note = (await psa.call("dora", "GET", f"{BASE}/{t['number']}")).json()
    assert after_note["sla"]["first_responded_at"] is None  # a note is not a response
    reply = await psa.call("dora", "POST", url, json={"body": "We are on it"})
    assert reply.status_code == 201 and reply.json()["visibility"] == "public"
    after = (await psa.call("dora", "GET", f"{BASE}/{t['number']}")).json()
    assert after["sla"]["first_responded_at"] and after["sla"]["first_response_due_at"] is None
    listed = (await psa.call("dora", "GET", url)).json()
    assert [c["visibility"] for c in listed] == ["internal", "public"]
    empty = await psa.call("dora", "POST", url, json={"body": "  "})
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "body"
    assert len(await _audit(psa.database, psa.tenants["contoso"], "ticket.commented")) == 2


async def test_bulk_update_writes_one_event_per_ticket_or_changes_nothing(
    psa: PsaWorld, database: Database
) -> None:
    numbers = [(await psa.ticket("alex", "contoso"))["number"] for _ in range(3)]
    missing = await psa.call(
        "alex", "POST", f"{BASE}/bulk", json={"numbers": [*numbers, 9999], "status": "open"}
    )
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "numbers"
    listed = (await psa.call("alex", "GET", BASE, params={"status": "new"})).json()["items"]
    assert len(listed) == 3  # nothing changed
    done = await psa.call(
        "alex",
        "POST",
        f"{BASE}/bulk",
        json={
            "numbers": numbers,
            "status": "open",
            "priority": "P2",
            "assignee_user_id": str(psa.users["dora"].id),
        },
    )
    assert done.status_code == 200, done.text
    assert done.json()["updated"] == numbers
    for n in numbers:
        t = (await psa.call("alex", "GET", f"{BASE}/{n}")).json()
        assert (t["status"], t["priority"], t["assignee_user_id"]) == (
            "open",
            "P2",
            str(psa.users["dora"].id),
        )
    async with database.unit_of_work(operator_scope([psa.tenants["contoso"]])) as session:
        kinds = (await session.scalars(select(TicketEvent.kind))).all()
    assert sorted(kinds) == ["created"] * 3 + ["updated"] * 3
    assert len(await _audit(database, psa.tenants["contoso"], "ticket.bulk_updated")) == 3
    unassign = await psa.call(
        "alex", "POST", f"{BASE}/bulk", json={"numbers": numbers[:1], "assignee_user_id": None}
    )
    assert unassign.status_code == 200
    t = (await psa.call("alex", "GET", f"{BASE}/{numbers[0]}")).json()
    assert t["assignee_user_id"] is None and t["status"] == "open"


async def test_filters_search_and_sort(psa: PsaWorld) -> None:
    await psa.ticket(
        "alex",
        "contoso",
        title="VPN broken",
        priority="P2",
        category="Network",
        tags=["vpn", "remote"],
    )
    await psa.ticket(
        "alex",
        "contoso",
        title="New laptop",
        priority="P4",
        assignee_user_id=str(psa.users["dora"].id),
    )
    await psa.ticket("alex", "contoso", title="Email bounce", priority="P1", tags=["mail"])

    async def titles(who: str = "alex", **params: str) -> list[str]:
        response = await psa.call(who, "GET", BASE, params=params)
        assert response.status_code == 200, response.text
        return [t["title"] for t in response.json()["items"]]

    assert await titles(sort="priority") == ["Email bounce", "VPN broken", "New laptop"]
    assert await titles(sort="number") == ["VPN broken", "New laptop", "Email bounce"]
    assert await titles(q="vpn") == ["VPN broken"]
    assert await titles(q="#1002") == ["New laptop"]
    assert await titles(priority="P1") == ["Email bounce"]
    assert await titles(tag="vpn") == ["VPN broken"]
    assert await titles(category="network") == ["VPN broken"]
    assert await titles("dora", assignee="me") == ["New laptop"]
    assert set(await titles(assignee="none")) == {"VPN broken", "Email bounce"}
    page1 = (await psa.call("alex", "GET", BASE, params={"limit": 2, "sort": "number"})).json()
    page2 = (
        await psa.call(
            "alex",
            "GET",
            BASE,
            params={"limit": 2, "sort": "number", "cursor": page1["next_cursor"]},
        )
    ).json()
    assert [t["number"] for t in page1["items"] + page2["items"]] == [1001, 1002, 1003]
    assert page2["next_cursor"] is None
    bad = await psa.call("alex", "GET", BASE, params={"sort": "color"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "sort"


async def test_other_clients_and_msps_get_404(psa: PsaWorld) -> None:
    t = await psa.ticket("alex", "fabrikam")
    url = f"/api/v1/tenants/fabrikam/tickets/{t['number']}"
    assert (await psa.call("alex", "GET", url)).status_code == 200
    # Dora is delegated to Contoso only; Gary belongs to another MSP; Carl is Contoso's.
    for who in ("dora", "gary", "carl"):
        assert (await psa.call(who, "GET", url)).status_code == 404, who
        assert (await psa.call(who, "PATCH", url, json={"title": "x"})).status_code == 404, who
    # A Contoso ticket number does not reach Fabrikam's ticket of the same number.
    mine = await psa.ticket("dora", "contoso", title="Dora's ticket")
    assert mine["number"] == 1001
    same_number = await psa.call("dora", "GET", f"{BASE}/1001")
    assert same_number.json()["id"] == mine["id"] != t["id"]
    # Umbrella (Globex's customer) is invisible to Northwind.
    assert (await psa.call("alex", "GET", "/api/v1/tenants/umbrella/tickets")).status_code == 404
    unchanged = (await psa.call("alex", "GET", url)).json()
    assert unchanged["title"] == t["title"]


async def test_msp_view_includes_only_permitted_clients(psa: PsaWorld) -> None:
    await psa.ticket("alex", "contoso", title="C1")
    await psa.ticket("alex", "fabrikam", title="F1", assignee_user_id=str(psa.users["alex"].id))
    await psa.ticket("gary", "umbrella", title="U1")
    url = "/api/v1/tenants/northwind/msp-tickets"

    async def seen(who: str, **params: str) -> set[tuple[str, str]]:
        response = await psa.call(who, "GET", url, params=params)
        assert response.status_code == 200, response.text
        return {(t["tenant_slug"], t["title"]) for t in response.json()["items"]}

    assert await seen("alex") == {("contoso", "C1"), ("fabrikam", "F1")}
    assert await seen("alex", client="fabrikam") == {("fabrikam", "F1")}
    assert await seen("dora") == {("contoso", "C1")}
    assert await seen("tina", assignee="me") == set()  # tina holds no customer grant
    assert await seen("alex", assignee="me") == {("fabrikam", "F1")}
    assert (await psa.call("dora", "GET", url, params={"client": "fabrikam"})).status_code == 404
    assert (await psa.call("gary", "GET", url)).status_code == 404
    counts = (await psa.call("dora", "GET", f"{url}/counts")).json()["items"]
    assert [(c["tenant_slug"], c["open"]) for c in counts] == [("contoso", 1)]


async def test_sla_policy_is_validated_and_audited(psa: PsaWorld) -> None:
    url = "/api/v1/tenants/contoso/sla-policy"
    policy = (await psa.call("alex", "GET", url)).json()
    assert policy["time_zone"] == "UTC" and "P1" in policy["targets"]
    body = {
        "targets": {p: {"first_response": 60, "resolution": 480} for p in ("P1", "P2", "P3", "P4")},
        "business_hours": {str(d): [["00:00", "24:00"]] for d in range(7)},
        "holidays": ["2026-12-25"],
    }
    ok = await psa.call("alex", "PUT", url, json=body)
    assert ok.status_code == 200, ok.text
    t = await psa.ticket("alex", "contoso", priority="P1")
    # Around the clock: first response due exactly an hour after creation.
    from datetime import datetime

    created = datetime.fromisoformat(t["created_at"])
    due = datetime.fromisoformat(t["sla"]["first_response_due_at"])
    assert due - created == timedelta(hours=1)
    bad = await psa.call("alex", "PUT", url, json={**body, "holidays": ["25.12.2026"]})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "holidays"
    tina = await psa.call("tina", "PUT", url, json=body)
    assert tina.status_code in (403, 404)
    assert len(await _audit(psa.database, psa.tenants["contoso"], "sla_policy.updated")) == 1


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_concurrent_creation_numbers_without_gaps_or_duplicates(
    psa: PsaWorld, database: Database
) -> None:
    contoso = psa.tenants["contoso"]

    async def create(i: int) -> int:
        # Twenty units of work at once, each as the request's would be.
        async with database.unit_of_work(operator_scope([contoso])) as session:
            ctx = _ctx(contoso)
            ticket = await TicketService(session).create(ctx, title=f"Load {i}", actor=OPERATOR)
            return ticket.number

    numbers = await asyncio.gather(*(create(i) for i in range(20)))
    assert sorted(numbers) == list(range(1001, 1021))
    async with database.unit_of_work(operator_scope([contoso])) as session:
        counter = await session.scalar(select(TicketCounter))
        assert counter is not None and counter.next_number == 1021


def _ctx(tenant_id: uuid.UUID):  # type: ignore[no-untyped-def]
    """A decision as the access layer would make it, for service-level tests."""
    from tenantry.access.context import Principal, TenantContext, TenantRef
    from tenantry.access.service import operator_scope as scope_of

    principal = Principal(
        user_id=uuid.uuid4(),
        email="op@example.com",
        display_name="Operator",
        home_tenant_id=tenant_id,
        home_tenant_slug="contoso",
        home_tenant_name="Contoso",
        home_is_msp=False,
        home_requires_mfa=False,
        has_mfa=True,
        auth_method="cli",
    )
    return TenantContext(
        tenant=TenantRef(tenant_id, "contoso", "Contoso", "active", False),
        principal=principal,
        relation="home",
        permissions=frozenset({"tickets:write"}),
        scope=scope_of([tenant_id]),
    )


async def test_the_list_writes_each_ticket_exactly_as_the_ticket_itself_reads(
    psa: PsaWorld,
) -> None:
    # The list is written once from plain rows (kit/json.py); one ticket goes through its
    # Pydantic model. Same fields, same text: ids, enums, tags, aware dates with "Z".
    created = await psa.ticket("alex", "contoso", priority="P1")
    await psa.call("alex", "PATCH", f"{BASE}/{created['number']}", json={"tags": ["vip"]})
    listed = await psa.call("dora", "GET", BASE, params={"status": "all"})
    single = await psa.call("dora", "GET", f"{BASE}/{created['number']}")
    assert listed.status_code == single.status_code == 200
    assert listed.headers["content-type"] == "application/json"
    (item,) = [t for t in listed.json()["items"] if t["number"] == created["number"]]
    assert item == single.json()
    assert item["sla"]["resolution_due_at"].endswith("Z") and item["tags"] == ["vip"]
    assert set(listed.json()) == {"items", "next_cursor"}
