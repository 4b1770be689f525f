"""The consent life-cycle through the API: an MSP asks to manage an existing tenant, the
tenant's own admins approve (giving less), narrow, decline or revoke; the MSP ends it
from its side. Every change takes effect on the next request and is on both trails."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from tenantry.access.permissions import BUILTIN_ROLES
from tenantry.access.service import operator_scope
from tenantry.audit.models import AuditEvent
from tenantry.audit.schemas import OPERATOR
from tenantry.db.base import utcnow
from tenantry.tenancy.models import TenantLink
from tenantry.tenancy.service import TenancyService
from tests.links.conftest import World, approved

TECHNICIAN = sorted(BUILTIN_ROLES["technician"].permissions)
LINKS = "/api/v1/tenants/{}/links"


def links_of(tenant: str) -> str:
    return LINKS.format(tenant)


async def counts(world: World) -> tuple[int, int]:
    """(links, audit events in every tenant): what a refused request must not change."""
    async with world.db.platform_reader() as session:
        links = int(await session.scalar(select(func.count()).select_from(TenantLink)) or 0)
    ids = [t.id for t in world.tenants.values()]
    from tenantry.access.service import operator_scope

    async with world.db.unit_of_work(operator_scope(ids)) as session:
        events = int(await session.scalar(select(func.count()).select_from(AuditEvent)) or 0)
    return links, events


# ---------------------------------------------------------------- the whole life-cycle


async def test_ask_approve_with_less_narrow_and_revoke(world: World) -> None:
    # Before any consent, Northwind's technician cannot even see Initech.
    assert (await world.get("tina", "/api/v1/tenants/initech")).status_code == 404

    asked = await world.ask(ceiling=["technician"], duration_days=30, auto_extend=True)
    assert asked.status_code == 201, asked.text
    link = asked.json()
    link_id = link["id"]
    assert link["state"] == "pending" and link["side"] == "msp"
    assert link["ceiling"] == []  # nothing consented yet
    assert link["requested_ceiling"] == TECHNICIAN  # the role, expanded
    assert link["msp"] == {"slug": "northwind", "display_name": "Northwind IT"}
    assert link["customer"] == {"slug": "initech", "display_name": "Initech"}
    assert link["duration_days"] == 30 and link["msp_auto_extend"] is True
    # Pending gives nothing.
    assert (await world.get("tina", "/api/v1/tenants/initech")).status_code == 404

    # Initech's people see the request in their own tenant, the read-only one included.
    for who in ("ian", "ivy"):
        listed = await world.get(who, links_of("initech"))
        assert listed.status_code == 200
        [item] = listed.json()["items"]
        assert item["id"] == link_id and item["side"] == "customer" and item["state"] == "pending"
    # Only those with links:manage decide.
    refused = await world.post("ivy", f"{links_of('initech')}/{link_id}/approve")
    assert refused.status_code == 403 and refused.json()["permission"] == "links:manage"

    # Ian gives less than was asked: no compliance changes.
    given = [p for p in TECHNICIAN if p != "compliance:write"]
    before = utcnow()
    done = await world.post("ian", f"{links_of('initech')}/{link_id}/approve", {"ceiling": given})
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["state"] == "active" and body["ceiling"] == given
    assert body["customer_auto_extend"] is False
    stored = await world.link(link_id)
    assert stored.activated_at is not None and stored.activated_at >= before
    assert stored.expires_at == stored.activated_at + timedelta(days=30)
    assert stored.decided_by_user_id == world.users["ian"].id

    # From the next request on, Tina works in Initech within what was given.
    assert (await world.get("tina", "/api/v1/tenants/initech")).status_code == 200
    assert (await world.get("tina", "/api/v1/tenants/initech/audit-events")).status_code == 200

    # Ian takes the audit trail away: Tina's next request is refused, naming it.
    narrower = [p for p in given if p != "audit:read"]
    done = await world.post("ian", f"{links_of('initech')}/{link_id}/narrow", {"ceiling": narrower})
    assert done.status_code == 200 and done.json()["ceiling"] == narrower
    refused = await world.get("tina", "/api/v1/tenants/initech/audit-events")
    assert refused.status_code == 403
    assert refused.json()["permission"] == "audit:read"
    assert "link" in refused.json()["detail"] and "does not include it" in refused.json()["detail"]
    assert (await world.get("tina", "/api/v1/tenants/initech")).status_code == 200

    # Ian revokes: Tina's very next request finds no Initech at all.
    done = await world.post("ian", f"{links_of('initech')}/{link_id}/revoke")
    assert done.status_code == 200 and done.json()["state"] == "revoked"
    assert (await world.get("tina", "/api/v1/tenants/initech")).status_code == 404
    assert (await world.get("alex", "/api/v1/tenants/initech")).status_code == 404

    # Both trails hold the whole story, with the ceiling before and after.
    expected = ["link.requested", "link.approved", "link.narrowed", "link.revoked"]
    assert await world.actions("northwind", link_id) == expected
    assert await world.actions("initech", link_id) == expected
    history = (await world.get("ian", f"{links_of('initech')}/{link_id}/history")).json()["items"]
    approved_event, narrowed = history[1], history[2]
    assert approved_event["changes"]["ceiling"] == [[], given]
    assert approved_event["changes"]["withheld"] == [None, ["compliance:write"]]
    assert narrowed["changes"]["ceiling"] == [given, narrower]
    assert narrowed["changes"]["removed"] == [None, ["audit:read"]]
    assert narrowed["actor_name"].startswith("Ian Initech")
    assert history[3]["changes"]["ceiling"] == [narrower, []]
    assert history[3]["changes"]["by"] == [None, "customer"]


async def test_the_msp_ends_the_link_from_its_side(world: World) -> None:
    link_id = await approved(world)
    assert (await world.get("tina", "/api/v1/tenants/initech")).status_code == 200
    done = await world.post("alex", f"{links_of('northwind')}/{link_id}/revoke")
    assert done.status_code == 200 and done.json()["state"] == "revoked"
    assert (await world.get("tina", "/api/v1/tenants/initech")).status_code == 404
    for tenant in ("northwind", "initech"):
        assert (await world.actions(tenant, link_id))[-1] == "link.revoked"
    history = (await world.get("ian", f"{links_of('initech')}/{link_id}/history")).json()
    assert history["items"][-1]["changes"]["by"] == [None, "msp"]
    assert history["items"][-1]["actor_home_tenant_name"] == "Northwind IT"
    # Ended is ended: neither side can end it twice.
    again = await world.post("ian", f"{links_of('initech')}/{link_id}/revoke")
    assert again.status_code == 409 and "revoked" in again.json()["detail"]


async def test_the_msp_withdraws_a_pending_request(world: World) -> None:
    link_id = (await world.ask()).json()["id"]
    done = await world.post("alex", f"{links_of('northwind')}/{link_id}/revoke")
    assert done.json()["state"] == "revoked"
    assert await world.actions("initech", link_id) == ["link.requested", "link.revoked"]
    # Initech is free again: another MSP may ask.
    assert (await world.ask(who="gary", msp="globex")).status_code == 201


async def test_the_customer_declines(world: World) -> None:
    link_id = (await world.ask()).json()["id"]
    done = await world.post("ian", f"{links_of('initech')}/{link_id}/decline")
    assert done.status_code == 200 and done.json()["state"] == "revoked"
    stored = await world.link(link_id)
    assert stored.ended_at is not None and stored.decided_by_user_id == world.users["ian"].id
    for tenant in ("northwind", "initech"):
        assert await world.actions(tenant, link_id) == ["link.requested", "link.declined"]
    assert (await world.get("tina", "/api/v1/tenants/initech")).status_code == 404
    # Declined cannot be approved any more; the MSP may ask again.
    late = await world.post("ian", f"{links_of('initech')}/{link_id}/approve")
    assert late.status_code == 409
    assert (await world.ask()).status_code == 201


async def test_revoking_a_pending_request_as_the_customer_declines_it(world: World) -> None:
    link_id = (await world.ask()).json()["id"]
    await world.post("ian", f"{links_of('initech')}/{link_id}/revoke")
    assert await world.actions("initech", link_id) == ["link.requested", "link.declined"]


async def test_an_msp_admin_acts_within_the_ceiling_too(world: World) -> None:
    # The implicit Owner grant of an MSP admin is capped by the consent as well.
    link_id = await approved(world, ceiling=["tenant:read"])
    assert (await world.get("alex", "/api/v1/tenants/initech")).status_code == 200
    refused = await world.get("alex", "/api/v1/tenants/initech/audit-events")
    assert refused.status_code == 403 and refused.json()["permission"] == "audit:read"
    assert link_id


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("customer", "status", "fragment"),
    [
        ("northwind", 422, "itself"),
        ("globex", 422, "is an MSP"),
        ("nope", 404, "matches no tenant"),
        ("contoso-ltd", 409, "already your client"),
        ("", 422, "slug of an existing tenant"),
    ],
)
async def test_what_cannot_be_asked_for(
    world: World, customer: str, status: int, fragment: str
) -> None:
    before = await counts(world)
    response = await world.ask(customer=customer)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert any(e["field"] == "customer" and fragment in e["message"] for e in problem["errors"]), (
        problem
    )
    assert await counts(world) == before


async def test_one_msp_at_a_time(world: World) -> None:
    first = await world.ask(customer="umbrella", who="gary", msp="globex")
    assert first.status_code == 201
    before = await counts(world)
    other = await world.ask(customer="umbrella")
    assert other.status_code == 409
    assert "one MSP at a time" in other.json()["detail"]
    # Which MSP, and whether it is pending, is that MSP's business.
    assert "Globex" not in other.text and "pending" not in other.text
    assert await counts(world) == before
    # The same MSP asking twice is told to wait.
    mine = await world.ask()
    assert mine.status_code == 201
    again = await world.ask()
    assert again.status_code == 409 and "pending request from you" in again.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field", "fragment"),
    [
        ({"ceiling": ["tickets:fly"]}, "ceiling", "unknown permission or role 'tickets:fly'"),
        ({"ceiling": ["wizard"]}, "ceiling", "built-in role"),
        ({"ceiling": []}, "ceiling", "at least one"),
        ({"ceiling": ["  "]}, "ceiling", "at least one"),
        ({"ceiling": ["technician"], "duration_days": 0}, "duration_days", "between 1"),
        ({"ceiling": ["technician"], "duration_days": 99999}, "duration_days", "between 1"),
        ({"ceiling": "technician"}, "ceiling", "list"),
        ({"ceiling": ["technician"], "extra": 1}, "extra", "not permitted"),
        ({"customer": "x" * 64, "ceiling": ["technician"]}, "customer", "at most 63"),
    ],
)
async def test_bad_input_names_the_field_and_changes_nothing(
    world: World, body: dict[str, Any], field: str, fragment: str
) -> None:
    before = await counts(world)
    response = await world.post("alex", links_of("northwind"), {"customer": "initech", **body})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert any(
        e["field"] == field and fragment.lower() in e["message"].lower() for e in problem["errors"]
    ), problem
    assert await counts(world) == before


async def test_who_may_ask(world: World) -> None:
    # A tenant without MSP licensing cannot ask to manage anyone.
    response = await world.ask(customer="umbrella", who="ian", msp="initech")
    assert response.status_code == 403
    assert "not licensed as an MSP" in response.json()["detail"]
    # An MSP technician without links:manage is told which permission it takes.
    response = await world.ask(who="tina")
    assert response.status_code == 403 and response.json()["permission"] == "links:manage"
    # Another MSP's admin cannot use Northwind's tenant.
    response = await world.ask(who="gary")
    assert response.status_code == 404


async def test_msp_technicians_cannot_consent_for_the_customer(world: World) -> None:
    # Contoso was created by Northwind with the full template: managing links means
    # nothing inside a client (access rule 10), so no ceiling carries links:manage and
    # Alex, an MSP admin, cannot decide about Contoso's link from inside it.
    contoso = (await world.get("alex", links_of("contoso-ltd"))).json()["items"]
    [link] = contoso
    assert link["side"] == "customer" and "links:manage" not in link["ceiling"]
    for verb, body in (
        ("narrow", {"ceiling": ["tenant:read"]}),
        ("revoke", {}),
        ("approve", {}),
        ("decline", {}),
    ):
        response = await world.post("alex", f"{links_of('contoso-ltd')}/{link['id']}/{verb}", body)
        assert response.status_code == 403, verb
        assert response.json()["permission"] == "links:manage"
    assert (await world.link(link["id"])).state.value == "active"

    # Nor can the MSP approve its own request from its side.
    pending = (await world.ask()).json()["id"]
    response = await world.post("alex", f"{links_of('northwind')}/{pending}/approve")
    assert response.status_code == 403
    assert response.json()["reason"] == "customer-consent"
    # And inside Initech it has no access at all yet: 404, existence not leaked.
    response = await world.post("alex", f"{links_of('initech')}/{pending}/approve")
    assert response.status_code == 404
    assert (await world.link(pending)).state.value == "pending"


async def test_narrowing_never_widens(world: World) -> None:
    link_id = await approved(world, ceiling=["tenant:read", "tickets:read"])
    before = await counts(world)
    wider = await world.post(
        "ian",
        f"{links_of('initech')}/{link_id}/narrow",
        {"ceiling": ["tenant:read", "tickets:read", "tickets:write"]},
    )
    assert wider.status_code == 422
    [error] = wider.json()["errors"]
    assert error["field"] == "ceiling" and "tickets:write" in error["message"]
    assert "new request" in error["message"]
    empty = await world.post("ian", f"{links_of('initech')}/{link_id}/narrow", {"ceiling": []})
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "ceiling"
    assert await counts(world) == before
    assert sorted((await world.link(link_id)).ceiling) == ["tenant:read", "tickets:read"]
    # The same ceiling again changes nothing and records nothing.
    same = await world.post(
        "ian",
        f"{links_of('initech')}/{link_id}/narrow",
        {"ceiling": ["tickets:read", "tenant:read"]},
    )
    assert same.status_code == 200
    assert await counts(world) == before


async def test_approval_gives_only_what_was_asked_or_less(world: World) -> None:
    link_id = (await world.ask(ceiling=["first_level_support"])).json()["id"]
    before = await counts(world)
    response = await world.post(
        "ian",
        f"{links_of('initech')}/{link_id}/approve",
        {"ceiling": ["tickets:read", "billing:manage"]},
    )
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "ceiling" and "billing:manage" in error["message"]
    assert await counts(world) == before
    assert (await world.link(link_id)).state.value == "pending"
    # Narrowing a pending request is approving it with less.
    response = await world.post(
        "ian", f"{links_of('initech')}/{link_id}/narrow", {"ceiling": ["tickets:read"]}
    )
    assert response.status_code == 409 and "approve it" in response.json()["detail"]


# ---------------------------------------------------------------- what each side sees


async def test_the_customer_sees_nothing_else_of_the_msp(world: World) -> None:
    northwind = str(world.tenants["northwind"].id)
    link_id = await approved(world)
    for path in (
        links_of("initech"),
        f"{links_of('initech')}/{link_id}",
        f"{links_of('initech')}/{link_id}/history",
    ):
        response = await world.get("ian", path)
        assert response.status_code == 200, path
        # Its name and slug, the link, and who acted: never its id or anything inside it.
        assert northwind not in response.text, path
        assert "contoso" not in response.text.lower(), path
    item = (await world.get("ian", f"{links_of('initech')}/{link_id}")).json()
    assert item["msp"] == {"slug": "northwind", "display_name": "Northwind IT"}
    for path in (
        "/api/v1/tenants/northwind",
        links_of("northwind"),
        f"{links_of('northwind')}/{link_id}",
        f"{links_of('northwind')}/{link_id}/history",
        "/api/v1/tenants/contoso-ltd",
        links_of("contoso-ltd"),
    ):
        assert (await world.get("ian", path)).status_code == 404, path


async def test_technicians_see_only_their_own_msps_links_in_a_client(world: World) -> None:
    # Initech declined Globex before consenting to Northwind.
    globex = (await world.ask(who="gary", msp="globex")).json()["id"]
    await world.post("ian", f"{links_of('initech')}/{globex}/decline")
    northwind = await approved(world)
    ians = [i["id"] for i in (await world.get("ian", links_of("initech"))).json()["items"]]
    assert ians == [northwind, globex]  # newest first
    tinas = (await world.get("tina", links_of("initech"))).json()["items"]
    assert [i["id"] for i in tinas] == [northwind]
    assert (await world.get("tina", f"{links_of('initech')}/{globex}")).status_code == 404
    assert "Globex" not in (await world.get("tina", links_of("initech"))).text
    # Globex's people see neither Initech nor Northwind's link.
    assert (await world.get("gary", f"{links_of('globex')}/{northwind}")).status_code == 404
    [theirs] = (await world.get("gary", links_of("globex"))).json()["items"]
    assert theirs["id"] == globex and theirs["state"] == "revoked"


async def test_history_is_on_both_sides_and_pages(world: World) -> None:
    link_id = await approved(world, ceiling=TECHNICIAN)
    await world.post("ian", f"{links_of('initech')}/{link_id}/narrow", {"ceiling": ["tenant:read"]})
    await world.post("alex", f"{links_of('northwind')}/{link_id}/revoke")
    expected = ["link.requested", "link.approved", "link.narrowed", "link.revoked"]
    for who, tenant in (("alex", "northwind"), ("ian", "initech")):
        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": "3", **({"cursor": cursor} if cursor else {})}
            page = (
                await world.get(who, f"{links_of(tenant)}/{link_id}/history", params=params)
            ).json()
            seen += [e["action"] for e in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == expected, who
    # The link ended: Initech is out of Tina's sight again, its trail included.
    response = await world.get("tina", f"{links_of('initech')}/{link_id}/history")
    assert response.status_code == 404  # the link ended: Initech is out of sight
    bad = await world.get("ian", f"{links_of('initech')}/{link_id}/history", params={"cursor": "x"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cursor"


async def test_listing_filters_and_pages(world: World) -> None:
    ids = [(await world.ask(customer=c)).json()["id"] for c in ("initech", "umbrella")]
    await world.post("uma", f"{links_of('umbrella')}/{ids[1]}/approve")
    everything = (await world.get("alex", links_of("northwind"))).json()["items"]
    assert len(everything) == 3  # Contoso too
    pending = (await world.get("alex", links_of("northwind"), params={"state": "pending"})).json()
    assert [i["id"] for i in pending["items"]] == [ids[0]]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "1", **({"cursor": cursor} if cursor else {})}
        page = (await world.get("alex", links_of("northwind"), params=params)).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [i["id"] for i in everything]
    for params, field in (
        ({"state": "sleeping"}, "state"),
        ({"limit": "0"}, "limit"),
        ({"cursor": "garbage"}, "cursor"),
    ):
        response = await world.get("alex", links_of("northwind"), params=params)
        assert response.status_code == 422, params
        assert response.json()["errors"][0]["field"] == field
    # A technician without customers:read or links:manage at home is told what it takes.
    response = await world.get("bob", links_of("northwind"))
    assert response.status_code == 403 and response.json()["permission"] == "links:manage"


async def test_an_unknown_link_is_not_found(world: World) -> None:
    import uuid

    response = await world.get("ian", f"{links_of('initech')}/{uuid.uuid4()}")
    assert response.status_code == 404
    response = await world.post("ian", f"{links_of('initech')}/{uuid.uuid4()}/approve")
    assert response.status_code == 404
    response = await world.get("ian", f"{links_of('initech')}/not-a-uuid")
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "link_id"


async def test_asking_tells_another_msp_neither_a_name_nor_a_suspension(world: World) -> None:
    """An MSP asking for a tenant that is not its client learns nothing it did not type:
    not the tenant's display name, not whether it is suspended. A suspended tenant and one
    linked to another MSP get the same refusal."""
    umbrella = world.tenants["umbrella"]
    linked = await world.ask(customer="umbrella", who="gary", msp="globex")
    assert linked.status_code == 201
    initech = world.tenants["initech"]
    async with world.db.unit_of_work(operator_scope([umbrella.id, initech.id])) as session:
        tenant = await session.merge(initech)
        await TenancyService(session).mark_suspended_by_operator(tenant, True, actor=OPERATOR)
    answers = {slug: await world.ask(customer=slug) for slug in ("umbrella", "initech")}
    for slug, answer in answers.items():
        assert answer.status_code == 409, answer.text
        text = answer.text
        assert "Umbrella Corp" not in text and "Initech" not in text, text
        assert "suspend" not in text.lower(), text
        assert slug in answer.json()["detail"]
    assert {a.json()["errors"][0]["message"] for a in answers.values()} == {
        "cannot take a request from you now"
    }
