"""A client's programme through the API: adopt (once), assess every status (not
applicable needs a reason), history, measures mapped across frameworks, the kept score
and its history, the report's CSV, and who may do what (the client's own admin, the
MSP's delegated technician, read-only refused)."""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy import select

from tenantry.access.service import operator_scope
from tenantry.audit.schemas import OPERATOR
from tenantry.compliance.content import FrameworkContent, RequirementContent
from tenantry.compliance.evidence.models import Evidence, EvidenceBlob
from tenantry.compliance.programme.models import (
    AdoptedFramework,
    Assessment,
    AssessmentChange,
    ScoreChange,
)
from tenantry.compliance.programme.service import ProgrammeService
from tenantry.compliance.risks.models import Risk, RiskLink
from tests.access.conftest import World, problem_field
from tests.compliance.evidence.helpers import PDF

C = "/api/v1/tenants/contoso-ltd/compliance"
BASELINE = "msp-baseline@1"


async def _adopt(world: World, who: str = "alex", base: str = C) -> dict[str, Any]:
    made = await world.post(who, f"{base}/adopted", json={"framework": BASELINE})
    assert made.status_code == 201, made.text
    result: dict[str, Any] = made.json()
    return result


async def _requirements(world: World, framework_id: str, **params: Any) -> list[dict[str, Any]]:
    got = await world.get("alex", f"{C}/adopted/{framework_id}/requirements", params=params)
    assert got.status_code == 200, got.text
    items: list[dict[str, Any]] = got.json()["items"]
    return items


async def _assessable(world: World, framework_id: str) -> list[dict[str, Any]]:
    return [r for r in await _requirements(world, framework_id) if r["assessable"]]


async def _score(world: World, framework_id: str) -> dict[str, Any]:
    scores = (await world.get("alex", f"{C}/scores")).json()["items"]
    found: dict[str, Any] = next(s for s in scores if s["framework_id"] == framework_id)
    return found


async def _patch(world: World, assessment_id: str, who: str = "alex", **body: Any) -> Any:
    return await world.call(who, "PATCH", f"{C}/assessments/{assessment_id}", json=body)


async def test_adopt_copies_the_framework_once(world: World) -> None:
    framework = await _adopt(world)
    assert framework["key"] == "msp-baseline" and framework["score_bp"] == 0
    requirements = await _requirements(world, framework["id"])
    assessable = [r for r in requirements if r["assessable"]]
    # Groups come first in reading order, without an assessment.
    assert (
        not requirements[0]["assessable"]
        and requirements[1]["parent_ref"] == requirements[0]["ref"]
    )
    assert assessable and all(r["effective_status"] == "not_assessed" for r in assessable)
    assert all(r["assessment"] is None for r in requirements if not r["assessable"])
    score = await _score(world, framework["id"])
    assert (score["applicable"], score["implemented"]) == (len(assessable), 0)
    assert [p["score_bp"] for p in score["history"]] == [0] and score["recent"] == [0]

    again = await world.post("alex", f"{C}/adopted", json={"framework": BASELINE})
    assert again.status_code == 409 and problem_field(again) == "framework"
    unknown = await world.post("alex", f"{C}/adopted", json={"framework": "nope@9"})
    assert unknown.status_code == 422 and problem_field(unknown) == "framework"
    assert await world.count(AdoptedFramework) == 1
    assert "compliance.framework.adopted" in await world.actions(world.customers["contoso-ltd"])

    retired = await world.call("alex", "DELETE", f"{C}/adopted/{framework['id']}")
    assert retired.status_code == 204
    assert await world.count(AdoptedFramework) == 0 and await world.count(Assessment) == 0
    assert (await world.get("alex", f"{C}/adopted/{framework['id']}")).status_code == 404
    await _adopt(world)  # adoptable again once retired


