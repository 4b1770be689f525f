"""Input a hostile caller sends to the PSA API (issue #13): each answered 500 once and
must be a 422 problem document naming the field, with the request id, changing nothing."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
from sqlalchemy import func, select

from tenantry.access.service import operator_scope
from tenantry.db.engine import Database
from tenantry.psa.contacts.models import Contact
from tests.psa.conftest import PsaWorld

CONTOSO = "/api/v1/tenants/contoso"


def problem(response: httpx.Response, status: int = 422) -> dict[str, Any]:
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["x-request-id"] and response.headers["x-content-type-options"]
    body: dict[str, Any] = response.json()
    assert body["request_id"] == response.headers["x-request-id"]
    return body


def cursor_of(*values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode().rstrip("=")


async def test_bulk_numbers_beyond_32_bits_are_refused_naming_the_field(psa: PsaWorld) -> None:
    made = await psa.ticket("alex", "contoso")
    for number in (2**31, 2**40, 2**63, -1, 0):
        response = await psa.call(
            "alex",
            "POST",
            f"{CONTOSO}/tickets/bulk",
            json={"numbers": [made["number"], number], "status": "closed"},
        )
        body = problem(response)
        assert body["errors"][0]["field"].startswith("numbers"), body
    ticket = (await psa.call("alex", "GET", f"{CONTOSO}/tickets/{made['number']}")).json()
    assert ticket["status"] == made["status"]


async def test_offset_cursors_past_the_bound_are_refused(psa: PsaWorld) -> None:
    await psa.ticket("alex", "contoso")
    for url in (f"{CONTOSO}/tickets", "/api/v1/tenants/northwind/msp-tickets"):
        for offset in (2**63, 2**64 + 5, 10**30, -1, 1_000_001):
            response = await psa.call("alex", "GET", url, params={"cursor": cursor_of(offset)})
            assert problem(response)["errors"][0]["field"] == "cursor", (url, offset)
        # A cursor this API made still works.
        assert (await psa.call("alex", "GET", url, params={"cursor": cursor_of(0)})).is_success


async def _contact_count(database: Database, psa: PsaWorld) -> int:
    async with database.unit_of_work(operator_scope([psa.tenants["contoso"]])) as session:
        return int((await session.execute(select(func.count()).select_from(Contact))).scalar_one())


async def test_an_import_with_a_huge_field_names_the_line(
    psa: PsaWorld, database: Database
) -> None:
    before = await _contact_count(database, psa)
    huge = "x" * (130 * 1024)
    text = f"name,email\nAnn,ann@contoso.example\n{huge},bob@contoso.example\n"
    response = await psa.call(
        "alex", "POST", f"{CONTOSO}/contacts/import", files={"file": ("c.csv", text, "text/csv")}
    )
    body = problem(response)
    assert body["errors"][0]["field"] == "file" and "line 3" in body["detail"], body
    assert await _contact_count(database, psa) == before


async def test_an_import_with_a_nul_character_rejects_that_row(
    psa: PsaWorld, database: Database
) -> None:
    text = "name,email\nAnn,ann@contoso.example\nB\x00b,bob@contoso.example\n"
    response = await psa.call(
        "alex", "POST", f"{CONTOSO}/contacts/import", files={"file": ("c.csv", text, "text/csv")}
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["created"] == 1
    assert [(r["row"], r["field"]) for r in report["rejected"]] == [(3, "name")]
