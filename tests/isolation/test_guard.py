"""Guards on the shape of every table: classified, tenant-leading, and on PostgreSQL
protected by row-level security. New tables are picked up from the metadata."""

from __future__ import annotations

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.db import rls
from tenantry.db.base import (
    Base,
    PlatformTable,
    ReferenceTable,
    TenantOwned,
    platform_tables,
    reference_tables,
    tenant_owned_tables,
)
from tenantry.db.migrate import alembic_config

from .helpers import tenant_owned_params

# Read before any tenant scope exists (who is the caller?). Adding one here is a
# conscious decision: it is outside row-level security. DESIGN.md, "Isolation".
PLATFORM_TABLES = {
    "operator_tokens",
    "tenants",
    "tenant_links",
    "users",
    "recovery_codes",
    "auth_sessions",
    "api_tokens",
    "invitations",
    "sign_in_throttles",
    "grants",
    # Roles and groups decide what a grant gives, so they are read with the grants.
    "custom_roles",
    "user_groups",
    "user_group_members",
    "tenant_groups",
    "tenant_group_members",
    # A customer's blocks of its MSP's people decide a request like the grants do.
    "access_blocks",
    "access_versions",
    # The operator's plans and each MSP's subscription and requests (billing): read
    # before a tenant scope to decide whether the caller's MSP may still write, and
    # listed by the operator across MSPs. The history is the MSP's (tenant-owned).
    "plans",
    "msp_subscriptions",
    "plan_requests",
    # MSP self sign-up: a pending sign-up exists before its tenant does.
    "signup_requests",
}

# Global read-only reference content, the same for every tenant (the shipped framework
# library): no tenant_id, no row-level security, and the app may only read it.
REFERENCE_TABLES = {"library_frameworks", "library_requirements"}


def test_every_table_is_platform_or_tenant_owned() -> None:
    unclassified = []
    for mapper in Base.registry.mappers:
        cls = mapper.class_
        kinds = (
            issubclass(cls, PlatformTable)
            + issubclass(cls, TenantOwned)
            + issubclass(cls, ReferenceTable)
        )
        if kinds != 1:
            unclassified.append(f"{cls.__name__} ({kinds} markers)")
    mapped = {m.local_table.name for m in Base.registry.mappers}
    unmapped = set(Base.metadata.tables) - mapped
    assert not unclassified, (
        f"mark each as PlatformTable, TenantOwned or ReferenceTable: {unclassified}"
    )
    assert not unmapped, f"tables without a mapped, classified class: {sorted(unmapped)}"


def test_the_platform_tables_are_exactly_the_listed_ones() -> None:
    assert set(platform_tables()) == PLATFORM_TABLES
    assert not set(platform_tables()) & set(tenant_owned_tables())


def test_the_reference_tables_are_exactly_the_listed_ones() -> None:
    assert set(reference_tables()) == REFERENCE_TABLES == rls.READ_ONLY_TABLES
    for table in REFERENCE_TABLES:
        assert "tenant_id" not in Base.metadata.tables[table].c
        assert rls.table_privileges(table) == "SELECT"


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_postgres_lets_the_app_only_read_the_reference_tables(
    owner_engine: AsyncEngine,
) -> None:
    async with owner_engine.connect() as conn:
        for role in ("tenantry_app", rls.MULTI_ROLE):
            for table in REFERENCE_TABLES:
                allowed = {
                    p: await conn.scalar(
                        text("SELECT has_table_privilege(:r, CAST(:t AS regclass), :p)"),
                        {"r": role, "t": table, "p": p},
                    )
                    for p in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")
                }
                assert allowed == {
                    "SELECT": True,
                    "INSERT": False,
                    "UPDATE": False,
                    "DELETE": False,
                    "TRUNCATE": False,
                }, (role, table)