async def test_assess_every_status_with_history_and_score(world: World) -> None:
    framework = await _adopt(world)
    first, second, *rest = await _assessable(world, framework["id"])
    a, b = first["assessment"]["id"], second["assessment"]["id"]
    n = 2 + len(rest)
    for status in ("not_implemented", "partial", "implemented"):
        done = await _patch(world, a, status=status)
        assert done.status_code == 200 and done.json()["status"] == status
    assert (await _score(world, framework["id"]))["score_bp"] == round(10_000 / n)

    # Not applicable without a reason: refused, naming na_reason; nothing changed.
    before = await world.count(AssessmentChange)
    refused = await _patch(world, b, status="not_applicable")
    assert refused.status_code == 422 and problem_field(refused) == "na_reason"
    assert (await world.get("alex", f"{C}/assessments/{b}")).json()["status"] == "not_assessed"
    assert await world.count(AssessmentChange) == before
    bad = await _patch(world, b, status="done")
    assert bad.status_code == 422 and problem_field(bad) == "status"
    bad_owner = await _patch(world, b, owner="00000000-0000-0000-0000-000000000001")
    assert bad_owner.status_code == 422 and problem_field(bad_owner) == "owner"

    na = await _patch(world, b, status="not_applicable", na_reason="No on-site servers")
    assert na.status_code == 200 and na.json()["na_reason"] == "No on-site servers"
    # Not applicable leaves the score: one implemented over n - 1 applicable.
    score = await _score(world, framework["id"])
    assert (score["applicable"], score["score_bp"]) == (n - 1, round(10_000 / (n - 1)))

    owned = await _patch(
        world,
        a,
        owner=str(world.users["tina"].id),
        due_on="2027-03-31",
        notes="Checked the conditional access policies",
    )
    assert owned.status_code == 200
    assert (owned.json()["owner_name"], owned.json()["due_on"]) == ("Tina Tech", "2027-03-31")
    free = await _patch(world, a, owner="Bob from Facilities")
    assert (free.json()["owner_user_id"], free.json()["owner_name"]) == (
        None,
        "Bob from Facilities",
    )

    history = (await world.get("alex", f"{C}/assessments/{a}/history")).json()["items"]
    assert history[0]["changes"]["owner_name"] == ["Tina Tech", "Bob from Facilities"]
    assert history[-1]["changes"]["status"] == ["not_assessed", "not_implemented"]
    assert len(history) == 5 and all(h["actor_name"].startswith("Alex") for h in history)
    actions = await world.actions(world.customers["contoso-ltd"])
    assert actions.count("compliance.assessment.updated") == 6


async def test_partial_counts_half_and_history_grows_only_on_change(world: World) -> None:
    framework = await _adopt(world)
    items = await _assessable(world, framework["id"])
    n = len(items)
    a = items[0]["assessment"]["id"]
    await _patch(world, a, status="not_implemented")  # still 0: no new point
    await _patch(world, a, notes="looked at it")  # no status change: no new point
    assert [p["score_bp"] for p in (await _score(world, framework["id"]))["history"]] == [0]
    await _patch(world, a, status="partial")
    score = await _score(world, framework["id"])
    assert score["score_bp"] == round(5_000 / n) and score["partial"] == 1
    assert [p["score_bp"] for p in score["history"]] == [0, round(5_000 / n)]
    assert score["recent"] == [0, round(5_000 / n)]
    assert await world.count(ScoreChange) == 2


async def test_a_measure_moves_every_framework_it_is_mapped_in(world: World) -> None:
    baseline = await _adopt(world)
    contoso = world.customers["contoso-ltd"]
    own = FrameworkContent(
        key="own-policy",
        version="1",
        title="Contoso's own rules",
        description="",
        origin="own",
        source_id=None,
        requirements=(
            RequirementContent("R1", "MFA for admins", "", None, True),
            RequirementContent("R2", "Backups tested", "", None, True),
        ),
    )
    async with world.database.unit_of_work(operator_scope([contoso.id])) as session:
        second = await ProgrammeService(session).adopt_in(contoso.id, own, actor=OPERATOR)
        second_id = str(second.id)
    r1 = (await _assessable(world, second_id))[0]
    b1 = (await _assessable(world, baseline["id"]))[0]
    n = len(await _assessable(world, baseline["id"]))

    made = await world.post(
        "alex", f"{C}/measures", json={"title": "MFA enforced for all users", "status": "planned"}
    )
    assert made.status_code == 201, made.text
    measure = made.json()
    for requirement in (r1, b1):
        mapped = await world.post(
            "alex",
            f"{C}/measures/{measure['id']}/requirements",
            json={"requirement_id": requirement["id"]},
        )
        assert mapped.status_code == 200, mapped.text
    assert (await _score(world, second_id))["score_bp"] == 0  # planned gives nothing

    await world.call("alex", "PATCH", f"{C}/measures/{measure['id']}", json={"status": "partial"})
    assert (await _score(world, second_id))["score_bp"] == 2_500
    done = await world.call(
        "alex", "PATCH", f"{C}/measures/{measure['id']}", json={"status": "implemented"}
    )
    assert done.status_code == 200 and len(done.json()["requirement_ids"]) == 2
    assert (await _score(world, second_id))["score_bp"] == 5_000
    assert (await _score(world, baseline["id"]))["score_bp"] == round(10_000 / n)
    listed = await _requirements(world, second_id, status="implemented")
    assert [r["ref"] for r in listed] == ["R1"] and listed[0]["measure_ids"] == [measure["id"]]

    # Not applicable wins over a measure; unmapping takes the measure's credit away.
    await _patch(world, r1["assessment"]["id"], status="not_applicable", na_reason="n/a")
    assert (await _score(world, second_id))["score_bp"] == 0
    unmapped = await world.call(
        "alex", "DELETE", f"{C}/measures/{measure['id']}/requirements/{b1['id']}"
    )
    assert unmapped.status_code == 200
    assert (await _score(world, baseline["id"]))["score_bp"] == 0

    bad = await world.post("alex", f"{C}/measures", json={"title": " ", "status": "planned"})
    assert bad.status_code == 422 and problem_field(bad) == "title"
    bad = await world.post("alex", f"{C}/measures", json={"title": "X", "status": "sort of"})
    assert bad.status_code == 422 and problem_field(bad) == "status"
    taken = await world.post("alex", f"{C}/measures", json={"title": "MFA enforced for all users"})
    assert taken.status_code == 409 and problem_field(taken) == "title"
    gone = await world.call("alex", "DELETE", f"{C}/measures/{measure['id']}")
    assert gone.status_code == 204
    assert (await world.get("alex", f"{C}/measures")).json()["items"] == []


