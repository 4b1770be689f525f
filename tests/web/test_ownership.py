"""Access rule 10: inside a client its MSP manages, the MSP's permissions (rates, SLA
policy, invoices and recurring items, time approval, time its staff wrote) are held only
through the link. Carol, Contoso's own admin, reads them but cannot change them while
Northwind manages Contoso; a tenant without an MSP, or Contoso after the link ends,
keeps every right in its own tenant."""

from __future__ import annotations

from typing import Any

import httpx

from tenantry.access.permissions import CEILING_TEMPLATES, CLIENT_MEANINGFUL, HELPDESK
from tenantry.db.engine import Database
from tests.factories import make_tenant, make_user, signed_in_client
from tests.web.conftest import World

C = "/api/v1/tenants/contoso-ltd"
SLA = {
    "targets": {p: {"first_response": 60, "resolution": 480} for p in ("P1", "P2", "P3", "P4")},
    "business_hours": {str(d): [["08:00", "17:00"]] for d in range(5)},
    "holidays": [],
}
PERIOD = {"period_start": "2026-01-01", "period_end": "2026-01-31", "currency": "EUR"}


def _denied(response: httpx.Response, permission: str) -> dict[str, Any]:
    assert response.status_code == 403, (response.request.url, response.text)
    body: dict[str, Any] = response.json()
    assert body["permission"] == permission, body
    return body


async def _setup(alex: httpx.AsyncClient, tina: httpx.AsyncClient) -> dict[str, str]:
    """A work type (Alex, through the link) and two drafts of Tina's in Contoso."""
    wt = await alex.post(
        f"{C}/work-types", json={"name": "Remote", "rate_minor": 9000, "currency": "EUR"}
    )
    assert wt.status_code == 201, wt.text
    ids = {"work_type": wt.json()["id"]}
    for name in ("draft", "to_submit"):
        entry = await tina.post(
            f"{C}/time-entries", json={"work_type_id": ids["work_type"], "minutes": 30}
        )
        assert entry.status_code == 201, entry.text
        ids[name] = entry.json()["id"]
    submitted = await tina.post(f"{C}/time-entries/{ids['to_submit']}/submit")
    assert submitted.status_code == 200, submitted.text
    return ids


async def _state(alex: httpx.AsyncClient) -> Any:
    return (
        (await alex.get(f"{C}/work-types")).json(),
        (await alex.get(f"{C}/sla-policy")).json(),
        (await alex.get(f"{C}/time-entries")).json()["items"],
        (await alex.get(f"{C}/invoices")).json()["items"],
        (await alex.get(f"{C}/recurring-items")).json(),
    )


async def test_the_clients_own_owner_cannot_change_what_the_msp_owns(
    world: World,
    as_alex: httpx.AsyncClient,
    as_tina: httpx.AsyncClient,
    as_carol: httpx.AsyncClient,
) -> None:
    ids = await _setup(as_alex, as_tina)
    before = await _state(as_alex)
    carol = as_carol
    body = _denied(
        await carol.post(
            f"{C}/work-types", json={"name": "Cheap", "rate_minor": 1, "currency": "EUR"}
        ),
        "rates:manage",
    )
    assert body["reason"] == "msp-owned"
    assert (
        "rates:manage belongs to Northwind IT, the MSP that manages Contoso Ltd: Contoso Ltd's "
        "own roles give it only while no MSP manages it" in body["detail"]
    )
    _denied(
        await carol.patch(f"{C}/work-types/{ids['work_type']}", json={"rate_minor": 1}),
        "rates:manage",
    )
    _denied(await carol.put(f"{C}/sla-policy", json=SLA), "sla:manage")
    _denied(await carol.post(f"{C}/invoices", json=PERIOD), "invoices:write")
    _denied(
        await carol.post(
            f"{C}/recurring-items",
            json={"description": "Discount", "amount_minor": 1, "currency": "EUR"},
        ),
        "invoices:write",
    )
    _denied(await carol.post(f"{C}/time-entries/{ids['to_submit']}/approve"), "time:approve")
    # Tina's time is Northwind's record: Carol holds time:write, yet cannot touch it.
    for method, path, payload in (
        ("PATCH", f"{C}/time-entries/{ids['draft']}", {"minutes": 1}),
        ("POST", f"{C}/time-entries/{ids['draft']}/submit", None),
        ("DELETE", f"{C}/time-entries/{ids['draft']}", None),
    ):
        refused = _denied(await carol.request(method, path, json=payload), "time:write")
        assert refused["reason"] == "msp-owned" and "Tina Tech" in refused["detail"]
    assert await _state(as_alex) == before

    # Her own time stays hers to manage.
    own = await carol.post(
        f"{C}/time-entries", json={"work_type_id": ids["work_type"], "minutes": 15}
    )
    assert own.status_code == 201, own.text
    assert (
        await carol.patch(f"{C}/time-entries/{own.json()['id']}", json={"minutes": 20})
    ).status_code == 200
    assert (await carol.delete(f"{C}/time-entries/{own.json()['id']}")).status_code == 204

    # Northwind does all of it through the link (its full ceiling includes them).
    assert (await as_alex.put(f"{C}/sla-policy", json=SLA)).status_code == 200
    assert (await as_alex.post(f"{C}/time-entries/{ids['to_submit']}/approve")).status_code == 200
    assert (await as_alex.delete(f"{C}/time-entries/{ids['draft']}")).status_code == 204
    rate = await as_alex.patch(f"{C}/work-types/{ids['work_type']}", json={"rate_minor": 9500})
    assert rate.status_code == 200


