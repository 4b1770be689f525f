"""The access rules against a small, independent reference model (DESIGN.md, rules 2-5).

Hypothesis draws random worlds (grants to the user or their groups, built-in, custom and
unknown roles, every scope, exclusions, expiries, revocations, links in every state with
random ceilings) and the permissions the implementation decides must equal the model's.
It runs through the real loading code (AccessService) on both databases.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenantry.access.models import (
    CustomRole,
    Grant,
    GrantScope,
    TenantGroup,
    TenantGroupMember,
    UserGroup,
    UserGroupMember,
)
from tenantry.access.permissions import BUILTIN_ROLES, CATALOG
from tenantry.access.service import AccessService, operator_scope
from tenantry.db.base import utcnow
from tenantry.db.engine import Database
from tenantry.errors import NotFound
from tenantry.identity.models import User
from tenantry.identity.service import principal_of
from tenantry.tenancy.models import LinkState, Tenant, TenantLink

PERMISSIONS = sorted(CATALOG)
CUSTOMERS = 3
ADMIN_KEYS = {"owner", "admin"}

# ---------------------------------------------------------------- the reference model


@dataclass(frozen=True)
class GrantSpec:
    to_group: int | None  # None: to the user; else index of a user group
    role: str  # built-in key, "custom0"/"custom1", or "ghost" (a deleted custom role)
    scope: str
    customer: int | None
    tenant_group: int | None
    excluded: frozenset[int]
    expiry: str  # "none" | "past" | "future"
    revoked: bool


@dataclass(frozen=True)
class World:
    home_is_msp: bool
    custom_roles: tuple[frozenset[str], frozenset[str]]
    user_in_groups: frozenset[int]
    tenant_group_members: tuple[frozenset[int], frozenset[int]]
    grants: tuple[GrantSpec, ...]
    links: tuple[tuple[str, frozenset[str], str], ...]  # per customer: state, ceiling, expiry


def model_permissions(world: World, target: int | None) -> frozenset[str]:
    """target None = the home tenant, else a customer index. Written from DESIGN.md only."""

    def role_perms(role: str) -> set[str]:
        if role in BUILTIN_ROLES:
            return set(BUILTIN_ROLES[role].permissions)
        if role == "custom0":
            return set(world.custom_roles[0])
        if role == "custom1":
            return set(world.custom_roles[1])
        return set()

    held = [
        g
        for g in world.grants
        if not g.revoked
        and g.expiry != "past"
        and (g.to_group is None or g.to_group in world.user_in_groups)
    ]
    if target is None:
        perms: set[str] = set()
        for g in held:
            if g.scope == "home":
                perms |= role_perms(g.role)
        return frozenset(perms)
    state, ceiling, link_expiry = world.links[target]
    if state != "active" or link_expiry == "past":
        return frozenset()
    perms = set()
    if world.home_is_msp and any(g.scope == "home" and g.role in ADMIN_KEYS for g in held):
        perms |= set(CATALOG)
    for g in held:
        if (
            (g.scope == "customer" and g.customer == target)
            or (
                g.scope == "tenant_group"
                and target in world.tenant_group_members[g.tenant_group or 0]
            )
            or (g.scope == "all_customers" and target not in g.excluded)
        ):
            perms |= role_perms(g.role)
    return frozenset(perms & ceiling)


# ---------------------------------------------------------------- random worlds

perm_sets = st.frozensets(st.sampled_from(PERMISSIONS), max_size=8)
customer_index = st.integers(0, CUSTOMERS - 1)


@st.composite
def grant_specs(draw: Any) -> GrantSpec:
    scope = draw(st.sampled_from(["home", "customer", "tenant_group", "all_customers"]))
    return GrantSpec(
        to_group=draw(st.none() | st.integers(0, 1)),
        role=draw(st.sampled_from([*BUILTIN_ROLES, "custom0", "custom1", "ghost"])),
        scope=scope,
        customer=draw(customer_index) if scope == "customer" else None,
        tenant_group=draw(st.integers(0, 1)) if scope == "tenant_group" else None,
        excluded=draw(st.frozensets(customer_index)) if scope == "all_customers" else frozenset(),
        expiry=draw(st.sampled_from(["none", "past", "future"])),
        revoked=draw(st.booleans()),
    )


worlds = st.builds(
    World,
    home_is_msp=st.booleans(),
    custom_roles=st.tuples(perm_sets, perm_sets),
    user_in_groups=st.frozensets(st.integers(0, 1)),
    tenant_group_members=st.tuples(st.frozensets(customer_index), st.frozensets(customer_index)),
    grants=st.lists(grant_specs(), max_size=6).map(tuple),
    links=st.tuples(
        *[
            st.tuples(
                st.sampled_from(["active", "active", "pending", "revoked", "expired"]),
                st.frozensets(st.sampled_from(PERMISSIONS)) | st.just(frozenset(PERMISSIONS)),
                st.sampled_from(["none", "past", "future"]),
            )
            for _ in range(CUSTOMERS)
        ]
    ),
)

# ---------------------------------------------------------------- the implementation


async def build(database: Database, world: World) -> tuple[Any, list[Tenant], Tenant]:
    """Write the world as rows; return the user's principal, customers and home."""
    now = utcnow()
    tag = uuid.uuid4().hex[:10]
    when = {"none": None, "past": now - timedelta(minutes=1), "future": now + timedelta(days=1)}
    async with database.unit_of_work(operator_scope([])) as session:
        home = Tenant(slug=f"m-{tag}", display_name="MSP", is_msp=world.home_is_msp)
        customers = [Tenant(slug=f"c{i}-{tag}", display_name=f"C{i}") for i in range(CUSTOMERS)]
        session.add_all([home, *customers])
        await session.flush()
        user = User(home_tenant_id=home.id, email=f"u-{tag}@example.com", display_name="U")
        roles = [
            CustomRole(tenant_id=home.id, name=f"r{i}", permissions=sorted(perms))
            for i, perms in enumerate(world.custom_roles)
        ]
        user_groups = [UserGroup(tenant_id=home.id, name=f"g{i}") for i in range(2)]
        tenant_groups = [TenantGroup(msp_tenant_id=home.id, name=f"t{i}") for i in range(2)]
        session.add_all([user, *roles, *user_groups, *tenant_groups])
        await session.flush()
        session.add_all(
            UserGroupMember(group_id=user_groups[i].id, user_id=user.id)
            for i in world.user_in_groups
        )
        for i, members in enumerate(world.tenant_group_members):
            session.add_all(
                TenantGroupMember(group_id=tenant_groups[i].id, customer_tenant_id=customers[c].id)
                for c in members
            )
        role_keys = {
            "custom0": roles[0].key,
            "custom1": roles[1].key,
            "ghost": f"custom:{uuid.uuid4()}",
        }
        for spec in world.grants:
            session.add(
                Grant(
                    tenant_id=home.id,
                    user_id=None if spec.to_group is not None else user.id,
                    user_group_id=user_groups[spec.to_group].id
                    if spec.to_group is not None
                    else None,
                    role=role_keys.get(spec.role, spec.role),
                    scope=GrantScope(spec.scope),
                    customer_tenant_id=customers[spec.customer].id
                    if spec.customer is not None
                    else None,
                    tenant_group_id=(
                        tenant_groups[spec.tenant_group].id
                        if spec.tenant_group is not None
                        else None
                    ),
                    excluded_customer_ids=[str(customers[i].id) for i in sorted(spec.excluded)],
                    expires_at=when[spec.expiry],
                    revoked_at=now if spec.revoked else None,
                )
            )
        for customer, (state, ceiling, expiry) in zip(customers, world.links, strict=True):
            session.add(
                TenantLink(
                    msp_tenant_id=home.id,
                    customer_tenant_id=customer.id,
                    state=LinkState(state),
                    ceiling=sorted(ceiling),
                    expires_at=when[expiry],
                )
            )
    return principal_of(user, home, auth_method="cli"), customers, home


async def decided(database: Database, principal: Any, tenant: Tenant) -> frozenset[str]:
    async with database.platform_reader() as session:
        try:
            ctx = await AccessService(session).context_in(principal, tenant)
        except NotFound:
            return frozenset()
    return ctx.permissions


async def test_decisions_match_the_reference_model(database: Database) -> None:
    @settings(
        max_examples=40,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(world=worlds)
    def check(world: World) -> None:
        async def run() -> None:
            principal, customers, home = await build(database, world)
            assert await decided(database, principal, home) == model_permissions(world, None)
            for i, customer in enumerate(customers):
                got = await decided(database, principal, customer)
                assert got == model_permissions(world, i), (i, world)

        anyio.from_thread.run(run)

    await anyio.to_thread.run_sync(check)
