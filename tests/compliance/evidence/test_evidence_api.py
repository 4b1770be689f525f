"""Evidence through the API, on SQLite and PostgreSQL: files and links attached to an
assessment, by the MSP's people and by the client's own admin; what is refused (and that
nothing is stored then); downloads only within the tenant; removal keeping history."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import httpx

from tenantry.app import create_app
from tenantry.compliance.evidence.models import Evidence, EvidenceBlob
from tests.access.conftest import World, problem_field
from tests.factories import client

from .helpers import EXE, HTML, PDF, PNG, docx, seed_assessment

C = "/api/v1/tenants/contoso-ltd/compliance"
INITECH = "/api/v1/tenants/initech/compliance"


async def _assessment(world: World, slug: str = "contoso-ltd") -> str:
    tenant = world.customers.get(slug) or world.other_customer
    return str(await seed_assessment(world.database, tenant.id))


async def _upload(
    world: World, who: str, base: str, assessment: str, name: str, data: bytes, **kw: Any
) -> httpx.Response:
    return await world.call(
        who,
        "POST",
        f"{base}/assessments/{assessment}/evidence",
        files={"file": (name, data, kw.get("content_type", "application/pdf"))},
    )


async def _stored(world: World) -> tuple[int, int]:
    return await world.count(Evidence), await world.count(EvidenceBlob)


async def test_a_pdf_and_a_png_are_listed_and_downloaded_byte_identical(world: World) -> None:
    assessment = await _assessment(world)
    made = []
    for name, data in (("MFA report.pdf", PDF), ("admin-mfa.png", PNG)):
        response = await _upload(world, "alex", C, assessment, name, data)
        assert response.status_code == 201, response.text
        made.append(response.json())
    pdf, png = made
    assert (pdf["kind"], pdf["name"], pdf["content_type"]) == (
        "file",
        "MFA report.pdf",
        "application/pdf",
    )
    assert pdf["size"] == len(PDF) and pdf["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert png["content_type"] == "image/png" and pdf["uploaded_by_name"].startswith("Alex")

    listed = await world.get("alex", f"{C}/assessments/{assessment}/evidence")
    assert listed.status_code == 200, listed.text
    assert [e["id"] for e in listed.json()["items"]] == [pdf["id"], png["id"]]

    for item, data in ((pdf, PDF), (png, PNG)):
        got = await world.get("alex", f"{C}/evidence/{item['id']}/file")
        assert got.status_code == 200, got.text
        assert got.content == data
        assert got.headers["content-type"] == item["content_type"]
        assert got.headers["x-content-type-options"] == "nosniff"
        assert got.headers["content-security-policy"].startswith("sandbox")
        assert got.headers["cache-control"] == "private, no-store"
        disposition = got.headers["content-disposition"]
        assert disposition.startswith("attachment;")
        assert "filename*=UTF-8''" in disposition
    pdf_download = await world.get("alex", f"{C}/evidence/{pdf['id']}/file")
    assert "filename*=UTF-8''MFA%20report.pdf" in pdf_download.headers["content-disposition"]
    meta = await world.get("alex", f"{C}/evidence/{pdf['id']}")
    assert meta.status_code == 200 and meta.json()["name"] == "MFA report.pdf"


async def test_the_clients_own_admin_and_a_delegated_technician_add_evidence_too(
    world: World,
) -> None:
    assessment = await _assessment(world)
    carol = await _upload(world, "carol", C, assessment, "policy.docx", docx())
    assert carol.status_code == 201, carol.text
    assert carol.json()["content_type"].endswith("wordprocessingml.document")
    assert carol.json()["uploaded_by_name"].startswith("Carol")
    await world.grant(
        "alex",
        "northwind",
        user=str(world.users["tina"].id),
        role="technician",
        scope="customer",
        customer="contoso-ltd",
    )
    tina = await world.post(
        "tina",
        f"{C}/assessments/{assessment}/evidence/links",
        json={"url": "https://intranet.contoso.example/mfa", "name": "MFA rollout"},
    )
    assert tina.status_code == 201, tina.text
    assert (tina.json()["kind"], tina.json()["name"]) == ("link", "MFA rollout")
    # Carol sees what the MSP's technician added, and the other way round.
    for who in ("carol", "tina"):
        listed = await world.get(who, f"{C}/assessments/{assessment}/evidence")
        assert len(listed.json()["items"]) == 2


async def test_an_oversize_file_is_refused_naming_file_and_nothing_is_stored(
    world: World,
) -> None:
    assessment = await _assessment(world)
    small = world.app.state.settings.model_copy(update={"evidence_max_bytes": 2048})
    app = create_app(small, world.database)
    headers = world.headers("alex")
    async with client(app) as http:
        just_over = PDF + b"%" * (2049 - len(PDF))
        response = await http.post(
            f"{C}/assessments/{assessment}/evidence",
            files={"file": ("big.pdf", just_over, "application/pdf")},
            headers=headers,
        )
        assert response.status_code == 422, response.text
        assert problem_field(response) == "file"
        assert "larger than 2 KiB" in response.text
        far_over = PDF + b"%" * (200 * 1024)
        response = await http.post(
            f"{C}/assessments/{assessment}/evidence",
            files={"file": ("huge.pdf", far_over, "application/pdf")},
            headers=headers,
        )
        assert response.status_code == 413, response.text
        at_limit = PDF + b"%" * (2048 - len(PDF))
        response = await http.post(
            f"{C}/assessments/{assessment}/evidence",
            files={"file": ("ok.pdf", at_limit, "application/pdf")},
            headers=headers,
        )
        assert response.status_code == 201, response.text
    assert await _stored(world) == (1, 1)


async def test_executables_and_html_renamed_pdf_are_refused(world: World) -> None:
    assessment = await _assessment(world)
    for name, data in (
        ("invoice.pdf", EXE),
        ("report.pdf", HTML),
        ("notes.txt", b"  \n<html><script>alert(1)</script>"),
        ("archive.pdf", b"PK\x03\x04" + b"\x00" * 40),
        ("empty.pdf", b""),
        ("binary.txt", b"text\x00with\x01controls"),
    ):
        response = await _upload(world, "alex", C, assessment, name, data)
        assert response.status_code == 422, (name, response.text)
        assert problem_field(response) == "file", name
    missing = await world.call("alex", "POST", f"{C}/assessments/{assessment}/evidence")
    assert missing.status_code == 422 and problem_field(missing) == "file"
    assert await _stored(world) == (0, 0)
    assert "compliance.evidence.added" not in await world.actions(world.customers["contoso-ltd"])


async def test_names_are_sanitised(world: World) -> None:
    assessment = await _assessment(world)
    cases = {
        "../../etc/passwd": (b"root:x:0:0\n", "passwd.txt"),
        "..\\..\\boot.ini": (b"[boot]\n", "boot.ini.txt"),
        "scan.pdf": (PNG, "scan.pdf.png"),
        "evil\u202egnp.exe": (PNG, "evilgnp.exe.png"),
        "a" * 300 + ".pdf": (PDF, "a" * 196 + ".pdf"),
        "Caf\u0065\u0301 r\u00e9sum\u00e9.csv": (b"a,b\n1,2\n", "Caf\u00e9 r\u00e9sum\u00e9.csv"),
    }
    for raw, (data, expected) in cases.items():
        response = await _upload(world, "alex", C, assessment, raw, data)
        assert response.status_code == 201, (raw, response.text)
        assert response.json()["name"] == expected, raw
    csv = next(
        e
        for e in (await world.get("alex", f"{C}/assessments/{assessment}/evidence")).json()["items"]
        if e["name"].endswith(".csv")
    )
    assert csv["content_type"] == "text/csv; charset=utf-8"
    got = await world.get("alex", f"{C}/evidence/{csv['id']}/file")
    assert "filename*=UTF-8''Caf%C3%A9%20r%C3%A9sum%C3%A9.csv" in got.headers["content-disposition"]


async def test_links_must_be_http_or_https(world: World) -> None:
    assessment = await _assessment(world)
    path = f"{C}/assessments/{assessment}/evidence/links"
    for url in (
        "javascript:alert(document.cookie)",
        "JavaScript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "file:///etc/passwd",
        "https://user:secret@example.com/",
        "https:///nohost",
        "",
    ):
        response = await world.post("alex", path, json={"url": url})
        assert response.status_code == 422, (url, response.text)
        assert problem_field(response) == "url", url
    assert await _stored(world) == (0, 0)
    ok = await world.post("alex", path, json={"url": "https://sharepoint.example/sites/it/mfa.pdf"})
    assert ok.status_code == 201, ok.text
    assert ok.json()["name"] == "sharepoint.example/sites/it/mfa.pdf"
    assert (await world.get("alex", f"{C}/evidence/{ok.json()['id']}/file")).status_code == 404


async def test_another_tenants_ids_answer_404_on_every_route(world: World) -> None:
    ours = await _assessment(world)
    theirs = await _assessment(world, "initech")
    gary = await _upload(world, "gary", INITECH, theirs, "secret.pdf", PDF)
    assert gary.status_code == 201, gary.text
    secret = gary.json()["id"]
    before = await _stored(world)
    calls = [
        ("GET", f"{C}/evidence/{secret}"),
        ("GET", f"{C}/evidence/{secret}/file"),
        ("DELETE", f"{C}/evidence/{secret}"),
        ("GET", f"{C}/assessments/{theirs}/evidence"),
        ("GET", f"{INITECH}/evidence/{secret}"),
        ("GET", f"{INITECH}/evidence/{secret}/file"),
        ("DELETE", f"{INITECH}/evidence/{secret}"),
        ("GET", f"{C}/evidence/not-an-id"),
        ("GET", "/t/contoso-ltd/compliance/evidence/" + secret + "/file"),
    ]
    for method, path in calls:
        response = await world.call("alex", method, path)
        assert response.status_code == 404, (method, path, response.text)
    for base, assessment in ((C, theirs), (INITECH, theirs), (INITECH, ours)):
        response = await _upload(world, "alex", base, assessment, "x.pdf", PDF)
        assert response.status_code == 404, response.text
        link = await world.post(
            "alex",
            f"{base}/assessments/{assessment}/evidence/links",
            json={"url": "https://x.example"},
        )
        assert link.status_code == 404, link.text
    assert await _stored(world) == before
    mine = await world.get("gary", f"{INITECH}/evidence/{secret}/file")
    assert mine.status_code == 200 and mine.content == PDF


async def test_removal_keeps_the_row_as_history_and_deletes_the_bytes(world: World) -> None:
    assessment = await _assessment(world)
    made = (await _upload(world, "alex", C, assessment, "old.pdf", PDF)).json()
    link = (
        await world.post(
            "alex",
            f"{C}/assessments/{assessment}/evidence/links",
            json={"url": "https://a.example"},
        )
    ).json()
    removed = await world.call("carol", "DELETE", f"{C}/evidence/{made['id']}")
    assert removed.status_code == 200, removed.text
    assert removed.json()["removed_by_name"].startswith("Carol") and removed.json()["removed_at"]
    again = await world.call("alex", "DELETE", f"{C}/evidence/{made['id']}")
    assert again.status_code == 409, again.text
    assert (await world.get("alex", f"{C}/evidence/{made['id']}/file")).status_code == 404
    listed = (await world.get("alex", f"{C}/assessments/{assessment}/evidence")).json()["items"]
    assert [(e["id"], e["removed_at"] is not None) for e in listed] == [
        (made["id"], True),
        (link["id"], False),
    ]
    assert listed[0]["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert await _stored(world) == (2, 0)
    trail = await world.actions(world.customers["contoso-ltd"])
    assert trail.count("compliance.evidence.added") == 2
    assert trail.count("compliance.evidence.removed") == 1


async def test_storage_used_counts_the_files_kept(world: World) -> None:
    assessment = await _assessment(world)
    used = f"{C}/evidence-storage"
    assert (await world.get("carol", used)).json()["used_bytes"] == 0
    a = (await _upload(world, "alex", C, assessment, "a.pdf", PDF)).json()
    await _upload(world, "alex", C, assessment, "b.png", PNG)
    await world.post(
        "alex", f"{C}/assessments/{assessment}/evidence/links", json={"url": "https://a.example"}
    )
    other = await _assessment(world, "initech")
    await _upload(world, "gary", INITECH, other, "c.pdf", PDF)
    body = (await world.get("carol", used)).json()
    assert body == {"used_bytes": len(PDF) + len(PNG), "max_file_bytes": 10 * 1024 * 1024}
    await world.call("alex", "DELETE", f"{C}/evidence/{a['id']}")
    assert (await world.get("carol", used)).json()["used_bytes"] == len(PNG)
    assert (await world.get("gary", f"{INITECH}/evidence-storage")).json()["used_bytes"] == len(PDF)


async def test_read_only_gets_403_on_every_change_and_nothing_changes(world: World) -> None:
    assessment = await _assessment(world)
    made = (await _upload(world, "alex", C, assessment, "a.pdf", PDF)).json()
    await world.grant(
        "alex",
        "northwind",
        user=str(world.users["tina"].id),
        role="read_only",
        scope="customer",
        customer="contoso-ltd",
    )
    before = await _stored(world)
    trail = await world.actions(world.customers["contoso-ltd"])
    upload = await _upload(world, "tina", C, assessment, "b.pdf", PDF)
    assert upload.status_code == 403, upload.text
    assert "compliance:write" in upload.text
    link = await world.post(
        "tina", f"{C}/assessments/{assessment}/evidence/links", json={"url": "https://a.example"}
    )
    assert link.status_code == 403
    remove = await world.call("tina", "DELETE", f"{C}/evidence/{made['id']}")
    assert remove.status_code == 403
    assert await _stored(world) == before
    assert await world.actions(world.customers["contoso-ltd"]) == trail
    # Reading is allowed.
    assert (await world.get("tina", f"{C}/evidence/{made['id']}/file")).content == PDF


async def test_a_bad_id_or_cursor_is_a_clear_answer(world: World) -> None:
    assessment = await _assessment(world)
    for n in range(3):
        await world.post(
            "alex",
            f"{C}/assessments/{assessment}/evidence/links",
            json={"url": f"https://a.example/{n}"},
        )
    page = await world.get("alex", f"{C}/assessments/{assessment}/evidence", params={"limit": 2})
    assert len(page.json()["items"]) == 2 and page.json()["next_cursor"]
    rest = await world.get(
        "alex",
        f"{C}/assessments/{assessment}/evidence",
        params={"limit": 2, "cursor": page.json()["next_cursor"]},
    )
    assert [e["url"] for e in rest.json()["items"]] == ["https://a.example/2"]
    assert rest.json()["next_cursor"] is None
    bad = await world.get(
        "alex", f"{C}/assessments/{assessment}/evidence", params={"cursor": "nonsense"}
    )
    assert bad.status_code == 422 and problem_field(bad) == "cursor"
    unknown = await world.get("alex", f"{C}/assessments/{uuid.uuid4()}/evidence")
    assert unknown.status_code == 404


async def test_deleting_the_customer_deletes_its_evidence_and_bytes(world: World) -> None:
    ours = await _assessment(world)
    theirs = await _assessment(world, "initech")
    await _upload(world, "alex", C, ours, "a.pdf", PDF)
    await _upload(world, "gary", INITECH, theirs, "b.pdf", PDF)
    assert await _stored(world) == (2, 2)
    deleted = await world.call(
        "alex",
        "DELETE",
        "/api/v1/tenants/northwind/customers/contoso-ltd",
        params={"confirm_slug": "contoso-ltd"},
    )
    assert deleted.status_code == 200, deleted.text
    rows = deleted.json()["rows_deleted"]
    assert rows["compliance_evidence"] == 1 and rows["compliance_evidence_blobs"] == 1
    assert await _stored(world) == (1, 1)
    kept = await world.get("gary", f"{INITECH}/assessments/{theirs}/evidence")
    assert [e["name"] for e in kept.json()["items"]] == ["b.pdf"]
