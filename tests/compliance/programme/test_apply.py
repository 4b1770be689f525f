"""The MSP applies a framework to one client, a client group or all clients in one
action: a result per client, and a client outside the caller's reach is not touched."""

from __future__ import annotations

from typing import Any

from tenantry.compliance.programme.models import AdoptedFramework
from tests.access.conftest import World, problem_field

APPLY = "/api/v1/msp/compliance/apply"
MSP = "/api/v1/tenants/northwind"


def _results(body: dict[str, Any]) -> dict[str, str]:
    return {r["client_slug"]: r["result"] for r in body["results"]}


async def _group(world: World, *slugs: str) -> str:
    made = await world.post("alex", f"{MSP}/tenant-groups", json={"name": "Healthcare"})
    group_id: str = made.json()["id"]
    for slug in slugs:
        added = await world.post(
            "alex", f"{MSP}/tenant-groups/{group_id}/members", json={"customer": slug}
        )
        assert added.status_code == 201, added.text
    return group_id


async def test_apply_to_a_group_gives_a_result_per_client(world: World) -> None:
    group = await _group(world, "contoso-ltd", "fabrikam-inc")
    # Tina reaches Contoso only (delegated Technician there).
    await world.grant(
        "alex",
        "northwind",
        user="tina@northwind.example",
        role="technician",
        scope="customer",
        customer="contoso-ltd",
    )
    done = await world.post(
        "tina", APPLY, json={"framework": "msp-baseline@1", "client_group_id": group}
    )
    assert done.status_code == 200, done.text
    body = done.json()
    assert _results(body) == {"contoso-ltd": "adopted", "fabrikam-inc": "not_permitted"}
    assert (body["adopted"], body["not_permitted"]) == (1, 1)
    # Fabrikam was not touched: nothing adopted there, nothing in its trail.
    assert await world.count(AdoptedFramework) == 1
    fabrikam = await world.get("alex", "/api/v1/tenants/fabrikam-inc/compliance/adopted")
    assert fabrikam.json()["items"] == []
    assert "compliance.framework.adopted" not in await world.actions(
        world.customers["fabrikam-inc"]
    )
    assert "compliance.framework.adopted" in await world.actions(world.customers["contoso-ltd"])
    assert "compliance.framework.applied" in await world.actions(world.msp)

    # Alex, owner of every client, applies to all: Contoso already has it.
    everyone = await world.post("alex", APPLY, json={"framework": "msp-baseline@1", "all": True})
    assert everyone.status_code == 200, everyone.text
    assert _results(everyone.json()) == {
        "contoso-ltd": "already_adopted",
        "fabrikam-inc": "adopted",
        "tailspin-toys": "adopted",
    }
    assert await world.count(AdoptedFramework) == 3
    scores = await world.get("alex", "/api/v1/tenants/tailspin-toys/compliance/scores")
    assert [s["score_bp"] for s in scores.json()["items"]] == [0]


async def test_apply_refuses_bad_input_and_changes_nothing(world: World) -> None:
    one = await world.post(
        "alex", APPLY, json={"framework": "msp-baseline@1", "client_id": "contoso-ltd"}
    )
    assert _results(one.json()) == {"contoso-ltd": "adopted"}
    cases = [
        ({"framework": "nope@1", "all": True}, "framework"),
        ({"framework": "msp-baseline@1"}, "client_id"),
        (
            {
                "framework": "msp-baseline@1",
                "client_id": "initech",
            },
            "client_id",
        ),
        ({"framework": "msp-baseline@1", "client_group_id": "not-a-group"}, "client_group_id"),
    ]
    for body, field in cases:
        refused = await world.post("alex", APPLY, json=body)
        assert refused.status_code == 422 and problem_field(refused) == field, refused.text
    assert await world.count(AdoptedFramework) == 1
    # A client's own admin has no clients; another MSP cannot reach Northwind's.
    assert (
        await world.post("carol", APPLY, json={"framework": "msp-baseline@1", "all": True})
    ).status_code == 404
    gary = await world.post(
        "gary", APPLY, json={"framework": "msp-baseline@1", "client_id": "contoso-ltd"}
    )
    assert gary.status_code == 422 and problem_field(gary) == "client_id"
    assert await world.count(AdoptedFramework) == 1
