"""Shown to a client, a grant names nothing outside that client (DESIGN.md, access rule 6):
no other customer (an all-customers grant's exclusions), and none of the MSP's internal
groups (its client groups, its user groups). The MSP's own pages keep the names."""

from __future__ import annotations

from tests.access.conftest import World

CONTOSO = "/api/v1/tenants/contoso-ltd"
SECRETS = ("Healthcare clients", "Night desk", "Fabrikam", "Tailspin")


async def _broad_grants(world: World) -> None:
    """Tina through a client group holding Contoso; Sam through a user group with an
    all-customers grant that excludes Fabrikam and Tailspin."""
    group = await world.post(
        "alex", "/api/v1/tenants/northwind/tenant-groups", json={"name": "Healthcare clients"}
    )
    assert group.status_code == 201, group.text
    gid = group.json()["id"]
    added = await world.post(
        "alex",
        f"/api/v1/tenants/northwind/tenant-groups/{gid}/members",
        json={"customer": "contoso-ltd"},
    )
    assert added.status_code in (200, 201), added.text
    await world.grant(
        "alex",
        "northwind",
        user="tina@northwind.example",
        role="technician",
        scope="tenant_group",
        tenant_group=gid,
    )
    desk = await world.post(
        "alex", "/api/v1/tenants/northwind/user-groups", json={"name": "Night desk"}
    )
    did = desk.json()["id"]
    await world.post(
        "alex",
        f"/api/v1/tenants/northwind/user-groups/{did}/members",
        json={"user": "sam@northwind.example"},
    )
    await world.grant(
        "alex",
        "northwind",
        group=did,
        role="read_only",
        scope="all_customers",
        excluded_customers=[
            str(world.customers["fabrikam-inc"].id),
            str(world.customers["tailspin-toys"].id),
        ],
    )


async def test_the_clients_review_and_explain_name_nothing_outside_it(world: World) -> None:
    await _broad_grants(world)
    answers = [
        await world.get("carol", f"{CONTOSO}/access/review"),
        await world.get("carol", f"{CONTOSO}/access/review", params={"format": "csv"}),
        await world.get("carol", "/t/contoso-ltd/access/review"),
    ]
    for who in ("tina@northwind.example", "sam@northwind.example"):
        answers.append(await world.get("carol", f"{CONTOSO}/access/explain", params={"user": who}))
        answers.append(
            await world.get("carol", "/t/contoso-ltd/access/explain", params={"user": who})
        )
    for answer in answers:
        assert answer.status_code == 200, (answer.url, answer.text)
        for secret in SECRETS:
            assert secret not in answer.text, (answer.url, secret)
    tina = answers[3].json()["permissions"][0]["sources"][0]
    assert tina["scope_label"] == "in a group of Northwind IT's clients"
    sam = answers[5].json()["permissions"][0]["sources"][0]
    assert sam["scope_label"] == "in every customer, with exclusions"
    assert sam["via"] == "a group of Northwind IT's technicians"
    assert sam["user_group"] is None


async def test_the_msp_still_sees_the_names_on_its_own_pages(world: World) -> None:
    await _broad_grants(world)
    grants = await world.get(
        "alex", "/api/v1/tenants/northwind/grants", params={"customer": "contoso-ltd"}
    )
    assert grants.status_code == 200, grants.text
    labels = {g["scope_label"] for g in grants.json()["items"]}
    assert "in the client group Healthcare clients" in labels
    assert "in every customer except Fabrikam Inc, Tailspin Toys" in labels