@pytest.mark.parametrize("table", tenant_owned_params())
def test_a_tenant_owned_table_leads_with_tenant_id(table: str) -> None:
    t = Base.metadata.tables[table]
    tenant_id = t.c.tenant_id
    assert not tenant_id.nullable
    assert next(iter(t.primary_key.columns)).name == "tenant_id"
    targets = {fk.column.table.name + "." + fk.column.name for fk in tenant_id.foreign_keys}
    # tenant_id references the tenant, and may also be the leading column of a composite
    # reference to another tenant-owned row ((tenant_id, ticket_id) → tickets): that keeps a
    # child from pointing into another tenant.
    owned = set(tenant_owned_tables())
    assert "tenants.id" in targets
    assert all(
        t == "tenants.id" or (t.endswith(".tenant_id") and t[: -len(".tenant_id")] in owned)
        for t in targets
    ), targets
    for index in t.indexes:
        columns = [c.name for c in index.columns]
        if "cross_tenant" in index.info:
            # An MSP-wide read's index (newest tickets across clients) must say why.
            assert str(index.info["cross_tenant"]).strip(), f"index {index.name}: why?"
            continue
        assert columns[:1] == ["tenant_id"], f"index {index.name} must lead with tenant_id"

    for constraint in t.constraints:
        names = {c.name for c in getattr(constraint, "columns", [])}
        if constraint.__class__.__name__ == "UniqueConstraint":
            # Unique keys must hold the distribution column (Citus, DESIGN.md).
            assert "tenant_id" in names, f"unique {constraint.name} must include tenant_id"


def test_the_migrations_list_exactly_the_tenant_owned_tables() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    listed: set[str] = set()
    for revision in script.walk_revisions():
        listed |= set(getattr(revision.module, "TENANT_OWNED_TABLES", ()))
    assert listed == set(tenant_owned_tables())


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_postgres_protects_every_tenant_owned_table(owner_engine: AsyncEngine) -> None:
    async with owner_engine.connect() as conn:
        flags = {
            name: (enabled, forced)
            for name, enabled, forced in await conn.execute(
                text(
                    "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
                    "WHERE relnamespace = current_schema()::regnamespace AND relkind = 'r'"
                )
            )
        }
        policies: dict[str, list[tuple[str, str, str, list[str], str, str]]] = {}
        for row in await conn.execute(
            text(
                "SELECT tablename, policyname, permissive, cmd, roles::text[], qual, with_check "
                "FROM pg_policies WHERE schemaname = current_schema()"
            )
        ):
            policies.setdefault(row[0], []).append(tuple(row[1:]))  # type: ignore[arg-type]
        triggers = {
            (table, name)
            for table, name in await conn.execute(
                text(
                    "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c "
                    "ON c.oid = t.tgrelid WHERE NOT t.tgisinternal AND t.tgenabled <> 'D'"
                )
            )
        }

    for table in tenant_owned_tables():
        assert flags[table] == (True, True), f"{table}: RLS must be enabled and forced"
        found = {p[0]: p[1:] for p in policies.get(table, [])}
        assert set(found) == {rls.POLICY_NAME, rls.MULTI_POLICY_NAME}, f"{table}: {found}"
        # One tenant, for everyone (the app role as itself).
        permissive, cmd, roles, qual, check = found[rls.POLICY_NAME]
        assert (permissive, cmd, roles) == ("PERMISSIVE", "ALL", ["public"])
        assert qual == check
        assert qual.startswith("(tenant_id = (NULLIF(current_setting('tenantry.tenant_id'"), qual
        # A list of tenants, only under the multi role.
        permissive, cmd, roles, qual, check = found[rls.MULTI_POLICY_NAME]
        assert (permissive, cmd, roles) == ("PERMISSIVE", "ALL", [rls.MULTI_ROLE])
        assert qual == check
        assert "tenant_id IN ( SELECT unnest(" in qual, qual
        assert "current_setting('tenantry.tenant_ids'" in qual, qual
    for table in platform_tables() + reference_tables():
        assert flags[table] == (False, False), f"{table} must not have RLS"
        assert table not in policies
    for table in rls.APPEND_ONLY_TABLES:
        assert (table, f"{table}_append_only") in triggers
