"""The shipped frameworks: their content, and the loader that puts them in the database
(``tenantry db upgrade``): idempotent, a changed file replaces its version, a new version
is added beside the old."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.compliance.library import loader
from tenantry.compliance.library.models import LibraryFramework, LibraryRequirement


def _shipped(key: str) -> loader.ShippedFile:
    return next(f for f in loader.shipped_files() if f.content.key == key)


def test_nist_csf_2_0_is_the_whole_core() -> None:
    csf = _shipped("nist-csf").content
    assert (csf.key, csf.version) == ("nist-csf", "2.0")
    functions = [r for r in csf.requirements if r.parent_ref is None]
    categories = [r for r in csf.requirements if not r.assessable and r.parent_ref]
    subcategories = [r for r in csf.requirements if r.assessable]
    assert [f.ref for f in functions] == ["GV", "ID", "PR", "DE", "RS", "RC"]
    assert all(not f.assessable for f in functions)
    assert len(categories) == 22
    assert len(subcategories) == 106
    assert all(re.fullmatch(r"[A-Z]{2}\.[A-Z]{2}-\d{2}", s.ref) for s in subcategories)
    by_ref = {r.ref: r for r in csf.requirements}
    # Each subcategory sits in its category, each category in its function.
    for s in subcategories:
        assert s.parent_ref == s.ref.split("-")[0]
        assert by_ref[s.parent_ref].parent_ref == s.ref[:2]
    assert by_ref["GV.OC-01"].title == (
        "The organizational mission is understood and informs cybersecurity risk management"
    )
    assert (
        by_ref["PR.DS-11"].title == "Backups of data are created, protected, maintained, and tested"
    )
    assert by_ref["PR.AA"].title == "Identity Management, Authentication, and Access Control"
    # Withdrawn in 2.0: not shipped.
    assert "ID.AM-06" not in by_ref and "DE.CM-04" not in by_ref


def test_the_msp_baseline_has_about_forty_described_requirements() -> None:
    baseline = _shipped("msp-baseline").content
    assert (baseline.key, baseline.version) == ("msp-baseline", "1")
    items = [r for r in baseline.requirements if r.assessable]
    assert 35 <= len(items) <= 45
    assert all(r.description and r.parent_ref for r in items)
    by_ref = {r.ref: r for r in items}
    assert "multi-factor" in by_ref["MSP-01"].title.lower()
    assert "admin" in by_ref["MSP-02"].title.lower()
    groups = {r.title for r in baseline.requirements if not r.assessable}
    assert len(groups) >= 10


async def _counts(engine: AsyncEngine) -> tuple[int, int]:
    async with engine.connect() as conn:
        frameworks = await conn.scalar(select(func.count()).select_from(LibraryFramework))
        requirements = await conn.scalar(select(func.count()).select_from(LibraryRequirement))
    return int(frameworks or 0), int(requirements or 0)


async def test_loading_again_writes_nothing(owner_engine: AsyncEngine) -> None:
    before = await _counts(owner_engine)
    async with owner_engine.connect() as conn:
        loaded_at = await conn.scalar(select(func.max(LibraryFramework.loaded_at)))
    async with owner_engine.begin() as conn:
        assert await loader.load_shipped(conn) == []
    assert await _counts(owner_engine) == before
    async with owner_engine.connect() as conn:
        assert await conn.scalar(select(func.max(LibraryFramework.loaded_at))) == loaded_at
    assert before == (2, 134 + 53)


async def test_a_changed_file_replaces_its_version_and_a_new_one_goes_beside(
    owner_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = await _counts(owner_engine)
    try:
        async with owner_engine.begin() as conn:
            await conn.execute(
                update(LibraryFramework)
                .where(LibraryFramework.key == "msp-baseline")
                .values(content_sha256="0" * 64, title="stale")
            )
            assert await loader.load_shipped(conn) == [
                "framework library: updated msp-baseline@1 (MSP security baseline)"
            ]
        assert await _counts(owner_engine) == before

        shipped = loader.shipped_files()
        baseline = next(f for f in shipped if f.content.key == "msp-baseline")
        newer = replace(baseline, sha256="1" * 64, content=replace(baseline.content, version="2"))
        monkeypatch.setattr(loader, "shipped_files", lambda: [*shipped, newer])
        async with owner_engine.begin() as conn:
            assert await loader.load_shipped(conn) == [
                "framework library: loaded msp-baseline@2 (MSP security baseline)"
            ]
        assert await _counts(owner_engine) == (before[0] + 1, before[1] + 53)
    finally:
        async with owner_engine.begin() as conn:
            await conn.execute(
                delete(LibraryFramework).where(
                    LibraryFramework.key == "msp-baseline", LibraryFramework.version == "2"
                )
            )
    assert await _counts(owner_engine) == before
