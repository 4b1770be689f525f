"""Rows the evidence tests need before helper B's assessment service exists: a framework,
one requirement and its assessment, inserted with the programme's models as the
instance operator (the operator's scope of that one tenant)."""

from __future__ import annotations

import io
import uuid
import zipfile

from tenantry.access.service import operator_scope
from tenantry.compliance.programme.models import AdoptedFramework, Assessment, Requirement
from tenantry.db.engine import Database

# A small PDF and a 1x1 PNG: what an auditor is sent.
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de"
    "0000000c4944415478da63f8cfc000000301010018dd8db00000000049454e44ae426082"
)
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00"
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"


def docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


async def seed_assessment(
    database: Database, tenant_id: uuid.UUID, ref: str = "MSP-01"
) -> uuid.UUID:
    """A framework adopted by the tenant with one requirement and its assessment."""
    async with database.unit_of_work(operator_scope([tenant_id])) as session:
        framework = AdoptedFramework(
            tenant_id=tenant_id,
            key=f"test-{ref.lower()}",
            version="1",
            title="Test framework",
            origin="own",
        )
        session.add(framework)
        await session.flush()
        requirement = Requirement(
            tenant_id=tenant_id,
            framework_id=framework.id,
            ref=ref,
            title="MFA for every admin account",
            position=1,
        )
        session.add(requirement)
        await session.flush()
        assessment = Assessment(
            tenant_id=tenant_id, framework_id=framework.id, requirement_id=requirement.id
        )
        session.add(assessment)
        await session.flush()
        return assessment.id
