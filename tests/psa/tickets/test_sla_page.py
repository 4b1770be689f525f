"""The SLA policy page (``/t/{tenant}/settings/sla``): everyone with ``tickets:read``
reads it, ``sla:manage`` edits targets, business hours, time zone and holidays;
bad input names the field, keeps the input and changes nothing."""

from __future__ import annotations

import re
import uuid

import httpx
from sqlalchemy import func, select

from tenantry.access.service import operator_scope
from tenantry.audit.models import AuditEvent
from tenantry.db.engine import Database
from tenantry.psa.tickets.models import SlaPolicy
from tenantry.tenancy.models import Tenant
from tests.factories import PASSWORD, make_user, signed_in_client
from tests.psa.conftest import PsaWorld

URL = "/t/contoso/settings/sla"


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]*)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


async def _browser(psa: PsaWorld, email: str) -> httpx.AsyncClient:
    browser = await signed_in_client(psa.app, email, PASSWORD)
    browser.headers.pop("x-csrf-token", None)  # forms send the field, as a browser does
    return browser


async def _state(database: Database, tenant_id: uuid.UUID) -> tuple[int, int, str]:
    """(policy rows, sla_policy.updated events, the tenant's time zone)."""
    async with database.unit_of_work(operator_scope([tenant_id])) as session:
        rows = await session.scalar(select(func.count()).select_from(SlaPolicy))
        events = await session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "sla_policy.updated")
        )
        tenant = await session.get(Tenant, tenant_id)
        assert tenant is not None
        return int(rows or 0), int(events or 0), tenant.time_zone


def _form(token: str, **override: str) -> dict[str, str]:
    data = {"csrf_token": token, "time_zone": "UTC"}
    for p, (fr, res) in {
        "P1": (30, 240),
        "P2": (60, 540),
        "P3": (240, 1620),
        "P4": (540, 5400),
    }.items():
        data[f"{p}_first_response"] = str(fr)
        data[f"{p}_resolution"] = str(res)
    for day in range(7):
        data[f"hours_{day}"] = "08:00-17:00" if day < 5 else ""
    data.update(override)
    return data


async def test_bad_input_names_the_field_keeps_it_and_changes_nothing(
    psa: PsaWorld, database: Database
) -> None:
    contoso = psa.tenants["contoso"]
    async with await _browser(psa, "alex@northwind.example") as browser:
        page = await browser.get(URL)
        assert page.status_code == 200, page.text
        assert 'name="P1_first_response"' in page.text and 'value="30"' in page.text
        token = _csrf(page.text)
        assert (await browser.post(URL, data={"P1_first_response": "5"})).status_code == 403
        negative = await browser.post(
            URL, data=_form(token, P2_resolution="-5", hours_5="10:00-14:00")
        )
        assert negative.status_code == 422
        assert 'id="f-P2_resolution-error"' in negative.text
        assert 'value="-5"' in negative.text and 'value="10:00-14:00"' in negative.text
        zone = await browser.post(URL, data=_form(token, time_zone="Mars/Olympus_Mons"))
        assert zone.status_code == 422 and 'id="f-time_zone-error"' in zone.text
        assert 'value="Mars/Olympus_Mons"' in zone.text
        backwards = await browser.post(URL, data=_form(token, hours_2="17:00-08:00"))
        assert backwards.status_code == 422 and 'id="f-hours_2-error"' in backwards.text
        garbled = await browser.post(URL, data=_form(token, hours_3="nine to five"))
        assert garbled.status_code == 422 and 'id="f-hours_3-error"' in garbled.text
        overlap = await browser.post(URL, data=_form(token, hours_4="08:00-12:00, 11:00-17:00"))
        assert overlap.status_code == 422 and 'id="f-hours_4-error"' in overlap.text
        words = await browser.post(URL, data=_form(token, P1_first_response="soon"))
        assert words.status_code == 422 and 'id="f-P1_first_response-error"' in words.text
        assert await _state(database, contoso) == (0, 0, "UTC")
        bad_day = await browser.post(
            f"{URL}/holidays", data={"csrf_token": token, "holiday": "25.12."}
        )
        assert bad_day.status_code == 422 and 'id="f-holiday-error"' in bad_day.text
        assert 'value="25.12."' in bad_day.text
        assert await _state(database, contoso) == (0, 0, "UTC")


