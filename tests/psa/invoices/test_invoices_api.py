"""Invoices through the API on both databases: generation from approved billable time
and recurring items, rounding, issue/paid/void, numbering per MSP, who may write, bad
input, isolation between clients and MSPs, CSV export and the audit trail."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import date, timedelta
from typing import Any

import anyio
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.access.service import AccessService
from tenantry.audit.schemas import OPERATOR
from tenantry.config import Settings
from tenantry.db.engine import Database
from tenantry.identity.models import User
from tenantry.identity.service import principal_of
from tenantry.psa.invoices.models import Invoice
from tenantry.psa.invoices.service import InvoiceService
from tenantry.tenancy import repository as tenants
from tests.factories import make_user, signed_in_client
from tests.psa.time.world import World, approved_entry, work_type, world

TODAY = date.today()
PERIOD = {
    "period_start": (TODAY - timedelta(days=30)).isoformat(),
    "period_end": (TODAY + timedelta(days=1)).isoformat(),
}
NUMBER = re.compile(r"^NOR-\d{4}-(\d{4})$")


async def recurring(w: World, tenant: str, amount: int = 45000, currency: str = "EUR") -> str:
    r = await w.admin.post(
        w.api(tenant, "recurring-items"),
        json={
            "description": "Managed services agreement",
            "amount_minor": amount,
            "currency": currency,
        },
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def draft(w: World, tenant: str, **extra: Any) -> dict[str, Any]:
    r = await w.admin.post(w.api(tenant, "invoices"), json={**PERIOD, "currency": "EUR", **extra})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def _invoice_count(owner_engine: AsyncEngine) -> int:
    async with owner_engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(Invoice.__table__)) or 0)


async def test_generate_rounds_per_line_and_taxes_the_subtotal(
    settings: Settings, database: Database
) -> None:
    async with world(settings, database) as w:
        wt95 = await work_type(w, w.contoso, rate=9500)
        wt100 = await work_type(w, w.contoso, rate=10000)
        await approved_entry(w, w.contoso, wt95, 90)  # 142.50
        await approved_entry(w, w.contoso, wt100, 7)  # 11.666… → 11.67
        await approved_entry(w, w.contoso, wt100, 60, billable=False)  # not billed
        old = (TODAY - timedelta(days=90)).isoformat()
        await approved_entry(w, w.contoso, wt100, 60, work_date=old)  # outside the period
        r = await w.tech.post(
            w.api(w.contoso, "time-entries"), json={"work_type_id": wt100, "minutes": 30}
        )
        pending = r.json()["id"]  # a draft: not billed
        usd = await work_type(w, w.contoso, rate=5000, currency="USD")
        await approved_entry(w, w.contoso, usd, 60)  # another currency: not on a EUR invoice
        await recurring(w, w.contoso, 45000)
        await recurring(w, w.contoso, 100, currency="USD")

        inv = await draft(w, w.contoso, tax_rate_bp=1900)
        assert inv["status"] == "draft" and inv["number"] is None
        amounts = sorted(li["amount_minor"] for li in inv["lines"])
        assert amounts == [1167, 14250, 45000]
        assert inv["subtotal_minor"] == 60417
        assert inv["tax_minor"] == 11479  # 19 % of 604.17 = 114.7923 → 114.79
        assert inv["total_minor"] == 60417 + 11479
        assert inv["issuer_name"] == "Northwind IT"
        # The draft's time is taken: a second draft finds only the recurring item.
        again = await draft(w, w.contoso)
        assert [li["kind"] for li in again["lines"]] == ["fixed"]
        r = await w.tech.get(w.api(w.contoso, f"time-entries/{pending}"))
        assert r.json()["invoice_id"] is None


async def test_issue_pay_void_and_release(settings: Settings, database: Database) -> None:
    async with world(settings, database) as w:
        wt = await work_type(w, w.contoso, rate=12000)
        entry = await approved_entry(w, w.contoso, wt, 60)
        inv = await draft(w, w.contoso)
        base = f"invoices/{inv['id']}"
        r = await w.admin.post(w.api(w.contoso, f"{base}/paid"))
        assert r.status_code == 409  # a draft is not paid
        r = await w.admin.post(w.api(w.contoso, f"{base}/void"), json={"reason": "x"})
        assert r.status_code == 409  # a draft is deleted, not voided
        r = await w.admin.post(w.api(w.contoso, f"{base}/issue"))
        assert r.status_code == 200, r.text
        issued = r.json()
        match = NUMBER.match(issued["number"])
        assert match and match.group(1) == "0001", issued["number"]
        assert issued["status"] == "issued" and issued["issue_date"]
        r = await w.admin.post(w.api(w.contoso, f"{base}/issue"))
        assert r.status_code == 409  # issued once
        r = await w.admin.delete(w.api(w.contoso, base))
        assert r.status_code == 409  # an issued invoice is voided, never deleted
        r = await w.admin.post(w.api(w.contoso, f"{base}/paid"))
        assert r.json()["status"] == "paid"
        r = await w.admin.post(w.api(w.contoso, f"{base}/void"), json={"reason": "  "})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reason"
        r = await w.admin.post(w.api(w.contoso, f"{base}/void"), json={"reason": "wrong rate"})
        assert r.status_code == 200
        assert r.json()["status"] == "void" and r.json()["number"] == issued["number"]
        # Void released the time: a new draft bills it again, and gets the next number.
        r = await w.tech.get(w.api(w.contoso, f"time-entries/{entry}"))
        assert r.json()["invoice_id"] is None
        second = await draft(w, w.contoso)
        assert [li["time_entry_id"] for li in second["lines"]] == [entry]
        # Deleting a draft releases its time too.
        r = await w.admin.delete(w.api(w.contoso, f"invoices/{second['id']}"))
        assert r.status_code == 204
        r = await w.tech.get(w.api(w.contoso, f"time-entries/{entry}"))
        assert r.json()["invoice_id"] is None
        third = await draft(w, w.contoso)
        r = await w.admin.post(w.api(w.contoso, f"invoices/{third['id']}/issue"))
        match = NUMBER.match(r.json()["number"])
        assert match and match.group(1) == "0002"


async def test_numbers_are_per_msp_and_gap_free_across_its_clients(
    settings: Settings, database: Database
) -> None:
    async with world(settings, database) as w, world(settings, database, "southridge") as other:
        drafts = []
        for tenant in (w.contoso, w.fabrikam):
            await recurring(w, tenant)
            drafts += [(tenant, (await draft(w, tenant))["id"]) for _ in range(2)]
        await recurring(other, other.contoso)
        other_draft = (await draft(other, other.contoso))["id"]
        numbers = []
        for tenant, invoice_id in [drafts[0], drafts[2], drafts[1], drafts[3]]:
            r = await w.admin.post(w.api(tenant, f"invoices/{invoice_id}/issue"))
            assert r.status_code == 200, r.text
            numbers.append(r.json()["number"])
        assert [n[-4:] for n in numbers] == ["0001", "0002", "0003", "0004"]
        # Another MSP counts on its own.
        r = await other.admin.post(other.api(other.contoso, f"invoices/{other_draft}/issue"))
        assert r.json()["number"].startswith("SOU-") and r.json()["number"].endswith("-0001")
        # Northwind cannot see Southridge's client at all, nor its invoice from its own.
        r = await w.admin.get(w.api(other.contoso, "invoices"))
        assert r.status_code == 404
        r = await w.admin.get(w.api(w.contoso, f"invoices/{other_draft}"))
        assert r.status_code == 404


async def test_clients_never_see_each_others_invoices(
    settings: Settings, database: Database
) -> None:
    async with world(settings, database) as w:
        await recurring(w, w.contoso)
        await recurring(w, w.fabrikam)
        c = await draft(w, w.contoso)
        f = await draft(w, w.fabrikam)
        r = await w.admin.get(w.api(w.contoso, "invoices"))
        assert [i["id"] for i in r.json()["items"]] == [c["id"]]
        for method, path in [
            ("GET", f"invoices/{f['id']}"),
            ("GET", f"invoices/{f['id']}/export.csv"),
            ("POST", f"invoices/{f['id']}/issue"),
            ("DELETE", f"invoices/{f['id']}"),
        ]:
            r = await w.admin.request(method, w.api(w.contoso, path))
            assert r.status_code == 404, (method, path, r.status_code)
        # A user of the client sees the client's invoices but cannot write them, even as
        # its own admin: invoices are written by the managing MSP.
        async with database.platform_reader() as session:
            contoso = await tenants.by_slug(session, w.contoso)
        assert contoso is not None
        await make_user(database, contoso, "owner@contoso.example.com", role="admin")
        async with await signed_in_client(w.app, "owner@contoso.example.com") as client_admin:
            r = await client_admin.get(w.api(w.contoso, "invoices"))
            assert [i["id"] for i in r.json()["items"]] == [c["id"]]
            r = await client_admin.post(w.api(w.contoso, f"invoices/{c['id']}/issue"))
            # Invoices are the MSP's (access rule 10): its own roles do not give
            # invoices:write while Northwind manages Contoso.
            assert r.status_code == 403 and r.json()["reason"] == "msp-owned"
            assert r.json()["permission"] == "invoices:write"
            r = await client_admin.get(w.api(w.fabrikam, "invoices"))
            assert r.status_code == 404
        # The technician (Technician role: invoices:read only) cannot write.
        r = await w.tech.post(w.api(w.contoso, f"invoices/{c['id']}/issue"))
        assert r.status_code == 403 and r.json()["permission"] == "invoices:write"


async def test_bad_input_names_the_field_and_changes_nothing(
    settings: Settings, database: Database, owner_engine: AsyncEngine
) -> None:
    async with world(settings, database) as w:
        await recurring(w, w.contoso)
        before = await _invoice_count(owner_engine)
        cases = [
            ({**PERIOD, "currency": "eur"}, "currency"),
            ({**PERIOD, "currency": "EUR", "tax_rate_bp": 10001}, "tax_rate_bp"),
            ({**PERIOD, "currency": "EUR", "tax_rate_bp": -1}, "tax_rate_bp"),
            (
                {"period_start": PERIOD["period_end"], "period_end": PERIOD["period_start"],
                 "currency": "EUR"},
                "period_end",
            ),
            ({"period_start": "2026-02-30", "period_end": "2026-03-01", "currency": "EUR"},
             "period_start"),
            ({**PERIOD, "currency": "GBP"}, "period_start"),  # nothing to invoice in GBP
            ({**PERIOD}, "currency"),
        ]  # fmt: skip
        for body, field in cases:
            r = await w.admin.post(w.api(w.contoso, "invoices"), json=body)
            assert r.status_code == 422, (body, r.text)
            assert field in [e["field"] for e in r.json()["errors"]], (body, r.json())
        r = await w.admin.post(
            w.api(w.contoso, "recurring-items"),
            json={"description": "", "amount_minor": 1, "currency": "EUR"},
        )
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "description"
        r = await w.admin.post(w.api(w.contoso, f"invoices/{uuid.uuid4()}/issue"))
        assert r.status_code == 404
        assert await _invoice_count(owner_engine) == before


async def test_csv_export_and_audit(settings: Settings, database: Database) -> None:
    async with world(settings, database) as w:
        wt = await work_type(w, w.contoso, rate=9500)
        await approved_entry(w, w.contoso, wt, 90)
        await recurring(w, w.contoso, 45000)
        inv = await draft(w, w.contoso, tax_rate_bp=1900)
        r = await w.admin.post(w.api(w.contoso, f"invoices/{inv['id']}/issue"))
        number = r.json()["number"]
        await w.admin.post(w.api(w.contoso, f"invoices/{inv['id']}/paid"))
        r = await w.tech.get(w.api(w.contoso, f"invoices/{inv['id']}/export.csv"))
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        assert number in r.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(r.text)))
        assert [row["amount"] for row in rows] == ["450.00", "142.50", "592.50", "112.58", "705.08"]
        assert {row["invoice"] for row in rows} == {number}
        r = await w.admin.get(w.api(w.contoso, "audit-events"), params={"limit": 200})
        actions = {
            e["action"]
            for e in r.json()["items"]
            if e["target_type"] in ("invoice", "recurring_item")
        }
        assert actions >= {
            "recurring_item.created",
            "invoice.created",
            "invoice.issued",
            "invoice.paid",
        }
        issued = next(e for e in r.json()["items"] if e["action"] == "invoice.issued")
        assert issued["target_label"] == number and issued["changes"]["number"] == [None, number]


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_concurrent_issuing_is_gap_free_on_postgres(
    settings: Settings, database: Database
) -> None:
    """Twelve drafts over two clients of one MSP, issued all at once: the counter row is
    locked FOR UPDATE, so the numbers are exactly 1..12, each once. An issue that rolls
    back gives its number back."""

    async with world(settings, database) as w:
        drafts: list[tuple[str, str]] = []
        for tenant in (w.contoso, w.fabrikam):
            await recurring(w, tenant)
            drafts += [(tenant, (await draft(w, tenant))["id"]) for _ in range(6)]

        # First an issue that fails after taking a number: rolled back, number unused.
        async with database.platform_reader() as session:
            contoso = await tenants.by_slug(session, w.contoso)
            msp = await tenants.by_id(session, w.msp.id)
            admin_user = await session.scalar(
                select(User).where(User.email == "admin@northwind.example.com")
            )
            assert contoso and msp and admin_user
            ctx = await AccessService(session).context_in(
                principal_of(admin_user, msp, auth_method="cli"), contoso
            )
        victim = uuid.UUID(drafts[0][1])
        with pytest.raises(RuntimeError):
            async with database.unit_of_work(ctx.scope) as session:
                issued = await InvoiceService(session).issue(ctx, victim, actor=OPERATOR)
                assert issued.number and issued.number.endswith("-0001")
                raise RuntimeError("the request failed after issuing")

        results: dict[str, str] = {}

        async def issue(tenant: str, invoice_id: str) -> None:
            r = await w.admin.post(w.api(tenant, f"invoices/{invoice_id}/issue"))
            assert r.status_code == 200, r.text
            results[invoice_id] = r.json()["number"]

        async with anyio.create_task_group() as tg:
            for tenant, invoice_id in drafts:
                tg.start_soon(issue, tenant, invoice_id)
        sequences = sorted(int(n[-4:]) for n in results.values())
        assert sequences == list(range(1, 13))
        assert len(set(results.values())) == 12
