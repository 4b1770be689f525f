"""Roles through the API: built-ins listed, custom roles created, cloned, compared,
edited (holders see the change on their next request) and deleted only when unused."""

from __future__ import annotations

from typing import Any

import pytest

from tenantry.access.models import CustomRole
from tenantry.access.permissions import BUILTIN_ROLES, CATALOG
from tests.access.conftest import World, problem_field

ROLES = "/api/v1/tenants/northwind/roles"


async def test_built_in_roles_are_listed_first_and_marked(world: World) -> None:
    response = await world.get("tina", ROLES)
    assert response.status_code == 200
    items = response.json()["items"]
    assert [r["key"] for r in items] == list(BUILTIN_ROLES)
    assert all(r["builtin"] and r["id"] is None for r in items)
    owner = items[0]
    assert owner["name"] == "Owner" and "billing:manage" in owner["permissions"]
    paged = await world.get("tina", ROLES, params={"limit": 3})
    assert [r["key"] for r in paged.json()["items"]] == ["owner", "admin", "technician"]
    rest = await world.get(
        "tina", ROLES, params={"limit": 50, "cursor": paged.json()["next_cursor"]}
    )
    assert rest.json()["items"][0]["key"] == "first_level_support"
    assert rest.json()["next_cursor"] is None


async def test_custom_role_lifecycle(world: World) -> None:
    created = await world.post(
        "alex",
        ROLES,
        json={
            "name": "  Patch   crew ",
            "description": "Patching only",
            "permissions": ["tickets:write", "tenant:read", "tickets:read"],
        },
    )
    assert created.status_code == 201, created.text
    role = created.json()
    assert role["name"] == "Patch crew" and role["builtin"] is False
    assert role["key"] == f"custom:{role['id']}"
    assert role["permissions"] == ["tenant:read", "tickets:read", "tickets:write"]  # catalog order
    listed = (await world.get("alex", ROLES)).json()["items"]
    assert listed[-1]["key"] == role["key"]
    for ref in (role["id"], role["key"]):
        assert (await world.get("alex", f"{ROLES}/{ref}")).json()["name"] == "Patch crew"

    # Given to Tina in Contoso, then changed: she has the change on her next request.
    await world.grant(
        "alex",
        "northwind",
        user="tina@northwind.example",
        role=role["key"],
        scope="customer",
        customer="contoso-ltd",
    )
    assert (await world.get("tina", "/api/v1/tenants/contoso-ltd/grants")).status_code == 403
    patched = await world.call(
        "alex",
        "PATCH",
        f"{ROLES}/{role['id']}",
        json={"name": "Patch desk", "permissions": [*role["permissions"], "users:read"]},
    )
    assert patched.status_code == 200, patched.text
    assert (await world.get("tina", "/api/v1/tenants/contoso-ltd/grants")).status_code == 200

    # Deleting is refused while a grant uses it, and the refusal lists the grants.
    refused = await world.call("alex", "DELETE", f"{ROLES}/{role['id']}")
    assert refused.status_code == 409
    body = refused.json()
    assert [g["user"]["email"] for g in body["grants"]] == ["tina@northwind.example"]
    assert body["grants"][0]["scope_label"] == "in the customer Contoso Ltd"
    assert await world.count(CustomRole) == 1

    await world.call(
        "alex", "DELETE", f"/api/v1/tenants/northwind/grants/{body['grants'][0]['id']}"
    )
    deleted = await world.call("alex", "DELETE", f"{ROLES}/{role['id']}")
    assert deleted.status_code == 200
    assert (await world.get("alex", f"{ROLES}/{role['id']}")).status_code == 404
    actions = await world.actions(world.msp)
    assert [a for a in actions if a.startswith("role.")] == [
        "role.created",
        "role.updated",
        "role.deleted",
    ]


async def test_cloning_copies_a_built_in_or_a_custom_role(world: World) -> None:
    clone = await world.post(
        "alex", ROLES, json={"name": "Support+", "clone_from": "first_level_support"}
    )
    assert clone.status_code == 201, clone.text
    copied = clone.json()
    assert set(copied["permissions"]) == BUILTIN_ROLES["first_level_support"].permissions
    assert copied["description"].startswith("Copy of 1st Level Support.")
    again = await world.post("alex", ROLES, json={"name": "Support++", "clone_from": copied["key"]})
    assert again.json()["permissions"] == copied["permissions"]


