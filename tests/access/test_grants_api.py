"""Grants through the API: delegations, group and tenant-group grants, all customers
minus exclusions, expiry, revocation, promotion and demotion, and what may not be
granted. Every rule is checked from the grantee's side on their next request."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from tenantry.access.models import Grant
from tenantry.access.permissions import BUILTIN_ROLES
from tenantry.db.base import utcnow
from tenantry.tenancy.models import TenantLink
from tests.access.conftest import World, make_user, problem_field
from tests.harness.world import add_customer

MSP = "/api/v1/tenants/northwind"


async def test_delegation_puts_the_customer_in_the_switcher_with_exactly_the_roles_permissions(
    world: World,
) -> None:
    assert await world.tenants_of("tina") == ["northwind"]
    assert (await world.get("tina", "/api/v1/tenants/fabrikam-inc")).status_code == 404

    grant = await world.grant(
        "alex",
        "northwind",
        user="tina@northwind.example",
        role="technician",
        scope="customer",
        customer="fabrikam-inc",
    )
    assert grant["scope_label"] == "in the customer Fabrikam Inc"
    assert grant["role_name"] == "Technician" and grant["status"] == "active"

    assert await world.tenants_of("tina") == ["northwind", "fabrikam-inc"]
    assert (await world.get("tina", "/api/v1/tenants/fabrikam-inc")).status_code == 200
    explained = await world.get(
        "alex",
        "/api/v1/tenants/fabrikam-inc/access/explain",
        params={"user": "tina@northwind.example"},
    )
    held = {p["permission"] for p in explained.json()["permissions"] if p["held"]}
    assert held == BUILTIN_ROLES["technician"].permissions
    # Technician reads users but cannot manage roles there: 403 naming the permission.
    assert (await world.get("tina", "/api/v1/tenants/fabrikam-inc/grants")).status_code == 200
    denied = await world.post(
        "tina",
        "/api/v1/tenants/fabrikam-inc/roles",
        json={"name": "X", "permissions": ["tickets:read"]},
    )
    assert denied.status_code == 403
    assert denied.json()["permission"] == "roles:manage"
    # The customer's trail records who was given access to it, as the MSP's does.
    assert "access.grant_created" in await world.actions(world.customers["fabrikam-inc"])
    assert (await world.actions(world.msp))[-1] == "access.grant_created"


async def test_revoking_takes_effect_on_the_next_request(world: World) -> None:
    grant = await world.grant(
        "alex",
        "northwind",
        user="tina@northwind.example",
        role="first_level_support",
        scope="customer",
        customer="contoso-ltd",
    )
    assert (await world.get("tina", "/api/v1/tenants/contoso-ltd")).status_code == 200

    revoked = await world.call("alex", "DELETE", f"{MSP}/grants/{grant['id']}")
    assert revoked.status_code == 200
    assert revoked.json()["status"] == "revoked"
    assert (await world.get("tina", "/api/v1/tenants/contoso-ltd")).status_code == 404
    assert "contoso-ltd" not in await world.tenants_of("tina")
    # Revoking again changes nothing and records nothing more.
    before = await world.actions(world.msp)
    again = await world.call("alex", "DELETE", f"{MSP}/grants/{grant['id']}")
    assert again.status_code == 200 and await world.actions(world.msp) == before
    assert before.count("access.grant_revoked") == 1
    assert "access.grant_revoked" in await world.actions(world.customers["contoso-ltd"])


async def test_an_expired_grant_stops_working_at_once(world: World) -> None:
    soon = (utcnow() + timedelta(hours=1)).isoformat()
    grant = await world.grant(
        "alex",
        "northwind",
        user="tina@northwind.example",
        role="technician",
        scope="customer",
        customer="contoso-ltd",
        expires_at=soon,
    )
    assert (await world.get("tina", "/api/v1/tenants/contoso-ltd")).status_code == 200
    async with world.owner_engine.begin() as conn:
        await conn.execute(
            update(Grant)
            .where(Grant.id == uuid.UUID(grant["id"]))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert (await world.get("tina", "/api/v1/tenants/contoso-ltd")).status_code == 404
    listed = await world.get("alex", f"{MSP}/grants", params={"include_expired": "true"})
    assert [g["status"] for g in listed.json()["items"] if g["id"] == grant["id"]] == ["expired"]
    active = await world.get("alex", f"{MSP}/grants")
    assert grant["id"] not in {g["id"] for g in active.json()["items"]}


async def test_a_group_grant_reaches_members_and_stops_when_they_leave(world: World) -> None:
    group = (await world.post("alex", f"{MSP}/user-groups", json={"name": "Service desk"})).json()
    added = await world.post(
        "alex", f"{MSP}/user-groups/{group['id']}/members", json={"user": "sam@northwind.example"}
    )
    assert added.status_code == 201
    await world.grant(
        "alex",
        "northwind",
        group=group["id"],
        role="first_level_support",
        scope="customer",
        customer="tailspin-toys",
    )
    assert "tailspin-toys" in await world.tenants_of("sam")
    assert "tailspin-toys" not in await world.tenants_of("tina")

    removed = await world.call(
        "alex", "DELETE", f"{MSP}/user-groups/{group['id']}/members/sam@northwind.example"
    )
    assert removed.status_code == 200 and removed.json()["members"] == []
    assert (await world.get("sam", "/api/v1/tenants/tailspin-toys")).status_code == 404
    actions = await world.actions(world.msp)
    assert "user_group.member_added" in actions and "user_group.member_removed" in actions


async def test_tenant_group_grants_follow_the_groups_membership(world: World) -> None:
    group = (await world.post("alex", f"{MSP}/tenant-groups", json={"name": "Healthcare"})).json()
    members = f"{MSP}/tenant-groups/{group['id']}/members"
    assert (await world.post("alex", members, json={"customer": "contoso-ltd"})).status_code == 201
    await world.grant(
        "alex",
        "northwind",
        user="tina@northwind.example",
        role="read_only",
        scope="tenant_group",
        tenant_group="Healthcare",
    )
    assert await world.tenants_of("tina") == ["northwind", "contoso-ltd"]

    assert (await world.post("alex", members, json={"customer": "fabrikam-inc"})).status_code == 201
    assert await world.tenants_of("tina") == ["northwind", "contoso-ltd", "fabrikam-inc"]
    gone = await world.call("alex", "DELETE", f"{members}/contoso-ltd")
    assert gone.status_code == 200
    assert (await world.get("tina", "/api/v1/tenants/contoso-ltd")).status_code == 404
    assert (await world.get("tina", "/api/v1/tenants/fabrikam-inc")).status_code == 200


async def test_all_customers_minus_exclusions_reaches_future_customers_too(
    world: World,
) -> None:
    await world.grant(
        "alex",
        "northwind",
        user="sam@northwind.example",
        role="read_only",
        scope="all_customers",
        excluded_customers=["tailspin-toys"],
    )
    assert await world.tenants_of("sam") == ["northwind", "contoso-ltd", "fabrikam-inc"]
    assert (await world.get("sam", "/api/v1/tenants/tailspin-toys")).status_code == 404
    await add_customer(world.database, world.msp, world.users["alex"], "Adatum")
    assert "adatum" in await world.tenants_of("sam")
    # The grants list, filtered by a customer, leaves out grants that exclude it.
    reaching = await world.get("alex", f"{MSP}/grants", params={"customer": "tailspin-toys"})
    assert all(g["scope"] != "all_customers" for g in reaching.json()["items"])
    reaching = await world.get("alex", f"{MSP}/grants", params={"customer": "adatum"})
    assert [g["scope"] for g in reaching.json()["items"]] == ["all_customers"]


async def test_promotion_to_admin_gives_every_customer_and_demotion_takes_it_away(
    world: World,
) -> None:
    every = ["northwind", "contoso-ltd", "fabrikam-inc", "tailspin-toys"]
    admin = await world.grant("alex", "northwind", user="tina@northwind.example", role="admin")
    assert await world.tenants_of("tina") == every
    assert (await world.get("tina", "/api/v1/tenants/tailspin-toys")).status_code == 200

    assert (await world.call("alex", "DELETE", f"{MSP}/grants/{admin['id']}")).status_code == 200
    assert await world.tenants_of("tina") == ["northwind"]
    assert (await world.get("tina", "/api/v1/tenants/tailspin-toys")).status_code == 404


async def test_a_customers_own_admin_cannot_grant_into_the_msp(world: World) -> None:
    contoso = "/api/v1/tenants/contoso-ltd/grants"
    attempts: list[tuple[dict[str, Any], str]] = [
        (
            {
                "user": "carol@contoso.example",
                "role": "admin",
                "scope": "customer",
                "customer": "contoso-ltd",
            },
            "scope",
        ),
        ({"user": "carol@contoso.example", "role": "admin", "scope": "all_customers"}, "scope"),
        ({"user": "tina@northwind.example", "role": "admin"}, "user"),
    ]
    before = await world.grants_count()
    for body, field in attempts:
        response = await world.post("carol", contoso, json=body)
        assert response.status_code == 422, response.text
        assert problem_field(response) == field
    for path in (f"{MSP}/grants", "/api/v1/tenants/fabrikam-inc/grants"):
        response = await world.post(
            "carol", path, json={"user": "carol@contoso.example", "role": "admin"}
        )
        assert response.status_code == 404
    assert await world.grants_count() == before
    # At home she manages her own people as usual.
    await world.grant("carol", "contoso-ltd", user="carol@contoso.example", role="read_only")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"role": "technician"}, "user"),
        ({"user": "nobody@northwind.example", "role": "technician"}, "user"),
        ({"user": "carol@contoso.example", "role": "technician"}, "user"),
        ({"user": "tina@northwind.example", "group": "x", "role": "technician"}, "user"),
        ({"group": "No such group", "role": "technician"}, "group"),
        ({"user": "tina@northwind.example", "role": "wizard"}, "role"),
        (
            {
                "user": "tina@northwind.example",
                "role": "custom:00000000-0000-0000-0000-000000000000",
            },
            "role",
        ),
        ({"user": "tina@northwind.example", "role": "technician", "scope": "sideways"}, "scope"),
        ({"user": "tina@northwind.example", "role": "technician", "scope": "customer"}, "customer"),
        (
            {
                "user": "tina@northwind.example",
                "role": "technician",
                "scope": "customer",
                "customer": "initech",
            },
            "customer",
        ),
        (
            {"user": "tina@northwind.example", "role": "technician", "customer": "contoso-ltd"},
            "customer",
        ),
        (
            {
                "user": "tina@northwind.example",
                "role": "technician",
                "scope": "tenant_group",
                "tenant_group": "Nope",
            },
            "tenant_group",
        ),
        (
            {
                "user": "tina@northwind.example",
                "role": "technician",
                "scope": "all_customers",
                "excluded_customers": ["initech"],
            },
            "excluded_customers",
        ),
        (
            {
                "user": "tina@northwind.example",
                "role": "technician",
                "excluded_customers": ["contoso-ltd"],
            },
            "excluded_customers",
        ),
        (
            {
                "user": "tina@northwind.example",
                "role": "technician",
                "expires_at": "2001-01-01T00:00:00Z",
            },
            "expires_at",
        ),
        (
            {
                "user": "tina@northwind.example",
                "role": "technician",
                "expires_at": "2999-01-01T00:00:00",
            },
            "expires_at",
        ),
        (
            {"user": "tina@northwind.example", "role": "technician", "expires_at": "soon"},
            "expires_at",
        ),
        ({"user": "tina@northwind.example", "role": "owner"}, "role"),  # Alex is Admin, not Owner
    ],
)
async def test_bad_grant_input_names_the_field_and_changes_nothing(
    world: World, body: dict[str, Any], field: str
) -> None:
    before = await world.grants_count()
    trail = await world.actions(world.msp)
    response = await world.post("alex", f"{MSP}/grants", json=body)
    assert response.status_code == 422, response.text
    assert problem_field(response) == field
    assert await world.grants_count() == before
    assert await world.actions(world.msp) == trail


async def test_nobody_hands_out_more_than_they_hold(world: World) -> None:
    # Dana manages users at Northwind through a custom role, but is no MSP admin.
    role = await world.post(
        "olive",
        f"{MSP}/roles",
        json={
            "name": "People manager",
            "permissions": ["tenant:read", "users:read", "users:manage"],
        },
    )
    assert role.status_code == 201, role.text
    dana = await make_user(world.database, world.msp, "dana@northwind.example", role=None)
    await world.grant("olive", "northwind", user="dana@northwind.example", role=role.json()["key"])
    from tests.factories import api_token

    world.tokens["dana"] = await api_token(world.database, dana)
    refusals = [
        ({"user": "tina@northwind.example", "role": "admin"}, "role"),
        (
            {
                "user": "tina@northwind.example",
                "role": "technician",
                "scope": "customer",
                "customer": "contoso-ltd",
            },
            "customer",
        ),
        (
            {"user": "tina@northwind.example", "role": "read_only", "scope": "all_customers"},
            "scope",
        ),
    ]
    for body, field in refusals:
        response = await world.post("dana", f"{MSP}/grants", json=body)
        assert response.status_code == 422, response.text
        assert problem_field(response) == field
    # What Dana holds, Dana can give.
    await world.grant("dana", "northwind", user="tina@northwind.example", role=role.json()["key"])
    # An Admin cannot strip the Owner.
    olive_grant = (
        await world.get("alex", f"{MSP}/grants", params={"user": "olive@northwind.example"})
    ).json()["items"][0]
    denied = await world.call("alex", "DELETE", f"{MSP}/grants/{olive_grant['id']}")
    assert denied.status_code == 403 and denied.json()["permission"] == "billing:manage"


async def test_a_narrowed_link_caps_what_a_delegation_can_give(world: World) -> None:
    async with world.owner_engine.begin() as conn:
        await conn.execute(
            update(TenantLink)
            .where(TenantLink.customer_tenant_id == world.customers["contoso-ltd"].id)
            .values(ceiling=["tenant:read", "tickets:read"])
        )
    await world.grant(
        "alex",
        "northwind",
        user="tina@northwind.example",
        role="technician",
        scope="customer",
        customer="contoso-ltd",
    )
    # Carol, Contoso's own admin, sees why Tina holds so little there.
    explained = await world.get(
        "carol",
        "/api/v1/tenants/contoso-ltd/access/explain",
        params={"user": "tina@northwind.example"},
    )
    assert explained.status_code == 200, explained.text
    rows = {p["permission"]: p for p in explained.json()["permissions"]}
    assert sorted(p for p, row in rows.items() if row["held"]) == ["tenant:read", "tickets:read"]
    assert rows["tickets:write"]["reason"] == (
        "Technician would give it, but the link from Northwind IT does not include it"
    )
    assert rows["billing:manage"]["reason"] == "none of the grants here gives it"


async def test_the_last_admin_grant_cannot_be_revoked(world: World) -> None:
    grants = (await world.get("olive", f"{MSP}/grants", params={"scope": "home"})).json()["items"]
    alex = next(g for g in grants if g["user"]["email"] == "alex@northwind.example")
    olive = next(g for g in grants if g["user"]["email"] == "olive@northwind.example")
    assert (await world.call("olive", "DELETE", f"{MSP}/grants/{alex['id']}")).status_code == 200
    last = await world.call("olive", "DELETE", f"{MSP}/grants/{olive['id']}")
    assert last.status_code == 409
    assert "without anyone holding Admin or Owner" in last.json()["detail"]


async def test_the_same_grant_twice_is_refused(world: World) -> None:
    body = {
        "user": "tina@northwind.example",
        "role": "technician",
        "scope": "customer",
        "customer": "contoso-ltd",
    }
    first = await world.grant("alex", "northwind", **body)
    again = await world.post("alex", f"{MSP}/grants", json=body)
    assert again.status_code == 409 and problem_field(again) == "role"
    assert first["id"] in again.json()["detail"]


async def test_the_grants_list_filters_and_pages(world: World) -> None:
    group = (await world.post("alex", f"{MSP}/user-groups", json={"name": "Desk"})).json()
    joined = await world.post(
        "alex", f"{MSP}/user-groups/{group['id']}/members", json={"user": "sam@northwind.example"}
    )
    assert joined.status_code == 201, joined.text
    one = await world.grant(
        "alex",
        "northwind",
        user="tina@northwind.example",
        role="technician",
        scope="customer",
        customer="contoso-ltd",
    )
    two = await world.grant(
        "alex",
        "northwind",
        group=group["id"],
        role="read_only",
        scope="customer",
        customer="fabrikam-inc",
    )
    revoked = await world.grant(
        "alex",
        "northwind",
        user="sam@northwind.example",
        role="billing",
        scope="customer",
        customer="contoso-ltd",
    )
    assert (await world.call("alex", "DELETE", f"{MSP}/grants/{revoked['id']}")).status_code == 200

    async def ids(**params: str) -> list[str]:
        response = await world.get("alex", f"{MSP}/grants", params=params)
        assert response.status_code == 200, response.text
        return [g["id"] for g in response.json()["items"]]

    assert await ids(role="technician", scope="customer") == [one["id"]]
    assert await ids(user="sam@northwind.example", scope="customer") == [two["id"]]  # group
    assert await ids(group="Desk") == [two["id"]]
    assert await ids(customer="contoso-ltd") == [one["id"]]
    assert await ids(customer="contoso-ltd", include_revoked="true") == [revoked["id"], one["id"]]
    first = await world.get("alex", f"{MSP}/grants", params={"scope": "customer", "limit": 1})
    assert [g["id"] for g in first.json()["items"]] == [two["id"]]
    rest = await world.get(
        "alex",
        f"{MSP}/grants",
        params={"scope": "customer", "limit": 1, "cursor": first.json()["next_cursor"]},
    )
    assert [g["id"] for g in rest.json()["items"]] == [one["id"]]
    bad = await world.get("alex", f"{MSP}/grants", params={"user": "ghost@x.example"})
    assert bad.status_code == 422 and problem_field(bad) == "user"
    assert (await world.get("alex", f"{MSP}/grants", params={"scope": "x"})).status_code == 422


async def test_reading_and_managing_grants_need_their_permissions(world: World) -> None:
    # Tina is a Technician at home: she reads users but does not manage them.
    assert (await world.get("tina", f"{MSP}/grants")).status_code == 200
    denied = await world.post(
        "tina", f"{MSP}/grants", json={"user": "tina@northwind.example", "role": "admin"}
    )
    assert denied.status_code == 403 and denied.json()["permission"] == "users:manage"
    # Another MSP's admin cannot even see Northwind.
    assert (await world.get("gary", f"{MSP}/grants")).status_code == 404
