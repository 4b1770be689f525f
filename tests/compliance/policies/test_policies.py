"""Policies in a client: the life of a version (draft → approved → published →
superseded), who may do each step, safe Markdown, and who has acknowledged."""

from __future__ import annotations

from typing import Any

import httpx

from tenantry.compliance.policies.models import Policy, PolicyAcknowledgement, PolicyVersion
from tests.access.conftest import World, problem_field
from tests.compliance.policies.conftest import CONTOSO

BODY = "# Passwords\n\nUse a password manager. Turn on MFA everywhere."


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def make_policy(world: World, who: str = "carol", **body: Any) -> dict[str, Any]:
    payload = {"title": "Password policy", "body_markdown": BODY, **body}
    return ok(await world.post(who, f"{CONTOSO}/policies", json=payload), 201)  # type: ignore[no-any-return]


async def published(world: World, **body: Any) -> dict[str, Any]:
    """A policy whose version 1 Carol (Contoso's admin) approved and published."""
    policy = await make_policy(world, **body)
    v1 = policy["versions"][0]["id"]
    base = f"{CONTOSO}/policies/{policy['id']}/versions/{v1}"
    ok(await world.post("carol", f"{base}/approve"))
    ok(await world.post("carol", f"{base}/publish"))
    return policy


async def test_a_policy_goes_from_draft_to_published_and_a_new_version_supersedes_it(
    world: World,
) -> None:
    policy = await make_policy(world, owner_name="Carol", summary="How we keep passwords")
    [v1] = policy["versions"]
    assert (v1["number"], v1["state"], v1["created_by_name"]) == (1, "draft", "Carol")
    assert policy["current_version_id"] is None
    base = f"{CONTOSO}/policies/{policy['id']}"

    edited = ok(
        await world.call(
            "tina", "PATCH", f"{base}/versions/{v1['id']}", json={"body_markdown": BODY + "\n\nv1"}
        )
    )
    assert edited["body_markdown"].endswith("v1")
    # Publishing needs an approved version first.
    refused = await world.post("carol", f"{base}/versions/{v1['id']}/publish")
    assert (refused.status_code, problem_field(refused)) == (422, "state")
    approved = ok(await world.post("carol", f"{base}/versions/{v1['id']}/approve"))
    assert (approved["state"], approved["approved_by_name"]) == ("approved", "Carol")
    assert approved["approved_at"]
    # An approved version is fixed.
    frozen = await world.call(
        "carol", "PATCH", f"{base}/versions/{v1['id']}", json={"body_markdown": "changed"}
    )
    assert (frozen.status_code, problem_field(frozen)) == (422, "state")
    assert "only a draft can be edited" in frozen.json()["detail"]
    ok(await world.post("carol", f"{base}/versions/{v1['id']}/publish"))
    assert ok(await world.get("carol", base))["current_version_id"] == v1["id"]
    # Approving it again is refused, naming the state.
    again = await world.post("carol", f"{base}/versions/{v1['id']}/approve")
    assert (again.status_code, problem_field(again)) == (422, "state")
    assert "only a draft can be approved" in again.json()["detail"]

    v2 = ok(await world.post("tina", f"{base}/versions", json={"change_note": "MFA"}), 201)
    assert (v2["number"], v2["state"], v2["body_markdown"]) == (2, "draft", BODY + "\n\nv1")
    # One open draft at a time.
    second = await world.post("tina", f"{base}/versions", json={})
    assert (second.status_code, problem_field(second)) == (422, "state")
    ok(await world.post("carol", f"{base}/versions/{v2['id']}/approve"))
    ok(await world.post("carol", f"{base}/versions/{v2['id']}/publish"))
    versions = ok(await world.get("carol", f"{base}/versions"))
    assert [(v["number"], v["state"]) for v in versions] == [(2, "published"), (1, "superseded")]
    assert ok(await world.get("carol", base))["current_version_id"] == v2["id"]
    assert (await world.actions(world.customers["contoso-ltd"]))[-7:] == [
        "compliance.policy.created",
        "compliance.policy.version_updated",
        "compliance.policy.approved",
        "compliance.policy.published",
        "compliance.policy.version_created",
        "compliance.policy.approved",
        "compliance.policy.published",
    ]


async def test_approving_needs_the_approval_permission_and_changes_nothing_without(
    world: World,
) -> None:
    policy = await make_policy(world, who="tina")
    v1 = policy["versions"][0]["id"]
    trail = await world.actions(world.customers["contoso-ltd"])
    for step in ("approve", "publish"):
        refused = await world.post(
            "tina", f"{CONTOSO}/policies/{policy['id']}/versions/{v1}/{step}"
        )
        assert refused.status_code == 403, refused.text
        assert refused.json()["permission"] == "compliance:approve"
    [version] = ok(await world.get("tina", f"{CONTOSO}/policies/{policy['id']}/versions"))
    assert (version["state"], version["approved_by_name"]) == ("draft", None)
    assert await world.actions(world.customers["contoso-ltd"]) == trail
    # Someone of another MSP does not even see the client.
    assert (
        await world.post("gary", f"{CONTOSO}/policies/{policy['id']}/versions/{v1}/approve")
    ).status_code == 404


