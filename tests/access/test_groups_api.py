"""User groups and tenant (client) groups through the API."""

from __future__ import annotations

from tenantry.access.models import Grant, TenantGroup, UserGroup, UserGroupMember
from tests.access.conftest import World, make_user, problem_field
from tests.factories import api_token

MSP = "/api/v1/tenants/northwind"


async def test_user_group_lifecycle(world: World) -> None:
    created = await world.post(
        "alex", f"{MSP}/user-groups", json={"name": "Night shift", "description": "22:00-06:00"}
    )
    assert created.status_code == 201, created.text
    group = created.json()
    assert group["member_count"] == 0
    taken = await world.post("alex", f"{MSP}/user-groups", json={"name": "night SHIFT"})
    assert taken.status_code == 409 and problem_field(taken) == "name"

    members = f"{MSP}/user-groups/{group['id']}/members"
    for email in ("tina@northwind.example", str(world.users["sam"].id)):
        assert (await world.post("alex", members, json={"user": email})).status_code == 201
    listed = await world.get("tina", members)
    assert [u["email"] for u in listed.json()["items"]] == [
        "sam@northwind.example",
        "tina@northwind.example",
    ]
    # Only Northwind's own people can join a Northwind group.
    outsider = await world.post("alex", members, json={"user": "carol@contoso.example"})
    assert outsider.status_code == 422 and problem_field(outsider) == "user"

    renamed = await world.call(
        "alex", "PATCH", f"{MSP}/user-groups/{group['id']}", json={"name": "Nights"}
    )
    assert renamed.json()["name"] == "Nights" and renamed.json()["member_count"] == 2

    grant = await world.grant("alex", "northwind", group=group["id"], role="read_only")
    refused = await world.call("alex", "DELETE", f"{MSP}/user-groups/{group['id']}")
    assert refused.status_code == 409
    assert [g["id"] for g in refused.json()["grants"]] == [grant["id"]]
    assert await world.count(UserGroup) == 1

    await world.call("alex", "DELETE", f"{MSP}/grants/{grant['id']}")
    deleted = await world.call("alex", "DELETE", f"{MSP}/user-groups/{group['id']}")
    assert deleted.status_code == 200
    # Memberships and the revoked grant go with it (its history stays in the trail).
    assert await world.count(UserGroup) == 0
    assert await world.count(UserGroupMember) == 0
    assert grant["id"] not in {str(g) for g in await _grant_ids(world)}
    actions = [a for a in await world.actions(world.msp) if a.startswith("user_group.")]
    assert actions == [
        "user_group.created",
        "user_group.member_added",
        "user_group.member_added",
        "user_group.updated",
        "user_group.deleted",
    ]


async def _grant_ids(world: World) -> list[object]:
    from sqlalchemy import select

    async with world.owner_engine.connect() as conn:
        return list((await conn.scalars(select(Grant.id))).all())


async def test_joining_a_group_is_limited_like_granting_its_roles(world: World) -> None:
    admins = (await world.post("olive", f"{MSP}/user-groups", json={"name": "Owners"})).json()
    await world.grant("olive", "northwind", group=admins["id"], role="owner")
    # Dana manages users (custom role) but holds nothing like Owner: she cannot put
    # herself (or anyone) into a group that holds it, nor take people out of it.
    role = (
        await world.post(
            "olive",
            f"{MSP}/roles",
            json={"name": "People", "permissions": ["tenant:read", "users:read", "users:manage"]},
        )
    ).json()
    dana = await make_user(world.database, world.msp, "dana@northwind.example", role=None)
    await world.grant("olive", "northwind", user="dana@northwind.example", role=role["key"])
    world.tokens["dana"] = await api_token(world.database, dana)
    members = f"{MSP}/user-groups/{admins['id']}/members"
    joined = await world.post("dana", members, json={"user": "dana@northwind.example"})
    assert joined.status_code == 422 and problem_field(joined) == "user"
    assert "Owner" in joined.json()["detail"]
    assert (
        await world.post("olive", members, json={"user": "tina@northwind.example"})
    ).status_code == 201
    left = await world.call("dana", "DELETE", f"{members}/tina@northwind.example")
    assert left.status_code == 403


async def test_removing_the_last_admin_from_a_group_is_refused(world: World) -> None:
    group = (await world.post("olive", f"{MSP}/user-groups", json={"name": "Admins"})).json()
    members = f"{MSP}/user-groups/{group['id']}/members"
    await world.post("olive", members, json={"user": "sam@northwind.example"})
    await world.grant("olive", "northwind", group=group["id"], role="admin")
    for email in ("alex@northwind.example", "olive@northwind.example"):
        home = await world.get("olive", f"{MSP}/grants", params={"user": email, "scope": "home"})
        direct = next(g for g in home.json()["items"] if g["user"])
        revoked = await world.call("olive", "DELETE", f"{MSP}/grants/{direct['id']}")
        assert revoked.status_code == 200, revoked.text
    # Only Sam (through the group) holds Admin now: he cannot be taken out of it.
    last = await world.call("sam", "DELETE", f"{members}/sam@northwind.example")
    assert last.status_code == 409


async def test_tenant_group_lifecycle_and_its_rules(world: World) -> None:
    created = await world.post("alex", f"{MSP}/tenant-groups", json={"name": "Healthcare"})
    assert created.status_code == 201
    group = created.json()
    members = f"{MSP}/tenant-groups/{group['id']}/members"
    assert (await world.post("alex", members, json={"customer": "contoso-ltd"})).status_code == 201
    stranger = await world.post("alex", members, json={"customer": "initech"})
    assert stranger.status_code == 422 and problem_field(stranger) == "customer"
    detail = (await world.get("alex", f"{MSP}/tenant-groups/{group['id']}")).json()
    assert [c["slug"] for c in detail["members"]] == ["contoso-ltd"]
    # Technicians need customers:read to see them; tenants that are no MSP have none.
    assert (await world.get("tina", f"{MSP}/tenant-groups")).status_code == 403
    assert (
        await world.get("carol", "/api/v1/tenants/contoso-ltd/tenant-groups")
    ).status_code == 404

    grant = await world.grant(
        "alex",
        "northwind",
        user="tina@northwind.example",
        role="read_only",
        scope="tenant_group",
        tenant_group=group["id"],
    )
    refused = await world.call("alex", "DELETE", f"{MSP}/tenant-groups/{group['id']}")
    assert refused.status_code == 409 and refused.json()["grants"][0]["id"] == grant["id"]
    await world.call("alex", "DELETE", f"{MSP}/grants/{grant['id']}")
    assert (
        await world.call("alex", "DELETE", f"{MSP}/tenant-groups/{group['id']}")
    ).status_code == 200
    assert await world.count(TenantGroup) == 0
    actions = [a for a in await world.actions(world.msp) if a.startswith("tenant_group.")]
    assert actions == [
        "tenant_group.created",
        "tenant_group.member_added",
        "tenant_group.deleted",
    ]
    # The MSP's grouping stays the MSP's business: nothing in the customer's trail.
    assert not [
        a
        for a in await world.actions(world.customers["contoso-ltd"])
        if a.startswith("tenant_group.")
    ]


async def test_bad_group_input_names_the_field(world: World) -> None:
    for body, field in (({"name": ""}, "name"), ({"name": "x" * 101}, "name"), ({}, "name")):
        for kind in ("user-groups", "tenant-groups"):
            response = await world.post("alex", f"{MSP}/{kind}", json=body)
            assert response.status_code == 422, response.text
            assert problem_field(response) == field
    assert await world.count(UserGroup) == 0 and await world.count(TenantGroup) == 0
