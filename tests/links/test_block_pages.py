"""The customer's Your MSP page (issue #14): who can act now with Block / Unblock, the
approval screen listing who would gain access (and who had it before), the MSP's link
page listing the client's blocks, and the trail page's filter on one person."""

from __future__ import annotations

from tests.links.conftest import World, approved
from tests.links.test_pages import Browsers, browsers, text_of

__all__ = ["browsers"]  # the fixture, shared with test_pages


async def test_the_client_blocks_and_unblocks_from_who_can_act_now(
    world: World, browsers: Browsers
) -> None:
    link_id = await approved(world)
    tina = world.users["tina"]
    ian = await browsers("ian")
    page = await ian.get("/t/initech/msp")
    assert page.status_code == 200, page.text[:2000]
    html = text_of(page.text)
    assert "Who from Northwind IT can act here now" in html
    assert "Tina Tech" in html and "a delegation to this client" in html
    assert "Alex Admin" in html and "MSP admin (implicit)" in html
    assert f'href="/t/initech/audit?actor={tina.id}"' in page.text
    assert f'value="user:{tina.id}"' in page.text
    assert 'name="csrf_token"' in page.text

    done = await ian.post(f"/t/initech/msp/{link_id}/blocks", {"who": f"user:{tina.id}"})
    after = await ian.follow(done)
    assert "Blocked: they can no longer work here" in text_of(after.text)
    # The link's history says it in words.
    assert "Blocked someone" in text_of(after.text)
    assert "Tina Tech can no longer act here" in text_of(after.text)
    assert "Unblock Tina Tech" in after.text

    # Tina's next click: a 404 page saying who blocked her and when.
    tina_browser = await browsers("tina")
    refused = await tina_browser.get("/t/initech/tickets")
    assert refused.status_code == 404
    assert "Initech blocked your access on" in text_of(refused.text)
    assert "(Ian Initech)" in text_of(refused.text)

    # The MSP sees the block on the link's page.
    alex = await browsers("alex")
    msp_page = text_of((await alex.get(f"/msp/links/{link_id}")).text)
    assert "Blocked by Initech" in msp_page and "Tina Tech" in msp_page

    [block] = (await world.get("ian", f"/api/v1/tenants/initech/links/{link_id}/blocks")).json()[
        "items"
    ]
    lifted = await ian.post(f"/t/initech/msp/{link_id}/blocks/{block['id']}/delete", {})
    assert "Unblocked" in text_of((await ian.follow(lifted)).text)
    assert (await tina_browser.get("/t/initech/tickets")).status_code == 200


async def test_a_bad_choice_comes_back_with_an_error(world: World, browsers: Browsers) -> None:
    link_id = await approved(world)
    ian = await browsers("ian")
    bad = await ian.post(f"/t/initech/msp/{link_id}/blocks", {"who": "user:nobody"})
    assert bad.status_code == 422
    assert "is not a person or group of this list" in text_of(bad.text)
    gary = await ian.post(
        f"/t/initech/msp/{link_id}/blocks", {"who": f"user:{world.users['gary'].id}"}
    )
    assert gary.status_code == 422
    assert "is not one of your MSP's people" in text_of(gary.text)


async def test_the_approval_screen_lists_who_had_access_and_blocks_on_approval(
    world: World, browsers: Browsers
) -> None:
    first = await approved(world)
    await world.post("ian", f"/api/v1/tenants/initech/links/{first}/revoke")
    second = (await world.ask()).json()["id"]
    ian = await browsers("ian")
    page = await ian.get("/t/initech/msp")
    html = text_of(page.text)
    assert "Who from Northwind IT would gain access" in html
    assert "Had access under the earlier link" in html
    tina = world.users["tina"]
    assert f'name="block" value="user:{tina.id}"' in page.text

    done = await ian.post(
        f"/t/initech/msp/{second}/approve",
        {"ceiling": ["tenant:read", "tickets:read"], "block": [f"user:{tina.id}"]},
    )
    await ian.follow(done)
    assert (await world.get("tina", "/api/v1/tenants/initech")).status_code == 404
    assert (await world.get("alex", "/api/v1/tenants/initech")).status_code == 200


async def test_the_trail_page_keeps_one_persons_events(world: World, browsers: Browsers) -> None:
    link_id = await approved(world)
    await world.post(
        "ian",
        f"/api/v1/tenants/initech/links/{link_id}/blocks",
        {"user_id": str(world.users["tina"].id)},
    )
    ian = await browsers("ian")
    mine = (await ian.get(f"/t/initech/audit?actor={world.users['ian'].id}")).text
    assert "Only the events of Ian Initech" in text_of(mine)
    assert "link.<wbr>blocked" in mine and "link.<wbr>requested" not in mine
    alexs = (await ian.get(f"/t/initech/audit?actor={world.users['alex'].id}")).text
    assert "link.<wbr>blocked" not in alexs and "link.<wbr>requested" in alexs
    bad = await ian.get("/t/initech/audit?actor=nobody")
    assert bad.status_code == 422