async def test_the_pages_offer_carol_no_such_control(
    world: World,
    as_alex: httpx.AsyncClient,
    as_tina: httpx.AsyncClient,
    as_carol: httpx.AsyncClient,
) -> None:
    ids = await _setup(as_alex, as_tina)
    t = "/t/contoso-ltd"
    for who, shown in ((as_alex, True), (as_carol, False)):
        time_page = (await who.get(f"{t}/time")).text
        assert (f'action="{t}/time/work-types"' in time_page) is shown
        assert (f'action="{t}/time/{ids["to_submit"]}/approve"' in time_page) is shown
        assert (f'action="{t}/time/{ids["draft"]}/delete"' in time_page) is shown
        sla_page = (await who.get(f"{t}/settings/sla")).text
        assert (f'<form method="post" action="{t}/settings/sla"' in sla_page) is shown
        assert ("Save SLA policy" in sla_page) is shown
        assert f'href="{t}/settings/sla"' in (await who.get(f"{t}/tickets")).text  # read link
    invoices = (await as_carol.get(f"{t}/invoices")).text
    assert f'<form method="post" action="{t}/invoices"' not in invoices
    # The POST handlers refuse as the API does, naming the permission.
    for path, data, permission in (
        (f"{t}/time/work-types", {"name": "Cheap", "rate": "1", "currency": "EUR"}, "rates:manage"),
        (f"{t}/settings/sla", {"time_zone": "UTC"}, "sla:manage"),
        (f"{t}/time/{ids['to_submit']}/approve", {}, "time:approve"),
        (f"{t}/time/{ids['draft']}/delete", {}, "time:write"),
    ):
        response = await as_carol.post(path, data=data)
        assert response.status_code == 403, (path, response.text[:500])
        # The time list comes back with the refusal in words; the others name it.
        said = "Tina Tech logged this time for Northwind IT" if "delete" in path else permission
        assert said in response.text, path
    entries = (await as_alex.get(f"{C}/time-entries")).json()["items"]
    assert {e["id"] for e in entries} == {ids["draft"], ids["to_submit"]}


async def _owner_may_do_it_all(c: httpx.AsyncClient, base: str, other_entry: str | None) -> None:
    wt = await c.post(
        f"{base}/work-types", json={"name": "Own rate", "rate_minor": 5000, "currency": "EUR"}
    )
    assert wt.status_code == 201, wt.text
    assert (
        await c.patch(f"{base}/work-types/{wt.json()['id']}", json={"rate_minor": 1})
    ).status_code == 200
    assert (await c.put(f"{base}/sla-policy", json=SLA)).status_code == 200, base
    if other_entry is not None:
        assert (await c.delete(f"{base}/time-entries/{other_entry}")).status_code == 204


async def test_without_an_msp_the_tenant_keeps_every_right(
    world: World,
    database: Database,
    as_alex: httpx.AsyncClient,
    as_tina: httpx.AsyncClient,
    as_carol: httpx.AsyncClient,
) -> None:
    solo = await make_tenant(database, "woodgrove", display_name="Woodgrove")
    await make_user(database, solo, "wanda@woodgrove.example", role="owner")
    async with await signed_in_client(world.app, "wanda@woodgrove.example") as wanda:
        await _owner_may_do_it_all(wanda, "/api/v1/tenants/woodgrove", None)

    ids = await _setup(as_alex, as_tina)
    links = (await as_alex.get("/api/v1/tenants/northwind/links?state=active&limit=200")).json()
    [link] = [x for x in links["items"] if x["customer"]["slug"] == "contoso-ltd"]
    ended = await as_alex.post(f"/api/v1/tenants/northwind/links/{link['id']}/revoke")
    assert ended.status_code == 200, ended.text
    # Northwind's link ended: the former MSP's time is Contoso's to manage now.
    await _owner_may_do_it_all(as_carol, C, ids["draft"])


