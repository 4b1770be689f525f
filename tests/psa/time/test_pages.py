"""The time and invoice pages, server-rendered: forms keep input and put errors by their
field, successful posts redirect (POST-redirect-GET), the invoice page is printable."""

from __future__ import annotations

from datetime import date

from tenantry.config import Settings
from tenantry.db.engine import Database
from tests.psa.time.world import work_type, world


async def test_time_page_logs_submits_and_approves(settings: Settings, database: Database) -> None:
    async with world(settings, database) as w:
        wt = await work_type(w, w.contoso, rate=9500)
        base = f"/t/{w.contoso}/time"
        r = await w.tech.get(base)
        assert r.status_code == 200 and "Log time" in r.text
        # Bad input: 422, errors next to their fields, input kept, nothing logged.
        r = await w.tech.post(
            base,
            data={"work_date": "2026-02-30", "duration": "abc", "work_type_id": "",
                  "ticket": "99999", "notes": "kept text", "billable": "1"},
        )  # fmt: skip
        assert r.status_code == 422
        expected = ['id="f-duration-error"', 'id="f-work_type_id-error"', 'id="f-ticket-error"']
        expected += ['id="f-work_date-error"', "kept text", 'value="abc"']
        for fragment in expected:
            assert fragment in r.text, fragment
        r = await w.tech.get(w.api(w.contoso, "time-entries"))
        assert r.json()["items"] == []
        today = date.today().isoformat()
        r = await w.tech.post(
            base,
            data={"work_date": today, "duration": "1:30", "work_type_id": wt, "billable": "1"},
        )
        assert r.status_code == 303 and r.headers["location"] == base
        entry = (await w.tech.get(w.api(w.contoso, "time-entries"))).json()["items"][0]
        assert entry["minutes"] == 90 and entry["billable"] is True
        r = await w.tech.post(f"{base}/{entry['id']}/submit", data={"back": f"{base}?status=draft"})
        assert r.status_code == 303 and r.headers["location"] == f"{base}?status=draft"
        # An open redirect is not possible through "back".
        r = await w.boss.post(
            f"{base}/{entry['id']}/approve", data={"back": "https://evil.example"}
        )
        assert r.status_code == 303 and r.headers["location"] == base
        r = await w.boss.get(base, params={"status": "approved"})
        assert "Bea Boss" in r.text and "142.50 EUR" in r.text
        # The technician's own approval attempt shows the reason on the page.
        r = await w.admin.post(
            base, data={"work_date": today, "duration": "10", "work_type_id": wt, "billable": "1"}
        )
        own = (
            await w.admin.get(w.api(w.contoso, "time-entries"), params={"technician": "me"})
        ).json()
        own_id = own["items"][0]["id"]
        await w.admin.post(f"{base}/{own_id}/submit")
        r = await w.admin.post(f"{base}/{own_id}/approve")
        assert r.status_code == 403 and "cannot approve your own time" in r.text


async def test_invoice_pages(settings: Settings, database: Database) -> None:
    async with world(settings, database) as w:
        await w.admin.post(
            w.api(w.contoso, "recurring-items"),
            json={"description": "Agreement", "amount_minor": 45000, "currency": "EUR"},
        )
        base = f"/t/{w.contoso}/invoices"
        r = await w.admin.get(base)
        assert r.status_code == 200 and "New invoice" in r.text
        r = await w.admin.post(
            base,
            data={"period_start": "2026-01-01", "period_end": "2025-12-01", "currency": "EUR",
                  "tax_rate": "19.555"},
        )  # fmt: skip
        assert r.status_code == 422
        assert 'id="f-tax_rate-error"' in r.text and 'value="19.555"' in r.text
        r = await w.admin.post(
            base,
            data={"period_start": "2026-01-01", "period_end": "2025-12-01", "currency": "EUR",
                  "tax_rate": "19"},
        )  # fmt: skip
        assert r.status_code == 422 and 'id="f-period_end-error"' in r.text
        r = await w.admin.post(
            base,
            data={"period_start": "2026-01-01", "period_end": date.today().isoformat(),
                  "currency": "EUR", "tax_rate": "19"},
        )  # fmt: skip
        assert r.status_code == 303
        detail = r.headers["location"]
        r = await w.admin.get(detail)
        assert r.status_code == 200
        assert "Northwind IT" in r.text and "@media print" in r.text and "535.50 EUR" in r.text
        r = await w.admin.post(f"{detail}/issue")
        assert r.status_code == 303
        r = await w.tech.get(detail)
        assert "Invoice NOR-" in r.text and "Issue invoice" not in r.text
        r = await w.tech.get(f"{detail}/export.csv")
        assert r.status_code == 200 and "NOR-" in r.text
        r = await w.admin.get(base, params={"status": "issued"})
        assert "NOR-" in r.text