async def test_the_clients_admin_and_a_delegated_technician_may_assess(world: World) -> None:
    framework = await _adopt(world, "carol")
    a = (await _assessable(world, framework["id"]))[0]["assessment"]["id"]
    assert (await _patch(world, a, who="carol", status="implemented")).status_code == 200
    # Tina, delegated Technician in Contoso, may; Sam with Read-only may read only.
    await world.grant(
        "alex",
        "northwind",
        user="tina@northwind.example",
        role="technician",
        scope="customer",
        customer="contoso-ltd",
    )
    await world.grant(
        "alex",
        "northwind",
        user="sam@northwind.example",
        role="read_only",
        scope="customer",
        customer="contoso-ltd",
    )
    assert (await _patch(world, a, who="tina", status="partial")).status_code == 200
    refused = await _patch(world, a, who="sam", status="not_implemented")
    assert refused.status_code == 403 and "compliance:write" in refused.text
    seen = await world.get("sam", f"{C}/assessments/{a}")
    assert seen.status_code == 200 and seen.json()["status"] == "partial"
    # Another MSP's admin does not see Contoso at all.
    assert (await world.get("gary", f"{C}/assessments/{a}")).status_code == 404


async def test_report_csv_lists_every_assessment(world: World) -> None:
    framework = await _adopt(world)
    items = await _assessable(world, framework["id"])
    await _patch(world, items[0]["assessment"]["id"], status="implemented", notes="=cmd")
    link = {"url": "https://share.example/mfa-policy.pdf", "name": "MFA policy"}
    added = await world.post(
        "alex", f"{C}/assessments/{items[0]['assessment']['id']}/evidence/links", link
    )
    assert added.status_code == 201, added.text
    got = await world.get("alex", f"{C}/report.csv")
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(got.text)))
    assert rows[0] == [
        "framework",
        "version",
        "ref",
        "requirement",
        "status",
        "effective_status",
        "na_reason",
        "owner",
        "due_on",
        "notes",
        "updated_at",
        "updated_by",
        "evidence",
    ]
    assert len(rows) == 1 + len(items)
    assert rows[1][4] == "implemented" and rows[1][9] == "'=cmd"
    assert rows[1][12] == "1" and rows[2][12] == "0"


async def test_rows_stay_in_their_tenant(world: World) -> None:
    await _adopt(world)
    initech = world.customers.get("initech") or world.other_customer
    async with world.database.unit_of_work(operator_scope([initech.id])) as session:
        assert (await session.scalars(select(AdoptedFramework))).all() == []


async def test_retiring_takes_its_evidence_and_risk_links_but_keeps_the_risk(
    world: World,
) -> None:
    framework = await _adopt(world)
    first = (await _assessable(world, framework["id"]))[0]
    files = {"file": ("mfa.pdf", PDF, "application/pdf")}
    url = f"{C}/assessments/{first['assessment']['id']}/evidence"
    uploaded = await world.call("alex", "POST", url, files=files)
    assert uploaded.status_code == 201, uploaded.text
    risk = await world.post(
        "alex",
        f"{C}/risks",
        json={"title": "Phishing", "likelihood": 4, "impact": 4, "treatment": "mitigate"},
    )
    assert risk.status_code == 201, risk.text
    linked = await world.post(
        "alex", f"{C}/risks/{risk.json()['id']}/links", json={"requirement_id": first["id"]}
    )
    assert linked.status_code == 201, linked.text

    retired = await world.call("alex", "DELETE", f"{C}/adopted/{framework['id']}")
    assert retired.status_code == 204, retired.text
    assert await world.count(Evidence) == 0 and await world.count(EvidenceBlob) == 0
    assert await world.count(RiskLink) == 0 and await world.count(Risk) == 1
