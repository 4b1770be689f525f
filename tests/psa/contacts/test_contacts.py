"""Contacts: create, search, edit, CSV import with a report of rejected rows; bad input
names the field and changes nothing; other tenants get 404; audit events written."""

from __future__ import annotations

from sqlalchemy import func, select

from tenantry.access.service import operator_scope
from tenantry.audit.models import AuditEvent
from tenantry.db.engine import Database
from tenantry.psa.contacts.models import Contact
from tests.psa.conftest import PsaWorld

BASE = "/api/v1/tenants/contoso/contacts"


async def _contacts(database: Database, psa: PsaWorld) -> list[str]:
    async with database.unit_of_work(operator_scope([psa.tenants["contoso"]])) as session:
        return sorted((await session.scalars(select(Contact.email))).all())


async def test_create_search_and_edit(psa: PsaWorld, database: Database) -> None:
    made = await psa.call(
        "dora",
        "POST",
        BASE,
        json={
            "name": "Ann  Smith",
            "email": "Ann@Contoso.example",
            "phone": "+49 30 1234-5",
            "job_title": "Office manager",
        },
    )
    assert made.status_code == 201, made.text
    ann = made.json()
    assert (ann["name"], ann["email"]) == ("Ann Smith", "ann@contoso.example")
    await psa.call("dora", "POST", BASE, json={"name": "Bob Jones", "email": "bob@contoso.example"})
    found = (await psa.call("dora", "GET", BASE, params={"q": "manager"})).json()
    assert [c["name"] for c in found["items"]] == ["Ann Smith"]
    everyone = (await psa.call("dora", "GET", BASE, params={"limit": 1})).json()
    assert len(everyone["items"]) == 1 and everyone["next_cursor"]
    edited = await psa.call("dora", "PATCH", f"{BASE}/{ann['id']}", json={"phone": "+49 30 999"})
    assert edited.status_code == 200 and edited.json()["phone"] == "+49 30 999"
    async with database.unit_of_work(operator_scope([psa.tenants["contoso"]])) as session:
        actions = (
            await session.scalars(
                select(AuditEvent.action).where(AuditEvent.target_type == "contact")
            )
        ).all()
    assert sorted(actions) == ["contact.created", "contact.created", "contact.updated"]


async def test_bad_input_names_the_field_and_changes_nothing(
    psa: PsaWorld, database: Database
) -> None:
    await psa.call("dora", "POST", BASE, json={"name": "Ann", "email": "ann@contoso.example"})
    cases = [
        ({"name": "", "email": "x@contoso.example"}, "name"),
        ({"name": "X", "email": "not-an-email"}, "email"),
        ({"name": "X", "email": "ANN@contoso.example"}, "email"),  # taken
        ({"name": "X", "email": "x@contoso.example", "phone": "call me"}, "phone"),
    ]
    for body, field in cases:
        response = await psa.call("dora", "POST", BASE, json=body)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == field
    assert await _contacts(database, psa) == ["ann@contoso.example"]


async def test_import_reports_rejected_rows_and_keeps_nothing_of_them(
    psa: PsaWorld, database: Database
) -> None:
    await psa.call("dora", "POST", BASE, json={"name": "Ann", "email": "ann@contoso.example"})
    csv_text = (
        "name,email,phone,job_title\n"
        "Carla Diaz,carla@contoso.example,+1 555 0100,CFO\n"
        ",nobody@contoso.example,,\n"
        "Dan,dan@contoso,,\n"
        "Ann Again,ANN@contoso.example,,\n"
        "Eve,eve@contoso.example,call me,\n"
        "Fay,fay@contoso.example,,Intern\n"
        "Fay Twin,fay@contoso.example,,\n"
    )
    response = await psa.call(
        "dora", "POST", f"{BASE}/import", files={"file": ("c.csv", csv_text, "text/csv")}
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["created"] == 2
    assert [(r["row"], r["field"]) for r in report["rejected"]] == [
        (3, "name"),
        (4, "email"),
        (5, "email"),
        (6, "phone"),
        (8, "email"),
    ]
    assert await _contacts(database, psa) == [
        "ann@contoso.example",
        "carla@contoso.example",
        "fay@contoso.example",
    ]
    bad_header = await psa.call(
        "dora", "POST", f"{BASE}/import", files={"file": ("c.csv", "nom,courriel\n", "text/csv")}
    )
    assert bad_header.status_code == 422 and bad_header.json()["errors"][0]["field"] == "file"


async def test_other_tenants_get_404(psa: PsaWorld, database: Database) -> None:
    made = (
        await psa.call(
            "alex",
            "POST",
            "/api/v1/tenants/fabrikam/contacts",
            json={"name": "Zed", "email": "zed@fabrikam.example"},
        )
    ).json()
    url = f"/api/v1/tenants/fabrikam/contacts/{made['id']}"
    for who in ("dora", "gary", "carl"):
        assert (await psa.call(who, "GET", url)).status_code == 404
    # Contoso's id space does not reach Fabrikam's contact either.
    assert (await psa.call("dora", "GET", f"{BASE}/{made['id']}")).status_code == 404
    async with database.unit_of_work(operator_scope([psa.tenants["fabrikam"]])) as session:
        assert await session.scalar(select(func.count()).select_from(Contact)) == 1
