"""Migration 0010 (permission ownership): a link whose ceiling held invoices:write,
settings:manage and customers:create comes out with rates:manage and sla:manage added
and customers:create gone; a custom role gains the two and keeps the rest; downgrade
takes the two away again. Run on the real tree, on both databases: 0010 changes data
only, so stepping the test database down to 0009 and up again is cheap."""

from __future__ import annotations

import importlib.util
import uuid
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.access.models import CustomRole
from tenantry.config import Settings
from tenantry.db import migrate
from tenantry.db.engine import Database
from tenantry.tenancy.models import TenantLink
from tests.factories import make_tenant

FILE = next((Path(migrate.MIGRATIONS_DIR) / "versions").glob("*_0010_*.py"))
OLD = ["customers:create", "invoices:write", "settings:manage", "tickets:read"]


def _module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("migration_0010", FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_data_functions() -> None:
    m = _module()
    assert m.upgraded(OLD, ceiling=True) == [
        "invoices:write",
        "rates:manage",
        "settings:manage",
        "sla:manage",
        "tickets:read",
    ]
    assert m.upgraded(OLD, ceiling=False) == sorted([*OLD, "rates:manage", "sla:manage"])
    assert m.upgraded(["tickets:read"], ceiling=True) == ["tickets:read"]
    assert m.downgraded(m.upgraded(OLD, ceiling=False)) == OLD


async def _downgrade(engine: AsyncEngine, revision: str) -> None:
    cfg = migrate.alembic_config()

    def run(connection: sa.Connection) -> None:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)

    async with engine.connect() as conn:
        await conn.run_sync(run)
        await conn.commit()


async def test_upgrade_and_downgrade_rewrite_links_and_custom_roles(
    settings: Settings, database: Database, owner_engine: AsyncEngine
) -> None:
    msp = await make_tenant(database, "mig-msp", is_msp=True)
    client = await make_tenant(database, "mig-client")
    link_id, role_id = uuid.uuid4(), uuid.uuid4()
    await _downgrade(owner_engine, "0009")
    try:
        async with owner_engine.begin() as conn:
            await conn.execute(
                sa.insert(TenantLink.__table__).values(
                    id=link_id,
                    msp_tenant_id=msp.id,
                    customer_tenant_id=client.id,
                    state="active",
                    ceiling=OLD,
                    requested_ceiling=OLD,
                    created_at=sa.func.now(),
                )
            )
            await conn.execute(
                sa.insert(CustomRole.__table__).values(
                    id=role_id,
                    tenant_id=msp.id,
                    name="Old billing",
                    description="",
                    permissions=OLD,
                    created_at=sa.func.now(),
                    updated_at=sa.func.now(),
                )
            )
    finally:
        await migrate.upgrade(settings)

    async def stored() -> tuple[list[str], list[str], list[str]]:
        async with owner_engine.connect() as conn:
            link = (
                await conn.execute(
                    sa.select(TenantLink.ceiling, TenantLink.requested_ceiling).where(
                        TenantLink.id == link_id
                    )
                )
            ).one()
            role = await conn.scalar(
                sa.select(CustomRole.permissions).where(CustomRole.id == role_id)
            )
        return sorted(link[0]), sorted(link[1]), sorted(role)

    upgraded = ["invoices:write", "rates:manage", "settings:manage", "sla:manage", "tickets:read"]
    assert await stored() == (upgraded, upgraded, sorted([*OLD, "rates:manage", "sla:manage"]))

    await _downgrade(owner_engine, "0009")
    try:
        without_new = ["invoices:write", "settings:manage", "tickets:read"]
        assert await stored() == (without_new, without_new, OLD)
    finally:
        await migrate.upgrade(settings)
    assert await migrate.current_revision(settings) == migrate.head_revision()
