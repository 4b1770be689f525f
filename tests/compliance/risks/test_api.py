"""The risk register's API: create, read, change, delete; every bad field named with
nothing changed; scores, levels and the heat map; links only inside the tenant; who may
read and who may write."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from tenantry.audit.models import AuditEvent
from tenantry.compliance.risks.models import Risk, RiskChange, RiskLink
from tenantry.db.base import utcnow
from tests.access.conftest import World, problem_field

from .rows import measure_in, requirement_in

RISKS = "/api/v1/tenants/contoso-ltd/compliance/risks"
PHISHING: dict[str, Any] = {
    "title": "Phishing leads to a stolen mailbox",
    "category": "people",
    "likelihood": 4,
    "impact": 4,
    "treatment": "mitigate",
    "treatment_plan": "MFA for everyone, awareness training",
    "owner_name": "Carol",
}


async def _risk(world: World, who: str = "alex", **body: Any) -> dict[str, Any]:
    r = await world.post(who, RISKS, {**PHISHING, **body})
    assert r.status_code == 201, r.text
    made: dict[str, Any] = r.json()
    return made


async def _count(world: World, model: Any) -> int:
    return await world.count(model)


async def _events(world: World) -> int:
    async with world.owner_engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(AuditEvent)) or 0)


async def test_a_risk_is_scored_before_and_after_treatment(world: World) -> None:
    made = await _risk(world, residual_likelihood=2, residual_impact=3)
    assert (made["score"], made["level"]) == (16, "high")
    assert (made["residual_score"], made["residual_level"]) == (6, "medium")
    assert made["status"] == "open" and made["review_overdue"] is False

    plain = await _risk(world, title="Laptop stolen", likelihood=5, impact=4)
    # Nothing in place yet: the residual ratings are the inherent ones.
    assert (plain["residual_likelihood"], plain["residual_impact"]) == (5, 4)
    assert (plain["score"], plain["level"], plain["residual_level"]) == (20, "critical", "critical")

    got = await world.get("alex", f"{RISKS}/{made['id']}")
    assert got.status_code == 200
    assert got.json()["title"] == PHISHING["title"] and got.json()["links"] == []
    listed = (await world.get("alex", RISKS)).json()["items"]
    assert [r["title"] for r in listed] == ["Laptop stolen", PHISHING["title"]]
    actions = await world.actions(world.customers["contoso-ltd"])
    assert actions[-2:] == ["compliance.risk.created", "compliance.risk.created"]


BAD_BODIES = [
    ({"likelihood": 0}, "likelihood"),
    ({"likelihood": 6}, "likelihood"),
    ({"impact": 9}, "impact"),
    ({"residual_likelihood": 0}, "residual_likelihood"),
    ({"residual_impact": 7}, "residual_impact"),
    ({"treatment": "ignore"}, "treatment"),
    ({"status": "pending"}, "status"),
    ({"title": "   "}, "title"),
    ({"title": "x" * 201}, "title"),
    ({"category": "c" * 101}, "category"),
    ({"next_review_on": "soon"}, "next_review_on"),
    ({"likelihood": "high"}, "likelihood"),
    ({"owner_user_id": "nobody"}, "owner_user_id"),
]


async def test_a_bad_field_is_named_and_nothing_is_stored(world: World) -> None:
    events = await _events(world)
    for bad, field in BAD_BODIES:
        r = await world.post("alex", RISKS, {**PHISHING, **bad})
        assert r.status_code == 422, r.text
        assert problem_field(r) == field, (bad, r.text)
    assert await _count(world, Risk) == 0
    assert await _events(world) == events


async def test_a_bad_change_is_named_and_changes_nothing(world: World) -> None:
    made = await _risk(world)
    events = await _events(world)
    for bad, field in BAD_BODIES:
        r = await world.call("alex", "PATCH", f"{RISKS}/{made['id']}", json=bad)
        assert r.status_code == 422, r.text
        assert problem_field(r) == field, (bad, r.text)
    after = (await world.get("alex", f"{RISKS}/{made['id']}")).json()
    assert {k: after[k] for k in PHISHING} == PHISHING
    assert await _events(world) == events
    assert await _count(world, RiskChange) == 1  # its creation only


async def test_a_change_is_kept_in_the_history_and_the_trail(world: World) -> None:
    made = await _risk(world)
    r = await world.call(
        "alex",
        "PATCH",
        f"{RISKS}/{made['id']}",
        json={"residual_likelihood": 1, "status": "closed", "title": PHISHING["title"]},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["residual_score"], r.json()["residual_level"]) == (4, "low")
    history = (await world.get("alex", f"{RISKS}/{made['id']}/history")).json()
    assert [h["action"] for h in history] == ["updated", "created"]
    # Only what changed (the title was sent as it was).
    assert history[0]["changes"] == {"residual_likelihood": [4, 1], "status": ["open", "closed"]}
    assert history[0]["actor_name"].startswith("Alex")
    assert (await world.actions(world.customers["contoso-ltd"]))[-1] == "compliance.risk.updated"


async def test_the_heat_map_counts_open_risks_per_cell(world: World) -> None:
    await _risk(world, likelihood=4, impact=4, residual_likelihood=2, residual_impact=2)
    await _risk(world, likelihood=4, impact=4, residual_likelihood=1, residual_impact=2)
    await _risk(world, likelihood=1, impact=5)
    await _risk(world, likelihood=4, impact=4, status="closed")
    # Another client's risk is not counted here.
    await world.post("alex", "/api/v1/tenants/fabrikam-inc/compliance/risks", PHISHING)

    inherent = (await world.get("alex", f"{RISKS}/heatmap")).json()
    assert inherent["view"] == "inherent" and inherent["open_risks"] == 3
    assert len(inherent["cells"]) == 25
    counts = {(c["likelihood"], c["impact"]): c["count"] for c in inherent["cells"]}
    assert counts[(4, 4)] == 2 and counts[(1, 5)] == 1
    assert sum(counts.values()) == 3
    # The first cell is the top-left of the drawn grid: likelihood 5, impact 1.
    first = inherent["cells"][0]
    assert (first["likelihood"], first["impact"], first["level"]) == (5, 1, "medium")

    residual = (await world.get("alex", f"{RISKS}/heatmap", params={"view": "residual"})).json()
    counts = {(c["likelihood"], c["impact"]): c["count"] for c in residual["cells"]}
    assert (counts[(2, 2)], counts[(1, 2)], counts[(1, 5)], counts[(4, 4)]) == (1, 1, 1, 0)
    bad = await world.get("alex", f"{RISKS}/heatmap", params={"view": "sideways"})
    assert bad.status_code == 422 and problem_field(bad) == "view"


async def test_the_list_filters_and_pages(world: World) -> None:
    past = (utcnow().date() - timedelta(days=3)).isoformat()
    future = (utcnow().date() + timedelta(days=30)).isoformat()
    critical = await _risk(world, title="Ransomware", likelihood=5, impact=5, next_review_on=past)
    high = await _risk(world, title="Phishing", treatment="transfer", next_review_on=future)
    low = await _risk(world, title="Printer", likelihood=1, impact=2, treatment="accept")
    closed = await _risk(world, title="Old", status="closed", next_review_on=past)

    async def titles(**params: Any) -> list[str]:
        r = await world.get("alex", RISKS, params=params)
        assert r.status_code == 200, r.text
        return [i["title"] for i in r.json()["items"]]

    assert await titles() == ["Ransomware", "Phishing", "Old", "Printer"]
    assert await titles(status="open") == ["Ransomware", "Phishing", "Printer"]
    assert await titles(level="critical") == ["Ransomware"]
    assert await titles(level="low") == ["Printer"]
    assert await titles(treatment="transfer") == ["Phishing"]
    assert await titles(overdue="true") == ["Ransomware"]
    assert await titles(likelihood=1, impact=2) == ["Printer"]
    residual = {"residual_likelihood": 2, "residual_impact": 2}
    await world.call("alex", "PATCH", f"{RISKS}/{critical['id']}", json=residual)
    assert await titles(view="residual", level="low") == ["Ransomware", "Printer"]
    first = (await world.get("alex", RISKS, params={"limit": 2})).json()
    rest = await world.get("alex", RISKS, params={"limit": 2, "cursor": first["next_cursor"]})
    assert [i["id"] for i in first["items"] + rest.json()["items"]] == [
        critical["id"],
        high["id"],
        closed["id"],
        low["id"],
    ]
    assert rest.json()["next_cursor"] is None
    for name, value in (("level", "huge"), ("treatment", "pray"), ("status", "x"), ("cursor", "!")):
        r = await world.get("alex", RISKS, params={name: value})
        assert r.status_code == 422 and problem_field(r) == name, (name, r.text)


async def test_links_stay_inside_the_tenant(world: World) -> None:
    contoso = world.customers["contoso-ltd"]
    mine = await requirement_in(world.owner_engine, contoso.id)
    measure = await measure_in(world.owner_engine, contoso.id)
    theirs = await requirement_in(world.owner_engine, world.customers["fabrikam-inc"].id)
    foreign_measure = await measure_in(world.owner_engine, world.other_customer.id)
    made = await _risk(world)
    links = f"{RISKS}/{made['id']}/links"

    events = await _events(world)
    for body, field in (
        ({"requirement_id": str(theirs)}, "requirement_id"),
        ({"measure_id": str(foreign_measure)}, "measure_id"),
        ({}, "requirement_id"),
        ({"requirement_id": str(mine), "measure_id": str(measure)}, "requirement_id"),
    ):
        r = await world.post("alex", links, body)
        assert r.status_code == 422, r.text
        assert problem_field(r) == field
    assert await _count(world, RiskLink) == 0 and await _events(world) == events

    linked = await world.post("alex", links, {"requirement_id": str(mine)})
    assert linked.status_code == 201, linked.text
    assert (linked.json()["kind"], linked.json()["ref"]) == ("requirement", "MSP-01")
    again = await world.post("alex", links, {"requirement_id": str(mine)})
    assert again.status_code == 422 and problem_field(again) == "requirement_id"
    by_measure = await world.post("alex", links, {"measure_id": str(measure)})
    assert by_measure.status_code == 201, by_measure.text
    shown = (await world.get("alex", f"{RISKS}/{made['id']}")).json()["links"]
    assert [(x["kind"], x["title"]) for x in shown] == [
        ("requirement", "MFA"),
        ("measure", "MFA enforced"),
    ]

    gone = await world.call("alex", "DELETE", f"{links}/{linked.json()['id']}")
    assert gone.status_code == 204
    assert await _count(world, RiskLink) == 1
    history = (await world.get("alex", f"{RISKS}/{made['id']}/history")).json()
    assert [h["action"] for h in history] == ["unlinked", "linked", "linked", "created"]
    assert history[0]["changes"]["requirement"] == ["MSP-01 MFA", None]


async def test_deleting_a_risk_takes_its_links_and_history(world: World) -> None:
    contoso = world.customers["contoso-ltd"]
    requirement = await requirement_in(world.owner_engine, contoso.id)
    made = await _risk(world)
    await world.post("alex", f"{RISKS}/{made['id']}/links", {"requirement_id": str(requirement)})
    r = await world.call("alex", "DELETE", f"{RISKS}/{made['id']}")
    assert r.status_code == 204, r.text
    assert (await world.get("alex", f"{RISKS}/{made['id']}")).status_code == 404
    assert [await _count(world, m) for m in (Risk, RiskLink, RiskChange)] == [0, 0, 0]
    assert (await world.actions(contoso))[-1] == "compliance.risk.deleted"


async def test_the_clients_admin_and_a_delegated_technician_may_write(world: World) -> None:
    await world.grant(
        "alex",
        "northwind",
        user=str(world.users["tina"].id),
        role="technician",
        scope="customer",
        customer="contoso-ltd",
    )
    by_carol = await _risk(world, "carol", title="Carol's risk")
    by_tina = await _risk(world, "tina", title="Tina's risk")
    for who, made in (("carol", by_tina), ("tina", by_carol)):
        r = await world.call(who, "PATCH", f"{RISKS}/{made['id']}", json={"impact": 2})
        assert r.status_code == 200, r.text


async def test_reading_only_is_refused_writing_and_other_msps_see_nothing(world: World) -> None:
    await world.grant(
        "alex",
        "northwind",
        user=str(world.users["sam"].id),
        role="read_only",
        scope="customer",
        customer="contoso-ltd",
    )
    made = await _risk(world)
    events = await _events(world)
    assert (await world.get("sam", RISKS)).status_code == 200
    assert (await world.get("sam", f"{RISKS}/heatmap")).status_code == 200
    refused = [
        await world.post("sam", RISKS, PHISHING),
        await world.call("sam", "PATCH", f"{RISKS}/{made['id']}", json={"impact": 1}),
        await world.call("sam", "DELETE", f"{RISKS}/{made['id']}"),
        await world.post("sam", f"{RISKS}/{made['id']}/links", {"measure_id": str(made["id"])}),
    ]
    for r in refused:
        assert r.status_code == 403, r.text
        assert r.json()["permission"] == "compliance:write"
    # Tina has no delegation in Contoso; Gary belongs to another MSP: neither sees it.
    for who in ("tina", "gary"):
        assert (await world.get(who, RISKS)).status_code == 404
        r = await world.call(who, "PATCH", f"{RISKS}/{made['id']}", json={"impact": 1})
        assert r.status_code == 404
    assert await _count(world, Risk) == 1 and await _events(world) == events
    assert (await world.get("alex", f"{RISKS}/{made['id']}")).json()["impact"] == 4


async def test_an_owner_with_a_login_must_see_the_programme(world: World) -> None:
    carol = await _risk(world, owner_user_id=str(world.users["carol"].id), owner_name="typed")
    assert carol["owner_name"] == "Carol"
    for who in ("gary", "tina"):
        r = await world.post("alex", RISKS, {**PHISHING, "owner_user_id": str(world.users[who].id)})
        assert r.status_code == 422 and problem_field(r) == "owner_user_id", r.text
    # Typing another name makes the owner that name, no longer Carol's login.
    r = await world.call("alex", "PATCH", f"{RISKS}/{carol['id']}", json={"owner_name": "The CFO"})
    assert (r.json()["owner_name"], r.json()["owner_user_id"]) == ("The CFO", None)
