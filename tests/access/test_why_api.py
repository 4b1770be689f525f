"""Why: explain one user's access in a tenant, and a tenant's access review (JSON, CSV)."""

from __future__ import annotations

import csv
import io

from sqlalchemy import update

from tenantry.access.permissions import BUILTIN_ROLES, CATALOG, CLIENT_MEANINGFUL
from tenantry.identity.models import User
from tests.access.conftest import World, problem_field

CONTOSO = "/api/v1/tenants/contoso-ltd"


async def _delegate_tina(world: World) -> dict[str, object]:
    return await world.grant(
        "alex",
        "northwind",
        user="tina@northwind.example",
        role="first_level_support",
        scope="customer",
        customer="contoso-ltd",
        expires_at="2999-01-01T00:00:00Z",
    )


async def test_explain_names_the_grant_role_and_link_behind_each_permission(
    world: World,
) -> None:
    grant = await _delegate_tina(world)
    response = await world.get(
        "carol", f"{CONTOSO}/access/explain", params={"user": "tina@northwind.example"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["relation"] == "customer" and body["has_access"] is True
    assert body["user_home"]["slug"] == "northwind"
    assert body["link"]["msp"]["display_name"] == "Northwind IT"
    assert body["summary"] == (
        f"Tina Tech holds {len(BUILTIN_ROLES['first_level_support'].permissions)} of "
        f"{len(CATALOG)} permissions in Contoso Ltd, within the link from Northwind IT."
    )
    rows = {p["permission"]: p for p in body["permissions"]}
    assert list(rows) == list(CATALOG)
    source = rows["tickets:write"]["sources"][0]
    assert source["grant_id"] == grant["id"]
    assert source["role_name"] == "1st Level Support"
    assert source["via"] == "direct grant"
    assert source["scope_label"] == "in the customer Contoso Ltd"
    assert source["expires_at"].startswith("2999-01-01")
    assert rows["tickets:write"]["reason"].startswith("allowed by 1st Level Support (direct grant")
    assert rows["users:manage"] == {
        "permission": "users:manage",
        "description": CATALOG["users:manage"],
        "held": False,
        "sources": [],
        "reason": "none of the grants here gives it",
    }


async def test_explain_shows_the_implicit_admin_grant_and_group_grants(world: World) -> None:
    alex = await world.get(
        "carol", f"{CONTOSO}/access/explain", params={"user": "alex@northwind.example"}
    )
    owner = alex.json()["permissions"][0]["sources"][0]
    assert owner["implicit"] is True and owner["via"] == "MSP admin"
    assert owner["role_name"] == "Owner"

    group = (
        await world.post("alex", "/api/v1/tenants/northwind/user-groups", json={"name": "Desk"})
    ).json()
    await world.post(
        "alex",
        f"/api/v1/tenants/northwind/user-groups/{group['id']}/members",
        json={"user": "sam@northwind.example"},
    )
    await world.grant(
        "alex", "northwind", group=group["id"], role="read_only", scope="all_customers"
    )
    sam = await world.get(
        "carol", f"{CONTOSO}/access/explain", params={"user": str(world.users["sam"].id)}
    )
    source = sam.json()["permissions"][0]["sources"][0]
    # Shown in the client, the MSP's internal group is not named (access rule 6).
    assert source["via"] == "a group of Northwind IT's technicians"
    assert source["user_group"] is None
    assert source["scope_label"] == "in every customer"


async def test_explain_without_access_says_why(world: World) -> None:
    tina = await world.get(
        "carol", f"{CONTOSO}/access/explain", params={"user": "tina@northwind.example"}
    )
    assert tina.status_code == 200
    assert tina.json()["has_access"] is False
    assert tina.json()["summary"] == "Tina Tech holds nothing in Contoso Ltd."
    # A user of another MSP, or an unknown one, is nobody here (no hint they exist).
    for who in ("gary@globex.example", "ghost@example.com"):
        response = await world.get("carol", f"{CONTOSO}/access/explain", params={"user": who})
        assert response.status_code == 422 and problem_field(response) == "user"
        assert "globex" not in response.text.lower()
    # Reading it needs users:read.
    await _delegate_tina(world)
    denied = await world.get(
        "tina", f"{CONTOSO}/access/explain", params={"user": "tina@northwind.example"}
    )
    assert denied.status_code == 403 and denied.json()["permission"] == "users:read"


async def test_access_review_lists_own_users_and_msp_technicians(world: World) -> None:
    await _delegate_tina(world)
    response = await world.get("carol", f"{CONTOSO}/access/review")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["tenant"]["slug"] == "contoso-ltd"
    assert body["link"]["msp"]["slug"] == "northwind"
    people = [(e["user"]["email"], e["relation"]) for e in body["items"]]
    assert people == [
        ("carol@contoso.example", "own user"),
        ("alex@northwind.example", "MSP technician"),
        ("olive@northwind.example", "MSP technician"),
        ("tina@northwind.example", "MSP technician"),
    ]
    tina = body["items"][3]
    assert tina["permissions"] == [
        p for p in CATALOG if p in BUILTIN_ROLES["first_level_support"].permissions
    ]
    assert tina["sources"][0]["role_name"] == "1st Level Support"
    alex = body["items"][1]
    # The implicit Owner grant, capped by the full template: never the MSP-only ones.
    assert alex["sources"][0]["implicit"] is True
    assert set(alex["permissions"]) == CLIENT_MEANINGFUL
    # Sam's home Technician role gives nothing in a customer: he is not listed.
    assert "sam@northwind.example" not in {e["user"]["email"] for e in body["items"]}

    paged = await world.get("carol", f"{CONTOSO}/access/review", params={"limit": 2})
    assert len(paged.json()["items"]) == 2
    rest = await world.get(
        "carol", f"{CONTOSO}/access/review", params={"cursor": paged.json()["next_cursor"]}
    )
    assert [e["user"]["email"] for e in rest.json()["items"]] == [
        "olive@northwind.example",
        "tina@northwind.example",
    ]


async def test_access_review_of_the_msp_itself(world: World) -> None:
    body = (await world.get("alex", "/api/v1/tenants/northwind/access/review")).json()
    assert body["link"] is None
    assert [(e["user"]["email"], e["sources"][0]["role_name"]) for e in body["items"]] == [
        ("alex@northwind.example", "Admin"),
        ("olive@northwind.example", "Owner"),
        ("sam@northwind.example", "Technician"),
        ("tina@northwind.example", "Technician"),
    ]


async def test_access_review_exports_as_csv_without_formulas(world: World) -> None:
    await _delegate_tina(world)
    async with world.owner_engine.begin() as conn:
        await conn.execute(
            update(User)
            .where(User.id == world.users["tina"].id)
            .values(display_name="=HYPERLINK(1)")
        )
    response = await world.get("carol", f"{CONTOSO}/access/review", params={"format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="contoso-ltd-access-review.csv"' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["user_email"] for r in rows] == [
        "carol@contoso.example",
        "alex@northwind.example",
        "olive@northwind.example",
        "tina@northwind.example",
    ]
    tina = rows[-1]
    assert tina["user_name"] == "'=HYPERLINK(1)"
    assert tina["relation"] == "MSP technician" and tina["role"] == "1st Level Support"
    assert tina["scope"] == "in the customer Contoso Ltd" and tina["expires_at"].startswith("2999")
    assert tina["permissions"].split() == [
        p for p in CATALOG if p in BUILTIN_ROLES["first_level_support"].permissions
    ]
