"""Imports: an OSCAL catalog and a CSV written for these tests. A good file becomes an
authored framework; a bad one is refused whole, with errors naming the JSON path or the
line, and nothing is written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tenantry.compliance.library import importing
from tenantry.compliance.library.models import AuthoredFramework, AuthoredRequirement
from tenantry.errors import ValidationFailed
from tests.access.conftest import World

HERE = Path(__file__).parent
NW = "/api/v1/tenants/northwind/compliance/frameworks/import"


async def _upload(
    world: World, kind: str, name: str, data: bytes | None = None, **form: str
) -> Any:
    content = data if data is not None else (HERE / name).read_bytes()
    return await world.call(
        "alex", "POST", f"{NW}/{kind}", files={"file": (name, content)}, data=form
    )


async def _nothing_written(world: World) -> None:
    assert await world.count(AuthoredFramework) == 0
    assert await world.count(AuthoredRequirement) == 0
    assert "compliance.authored_framework.imported" not in await world.actions(world.msp)


async def test_an_oscal_catalog_becomes_a_framework(world: World) -> None:
    response = await _upload(world, "oscal", "catalog.json")
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["key"], body["version"], body["title"], body["source"]) == (
        "acme-small-catalog",
        "1.2",
        "Acme Small Catalog",
        "oscal",
    )
    rows = {r["ref"]: r for r in body["requirements"]}
    assert [r["ref"] for r in body["requirements"]] == [
        "ac",
        "AC-1",
        "AC-1(1)",
        "ac-2",
        "ir",
        "ir-1",
    ]
    assert rows["ac"]["assessable"] is False and rows["ac"]["title"] == "Access Control"
    assert rows["AC-1"]["parent_ref"] == "ac"
    assert rows["AC-1(1)"]["parent_ref"] == "AC-1"
    assert rows["AC-1"]["description"] == (
        "Develop an access control policy and disseminate it to "
        "[organization-defined personnel].\na. Review it every year."
    )
    assert "compliance.authored_framework.imported" in await world.actions(world.msp)
    # The same catalog twice: the key and version are taken.
    again = await _upload(world, "oscal", "catalog.json")
    assert again.status_code == 422 and again.json()["errors"][0]["field"] == "key"


async def test_a_bad_oscal_catalog_names_the_path_and_imports_nothing(world: World) -> None:
    response = await _upload(world, "oscal", "bad_catalog.json")
    assert response.status_code == 422, response.text
    paths = [e["path"] for e in response.json()["errors"]]
    assert paths == ["catalog.groups[0].controls[3].id"]
    await _nothing_written(world)

    broken = await _upload(world, "oscal", "x.json", b'{"catalog": {\n  "uuid": }')
    assert broken.status_code == 422
    assert broken.json()["errors"][0]["line"] == 2
    not_a_catalog = await _upload(world, "oscal", "x.json", b'{"profile": {}}')
    assert not_a_catalog.json()["errors"][0]["path"] == "catalog"
    empty = await _upload(world, "oscal", "x.json", b"")
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "file"
    await _nothing_written(world)


async def test_a_csv_becomes_a_framework_with_its_groups(world: World) -> None:
    response = await _upload(
        world, "csv", "good.csv", key="acme-csv", title="Acme from CSV", version="3"
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["key"], body["version"], body["source"]) == ("acme-csv", "3", "csv")
    assert [(r["ref"], r["parent_ref"], r["assessable"]) for r in body["requirements"]] == [
        ("ACME-00", None, True),
        ("GROUP-01", None, False),
        ("ACME-01", "GROUP-01", True),
        ("ACME-02", "GROUP-01", True),
        ("GROUP-02", None, False),
        ("ACME-03", "GROUP-02", True),
    ]
    assert body["requirements"][1]["title"] == "Identity"
    assert body["requirements"][5]["description"] == "Daily backups, restore tested quarterly."


async def test_a_bad_csv_names_each_line_and_imports_nothing(world: World) -> None:
    response = await _upload(world, "csv", "bad.csv", key="bad", title="Bad")
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert [e["line"] for e in errors] == [3, 4, 5]
    assert "title" in errors[0]["message"] and "id" in errors[1]["message"]
    assert "already used on line 2" in errors[2]["message"]
    no_key = await _upload(world, "csv", "good.csv", key="", title="T")
    assert no_key.status_code == 422 and no_key.json()["errors"][0]["field"] == "key"
    header = await _upload(world, "csv", "h.csv", b"ref,name\nA,B\n", key="k", title="T")
    assert header.json()["errors"][0]["line"] == 1
    await _nothing_written(world)


def test_a_file_over_the_limit_is_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        importing.parse_csv(
            b"id,title\n" + b"A,B\n" * 600, key="k", title="T", version="1", max_bytes=1024
        )
    assert caught.value.field == "file"
