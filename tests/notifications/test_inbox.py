"""A person's own notifications: read/unread, mark read, and nobody else's (404)."""

from __future__ import annotations

import re
import uuid

from tests.links.test_pages import Browsers, browsers

from .conftest import World, approved, inbox

__all__ = ["Browsers", "browsers"]


async def test_read_unread_and_mark_all(world: World) -> None:
    link = await approved(world, ceiling=["tickets:read", "tickets:write"])
    await world.post(
        "ian", f"/api/v1/tenants/initech/links/{link}/narrow", {"ceiling": ["tickets:read"]}
    )
    narrowed, approved_notice = await inbox(world, "alex")
    assert [n["read"] for n in (narrowed, approved_notice)] == [False, False]
    done = await world.post("alex", f"/api/v1/me/notifications/{approved_notice['id']}/read")
    assert done.status_code == 200 and done.json()["read"] is True
    assert [n["id"] for n in await inbox(world, "alex", unread="true")] == [narrowed["id"]]
    again = await world.post("alex", f"/api/v1/me/notifications/{approved_notice['id']}/read")
    assert again.json()["read_at"] == done.json()["read_at"]  # the first reading stands
    marked = await world.post("alex", "/api/v1/me/notifications/read-all")
    assert marked.json() == {"marked": 1}
    assert await inbox(world, "alex", unread="true") == []
    page = await world.get("alex", "/api/v1/me/notifications", params={"limit": 1})
    assert len(page.json()["items"]) == 1 and page.json()["next_cursor"]
    rest = await world.get(
        "alex", "/api/v1/me/notifications", params={"cursor": page.json()["next_cursor"]}
    )
    assert [n["id"] for n in rest.json()["items"]] == [approved_notice["id"]]
    bad = await world.get("alex", "/api/v1/me/notifications", params={"cursor": "nonsense"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cursor"


async def test_nobody_reads_or_marks_anothers_notification(world: World) -> None:
    await approved(world)
    [alex_notice] = await inbox(world, "alex")
    for who in ("tina", "ian", "gary"):
        refused = await world.post(who, f"/api/v1/me/notifications/{alex_notice['id']}/read")
        assert refused.status_code == 404, who
        assert alex_notice["id"] not in [n["id"] for n in await inbox(world, who)]
        await world.post(who, "/api/v1/me/notifications/read-all")
    nowhere = await world.post("tina", f"/api/v1/me/notifications/{uuid.uuid4()}/read")
    assert nowhere.status_code == 404 and nowhere.json()["title"] == refused.json()["title"]
    assert (await inbox(world, "alex"))[0]["read"] is False


def _badge(html: str) -> str | None:
    found = re.search(r'class="nav-count" data-unread="(\d+)"', html)
    return found.group(1) if found else None


async def test_the_sidebar_counts_unread_and_the_page_marks_read(
    world: World, browsers: Browsers
) -> None:
    alex = await browsers("alex")
    overview = await alex.get("/t/contoso-ltd/")
    assert overview.status_code == 200 and _badge(overview.text) is None
    link = await approved(world)
    await world.post(
        "ian", f"/api/v1/tenants/initech/links/{link}/narrow", {"ceiling": ["tickets:read"]}
    )
    in_client = await alex.get("/t/contoso-ltd/")
    assert _badge(in_client.text) == "2"  # in a client's page too: the count is his own
    page = await alex.get("/notifications")
    assert page.status_code == 200
    assert "Initech narrowed Northwind IT&#39;s access" in page.text
    assert page.text.count("Mark as read<") == 2 and 'name="csrf_token"' in page.text
    [first, _] = [n["id"] for n in await inbox(world, "alex")]
    done = await alex.follow(await alex.post(f"/notifications/{first}/read", {}))
    assert _badge(done.text) == "1" and "Marked as read." in done.text
    # Another person's id through the page: 404, nothing marked.
    tina = await browsers("tina")
    assert (await tina.post(f"/notifications/{first}/read", {})).status_code == 404
    done = await alex.follow(await alex.post("/notifications/read-all", {}))
    assert _badge(done.text) is None and "1 notification marked as read." in done.text
    # Without the CSRF token the form is refused.
    assert (await alex.post("/notifications/read-all", {}, csrf=False)).status_code == 403
