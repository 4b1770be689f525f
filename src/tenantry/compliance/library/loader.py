"""Loads the shipped frameworks (``data/<key>-<version>.json``) into the reference tables,
as the owner, right after the migrations (``tenantry db upgrade``). Idempotent: a file
whose sha256 is the loaded one writes nothing; a changed file replaces that version's
content; a new version is added beside the old ones (tenants that adopted the old one
keep their copy)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from tenantry.compliance.content import FrameworkContent, RequirementContent
from tenantry.compliance.library import repository
from tenantry.db.base import new_id, utcnow


@dataclass(frozen=True, slots=True)
class ShippedFile:
    name: str
    sha256: str
    content: FrameworkContent


def _content(raw: dict[str, Any], name: str) -> FrameworkContent:
    requirements = tuple(
        RequirementContent(
            ref=r["ref"],
            title=r["title"],
            description=r.get("description", ""),
            parent_ref=r.get("parent_ref"),
            assessable=bool(r.get("assessable", True)),
        )
        for r in raw["requirements"]
    )
    refs = [r.ref for r in requirements]
    if len(set(refs)) != len(refs):
        raise ValueError(f"{name}: a ref is used twice")
    known: set[str] = set()
    for r in requirements:
        if r.parent_ref is not None and r.parent_ref not in known:
            raise ValueError(f"{name}: {r.ref}'s group {r.parent_ref} does not come before it")
        known.add(r.ref)
    if f"{raw['key']}-{raw['version']}.json" != name:
        raise ValueError(f"{name}: the file name must be <key>-<version>.json")
    return FrameworkContent(
        key=raw["key"],
        version=raw["version"],
        title=raw["title"],
        description=raw.get("description", ""),
        origin="library",
        source_id=None,
        requirements=requirements,
    )


def shipped_files() -> list[ShippedFile]:
    """Every framework file the package ships, checked (a bad file is a packaging bug)."""
    found = []
    data_dir = resources.files("tenantry.compliance.library") / "data"
    for item in sorted(data_dir.iterdir(), key=lambda i: i.name):
        if not item.name.endswith(".json"):
            continue
        data = item.read_bytes()
        content = _content(json.loads(data), item.name)
        found.append(ShippedFile(item.name, hashlib.sha256(data).hexdigest(), content))
    return found


async def load_shipped(conn: AsyncConnection) -> list[str]:
    """Upsert every shipped framework by (key, version); returns one line per version
    written (none when nothing changed)."""
    state = await repository.shipped_state(conn)
    written = []
    for shipped in shipped_files():
        c = shipped.content
        existing = state.get((c.key, c.version))
        if existing is not None and existing[1] == shipped.sha256:
            continue
        values = {
            "id": new_id(),
            "key": c.key,
            "version": c.version,
            "title": c.title,
            "description": c.description,
            "requirement_count": sum(1 for r in c.requirements if r.assessable),
            "content_sha256": shipped.sha256,
            "loaded_at": utcnow(),
        }
        rows = [
            {
                "id": new_id(),
                "ref": r.ref,
                "parent_ref": r.parent_ref,
                "title": r.title,
                "description": r.description,
                "position": position,
                "assessable": r.assessable,
            }
            for position, r in enumerate(c.requirements)
        ]
        await repository.write_shipped(conn, existing[0] if existing else None, values, rows)
        verb = "updated" if existing else "loaded"
        written.append(f"framework library: {verb} {c.key}@{c.version} ({c.title})")
    return written
