"""The library pages: the list, a framework's tree, the author form and the import form
with its per-line errors (nothing imported), as a client's admin and as the MSP."""

from __future__ import annotations

from pathlib import Path

from tenantry.compliance.library.models import AuthoredFramework
from tests.access.conftest import World

HERE = Path(__file__).parent
LIB = "/t/contoso-ltd/compliance/library"


async def test_the_library_and_a_framework_tree(world: World) -> None:
    page = await world.get("carol", LIB)
    assert page.status_code == 200, page.text
    assert "NIST Cybersecurity Framework 2.0" in page.text and "MSP security baseline" in page.text
    tree = await world.get("carol", f"{LIB}/nist-csf@2.0")
    assert tree.status_code == 200
    assert "GV.OC-01" in tree.text and "Organizational Context" in tree.text
    assert (await world.get("carol", f"{LIB}/nope@1")).status_code == 404
    # Another MSP's admin cannot open Contoso's library at all.
    assert (await world.get("gary", LIB)).status_code == 404


async def test_author_then_add_a_requirement(world: World) -> None:
    bad = await world.form("carol", f"{LIB}/new", {"key": "Bad key", "title": "X", "version": "1"})
    assert bad.status_code == 422 and "lowercase letters" in bad.text
    assert await world.count(AuthoredFramework) == 0
    made = await world.form(
        "carol", f"{LIB}/new", {"key": "contoso", "title": "Contoso rules", "version": "1"}
    )
    assert made.status_code == 303, made.text
    url = made.headers["location"]
    added = await world.form(
        "carol", f"{url}/requirements", {"ref": "C-01", "title": "Lock screens"}
    )
    assert added.status_code == 303, added.text
    page = await world.get("carol", url)
    assert (
        "C-01" in page.text
        and "Lock screens" in page.text
        and "Share with all clients" not in page.text
    )


async def test_a_bad_import_lists_each_line_and_imports_nothing(world: World) -> None:
    response = await world.call(
        "carol",
        "POST",
        f"{LIB}/import",
        files={"file": ("bad.csv", (HERE / "bad.csv").read_bytes(), "text/csv")},
        data={"format": "csv", "key": "bad", "title": "Bad"},
    )
    assert response.status_code == 422
    assert "Nothing was imported" in response.text
    assert "line 3:" in response.text and "line 4:" in response.text and "line 5:" in response.text
    assert await world.count(AuthoredFramework) == 0
    good = await world.call(
        "carol",
        "POST",
        f"{LIB}/import",
        files={"file": ("catalog.json", (HERE / "catalog.json").read_bytes(), "application/json")},
        data={"format": "oscal"},
    )
    assert good.status_code == 303, good.text
    assert await world.count(AuthoredFramework) == 1


async def test_the_msp_moves_and_shares_from_the_page(world: World) -> None:
    base = "/t/northwind/compliance/library"
    made = await world.form("alex", f"{base}/new", {"key": "nw", "title": "NW", "version": "1"})
    url = made.headers["location"]
    for ref in ("A-1", "A-2"):
        assert (
            await world.form("alex", f"{url}/requirements", {"ref": ref, "title": ref})
        ).status_code == 303
    fid = url.rsplit("/", 1)[-1]
    detail = (await world.get("alex", f"/api/v1/tenants/northwind/compliance/library/{fid}")).json()
    assert [r["ref"] for r in detail["requirements"]] == ["A-1", "A-2"]
    page = await world.get("alex", url)
    assert "Share with all clients" in page.text and "Move A-2 up" in page.text
    # An empty PATCH changes nothing and answers the framework (the requirement's id).
    fw_rows = await world.call(
        "alex",
        "PATCH",
        f"/api/v1/tenants/northwind/compliance/frameworks/{fid}/requirements/A-2",
        json={},
    )
    req_id = next(r["id"] for r in fw_rows.json()["requirements"] if r["ref"] == "A-2")
    moved = await world.form("alex", f"{url}/requirements/{req_id}/move", {"position": "0"})
    assert moved.status_code == 303
    detail = (await world.get("alex", f"/api/v1/tenants/northwind/compliance/library/{fid}")).json()
    assert [r["ref"] for r in detail["requirements"]] == ["A-2", "A-1"]
    assert (await world.form("alex", f"{url}/share", {"shared": "on"})).status_code == 303
    assert "NW" in (await world.get("carol", f"{LIB}/{fid}")).text
    listed = await world.get("carol", "/api/v1/tenants/contoso-ltd/compliance/library")
    assert any(i["ref"] == fid and i["origin"] == "msp" for i in listed.json())
