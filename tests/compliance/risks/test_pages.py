"""The risk register's pages: the heat maps (an accessible table whose cells link to
the list of their risks), the filtered list and the overdue reviews, the add form with
errors next to their fields, and a risk's page (edit, links, history, delete)."""

from __future__ import annotations

import html
import re
from typing import Any

from tenantry.compliance.risks.models import Risk, RiskLink
from tests.access.conftest import World

from .rows import measure_in, requirement_in

API = "/api/v1/tenants/contoso-ltd/compliance/risks"
PAGE = "/t/contoso-ltd/compliance/risks"
FORM = {
    "title": "Phishing",
    "category": "people",
    "description": "",
    "likelihood": "4",
    "impact": "4",
    "treatment": "mitigate",
    "treatment_plan": "MFA",
    "owner_name": "Carol",
    "residual_likelihood": "",
    "residual_impact": "",
    "next_review_on": "",
}


async def _risk(world: World, **body: Any) -> dict[str, Any]:
    base = {"title": "Phishing", "likelihood": 4, "impact": 4, "treatment": "mitigate"}
    r = await world.post("alex", API, {**base, **body})
    assert r.status_code == 201, r.text
    made: dict[str, Any] = r.json()
    return made


async def _page(world: World, who: str, path: str, **params: Any) -> str:
    r = await world.get(who, path, params=params)
    assert r.status_code == 200, r.text
    return html.unescape(r.text)


async def test_the_heat_maps_count_open_risks_and_link_each_cell(world: World) -> None:
    await _risk(world, title="Phishing", residual_likelihood=2, residual_impact=2)
    await _risk(world, title="Ransomware", residual_likelihood=1, residual_impact=4)
    await _risk(world, title="Printer jam", likelihood=1, impact=1)
    await _risk(world, title="Closed one", status="closed")
    page = await _page(world, "alex", PAGE)
    assert "Inherent risk: 3 open risks" in page and "Residual risk: 3 open risks" in page
    assert 'aria-label="Likelihood 4, impact 4 (score 16, high): 2 open risks"' in page
    assert 'aria-label="Likelihood 2, impact 2 (score 4, low): 1 open risk"' in page
    assert "view=inherent&likelihood=4&impact=4" in page
    assert "view=residual&likelihood=1&impact=4" in page
    assert "<script" not in page.split("<main", 1)[-1]  # the maps are plain HTML
    assert 'action="/t/contoso-ltd/compliance/risks"' in page  # the add form

    cell = await _page(world, "alex", PAGE, view="inherent", likelihood=4, impact=4)
    assert "Phishing" in cell and "Ransomware" in cell and "Printer jam" not in cell
    residual = await _page(world, "alex", PAGE, view="residual", likelihood=1, impact=4)
    assert "Ransomware" in residual and "Phishing</a>" not in residual
    # A hand-edited filter: named, and the open risks shown.
    odd = await _page(world, "alex", PAGE, level="enormous")
    assert "Filter level must be one of" in odd and "Printer jam" in odd


async def test_overdue_reviews_are_listed(world: World) -> None:
    await _risk(world, title="Old review", next_review_on="2020-01-01")
    await _risk(world, title="Fresh review", next_review_on="2999-01-01")
    page = await _page(world, "alex", PAGE)
    overdue = page.split("Reviews overdue", 1)[1].split("</section>", 1)[0]
    assert "Old review" in overdue and "Fresh review" not in overdue
    listed = await _page(world, "alex", PAGE, overdue="1")
    assert "Old review" in listed and "Fresh review" not in listed


async def test_adding_a_risk_from_the_form(world: World) -> None:
    bad = await world.form("alex", PAGE, {**FORM, "likelihood": "9", "title": "Kept title"})
    assert bad.status_code == 422
    text = html.unescape(bad.text)
    assert "Likelihood must be a whole number from 1 to 5" in text
    assert 'value="Kept title"' in text  # the input is kept
    assert await world.count(Risk) == 0
    no_title = await world.form("alex", PAGE, {**FORM, "title": ""})
    assert no_title.status_code == 422 and "Title must not be empty" in no_title.text

    made = await world.form("alex", PAGE, FORM)
    assert made.status_code == 303, made.text
    assert re.fullmatch(rf"{PAGE}/[0-9a-f-]+", made.headers["location"])
    page = await _page(world, "alex", made.headers["location"])
    assert "high · 16" in page  # inherent, and residual the same (nothing in place yet)
    assert "Created" in page  # the history


async def test_the_risk_page_edits_links_and_deletes(world: World) -> None:
    contoso = world.customers["contoso-ltd"]
    requirement = await requirement_in(world.owner_engine, contoso.id, "MSP-07", "Backups")
    await measure_in(world.owner_engine, contoso.id, "Offsite backup")
    risk = await _risk(world, title="Ransomware")
    path = f"{PAGE}/{risk['id']}"
    page = await _page(world, "alex", path)
    assert "MSP-07 Backups" in page and "Offsite backup" in page  # what may be linked

    edit = {**FORM, "title": "Ransomware", "residual_likelihood": "2", "residual_impact": "2"}
    bad = await world.form("alex", path, {**edit, "status": "done"})
    assert bad.status_code == 422 and "Status must be one of open, closed" in bad.text
    saved = await world.form("alex", path, {**edit, "status": "open"})
    assert saved.status_code == 303, saved.text
    page = await _page(world, "alex", path)
    assert "low · 4" in page and "residual likelihood: 4 → 2" in page

    foreign = await requirement_in(world.owner_engine, world.other_customer.id, "X-1", "Secret")
    refused = await world.form("alex", f"{path}/links", {"target": f"requirement:{foreign}"})
    assert refused.status_code == 422 and "is not a requirement of this tenant" in refused.text
    linked = await world.form("alex", f"{path}/links", {"target": f"requirement:{requirement}"})
    assert linked.status_code == 303, linked.text
    [link] = (await world.get("alex", f"{API}/{risk['id']}")).json()["links"]
    unlinked = await world.form("alex", f"{path}/links/{link['id']}/delete", {})
    assert unlinked.status_code == 303 and await world.count(RiskLink) == 0

    kept = await world.form("alex", f"{path}/delete", {})
    assert kept.status_code == 422 and await world.count(Risk) == 1
    gone = await world.form("alex", f"{path}/delete", {"confirm": "yes"})
    assert gone.status_code == 303 and await world.count(Risk) == 0


async def test_read_only_sees_the_register_but_no_form(world: World) -> None:
    await world.grant(
        "alex",
        "northwind",
        user=str(world.users["sam"].id),
        role="read_only",
        scope="customer",
        customer="contoso-ltd",
    )
    risk = await _risk(world)
    page = await _page(world, "sam", PAGE)
    assert "Phishing" in page and "Add a risk" not in page
    detail = await _page(world, "sam", f"{PAGE}/{risk['id']}")
    assert "Delete this risk" not in detail and 'name="title"' not in detail
    refused = await world.form("sam", PAGE, FORM)
    assert refused.status_code == 403 and await world.count(Risk) == 1
    refused = await world.form("sam", f"{PAGE}/{risk['id']}/delete", {"confirm": "yes"})
    assert refused.status_code == 403 and await world.count(Risk) == 1
    # Carol, Contoso's own admin, may write here.
    by_carol = await world.call("carol", "POST", PAGE, data=FORM)
    assert by_carol.status_code == 303, by_carol.text
    assert (await world.get("gary", PAGE)).status_code == 404