async def test_ceiling_templates_when_asking_and_approving(
    world: World, database: Database, as_alex: httpx.AsyncClient
) -> None:
    solo = await make_tenant(database, "woodgrove", display_name="Woodgrove")
    await make_user(database, solo, "wanda@woodgrove.example", role="owner")
    links = "/api/v1/tenants/northwind/links"
    templates = (await as_alex.get("/api/v1/tenants/northwind/ceiling-templates")).json()
    assert [t["key"] for t in templates] == list(CEILING_TEMPLATES)
    catalog = (await as_alex.get("/api/v1/tenants/northwind/permissions")).json()
    owners = {p["permission"]: p["owner"] for p in catalog}
    assert {p for p, o in owners.items() if o == "msp"} == {
        "time:approve",
        "invoices:write",
        "rates:manage",
        "sla:manage",
    }

    for body, field in (
        ({"customer": "woodgrove", "template": "everything"}, "template"),
        ({"customer": "woodgrove", "ceiling": ["tickets:read", "customers:create"]}, "ceiling"),
        ({"customer": "woodgrove", "ceiling": ["links:manage"]}, "ceiling"),
        ({"customer": "woodgrove"}, "ceiling"),
    ):
        bad = await as_alex.post(links, json=body)
        assert bad.status_code == 422, bad.text
        assert bad.json()["errors"][0]["field"] == field
    assert (await as_alex.get(f"{links}?state=pending")).json()["items"] == []

    # A role key brings only what means something inside a client.
    asked = await as_alex.post(links, json={"customer": "woodgrove", "template": "helpdesk"})
    assert asked.status_code == 201, asked.text
    assert asked.json()["requested_ceiling"] == sorted(HELPDESK)
    async with await signed_in_client(world.app, "wanda@woodgrove.example") as wanda:
        page = (await wanda.get("/t/woodgrove/msp")).text
        assert "Tickets and contacts" in page and 'value="audit:read" checked' in page
        given = sorted(HELPDESK - {"audit:read"})
        approved = await wanda.post(
            f"/api/v1/tenants/woodgrove/links/{asked.json()['id']}/approve",
            json={"ceiling": given},
        )
        assert approved.status_code == 200, approved.text
        assert approved.json()["ceiling"] == given


async def test_creating_a_customer_uses_a_template_never_the_whole_catalog(
    world: World, as_alex: httpx.AsyncClient
) -> None:
    customers = "/api/v1/tenants/northwind/customers"

    async def ceiling_of(slug: str) -> set[str]:
        items = (await as_alex.get(f"/api/v1/tenants/{slug}/links")).json()["items"]
        return set(items[0]["ceiling"])

    made = await as_alex.post(customers, json={"name": "Adatum"})
    assert made.status_code == 201, made.text
    full = await ceiling_of("adatum")
    assert full == CLIENT_MEANINGFUL
    assert not full & {"customers:read", "customers:create", "links:manage", "billing:manage"}
    assert await ceiling_of("contoso-ltd") == CLIENT_MEANINGFUL  # the seeded world too
    made = await as_alex.post(customers, json={"name": "Litware", "ceiling_template": "helpdesk"})
    assert made.status_code == 201, made.text
    assert await ceiling_of("litware") == HELPDESK
    bad = await as_alex.post(customers, json={"name": "Nope Inc", "ceiling_template": "all"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "ceiling_template"
    assert (await as_alex.get(f"{customers}/nope-inc")).status_code == 404
    # The page offers the choice, full by default.
    page = (await as_alex.get("/msp/customers")).text
    assert 'name="ceiling_template"' in page and 'value="full" selected' in page


async def test_managing_people_is_not_held_back_by_the_msp(
    as_alex: httpx.AsyncClient, as_carol: httpx.AsyncClient
) -> None:
    """Inviting is not escalating, and the MSP's share is nobody's at home: Carol may still
    invite an Admin of Contoso; Northwind's admin may set up Contoso's own admin, whose
    consent rights (links:manage) are Contoso's and never in Northwind's ceiling."""
    by_carol = await as_carol.post(
        f"{C}/invitations", json={"email": "dana@contoso.example", "role": "admin"}
    )
    assert by_carol.status_code == 201, by_carol.text
    by_alex = await as_alex.post(
        f"{C}/invitations", json={"email": "erin@contoso.example", "role": "admin"}
    )
    assert by_alex.status_code == 201, by_alex.text
