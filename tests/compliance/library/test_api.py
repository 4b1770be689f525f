"""The library API: what a tenant may adopt, authoring and sharing, seen from both sides
(the MSP that writes, its clients that adopt; another MSP's client and an unlinked tenant
that must not see it)."""

from __future__ import annotations

from typing import Any

from tenantry.compliance.library.models import AuthoredFramework, AuthoredRequirement
from tests.access.conftest import World, make_user, problem_field
from tests.factories import api_token, make_tenant

NW = "/api/v1/tenants/northwind/compliance"
CONTOSO = "/api/v1/tenants/contoso-ltd/compliance"


async def _author(world: World, who: str = "alex", base: str = NW, **extra: Any) -> dict[str, Any]:
    body = {"key": "northwind-baseline", "version": "1", "title": "Northwind baseline", **extra}
    response = await world.post(who, f"{base}/frameworks", json=body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def _refs(world: World, who: str, base: str) -> dict[str, str]:
    response = await world.get(who, f"{base}/library")
    assert response.status_code == 200, response.text
    return {item["ref"]: item["origin"] for item in response.json()}


async def test_a_client_sees_the_shipped_library(world: World) -> None:
    response = await world.get("carol", f"{CONTOSO}/library")
    assert response.status_code == 200, response.text
    shipped = {i["ref"]: i for i in response.json() if i["origin"] == "library"}
    assert shipped["nist-csf@2.0"]["requirement_count"] == 106
    assert shipped["nist-csf@2.0"]["latest"] is True
    assert shipped["msp-baseline@1"]["requirement_count"] == 42

    content = await world.get("carol", f"{CONTOSO}/library/nist-csf@2.0")
    assert content.status_code == 200
    body = content.json()
    assert body["origin"] == "library" and body["source_id"] is None
    assert [r["ref"] for r in body["requirements"][:3]] == ["GV", "GV.OC", "GV.OC-01"]
    assert (await world.get("carol", f"{CONTOSO}/library/nist-csf@9")).status_code == 404
    assert (await world.get("carol", f"{CONTOSO}/library/not-an-id")).status_code == 404


async def test_the_msp_writes_a_framework_and_shares_it_with_its_clients(world: World) -> None:
    fw = await _author(world, description="What we expect of every client.")
    fid = fw["id"]
    heading = {"ref": "ID", "title": "Identity", "heading": True}
    assert (
        await world.post("alex", f"{NW}/frameworks/{fid}/requirements", heading)
    ).status_code == 201
    for ref, title in (("NW-01", "MFA"), ("NW-02", "Backups")):
        body = {"ref": ref, "title": title, "group": "ID", "description": f"{title} done."}
        response = await world.post("alex", f"{NW}/frameworks/{fid}/requirements", body)
        assert response.status_code == 201, response.text
    # Move NW-02 before NW-01, retitle it.
    response = await world.call(
        "alex",
        "PATCH",
        f"{NW}/frameworks/{fid}/requirements/NW-02",
        json={"position": 1, "title": "Tested backups"},
    )
    assert response.status_code == 200, response.text
    assert [(r["ref"], r["title"]) for r in response.json()["requirements"]] == [
        ("ID", "Identity"),
        ("NW-02", "Tested backups"),
        ("NW-01", "MFA"),
    ]

    # Not shared yet: the clients do not see it; the MSP does (its own).
    assert (await _refs(world, "alex", NW))[fid] == "own"
    assert fid not in await _refs(world, "carol", CONTOSO)
    assert (await world.get("carol", f"{CONTOSO}/library/{fid}")).status_code == 404

    shared = await world.post("alex", f"{NW}/frameworks/{fid}/share", {"shared": True})
    assert shared.status_code == 200 and shared.json()["shared"] is True
    # A client of the MSP: its own admin and the MSP's admin acting in it.
    assert (await _refs(world, "carol", CONTOSO))[fid] == "msp"
    assert (await _refs(world, "alex", "/api/v1/tenants/fabrikam-inc/compliance"))[fid] == "msp"
    content = (await world.get("carol", f"{CONTOSO}/library/{fid}")).json()
    assert content["origin"] == "msp" and content["source_id"] == fid
    assert [r["ref"] for r in content["requirements"]] == ["ID", "NW-02", "NW-01"]
    assert content["requirements"][1]["parent_ref"] == "ID"

    # Another MSP's client and a tenant nobody manages do not see it.
    assert fid not in await _refs(
        world, "gary", f"/api/v1/tenants/{world.other_customer.slug}/compliance"
    )
    assert (
        await world.get(
            "gary", f"/api/v1/tenants/{world.other_customer.slug}/compliance/library/{fid}"
        )
    ).status_code == 404
    lonely = await make_tenant(world.database, "lonely", display_name="Lonely Ltd")
    lena = await make_user(world.database, lonely, "lena@lonely.example", role="admin")
    world.tokens["lena"] = await api_token(world.database, lena)
    assert fid not in await _refs(world, "lena", "/api/v1/tenants/lonely/compliance")

    # Unshared: gone from the clients' library.
    assert (
        await world.post("alex", f"{NW}/frameworks/{fid}/share", {"shared": False})
    ).status_code == 200
    assert fid not in await _refs(world, "carol", CONTOSO)
    assert (await world.actions(world.msp))[-7:] == [
        "compliance.authored_framework.created",
        "compliance.authored_framework.requirement_added",
        "compliance.authored_framework.requirement_added",
        "compliance.authored_framework.requirement_added",
        "compliance.authored_framework.requirement_updated",
        "compliance.authored_framework.shared",
        "compliance.authored_framework.unshared",
    ]


async def test_a_client_writes_its_own_but_cannot_share(world: World) -> None:
    fw = await _author(world, "carol", CONTOSO, key="contoso-rules")
    assert (await _refs(world, "carol", CONTOSO))[fw["id"]] == "own"
    response = await world.post("carol", f"{CONTOSO}/frameworks/{fw['id']}/share", {"shared": True})
    assert response.status_code == 422 and problem_field(response) == "shared"
    # The MSP's delegated technician writes there too (compliance is client-owned).
    await world.grant(
        "alex",
        "northwind",
        user="tina@northwind.example",
        role="technician",
        scope="customer",
        customer="contoso-ltd",
    )
    await _author(world, "tina", CONTOSO, key="tina-rules")
    # Another MSP's admin cannot reach it: 404, nothing changed.
    response = await world.call("gary", "DELETE", f"{CONTOSO}/frameworks/{fw['id']}")
    assert response.status_code == 404
    response = await world.call(
        "gary",
        "DELETE",
        f"/api/v1/tenants/{world.other_customer.slug}/compliance/frameworks/{fw['id']}",
    )
    assert response.status_code == 404
    assert await world.count(AuthoredFramework) == 2


async def test_bad_input_names_the_field_and_changes_nothing(world: World) -> None:
    response = await world.post(
        "alex", f"{NW}/frameworks", {"key": "Bad Key!", "title": "X", "version": "1"}
    )
    assert response.status_code == 422 and problem_field(response) == "key"
    fw = await _author(world)
    again = await world.post(
        "alex", f"{NW}/frameworks", {"key": "northwind-baseline", "title": "Y", "version": "1"}
    )
    assert again.status_code == 422 and problem_field(again) == "key"
    bad_ref = await world.post(
        "alex", f"{NW}/frameworks/{fw['id']}/requirements", {"ref": "has space", "title": "t"}
    )
    assert bad_ref.status_code == 422 and problem_field(bad_ref) == "ref"
    bad_group = await world.post(
        "alex",
        f"{NW}/frameworks/{fw['id']}/requirements",
        {"ref": "A-1", "title": "t", "group": "NOPE"},
    )
    assert bad_group.status_code == 422 and problem_field(bad_group) == "group"
    assert await world.count(AuthoredFramework) == 1
    assert await world.count(AuthoredRequirement) == 0
    # Deleting removes it and its requirements.
    await world.post(
        "alex", f"{NW}/frameworks/{fw['id']}/requirements", {"ref": "A-1", "title": "t"}
    )
    assert (await world.call("alex", "DELETE", f"{NW}/frameworks/{fw['id']}")).status_code == 204
    assert await world.count(AuthoredFramework) == 0 and await world.count(AuthoredRequirement) == 0