async def test_two_roles_compare_side_by_side(world: World) -> None:
    response = await world.get(
        "tina", f"{ROLES}/compare", params={"a": "first_level_support", "b": "software_requester"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["both"] == ["tenant:read", "tickets:read"]
    assert body["only_a"] == ["contacts:read", "tickets:write", "time:read", "time:write"]
    assert body["only_b"] == ["software:request"]
    assert len(body["rows"]) == len(CATALOG) and body["rows"][0]["permission"] == "tenant:read"
    bad = await world.get("tina", f"{ROLES}/compare", params={"a": "owner", "b": "nope"})
    assert bad.status_code == 422 and problem_field(bad) == "b"


@pytest.mark.parametrize(
    ("body", "field", "status"),
    [
        ({"name": "", "permissions": ["tickets:read"]}, "name", 422),
        ({"name": "x" * 101, "permissions": ["tickets:read"]}, "name", 422),
        ({"name": "admin", "permissions": ["tickets:read"]}, "name", 422),
        ({"name": "1st level support", "permissions": ["tickets:read"]}, "name", 422),
        ({"name": "Taken", "permissions": ["tickets:read"]}, "name", 409),
        ({"name": "X", "permissions": []}, "permissions", 422),
        ({"name": "X", "permissions": ["tickets:fly"]}, "permissions", 422),
        ({"name": "X", "permissions": ["billing:manage"]}, "permissions", 422),  # Alex lacks it
        ({"name": "X", "clone_from": "owner"}, "clone_from", 422),  # ditto
        ({"name": "X", "clone_from": "wizard"}, "clone_from", 422),
        ({"name": "X", "clone_from": "admin", "permissions": ["tickets:read"]}, "clone_from", 422),
        (
            {"name": "X", "description": "d" * 501, "permissions": ["tickets:read"]},
            "description",
            422,
        ),
        ({"name": "X", "permissions": ["tickets:read"], "colour": "red"}, "colour", 422),
    ],
)
async def test_bad_role_input_names_the_field_and_changes_nothing(
    world: World, body: dict[str, Any], field: str, status: int
) -> None:
    assert (
        await world.post("alex", ROLES, json={"name": "Taken", "permissions": ["tickets:read"]})
    ).status_code == 201
    trail = await world.actions(world.msp)
    response = await world.post("alex", ROLES, json=body)
    assert response.status_code == status, response.text
    assert problem_field(response) == field
    assert await world.count(CustomRole) == 1
    assert await world.actions(world.msp) == trail


async def test_built_in_roles_cannot_be_changed_or_deleted(world: World) -> None:
    patched = await world.call("alex", "PATCH", f"{ROLES}/technician", json={"name": "Tech"})
    assert patched.status_code == 422 and problem_field(patched) == "role"
    deleted = await world.call("alex", "DELETE", f"{ROLES}/technician")
    assert deleted.status_code == 422


async def test_only_permissions_you_hold_can_be_added_or_removed(world: World) -> None:
    role = (
        await world.post(
            "olive",
            ROLES,
            json={"name": "Books", "permissions": ["billing:manage", "invoices:read"]},
        )
    ).json()
    # Alex (Admin: everything but billing:manage) may rename it and change invoices:…,
    # but neither add nor remove billing:manage.
    renamed = await world.call("alex", "PATCH", f"{ROLES}/{role['id']}", json={"name": "Ledger"})
    assert renamed.status_code == 200
    removed = await world.call(
        "alex", "PATCH", f"{ROLES}/{role['id']}", json={"permissions": ["invoices:read"]}
    )
    assert removed.status_code == 422 and "billing:manage" in removed.json()["detail"]
    widened = await world.call(
        "alex",
        "PATCH",
        f"{ROLES}/{role['id']}",
        json={"permissions": ["billing:manage", "invoices:read", "invoices:write"]},
    )
    assert widened.status_code == 200


async def test_managing_roles_needs_roles_manage_and_stays_in_the_tenant(world: World) -> None:
    denied = await world.post("tina", ROLES, json={"name": "X", "permissions": ["tickets:read"]})
    assert denied.status_code == 403 and denied.json()["permission"] == "roles:manage"
    mine = (
        await world.post(
            "carol",
            "/api/v1/tenants/contoso-ltd/roles",
            json={"name": "Mine", "permissions": ["tickets:read"]},
        )
    ).json()
    # Another tenant's custom role is no role here.
    assert (await world.get("alex", f"{ROLES}/{mine['id']}")).status_code == 404
    assert (await world.call("alex", "DELETE", f"{ROLES}/{mine['id']}")).status_code == 404
    grant = await world.post(
        "alex",
        "/api/v1/tenants/northwind/grants",
        json={"user": "tina@northwind.example", "role": mine["key"]},
    )
    assert grant.status_code == 422 and problem_field(grant) == "role"
    # An MSP's custom role works in its delegations.
    ours = (
        await world.post("alex", ROLES, json={"name": "Ours", "permissions": ["tenant:read"]})
    ).json()
    await world.grant(
        "alex",
        "northwind",
        user="tina@northwind.example",
        role=ours["key"],
        scope="customer",
        customer="fabrikam-inc",
    )
    assert "fabrikam-inc" in await world.tenants_of("tina")


async def test_the_permission_catalog_is_served(world: World) -> None:
    response = await world.get("tina", "/api/v1/tenants/northwind/permissions")
    assert response.status_code == 200
    served = {p["permission"]: p for p in response.json()}
    assert served["roles:manage"] == {
        "permission": "roles:manage",
        "description": "Create and change custom roles",
        "group": "People and access",
        "owner": "client",
        "in_client": True,
    }
    assert served["rates:manage"]["owner"] == "msp"
    assert served["links:manage"]["in_client"] is False
