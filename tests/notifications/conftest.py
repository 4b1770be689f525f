"""The links tests' instance (tests/links/conftest.py): Northwind IT (Alex admin, Tina
technician, Bob 1st Level Support), Globex (Gary), Initech (Ian owner, Ivy read-only),
Umbrella (Uma), Contoso (created by Northwind)."""

from __future__ import annotations

from typing import Any

from tests.links.conftest import World, app, approved, world

__all__ = ["World", "app", "approved", "inbox", "world"]

EVERYONE = ("alex", "tina", "bob", "gary", "ian", "ivy", "uma")


async def inbox(world: World, who: str, **params: Any) -> list[dict[str, Any]]:
    response = await world.get(who, "/api/v1/me/notifications", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def told(world: World) -> dict[str, list[str]]:
    """Each person's notification titles, newest first (only those with any)."""
    titles = {who: [n["title"] for n in await inbox(world, who)] for who in EVERYONE}
    return {who: t for who, t in titles.items() if t}
