"""Every query of the framework library: the shipped frameworks (reference tables, read by
every tenant, written only by the loader on the owner's connection) and the frameworks a
tenant wrote."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from tenantry.compliance.library.models import (
    AuthoredFramework,
    AuthoredRequirement,
    LibraryFramework,
    LibraryRequirement,
)

# ---------------------------------------------------------------- the loader (owner)


async def shipped_state(conn: AsyncConnection) -> dict[tuple[str, str], tuple[uuid.UUID, str]]:
    """(key, version) → (id, content sha256) of every loaded framework version."""
    rows = await conn.execute(
        select(
            LibraryFramework.key,
            LibraryFramework.version,
            LibraryFramework.id,
            LibraryFramework.content_sha256,
        )
    )
    return {(key, version): (fid, sha) for key, version, fid, sha in rows}


async def write_shipped(
    conn: AsyncConnection,
    existing: uuid.UUID | None,
    values: dict[str, Any],
    requirements: Sequence[dict[str, Any]],
) -> None:
    """Insert one framework version, or replace the content of the loaded one."""
    if existing is None:
        await conn.execute(insert(LibraryFramework).values(**values))
        framework_id = values["id"]
    else:
        framework_id = existing
        fields = {k: v for k, v in values.items() if k != "id"}
        await conn.execute(
            update(LibraryFramework).where(LibraryFramework.id == existing).values(**fields)
        )
        await conn.execute(
            delete(LibraryRequirement).where(LibraryRequirement.framework_id == existing)
        )
    if requirements:
        await conn.execute(
            insert(LibraryRequirement),
            [{**r, "framework_id": framework_id} for r in requirements],
        )


# ---------------------------------------------------------------- shipped: reads


async def shipped_frameworks(session: AsyncSession) -> Sequence[LibraryFramework]:
    rows = await session.scalars(
        select(LibraryFramework).order_by(LibraryFramework.key, LibraryFramework.version)
    )
    return rows.all()


async def shipped_framework(
    session: AsyncSession, key: str, version: str
) -> LibraryFramework | None:
    row: LibraryFramework | None = await session.scalar(
        select(LibraryFramework).where(
            LibraryFramework.key == key, LibraryFramework.version == version
        )
    )
    return row


async def shipped_requirements(
    session: AsyncSession, framework_id: uuid.UUID
) -> Sequence[LibraryRequirement]:
    rows = await session.scalars(
        select(LibraryRequirement)
        .where(LibraryRequirement.framework_id == framework_id)
        .order_by(LibraryRequirement.position)
    )
    return rows.all()


# ---------------------------------------------------------------- authored


async def authored_of(
    session: AsyncSession, tenant_id: uuid.UUID, *, shared_only: bool = False
) -> Sequence[tuple[AuthoredFramework, int]]:
    """A tenant's frameworks (only the shared ones if asked) with their number of
    assessable requirements, by title."""
    counts = (
        select(func.count())
        .where(
            AuthoredRequirement.tenant_id == AuthoredFramework.tenant_id,
            AuthoredRequirement.framework_id == AuthoredFramework.id,
            AuthoredRequirement.assessable.is_(True),
        )
        .correlate(AuthoredFramework)
        .scalar_subquery()
    )
    statement = select(AuthoredFramework, counts).where(AuthoredFramework.tenant_id == tenant_id)
    if shared_only:
        statement = statement.where(AuthoredFramework.shared.is_(True))
    rows = await session.execute(statement.order_by(AuthoredFramework.title, AuthoredFramework.id))
    return [(fw, int(n)) for fw, n in rows.all()]


async def authored(
    session: AsyncSession, tenant_id: uuid.UUID, framework_id: uuid.UUID
) -> AuthoredFramework | None:
    row: AuthoredFramework | None = await session.scalar(
        select(AuthoredFramework).where(
            AuthoredFramework.tenant_id == tenant_id, AuthoredFramework.id == framework_id
        )
    )
    return row


async def authored_key_taken(
    session: AsyncSession, tenant_id: uuid.UUID, key: str, version: str
) -> uuid.UUID | None:
    found: uuid.UUID | None = await session.scalar(
        select(AuthoredFramework.id).where(
            AuthoredFramework.tenant_id == tenant_id,
            AuthoredFramework.key == key,
            AuthoredFramework.version == version,
        )
    )
    return found


async def requirements_of(
    session: AsyncSession, tenant_id: uuid.UUID, framework_id: uuid.UUID
) -> list[AuthoredRequirement]:
    rows = await session.scalars(
        select(AuthoredRequirement)
        .where(
            AuthoredRequirement.tenant_id == tenant_id,
            AuthoredRequirement.framework_id == framework_id,
        )
        .order_by(AuthoredRequirement.position, AuthoredRequirement.id)
    )
    return list(rows.all())


async def delete_authored(
    session: AsyncSession, tenant_id: uuid.UUID, framework_id: uuid.UUID
) -> None:
    await session.execute(
        delete(AuthoredRequirement).where(
            AuthoredRequirement.tenant_id == tenant_id,
            AuthoredRequirement.framework_id == framework_id,
        )
    )
    await session.execute(
        delete(AuthoredFramework).where(
            AuthoredFramework.tenant_id == tenant_id, AuthoredFramework.id == framework_id
        )
    )


async def delete_requirements(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Iterable[uuid.UUID]
) -> None:
    wanted = list(ids)
    if wanted:
        await session.execute(
            delete(AuthoredRequirement).where(
                AuthoredRequirement.tenant_id == tenant_id, AuthoredRequirement.id.in_(wanted)
            )
        )