async def test_save_hours_zone_and_holidays(psa: PsaWorld, database: Database) -> None:
    contoso = psa.tenants["contoso"]
    async with await _browser(psa, "alex@northwind.example") as browser:
        token = _csrf((await browser.get(URL)).text)
        saved = await browser.post(
            URL,
            data=_form(
                token,
                time_zone="Europe/Berlin",
                P1_first_response="15",
                hours_0="08:00-12:00, 13:00-17:00",
                hours_5="09:00-13:00",
            ),
        )
        assert saved.status_code == 303 and saved.headers["location"] == URL
        api = (await psa.call("alex", "GET", "/api/v1/tenants/contoso/sla-policy")).json()
        assert api["time_zone"] == "Europe/Berlin"
        assert api["targets"]["P1"] == {"first_response": 15, "resolution": 240}
        assert api["business_hours"]["0"] == [["08:00", "12:00"], ["13:00", "17:00"]]
        assert api["business_hours"]["6"] == []
        added = await browser.post(
            f"{URL}/holidays", data={"csrf_token": token, "holiday": "2026-12-25"}
        )
        assert added.status_code == 303
        page = await browser.get(URL)
        assert "2026-12-25" in page.text and 'value="Europe/Berlin"' in page.text
        assert 'value="08:00-12:00, 13:00-17:00"' in page.text
        removed = await browser.post(
            f"{URL}/holidays/remove", data={"csrf_token": token, "holiday": "2026-12-25"}
        )
        assert removed.status_code == 303
        api = (await psa.call("alex", "GET", "/api/v1/tenants/contoso/sla-policy")).json()
        assert api["holidays"] == []
        unknown = await browser.post(
            f"{URL}/holidays/remove", data={"csrf_token": token, "holiday": "2026-01-01"}
        )
        assert unknown.status_code == 422 and 'id="f-holiday-error"' in unknown.text
    assert await _state(database, contoso) == (1, 3, "Europe/Berlin")


async def test_who_may_read_and_who_may_change(psa: PsaWorld, database: Database) -> None:
    contoso = psa.tenants["contoso"]
    async with database.unit_of_work(operator_scope([contoso])) as session:
        home = await session.get(Tenant, contoso)
        assert home is not None
    await make_user(database, home, "bill@contoso.example", role="billing")
    # Dora: delegated to Contoso as Technician (tickets:read, no sla:manage).
    async with await _browser(psa, "dora@northwind.example") as browser:
        page = await browser.get(URL)
        assert page.status_code == 200 and "<fieldset disabled" in page.text
        assert "Save SLA policy" not in page.text
        token = _csrf(page.text)
        assert (await browser.post(URL, data=_form(token))).status_code == 403
        holiday = await browser.post(
            f"{URL}/holidays", data={"csrf_token": token, "holiday": "2026-12-24"}
        )
        assert holiday.status_code == 403
        tickets = await browser.get("/t/contoso/tickets")
        assert 'href="/t/contoso/settings/sla"' in tickets.text
    async with await _browser(psa, "bill@contoso.example") as browser:
        assert (await browser.get(URL)).status_code == 403  # no tickets:read
    async with await _browser(psa, "tina@northwind.example") as browser:
        assert (await browser.get(URL)).status_code == 404  # Contoso is not hers to see
    async with await _browser(psa, "alex@northwind.example") as browser:
        overview = await browser.get("/t/contoso/tickets")
        assert ">SLA policy</a>" in overview.text
    assert await _state(database, contoso) == (0, 0, "UTC")
