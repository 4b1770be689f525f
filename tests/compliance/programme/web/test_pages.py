"""The programme's pages: adopt from the home page, assess inline and on the detail page
(errors next to the field, input kept), measures, the report with its SVG trend, and the
MSP's apply form with a result per client."""

from __future__ import annotations

import re

import httpx

from tests.web.conftest import form_client

HOME = "/t/contoso-ltd/compliance"


def _first(pattern: str, text: str) -> str:
    found = re.search(pattern, text)
    assert found, pattern
    return found.group(1)


async def test_adopt_assess_and_report(as_alex: httpx.AsyncClient) -> None:
    token = form_client(as_alex)
    empty = await as_alex.get(HOME)
    assert empty.status_code == 200 and "No framework adopted yet" in empty.text
    bad = await as_alex.post(f"{HOME}/adopted", data={"framework": "nope@1", "csrf_token": token})
    assert bad.status_code == 422 and "Framework is not a framework you may adopt" in bad.text
    # The list offers what the library has; the refused choice is not kept as if it were.
    assert 'value="msp-baseline@1"' in bad.text and 'value="nope@1"' not in bad.text
    made = await as_alex.post(
        f"{HOME}/adopted", data={"framework": "msp-baseline@1", "csrf_token": token}
    )
    assert made.status_code == 303
    page = await as_alex.get(made.headers["location"])
    assert page.status_code == 200 and "<svg" in page.text and "<title" in page.text
    assessment = _first(r"/compliance/assessments/([0-9a-f-]{36})", page.text)

    # Inline: not applicable without a reason is refused on the detail page, kept input.
    refused = await as_alex.post(
        f"{HOME}/assessments/{assessment}",
        data={"status": "not_applicable", "na_reason": "", "csrf_token": token},
    )
    assert refused.status_code == 422
    assert "is required when the status is not_applicable" in refused.text
    saved = await as_alex.post(
        f"{HOME}/assessments/{assessment}",
        data={
            "status": "implemented",
            "na_reason": "",
            "back": made.headers["location"],
            "csrf_token": token,
        },
    )
    assert saved.status_code == 303 and saved.headers["location"] == made.headers["location"]
    detail = await as_alex.get(f"{HOME}/assessments/{assessment}")
    assert "not_assessed → implemented" in detail.text.replace("&gt;", ">") or (
        "implemented" in detail.text and "History" in detail.text
    )
    home = await as_alex.get(HOME)
    assert "MSP security baseline" in home.text or "Baseline" in home.text
    assert 'class="sparkline"' in home.text

    report = await as_alex.get(f"{HOME}/report")
    assert report.status_code == 200 and 'role="img"' in report.text
    csv = await as_alex.get(f"{HOME}/report.csv")
    assert csv.status_code == 200 and csv.text.startswith("framework,version,ref")


async def test_measures_pages(as_alex: httpx.AsyncClient) -> None:
    token = form_client(as_alex)
    await as_alex.post(f"{HOME}/adopted", data={"framework": "msp-baseline@1", "csrf_token": token})
    bad = await as_alex.post(f"{HOME}/measures", data={"title": "", "csrf_token": token})
    assert bad.status_code == 422 and "Title must not be empty" in bad.text
    made = await as_alex.post(
        f"{HOME}/measures",
        data={"title": "MFA for all", "status": "implemented", "csrf_token": token},
    )
    assert made.status_code == 303
    page = await as_alex.get(made.headers["location"])
    requirement = _first(r'<option value="([0-9a-f-]{36})">', page.text)
    mapped = await as_alex.post(
        f"{made.headers['location']}/requirements",
        data={"requirement_id": requirement, "csrf_token": token},
    )
    assert mapped.status_code == 303
    page = await as_alex.get(made.headers["location"])
    assert f"/requirements/{requirement}/remove" in page.text
    listing = await as_alex.get(f"{HOME}/measures")
    assert "MFA for all" in listing.text


async def test_the_client_admin_sees_her_programme_and_tina_reads_nothing(
    as_carol: httpx.AsyncClient, as_tina: httpx.AsyncClient
) -> None:
    token = form_client(as_carol)
    made = await as_carol.post(
        f"{HOME}/adopted", data={"framework": "msp-baseline@1", "csrf_token": token}
    )
    assert made.status_code == 303
    # Tina's 1st Level Support in Contoso carries no compliance permission.
    assert (await as_tina.get(HOME)).status_code == 403


async def test_apply_form_gives_a_result_per_client(as_alex: httpx.AsyncClient) -> None:
    token = form_client(as_alex)
    page = await as_alex.get("/msp/compliance/apply")
    assert page.status_code == 200 and "Apply to" in page.text
    missing = await as_alex.post(
        "/msp/compliance/apply",
        data={"framework": "msp-baseline@1", "target": "client", "client": "", "csrf_token": token},
    )
    assert missing.status_code == 422 and "must name a client" in missing.text
    done = await as_alex.post(
        "/msp/compliance/apply",
        data={"framework": "msp-baseline@1", "target": "all", "csrf_token": token},
    )
    assert done.status_code == 200 and "contoso-ltd" in done.text and "Adopted" in done.text
