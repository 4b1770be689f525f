"""The MSP's policy templates: kept in its own tenant, copied into a client as a draft in
one action by someone who may write compliance there, recorded in both trails."""

from __future__ import annotations

from typing import Any

import httpx

from tenantry.compliance.policies.models import Policy, PolicyTemplate
from tests.access.conftest import World, problem_field
from tests.compliance.policies.conftest import CONTOSO

NORTHWIND = "/api/v1/tenants/northwind/compliance/policy-templates"
TEMPLATE = {
    "title": "Acceptable use",
    "category": "People",
    "summary": "What staff may do with company devices",
    "body_markdown": "# Acceptable use\n\nCompany devices are for work.",
}


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def template(world: World) -> dict[str, Any]:
    return ok(await world.post("alex", NORTHWIND, json=TEMPLATE), 201)  # type: ignore[no-any-return]


async def test_the_msp_keeps_templates_and_copies_one_into_a_client_as_a_draft(
    world: World,
) -> None:
    made = await template(world)
    listed = ok(await world.get("tina", NORTHWIND))
    assert [t["title"] for t in listed["items"]] == ["Acceptable use"]
    renamed = ok(
        await world.call("alex", "PATCH", f"{NORTHWIND}/{made['id']}", json={"category": "Staff"})
    )
    assert renamed["category"] == "Staff"

    # Tina: Technician at home and delegated to Contoso as Technician.
    copied = ok(
        await world.post("tina", f"{NORTHWIND}/{made['id']}/copy", json={"client": "contoso-ltd"}),
        201,
    )
    assert copied["tenant_id"] == str(world.customers["contoso-ltd"].id)
    policy = ok(await world.get("carol", f"{CONTOSO}/policies/{copied['id']}"))
    assert policy["title"] == "Acceptable use"
    [draft] = policy["versions"]
    assert (draft["state"], draft["body_markdown"]) == ("draft", TEMPLATE["body_markdown"])
    assert draft["created_by_name"] == "Tina Tech"
    # Both trails: the MSP's names the copy, the client's the new policy (under the link).
    assert (await world.actions(world.msp))[-1] == "compliance.policy_template.copied"
    assert (await world.actions(world.customers["contoso-ltd"]))[-1] == "compliance.policy.created"
    # Copying again: the client already has a policy of that title.
    again = await world.post(
        "tina", f"{NORTHWIND}/{made['id']}/copy", json={"client": "contoso-ltd"}
    )
    assert (again.status_code, problem_field(again)) == (422, "title")


async def test_copying_into_a_client_one_cannot_write_in_creates_nothing(world: World) -> None:
    made = await template(world)
    url = f"{NORTHWIND}/{made['id']}/copy"
    before = (await world.count(Policy), await world.actions(world.customers["fabrikam-inc"]))
    # Tina has no delegation to Fabrikam: it does not exist for her.
    assert (await world.post("tina", url, json={"client": "fabrikam-inc"})).status_code == 404
    # Another MSP's client, or no client at all.
    assert (await world.post("alex", url, json={"client": "initech"})).status_code == 404
    assert (await world.post("alex", url, json={"client": "no-such"})).status_code == 404
    own = await world.post("alex", url, json={"client": "northwind"})
    assert (own.status_code, problem_field(own)) == (422, "client")
    assert (
        await world.count(Policy),
        await world.actions(world.customers["fabrikam-inc"]),
    ) == before


async def test_copying_needs_compliance_write_in_the_client(world: World) -> None:
    made = await template(world)
    # Sam: Technician at home, delegated to Tailspin as 1st Level Support (no compliance).
    await world.grant(
        "alex",
        "northwind",
        user=str(world.users["sam"].id),
        role="first_level_support",
        scope="customer",
        customer="tailspin-toys",
    )
    refused = await world.post(
        "sam", f"{NORTHWIND}/{made['id']}/copy", json={"client": "tailspin-toys"}
    )
    assert refused.status_code == 403, refused.text
    assert refused.json()["permission"] == "compliance:write"
    assert await world.count(Policy) == 0


async def test_templates_belong_to_the_msp_alone(world: World) -> None:
    made = await template(world)
    # The client's own admin and another MSP do not see the MSP's tenant at all.
    assert (await world.get("carol", f"{NORTHWIND}/{made['id']}")).status_code == 404
    assert (await world.get("gary", f"{NORTHWIND}/{made['id']}")).status_code == 404
    # A client keeps no templates of its own.
    mine = await world.post(
        "carol", f"{CONTOSO.replace('/compliance', '')}/compliance/policy-templates", json=TEMPLATE
    )
    assert (mine.status_code, mine.json()["reason"]) == (403, "msp-only")
    blank = await world.post("alex", NORTHWIND, json={**TEMPLATE, "title": ""})
    assert (blank.status_code, problem_field(blank)) == (422, "title")
    assert await world.count(PolicyTemplate) == 1
    gone = await world.call("alex", "DELETE", f"{NORTHWIND}/{made['id']}")
    assert gone.status_code == 204
    assert await world.count(PolicyTemplate) == 0