async def test_bad_input_names_the_field_and_creates_nothing(world: World) -> None:
    before = await world.count(Policy)
    empty = await world.post("carol", f"{CONTOSO}/policies", json={"title": "  "})
    assert (empty.status_code, problem_field(empty)) == (422, "title")
    nul = await world.post("carol", f"{CONTOSO}/policies", json={"title": "ok", "summary": "a\x00"})
    assert (nul.status_code, problem_field(nul)) == (422, "summary")
    await make_policy(world)
    twice = await world.post("carol", f"{CONTOSO}/policies", json={"title": "Password policy"})
    assert (twice.status_code, problem_field(twice)) == (422, "title")
    assert await world.count(Policy) == before + 1
    assert await world.count(PolicyVersion) == 1
    # Reading needs compliance:read; Dan (1st Level Support) has only tenant:read.
    assert (await world.get("dan", f"{CONTOSO}/policies")).status_code == 403


async def test_hostile_markdown_is_rendered_as_text(world: World) -> None:
    hostile = (
        "# Rules\n\n<script>alert('x')</script>\n\n"
        "[click me](javascript:alert(1)) [also](JaVaScRiPt:alert(2))\n\n"
        '<img src=x onerror="alert(3)">\n\n![pixel](https://tracker.example/p.png)\n\n'
        "[fine](https://example.com/policy)"
    )
    policy = await published(world, body_markdown=hostile)
    page = await world.get("dan", f"/t/contoso-ltd/compliance/policies/{policy['id']}")
    assert page.status_code == 200, page.text
    html = page.text
    start = html.index('<div class="pol-body">')
    body = html[start : html.index("</div>", start)]
    assert "<script" not in body and "&lt;script&gt;" in body
    # No image at all (nothing loads from elsewhere), the onerror only as escaped text.
    assert "<img" not in body and "&lt;img src=x onerror=" in body
    assert 'href="javascript' not in body.lower()
    assert '<a href="https://example.com/policy" rel="nofollow noopener">fine</a>' in body


async def test_acknowledgements_list_the_clients_own_people(world: World) -> None:
    policy = await published(world)
    base = f"{CONTOSO}/policies/{policy['id']}"
    acks = ok(await world.get("carol", f"{base}/acknowledgements"))
    assert acks["version_number"] == 1 and acks["acknowledged"] == []
    assert sorted(p["name"] for p in acks["pending"]) == ["Carol", "Dan"]

    # Dan holds only tenant:read: enough to acknowledge what is in force.
    mine = ok(await world.post("dan", f"{base}/acknowledge"))
    assert mine["name"] == "Dan"
    ok(await world.post("dan", f"{base}/acknowledge"))  # again: nothing changes
    assert await world.count(PolicyAcknowledgement) == 1
    # Tina acts here for the MSP: her reading is not the client's.
    tina = await world.post("tina", f"{base}/acknowledge")
    assert (tina.status_code, tina.json()["reason"]) == (403, "not-own-user")
    acks = ok(await world.get("tina", f"{base}/acknowledgements"))
    assert [p["name"] for p in acks["acknowledged"]] == ["Dan"]
    assert [p["name"] for p in acks["pending"]] == ["Carol"]
    assert await world.count(PolicyAcknowledgement) == 1

    # A new published version needs everyone again.
    v2 = ok(await world.post("carol", f"{base}/versions", json={}), 201)
    ok(await world.post("carol", f"{base}/versions/{v2['id']}/approve"))
    ok(await world.post("carol", f"{base}/versions/{v2['id']}/publish"))
    acks = ok(await world.get("carol", f"{base}/acknowledgements"))
    assert acks["version_number"] == 2 and acks["acknowledged"] == []
    assert sorted(p["name"] for p in acks["pending"]) == ["Carol", "Dan"]


async def test_an_unpublished_policy_cannot_be_acknowledged(world: World) -> None:
    policy = await make_policy(world)
    refused = await world.post("carol", f"{CONTOSO}/policies/{policy['id']}/acknowledge")
    assert (refused.status_code, problem_field(refused)) == (422, "state")
    # Dan sees only published policies on the pages.
    assert (
        await world.get("dan", f"/t/contoso-ltd/compliance/policies/{policy['id']}")
    ).status_code == 404
    listing = await world.get("dan", "/t/contoso-ltd/compliance/policies")
    assert listing.status_code == 200 and "Password policy" not in listing.text
