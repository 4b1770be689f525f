"""Time entries through the API, on both databases: the state machine, approver ≠
author, the lock after invoicing, bad input (422 naming the field, nothing changed),
isolation between clients, and the audit trail."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.config import Settings
from tenantry.db.engine import Database
from tenantry.psa.time.models import TimeEntry
from tests.psa.time.world import approved_entry, work_type, world


async def _count_entries(owner_engine: AsyncEngine) -> int:
    """As the table owner (bypasses the scope and row-level security)."""
    async with owner_engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(TimeEntry.__table__)) or 0)


async def test_log_submit_approve_on_a_ticket(settings: Settings, database: Database) -> None:
    async with world(settings, database) as w:
        wt = await work_type(w, w.contoso)
        r = await w.tech.post(w.api(w.contoso, "tickets"), json={"title": "Printer jammed"})
        assert r.status_code == 201, r.text
        ticket_id = r.json()["id"]
        r = await w.tech.post(
            w.api(w.contoso, "time-entries"),
            json={"work_type_id": wt, "minutes": 45, "ticket_id": ticket_id, "notes": "cleared"},
        )
        assert r.status_code == 201, r.text
        entry = r.json()
        assert entry["status"] == "draft" and entry["ticket_id"] == ticket_id
        assert entry["technician_name"] == "Tina Tech"
        entry_id = entry["id"]

        # The author cannot approve their own time, even holding time:approve.
        r = await w.admin.post(
            w.api(w.contoso, "time-entries"), json={"work_type_id": wt, "minutes": 30}
        )
        own = r.json()["id"]
        await w.admin.post(w.api(w.contoso, f"time-entries/{own}/submit"))
        r = await w.admin.post(w.api(w.contoso, f"time-entries/{own}/approve"))
        assert r.status_code == 403
        assert r.json()["reason"] == "own-entry"

        # A technician without time:approve cannot approve at all.
        r = await w.tech.post(w.api(w.contoso, f"time-entries/{entry_id}/submit"))
        assert r.json()["status"] == "submitted"
        r = await w.tech.post(w.api(w.contoso, f"time-entries/{entry_id}/approve"))
        assert r.status_code == 403 and r.json()["permission"] == "time:approve"

        # Submitted entries are not edited.
        r = await w.tech.patch(w.api(w.contoso, f"time-entries/{entry_id}"), json={"minutes": 50})
        assert r.status_code == 409

        r = await w.boss.post(w.api(w.contoso, f"time-entries/{entry_id}/approve"))
        assert r.status_code == 200
        assert r.json()["status"] == "approved" and r.json()["approved_by_name"] == "Bea Boss"

        r = await w.tech.get(w.api(w.contoso, "time-entries"), params={"ticket_id": ticket_id})
        assert [e["id"] for e in r.json()["items"]] == [entry_id]
        r = await w.tech.get(w.api(w.contoso, "time-entries"), params={"status": "approved"})
        assert [e["id"] for e in r.json()["items"]] == [entry_id]


async def test_reject_sends_back_to_draft_with_a_reason(
    settings: Settings, database: Database
) -> None:
    async with world(settings, database) as w:
        wt = await work_type(w, w.contoso)
        entry_id = await approved_entry(w, w.contoso, wt, 60)
        r = await w.boss.post(w.api(w.contoso, f"time-entries/{entry_id}/reject"), json={})
        assert r.status_code == 422
        assert r.json()["errors"][0]["field"] == "reason"
        r = await w.boss.post(
            w.api(w.contoso, f"time-entries/{entry_id}/reject"), json={"reason": "wrong client"}
        )
        assert r.status_code == 200
        body = r.json()
        assert body["status"] == "draft" and body["rejection_reason"] == "wrong client"
        assert body["approved_by_user_id"] is None
        # Back in draft the technician edits and submits again.
        r = await w.tech.patch(w.api(w.contoso, f"time-entries/{entry_id}"), json={"minutes": 50})
        assert r.status_code == 200 and r.json()["minutes"] == 50
        r = await w.tech.post(w.api(w.contoso, f"time-entries/{entry_id}/submit"))
        assert r.json()["status"] == "submitted" and r.json()["rejection_reason"] is None


async def test_an_invoiced_entry_is_locked(settings: Settings, database: Database) -> None:
    async with world(settings, database) as w:
        wt = await work_type(w, w.contoso)
        entry_id = await approved_entry(w, w.contoso, wt, 90)
        today = date.today()
        r = await w.admin.post(
            w.api(w.contoso, "invoices"),
            json={
                "period_start": (today - timedelta(days=40)).isoformat(),
                "period_end": (today + timedelta(days=1)).isoformat(),
                "currency": "EUR",
            },
        )
        assert r.status_code == 201, r.text
        invoice_id = r.json()["id"]
        r = await w.boss.post(
            w.api(w.contoso, f"time-entries/{entry_id}/reject"), json={"reason": "oops"}
        )
        assert r.status_code == 409 and r.json()["reason"] == "invoiced"
        r = await w.admin.patch(w.api(w.contoso, f"time-entries/{entry_id}"), json={"minutes": 5})
        assert r.status_code == 409
        r = await w.admin.delete(w.api(w.contoso, f"time-entries/{entry_id}"))
        assert r.status_code == 409
        r = await w.admin.post(w.api(w.contoso, f"invoices/{invoice_id}/issue"))
        assert r.status_code == 200
        r = await w.boss.post(
            w.api(w.contoso, f"time-entries/{entry_id}/reject"), json={"reason": "oops"}
        )
        assert r.status_code == 409
        r = await w.tech.get(w.api(w.contoso, f"time-entries/{entry_id}"))
        assert r.json()["status"] == "approved" and r.json()["invoice_id"] == invoice_id


async def test_bad_input_names_the_field_and_changes_nothing(
    settings: Settings, database: Database, owner_engine: AsyncEngine
) -> None:
    async with world(settings, database) as w:
        wt = await work_type(w, w.contoso)
        other_wt = await work_type(w, w.fabrikam)
        before = await _count_entries(owner_engine)
        future = (date.today() + timedelta(days=5)).isoformat()
        cases = [
            ({"work_type_id": wt, "minutes": 0}, "minutes"),
            ({"work_type_id": wt, "minutes": 24 * 60 + 1}, "minutes"),
            ({"work_type_id": "nope", "minutes": 10}, "work_type_id"),
            ({"minutes": 10}, "work_type_id"),
            ({"work_type_id": wt, "minutes": 10, "work_date": future}, "work_date"),
            ({"work_type_id": wt, "minutes": 10, "work_date": "2026-13-01"}, "work_date"),
            ({"work_type_id": wt, "minutes": 10, "ticket_id": str(uuid.uuid4())}, "ticket_id"),
            # Another client's work type is not a work type here.
            ({"work_type_id": other_wt, "minutes": 10}, "work_type_id"),
            ({"work_type_id": wt, "minutes": 10, "surprise": 1}, "surprise"),
        ]
        for body, field in cases:
            r = await w.tech.post(w.api(w.contoso, "time-entries"), json=body)
            assert r.status_code == 422, (body, r.text)
            assert field in [e["field"] for e in r.json()["errors"]], (body, r.json())
        r = await w.admin.post(
            w.api(w.contoso, "work-types"), json={"name": "X", "rate_minor": -1, "currency": "EUR"}
        )
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "rate_minor"
        r = await w.admin.post(
            w.api(w.contoso, "work-types"), json={"name": "X", "rate_minor": 1, "currency": "euro"}
        )
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "currency"
        assert await _count_entries(owner_engine) == before


async def test_clients_never_see_each_others_time(settings: Settings, database: Database) -> None:
    async with world(settings, database) as w:
        wt_c = await work_type(w, w.contoso)
        wt_f = await work_type(w, w.fabrikam)
        in_contoso = await approved_entry(w, w.contoso, wt_c, 30)
        in_fabrikam = await approved_entry(w, w.fabrikam, wt_f, 30)
        # The technician is delegated to contoso only: fabrikam does not exist for them.
        r = await w.tech.get(w.api(w.fabrikam, "time-entries"))
        assert r.status_code == 404
        # Another client's entry id answers 404 in this client, for reads and writes.
        r = await w.admin.get(w.api(w.contoso, f"time-entries/{in_fabrikam}"))
        assert r.status_code == 404
        r = await w.boss.post(
            w.api(w.contoso, f"time-entries/{in_fabrikam}/reject"), json={"reason": "x"}
        )
        assert r.status_code == 404
        r = await w.admin.get(w.api(w.contoso, "time-entries"))
        assert [e["id"] for e in r.json()["items"]] == [in_contoso]


async def test_every_change_is_audited(settings: Settings, database: Database) -> None:
    async with world(settings, database) as w:
        wt = await work_type(w, w.contoso)
        entry_id = await approved_entry(w, w.contoso, wt, 30)
        await w.boss.post(
            w.api(w.contoso, f"time-entries/{entry_id}/reject"), json={"reason": "split it"}
        )
        await w.tech.patch(w.api(w.contoso, f"time-entries/{entry_id}"), json={"minutes": 20})
        await w.tech.delete(w.api(w.contoso, f"time-entries/{entry_id}"))
        r = await w.admin.get(f"/api/v1/tenants/{w.contoso}/audit-events", params={"limit": 200})
        assert r.status_code == 200, r.text
        events = [
            (e["action"], e["actor_name"].split(" <")[0])
            for e in r.json()["items"]
            if e["target_type"] in ("time_entry", "work_type")
        ]
        assert set(events) >= {
            ("work_type.created", "Alex Admin"),
            ("time_entry.created", "Tina Tech"),
            ("time_entry.submitted", "Tina Tech"),
            ("time_entry.approved", "Bea Boss"),
            ("time_entry.rejected", "Bea Boss"),
            ("time_entry.updated", "Tina Tech"),
            ("time_entry.deleted", "Tina Tech"),
        }


async def test_paging_walks_every_entry_once(settings: Settings, database: Database) -> None:
    async with world(settings, database) as w:
        wt = await work_type(w, w.contoso)
        made = set()
        for n in range(7):
            day = (date.today() - timedelta(days=n % 3)).isoformat()
            r = await w.tech.post(
                w.api(w.contoso, "time-entries"),
                json={"work_type_id": wt, "minutes": 10 + n, "work_date": day},
            )
            made.add(r.json()["id"])
        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
            r = await w.tech.get(w.api(w.contoso, "time-entries"), params=params)
            seen += [e["id"] for e in r.json()["items"]]
            cursor = r.json()["next_cursor"]
            if not cursor:
                break
        assert len(seen) == len(set(seen)) == 7 and set(seen) == made
        r = await w.tech.get(w.api(w.contoso, "time-entries"), params={"cursor": "garbage"})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "cursor"


async def test_an_approver_may_delete_a_technicians_draft(
    settings: Settings, database: Database
) -> None:
    async with world(settings, database) as w:
        wt = await work_type(w, w.contoso)
        r = await w.tech.post(
            w.api(w.contoso, "time-entries"), json={"work_type_id": wt, "minutes": 5}
        )
        entry_id = r.json()["id"]
        # Someone else without time:approve may not delete the technician's draft; the
        # admin (time:approve) may.
        r = await w.admin.delete(w.api(w.contoso, f"time-entries/{entry_id}"))
        assert r.status_code == 204
        r = await w.admin.get(w.api(w.contoso, f"time-entries/{entry_id}"))
        assert r.status_code == 404
