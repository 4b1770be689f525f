"""``/msp/compliance``: the overview page (rows linking into each client's framework, a
server-drawn sparkline, totals, filters kept in the query string, errors next to their
field) and its place in the sidebar. Both databases."""

from __future__ import annotations

import re

import httpx

from tests.compliance.overview.seed import adopt
from tests.web.conftest import World, delegate


async def test_the_page_lists_rows_with_links_trends_and_totals(
    world: World, as_alex: httpx.AsyncClient
) -> None:
    db = world.app.state.db
    c = world.customers
    contoso = await adopt(
        db, c["contoso-ltd"], "msp-baseline", 4000, recent=[1000, 4000], due=[(-1, "partial")]
    )
    await adopt(db, c["fabrikam-inc"], "msp-baseline", 9000)
    page = await as_alex.get("/msp/compliance")
    assert page.status_code == 200
    html = page.text
    assert f'href="/t/contoso-ltd/compliance/frameworks/{contoso}"' in html
    assert "40.0%" in html and "90.0%" in html
    assert html.index("Contoso Ltd") < html.index("Fabrikam Inc")  # worst first
    assert '<svg class="cov-spark" role="img"' in html and "10.0% to 40.0%" in html
    assert "<script" not in html.split("<main", 1)[-1].split("</main>", 1)[0]
    assert "2 of 3 clients have a compliance programme" in html
    assert "1 with overdue assessments" in html
    assert 'href="/msp/compliance/apply"' in html
    assert 'href="/msp/compliance"' in html  # the sidebar entry
    # Sorted by name, then only the worse than 50%: the filters stay in the query string.
    by_name = await as_alex.get("/msp/compliance", params={"sort": "name", "score_below": "50"})
    assert "Contoso Ltd" in by_name.text and "Fabrikam Inc" not in by_name.text
    assert 'value="50"' in by_name.text
    assert re.search(r'href="/msp/compliance\.csv\?[^"]*score_below=50', by_name.text)


async def test_bad_filters_are_named_next_to_their_field(
    world: World, as_alex: httpx.AsyncClient
) -> None:
    await adopt(world.app.state.db, world.customers["contoso-ltd"], "msp-baseline", 4000)
    page = await as_alex.get("/msp/compliance", params={"score_below": "abc", "sort": "name"})
    assert page.status_code == 200
    assert 'id="flt-below-error"' in page.text and 'aria-invalid="true"' in page.text
    assert "Contoso Ltd" in page.text  # the rest of the page still answers
    bad_group = await as_alex.get("/msp/compliance", params={"client_group": "nope"})
    assert 'id="flt-group-error"' in bad_group.text


async def test_a_technician_sees_their_delegated_clients_only(
    world: World, as_tina: httpx.AsyncClient
) -> None:
    db = world.app.state.db
    await adopt(db, world.customers["contoso-ltd"], "msp-baseline", 4000)
    await adopt(db, world.customers["fabrikam-inc"], "msp-baseline", 9000)
    empty = await as_tina.get("/msp/compliance")
    assert empty.status_code == 200 and "No clients to show" in empty.text
    await delegate(
        db, world.msp, world.users["tina"], world.customers["fabrikam-inc"], "technician"
    )
    page = await as_tina.get("/msp/compliance")
    assert "Fabrikam Inc" in page.text and "Contoso Ltd" not in page.text
