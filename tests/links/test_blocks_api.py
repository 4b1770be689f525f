"""A customer blocks one technician, or one user group, of its MSP without narrowing the
link (issue #14): effective on the next request (404 saying who blocked them and when),
gone from their switcher, recorded in both trails, lifted by unblocking. Only the
customer's own admins block; only its MSP's people can be blocked."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tenantry.access.models import AccessBlock
from tests.links.conftest import World, approved
from tests.links.test_consent_api import counts

INITECH = "/api/v1/tenants/initech"


def blocks_of(link_id: str) -> str:
    return f"{INITECH}/links/{link_id}/blocks"


async def switcher(world: World, who: str) -> list[str]:
    r = await world.get(who, "/api/v1/me/tenants")
    assert r.status_code == 200, r.text
    return [t["slug"] for t in r.json()["items"]]


async def group_granted(world: World, name: str, members: list[str], role: str) -> str:
    """A user group of Northwind holding ``role`` in Initech: its id."""
    nw = "/api/v1/tenants/northwind"
    made = await world.post("alex", f"{nw}/user-groups", {"name": name})
    assert made.status_code == 201, made.text
    group_id = str(made.json()["id"])
    for who in members:
        joined = await world.post(
            "alex", f"{nw}/user-groups/{group_id}/members", {"user": world.users[who].email}
        )
        assert joined.status_code in (200, 201), joined.text
    granted = await world.post(
        "alex",
        f"{nw}/grants",
        {"group": group_id, "role": role, "scope": "customer", "customer": "initech"},
    )
    assert granted.status_code == 201, granted.text
    return group_id


async def test_blocking_a_technician_stops_only_them_until_unblocked(world: World) -> None:
    link_id = await approved(world)
    assert (await world.get("tina", INITECH)).status_code == 200
    assert "initech" in await switcher(world, "tina")

    tina = world.users["tina"]
    made = await world.post("ian", blocks_of(link_id), {"user_id": str(tina.id)})
    assert made.status_code == 201, made.text
    block = made.json()
    assert block["kind"] == "user" and block["name"] == "Tina Tech"
    assert block["created_by"] == "Ian Initech"

    # Her next request: 404, saying who blocked her and when.
    refused = await world.get("tina", f"{INITECH}/tickets")
    assert refused.status_code == 404
    detail = refused.json()["detail"]
    day = block["created_at"][:10]
    assert f"Initech blocked your access on {day} (Ian Initech)" in detail
    assert "initech" not in await switcher(world, "tina")
    # Alex, the MSP's admin, keeps his access.
    assert (await world.get("alex", INITECH)).status_code == 200
    assert "initech" in await switcher(world, "alex")

    # Both trails hold the event, about the link.
    assert (await world.actions("initech", link_id))[-1] == "link.blocked"
    assert (await world.actions("northwind", link_id))[-1] == "link.blocked"

    # Both ends see the block: the list and the link itself.
    listed = await world.get("ian", blocks_of(link_id))
    assert [b["id"] for b in listed.json()["items"]] == [block["id"]]
    msp_view = await world.get("alex", f"/api/v1/tenants/northwind/links/{link_id}")
    assert [b["name"] for b in msp_view.json()["blocks"]] == ["Tina Tech"]

    # Blocking twice is a conflict naming the field; nothing changes.
    before = await counts(world)
    again = await world.post("ian", blocks_of(link_id), {"user_id": str(tina.id)})
    assert again.status_code == 409
    assert again.json()["errors"][0]["field"] == "user_id"
    assert await counts(world) == before

    lifted = await world.http.delete(
        f"{blocks_of(link_id)}/{block['id']}", headers=world.as_("ian")
    )
    assert lifted.status_code == 200, lifted.text
    assert (await world.get("tina", INITECH)).status_code == 200
    assert "initech" in await switcher(world, "tina")
    assert (await world.actions("initech", link_id))[-1] == "link.unblocked"
    assert (await world.actions("northwind", link_id))[-1] == "link.unblocked"


async def test_blocking_the_msp_admin_takes_the_implicit_grant_too(world: World) -> None:
    link_id = await approved(world)
    alex = world.users["alex"]
    made = await world.post("ian", blocks_of(link_id), {"user_id": str(alex.id)})
    assert made.status_code == 201, made.text
    assert (await world.get("alex", INITECH)).status_code == 404
    assert "initech" not in await switcher(world, "alex")
    # The MSP-wide reads leave it out too: his ticket counts per client have no Initech.
    counts = await world.get(
        "alex",
        "/api/v1/tenants/northwind/msp-tickets/counts",
        params={"include_empty": "true", "limit": 200},
    )
    assert counts.status_code == 200, counts.text
    listed = {c["tenant_slug"] for c in counts.json()["items"]}
    assert "initech" not in listed and "contoso-ltd" in listed
    assert (await world.get("tina", INITECH)).status_code == 200


async def test_blocking_a_group_stops_only_grants_through_that_group(world: World) -> None:
    link_id = await approved(world)
    # Bob reaches Initech only through the group; Tina through the group and her own grant.
    group_id = await group_granted(world, "Night shift", ["bob", "tina"], "read_only")
    assert (await world.get("bob", INITECH)).status_code == 200

    made = await world.post("ian", blocks_of(link_id), {"user_group_id": group_id})
    assert made.status_code == 201, made.text
    # The customer sees the group as the MSP's, never its internal name (rule 6).
    assert made.json()["name"] == "A group of Northwind IT's technicians"
    assert made.json()["members"] == ["Bob Support", "Tina Tech"]

    refused = await world.get("bob", INITECH)
    assert refused.status_code == 404
    assert "Initech blocked the access of your group Night shift on" in refused.json()["detail"]
    assert "initech" not in await switcher(world, "bob")
    # Tina keeps what her own delegation gives (Technician: writing tickets too).
    assert (await world.get("tina", f"{INITECH}/tickets")).status_code == 200
    assert "initech" in await switcher(world, "tina")

    # The MSP's copy names its own group; the customer's copy does not.
    msp_view = await world.get("alex", f"/api/v1/tenants/northwind/links/{link_id}")
    assert [b["name"] for b in msp_view.json()["blocks"]] == ["Night shift"]


async def test_technicians_acting_in_the_client_cannot_block(world: World) -> None:
    # Contoso, created by Northwind: Alex acts there through the link (links:manage
    # included in its full ceiling), yet blocking is the customer's own decision.
    [link] = (await world.get("alex", "/api/v1/tenants/contoso-ltd/links")).json()["items"]
    before = await counts(world)
    refused = await world.post(
        "alex",
        f"/api/v1/tenants/contoso-ltd/links/{link['id']}/blocks",
        {"user_id": str(world.users["bob"].id)},
    )
    assert refused.status_code == 403
    assert refused.json()["permission"] == "links:manage"
    assert await counts(world) == before
    # And the MSP cannot block from its own side.
    from_msp = await world.post(
        "alex",
        f"/api/v1/tenants/northwind/links/{link['id']}/blocks",
        {"user_id": str(world.users["bob"].id)},
    )
    assert from_msp.status_code == 403
    assert await counts(world) == before


async def test_bad_ids_name_the_field_and_change_nothing(world: World) -> None:
    link_id = await approved(world)
    before = await counts(world)

    async def refused(body: dict[str, Any], field: str) -> None:
        r = await world.post("ian", blocks_of(link_id), body)
        assert r.status_code == 422, (body, r.text)
        fields = {e["field"] for e in r.json()["errors"]}
        assert any(f.endswith(field) for f in fields), (body, fields)

    await refused({"user_id": "not-a-uuid"}, "user_id")
    await refused({"user_group_id": "00000000-0000-0000-0000-000000000000"}, "user_group_id")
    await refused({}, "user_id")
    # Another MSP's admin, and the customer's own owner: not people of its MSP.
    await refused({"user_id": str(world.users["gary"].id)}, "user_id")
    await refused({"user_id": str(world.users["ian"].id)}, "user_id")
    await refused({"user_id": str(world.users["uma"].id)}, "user_id")
    assert await counts(world) == before
    async with world.db.platform_reader() as session:
        assert (await session.scalars(select(AccessBlock))).all() == []


async def test_who_can_act_now(world: World) -> None:
    link_id = await approved(world)
    group_id = await group_granted(world, "Night shift", ["bob"], "read_only")
    r = await world.get("ian", f"{INITECH}/links/{link_id}/access")
    assert r.status_code == 200, r.text
    items = {(i["kind"], i["name"]): i for i in r.json()["items"]}
    assert set(items) == {
        ("user", "Alex Admin"),
        ("user", "Tina Tech"),
        ("user", "Bob Support"),
        ("group", "A group of Northwind IT's technicians"),
    }
    alex = items[("user", "Alex Admin")]
    assert [s["via"] for s in alex["sources"]] == ["MSP admin (implicit)"]
    tina = items[("user", "Tina Tech")]
    assert tina["roles"] == ["Technician"]
    assert tina["sources"][0]["via"] == "a delegation to this client"
    assert tina["events"] == f"/t/initech/audit?actor={world.users['tina'].id}"
    bob = items[("user", "Bob Support")]
    assert bob["sources"][0]["through_group"] is True
    group = items[("group", "A group of Northwind IT's technicians")]
    assert group["id"] == group_id and group["members"] == ["Bob Support"]
    # Nothing names the MSP's internal group or another customer.
    assert "Night shift" not in r.text and "Contoso" not in r.text

    await world.post("ian", blocks_of(link_id), {"user_id": str(world.users["tina"].id)})
    after = {
        i["name"]: i
        for i in (await world.get("ian", f"{INITECH}/links/{link_id}/access")).json()["items"]
    }
    assert after["Tina Tech"]["blocked"] is True and after["Tina Tech"]["permissions"] == []
    assert after["Alex Admin"]["blocked"] is False


async def test_relinking_lists_who_had_access_and_approves_with_blocks(world: World) -> None:
    first = await approved(world)
    ended = await world.post("ian", f"{INITECH}/links/{first}/revoke")
    assert ended.status_code == 200, ended.text
    ended_at = ended.json()["ended_at"]
    # Delegations outlive the link: Northwind asks again.
    asked = await world.ask()
    assert asked.status_code == 201, asked.text
    second = asked.json()["id"]
    pending = await world.get("ian", f"{INITECH}/links/{second}")
    assert pending.status_code == 200, pending.text
    gaining = {i["name"]: i for i in pending.json()["would_gain"]}
    assert set(gaining) == {"Alex Admin", "Tina Tech"}
    assert gaining["Tina Tech"]["had_access_until"] == ended_at
    assert gaining["Alex Admin"]["had_access_until"] == ended_at

    tina = world.users["tina"]
    body = {"block": [{"user_id": str(tina.id)}]}
    done = await world.post("ian", f"{INITECH}/links/{second}/approve", body)
    assert done.status_code == 200, done.text
    assert (await world.get("alex", INITECH)).status_code == 200
    assert (await world.get("tina", INITECH)).status_code == 404
    assert (await world.actions("initech", second))[-2:] == ["link.approved", "link.blocked"]
    assert (await world.actions("northwind", second))[-2:] == ["link.approved", "link.blocked"]


async def test_approving_with_a_bad_block_approves_nothing(world: World) -> None:
    asked = await world.ask()
    link_id = asked.json()["id"]
    before = await counts(world)
    body = {"block": [{"user_id": str(world.users["gary"].id)}]}
    refused = await world.post("ian", f"{INITECH}/links/{link_id}/approve", body)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "user_id"
    assert await counts(world) == before
    assert (await world.link(link_id)).state.value == "pending"


async def test_blocks_outlive_the_link_until_lifted(world: World) -> None:
    first = await approved(world)
    tina = world.users["tina"]
    await world.post("ian", blocks_of(first), {"user_id": str(tina.id)})
    await world.post("ian", f"{INITECH}/links/{first}/revoke")
    second = await approved(world)
    assert (await world.get("tina", INITECH)).status_code == 404
    listed = await world.get("ian", blocks_of(second))
    [block] = listed.json()["items"]
    assert block["name"] == "Tina Tech"
    lifted = await world.http.delete(f"{blocks_of(second)}/{block['id']}", headers=world.as_("ian"))
    assert lifted.status_code == 200, lifted.text
    assert (await world.get("tina", INITECH)).status_code == 200


async def test_deleting_the_msps_group_removes_its_block(world: World) -> None:
    link_id = await approved(world)
    group_id = await group_granted(world, "Night shift", ["bob"], "read_only")
    made = await world.post("ian", blocks_of(link_id), {"user_group_id": group_id})
    assert made.status_code == 201, made.text
    nw = "/api/v1/tenants/northwind"
    grants = (await world.get("alex", f"{nw}/grants", params={"group": group_id})).json()
    for grant in grants["items"]:
        revoked = await world.http.delete(f"{nw}/grants/{grant['id']}", headers=world.as_("alex"))
        assert revoked.status_code == 200, revoked.text
    gone = await world.http.delete(f"{nw}/user-groups/{group_id}", headers=world.as_("alex"))
    assert gone.status_code == 200, gone.text
    assert (await world.get("ian", blocks_of(link_id))).json()["items"] == []


async def test_explain_and_the_access_review_know_the_block(world: World) -> None:
    link_id = await approved(world)
    tina = world.users["tina"]
    await world.post("ian", blocks_of(link_id), {"user_id": str(tina.id)})
    explained = await world.get("ian", f"{INITECH}/access/explain", params={"user": str(tina.id)})
    assert explained.status_code == 200, explained.text
    body = explained.json()
    assert body["has_access"] is False
    assert "Initech blocked Tina Tech here" in body["summary"]
    review = await world.get("ian", f"{INITECH}/access/review")
    assert review.status_code == 200, review.text
    emails = {i["user"]["email"] for i in review.json()["items"]}
    assert tina.email not in emails and world.users["alex"].email in emails


async def test_a_block_tells_nothing_to_someone_who_could_not_act_anyway(world: World) -> None:
    # Bob is delegated to Contoso only: blocked in Initech, he learns nothing of it.
    link_id = await approved(world)
    made = await world.post("ian", blocks_of(link_id), {"user_id": str(world.users["bob"].id)})
    assert made.status_code == 201, made.text
    refused = await world.get("bob", INITECH)
    assert refused.status_code == 404
    assert refused.json()["detail"] == "No such tenant."
