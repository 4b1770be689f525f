"""Frameworks a tenant can adopt. (First cut: the shipped files only; the database library,
imports and MSP-written frameworks replace this module's internals.)"""

from __future__ import annotations

import json
from importlib import resources

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.context import TenantContext
from tenantry.compliance.content import FrameworkContent, RequirementContent
from tenantry.errors import NotFound


def _shipped(key: str, version: str) -> FrameworkContent | None:
    name = f"{key}-{version}.json"
    data_dir = resources.files("tenantry.compliance.library") / "data"
    item = data_dir / name
    if not item.is_file():
        return None
    raw = json.loads(item.read_text("utf-8"))
    return FrameworkContent(
        key=raw["key"],
        version=raw["version"],
        title=raw["title"],
        description=raw.get("description", ""),
        origin="library",
        source_id=None,
        requirements=tuple(
            RequirementContent(
                ref=r["ref"],
                title=r["title"],
                description=r.get("description", ""),
                parent_ref=r.get("parent_ref"),
                assessable=r.get("assessable", True),
            )
            for r in raw["requirements"]
        ),
    )


class LibraryService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def content(self, ctx: TenantContext, ref: str) -> FrameworkContent:
        key, _, version = ref.partition("@")
        found = _shipped(key, version) if key and version else None
        if found is None:
            raise NotFound("No such framework.")
        return found
