"""The policy pages as a browser uses them: forms with the CSRF token, buttons shown only
to who may press them, and Copy to client from a template's page."""

from __future__ import annotations

import re

import httpx

from tenantry.compliance.policies.models import Policy
from tests.access.conftest import EMAILS, World
from tests.factories import signed_in_client
from tests.web.conftest import form_client

PAGES = "/t/contoso-ltd/compliance/policies"


def policy_id_of(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text
    found = re.search(r"/policies/([0-9a-f-]{36})", response.headers["location"])
    assert found, response.headers["location"]
    return found.group(1)


async def test_a_policy_is_written_approved_published_and_acknowledged_through_the_pages(
    world: World,
) -> None:
    made = await world.form("carol", PAGES, {"title": "Backups", "owner_name": "Carol"})
    policy = policy_id_of(made)
    editor = await world.get("carol", f"{PAGES}/{policy}/edit")
    assert editor.status_code == 200 and 'name="body_markdown"' in editor.text
    saved = await world.form(
        "carol",
        f"{PAGES}/{policy}/edit",
        {"title": "Backups", "body_markdown": "# Backups\n\nTest restores monthly."},
    )
    assert saved.status_code == 303, saved.text
    # A bad date is shown next to its field and nothing is saved, the text neither.
    bad = await world.form(
        "carol",
        f"{PAGES}/{policy}/edit",
        {"title": "Backups", "review_on": "soon", "body_markdown": "lost"},
    )
    assert bad.status_code == 422 and "is not a date" in bad.text
    # Tina (Technician) writes but does not approve: no approve button for her.
    tina_view = await world.get("tina", f"{PAGES}/{policy}")
    assert "Test restores monthly" in tina_view.text and "/approve" not in tina_view.text
    page = await world.get("carol", f"{PAGES}/{policy}")
    [approve] = re.findall(r'action="([^"]+/approve)"', page.text)
    assert (await world.form("carol", approve, {})).status_code == 303
    page = await world.get("carol", f"{PAGES}/{policy}")
    [publish] = re.findall(r'action="([^"]+/publish)"', page.text)
    assert (await world.form("carol", publish, {})).status_code == 303

    # Dan (tenant:read only) reads it in the list and acknowledges it.
    assert "Backups" in (await world.get("dan", PAGES)).text
    dan_view = await world.get("dan", f"{PAGES}/{policy}")
    assert "I have read and accept version 1" in dan_view.text
    assert "Not yet" not in dan_view.text  # the lists are for compliance readers
    done = await world.form("dan", f"{PAGES}/{policy}/acknowledge", {})
    assert done.status_code == 303
    assert "You acknowledged version 1" in (await world.get("dan", f"{PAGES}/{policy}")).text
    carol_view = (await world.get("carol", f"{PAGES}/{policy}")).text
    acknowledged = carol_view[carol_view.index("Acknowledged (") : carol_view.index("Not yet (")]
    assert "Dan" in acknowledged and "Carol" not in acknowledged
    # Tina sees who has, but is told she acts for the MSP: no button.
    tina_view = await world.get("tina", f"{PAGES}/{policy}")
    assert "you act here for its MSP" in tina_view.text
    assert "I have read and accept" not in tina_view.text


async def test_copy_to_client_from_the_template_page_needs_the_forms_token(
    world: World,
) -> None:
    async with await signed_in_client(world.app, EMAILS["alex"]) as alex:
        token = form_client(alex)
        base = "/t/northwind/compliance/policy-templates"
        made = await alex.post(
            base, data={"title": "Remote work", "body_markdown": "VPN only.", "csrf_token": token}
        )
        assert made.status_code == 303, made.text
        template = made.headers["location"].rsplit("/", 1)[-1]
        page = await alex.get(f"{base}/{template}")
        assert "Copy to client" in page.text
        forged = await alex.post(f"{base}/{template}/copy", data={"client": "contoso-ltd"})
        assert forged.status_code == 403
        assert await world.count(Policy) == 0
        unknown = await alex.post(
            f"{base}/{template}/copy", data={"client": "nowhere", "csrf_token": token}
        )
        assert unknown.status_code == 404 and "No such tenant" in unknown.text
        copied = await alex.post(
            f"{base}/{template}/copy", data={"client": "contoso-ltd", "csrf_token": token}
        )
        assert copied.status_code == 303, copied.text
        assert copied.headers["location"].startswith("/t/contoso-ltd/compliance/policies/")
        assert await world.count(Policy) == 1
