"""Isolation as a property, through the HTTP API, on both databases (DESIGN.md, "Tests":
random principals doing random operations never read or change another tenant's rows).

One world per backend, built through the API and the services as production builds it:

* three MSPs (Alpha, Bravo, Charlie) and 20 customer tenants: Alpha's eight (one of
  them, alpha-08, whose link Alpha revoked), ``ext-one`` (an organisation that already
  used Tenantry, linked to Alpha by consent with a NARROWED ceiling), Bravo's six and
  Charlie's five;
* Alpha's non-admin technicians reach customers by delegation only: Tina (1st Level
  Support, also in ext-one), Rory (Read-only, also in the revoked alpha-08), Cass (a
  custom role, also in ext-one), Gus (Technician through a user group and a tenant
  group), Eve (Technician, expired);
* the customers' own people (Carl, Cora, Xena, Rita, Bea), Bravo's admin and a
  technician without any delegation, Charlie's admin;
* the customers' blocks (issue #14): ext-one blocks Cass, alpha-01 blocks Alice (Alpha's
  admin), alpha-05 blocks the user group Helpdesk (Gus keeps alpha-06 through it);
* every tenant holds a contact and ticket #1001 (some #1002 too), so every id and ticket
  number asked for exists in other tenants as well.

Operations: list tickets, contacts, audit events, customers and ``/me/tenants``; read a
ticket (by number) or contact (by id) of any tenant in any tenant; create a contact or a
ticket (its requester a contact of any tenant), PATCH a ticket or contact and comment on
a ticket, by ids of any tenant; PUT the SLA policy, an MSP-owned write (rule 10). (The
API has no route that deletes a contact.)

Hypothesis then draws (principal, operation, tenant, ids) and the answer must match a
small ORACLE written here from DESIGN.md alone (it never asks the app's access code):
the permissions of a principal in a tenant are its home role at home; in a customer of
its home MSP with an active link, (everything for an MSP admin, else the union of its
live delegations' roles) ∩ the link's ceiling, and nothing at all for someone the
customer blocked (a blocked user group's grants give nothing there); at home in a
customer with an active link, the home role minus the MSP-owned permissions; elsewhere
nothing. Nothing there = 404; the permission missing = 403 naming it; else 2xx, every
listed row in that tenant, a write landed in that tenant only, and a refused write
changed no row of any watched table (read as the owner, bypassing row-level security).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread
import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.access.models import Grant, GrantScope
from tenantry.access.service import create_grant, operator_scope
from tenantry.app import create_app
from tenantry.audit.schemas import OPERATOR
from tenantry.config import Settings
from tenantry.db.base import Base
from tenantry.db.engine import Database
from tenantry.tenancy.models import Tenant
from tests.factories import api_token, client, make_tenant, make_user

# ---------------------------------------------------------------- the oracle's rule book
# Written out from DESIGN.md / ARCHITECTURE.md, not imported from tenantry.access.


def words(text: str) -> frozenset[str]:
    return frozenset(text.split())


CATALOG = words(
    """
    tenant:read contacts:read contacts:write tickets:read tickets:write time:read
    time:write time:approve invoices:read invoices:write compliance:read compliance:write
    software:request users:read users:manage roles:manage audit:read billing:manage
    customers:read customers:create customers:manage customers:delete links:manage
    portal:manage settings:manage rates:manage sla:manage
    """
)
# Rule 10: inside a customer with an active MSP link these are the MSP's, held there only
# through the link; the customer's own roles do not give them while it is managed.
MSP_OWNED = words("time:approve invoices:write rates:manage sla:manage")
# Mean nothing inside a client: never in a ceiling. A created customer's link carries
# the "full" template: everything else.
MSP_ONLY = words(
    "customers:read customers:create customers:manage customers:delete links:manage billing:manage"
)
FULL = CATALOG - MSP_ONLY
ROLES: dict[str, frozenset[str]] = {
    "owner": CATALOG,
    "admin": CATALOG - {"billing:manage"},
    "technician": words(
        """
        tenant:read contacts:read contacts:write tickets:read tickets:write time:read
        time:write invoices:read compliance:read compliance:write software:request
        users:read audit:read
        """
    ),
    "first_level_support": words(
        "tenant:read contacts:read tickets:read tickets:write time:read time:write"
    ),
    "read_only": frozenset(p for p in CATALOG if p.endswith(":read")),
}
CUSTOM_ROLE = frozenset({"tenant:read", "contacts:read", "contacts:write", "tickets:read"})
# What Xena (ext-one) consents to when Alpha asks for the Technician role: less.
EXT_CEILING = frozenset(
    {"tenant:read", "contacts:read", "contacts:write", "tickets:read", "audit:read"}
)
ADMINS = {"owner", "admin"}


@dataclass
class OTenant:
    slug: str
    id: uuid.UUID
    is_msp: bool
    msp: str | None = None  # the MSP holding an ACTIVE link to it
    ceiling: frozenset[str] = frozenset()
    # The customer's blocks of its MSP's people (issue #14): principals by name, and the
    # MSP's user groups by name, whose grants then give nothing here.
    blocked: set[str] = field(default_factory=set)
    blocked_groups: set[str] = field(default_factory=set)


@dataclass
class OPrincipal:
    name: str
    home: str
    home_role: str
    # customer slug -> roles' permissions of the delegations that cover it (live only)
    delegations: dict[str, list[frozenset[str]]] = field(default_factory=dict)
    # customer slug -> (user group, roles' permissions) of grants held through a group
    through_groups: dict[str, list[tuple[str, frozenset[str]]]] = field(default_factory=dict)


@dataclass
class Oracle:
    tenants: dict[str, OTenant]
    principals: dict[str, OPrincipal]

    def perms(self, who: str, slug: str) -> frozenset[str]:
        p = self.principals[who]
        tenant = self.tenants.get(slug)
        if tenant is None:
            return frozenset()
        if slug == p.home:
            if not tenant.is_msp and tenant.msp is not None:
                return ROLES[p.home_role] - MSP_OWNED
            return ROLES[p.home_role]
        if not self.tenants[p.home].is_msp or tenant.msp != p.home:
            return frozenset()
        if who in tenant.blocked:
            # A customer's block: nothing there, the admin's implicit ownership included.
            return frozenset()
        delegated = frozenset().union(
            *p.delegations.get(slug, []),
            *(
                perms
                for group, perms in p.through_groups.get(slug, [])
                if group not in tenant.blocked_groups
            ),
        )
        held = CATALOG if p.home_role in ADMINS else delegated
        return held & tenant.ceiling

    def visible(self, who: str) -> list[str]:
        return [slug for slug in self.tenants if self.perms(who, slug)]

    def customers_of(self, slug: str) -> set[str]:
        return {t.slug for t in self.tenants.values() if t.msp == slug}


# ---------------------------------------------------------------- the world


@dataclass
class World:
    app: FastAPI
    http: httpx.AsyncClient
    owner_engine: AsyncEngine
    oracle: Oracle
    tokens: dict[str, str]
    contacts: dict[uuid.UUID, str]  # seeded contact id -> its tenant's slug

    async def call(self, who: str, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        return await self.http.request(method, path, headers=headers, **kw)


async def _ok(response: httpx.Response, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, (response.request.url, response.text)
    body: dict[str, Any] = response.json()
    return body


async def build_world(
    app: FastAPI, database: Database, owner_engine: AsyncEngine, http: httpx.AsyncClient
) -> World:
    app_tenants: dict[str, Tenant] = {}
    o_tenants: dict[str, OTenant] = {}
    principals: dict[str, OPrincipal] = {}
    tokens: dict[str, str] = {}

    async def person(name: str, home: str, role: str) -> uuid.UUID:
        tenant = app_tenants[home]
        user = await make_user(database, tenant, f"{name}@{home}.example", role=role, password=None)
        tokens[name] = await api_token(database, user)
        principals[name] = OPrincipal(name, home, role)
        return user.id

    async def call(who: str, method: str, path: str, body: Any = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {tokens[who]}"}
        return await http.request(method, path, json=body, headers=headers)

    for slug in ("alpha", "bravo", "charlie"):
        app_tenants[slug] = await make_tenant(database, slug, is_msp=True)
        o_tenants[slug] = OTenant(slug, app_tenants[slug].id, is_msp=True)
    alice = await person("alice", "alpha", "admin")
    await person("bob", "bravo", "admin")
    await person("chad", "charlie", "owner")

    # Customers their MSP created: active link, full ceiling.
    for msp, admin, count in (("alpha", "alice", 8), ("bravo", "bob", 6), ("charlie", "chad", 5)):
        for n in range(1, count + 1):
            made = await _ok(
                await call(
                    admin, "POST", f"/api/v1/tenants/{msp}/customers", {"name": f"{msp} {n:02}"}
                )
            )
            slug = made["slug"]
            assert slug == f"{msp}-{n:02}", slug
            async with database.platform_reader() as session:
                row = await session.get(Tenant, uuid.UUID(made["id"]))
            assert row is not None
            app_tenants[slug] = row
            o_tenants[slug] = OTenant(slug, row.id, False, msp=msp, ceiling=FULL)

    # An organisation that already used Tenantry, linked to Alpha with its consent.
    app_tenants["ext-one"] = await make_tenant(database, "ext-one", display_name="Ext One")
    o_tenants["ext-one"] = OTenant("ext-one", app_tenants["ext-one"].id, False)
    await person("xena", "ext-one", "admin")
    asked = await _ok(
        await call(
            "alice",
            "POST",
            "/api/v1/tenants/alpha/links",
            {"customer": "ext-one", "ceiling": ["technician"]},
        )
    )
    approved = await _ok(
        await call(
            "xena",
            "POST",
            f"/api/v1/tenants/ext-one/links/{asked['id']}/approve",
            {"ceiling": sorted(EXT_CEILING)},
        ),
        200,
    )
    assert approved["state"] == "active" and set(approved["ceiling"]) == EXT_CEILING
    o_tenants["ext-one"].msp = "alpha"
    o_tenants["ext-one"].ceiling = EXT_CEILING

    # People: the MSPs' technicians and the customers' own users.
    tina = await person("tina", "alpha", "technician")
    rory = await person("rory", "alpha", "technician")
    cass = await person("cass", "alpha", "technician")
    gus = await person("gus", "alpha", "technician")
    eve = await person("eve", "alpha", "technician")
    await person("bert", "bravo", "technician")  # no delegation at all
    await person("carl", "alpha-01", "admin")
    await person("cora", "alpha-02", "read_only")
    await person("rita", "alpha-08", "admin")
    await person("bea", "bravo-01", "admin")

    async def delegate(
        user: uuid.UUID, who: str, customer: str, role: str, perms: frozenset[str]
    ) -> dict[str, Any]:
        body = {"user": str(user), "role": role, "scope": "customer", "customer": customer}
        made = await _ok(await call("alice", "POST", "/api/v1/tenants/alpha/grants", body))
        principals[who].delegations.setdefault(customer, []).append(perms)
        return made

    first = ROLES["first_level_support"]
    await delegate(tina, "tina", "alpha-01", "first_level_support", first)
    await delegate(tina, "tina", "alpha-02", "first_level_support", first)
    await delegate(rory, "rory", "alpha-01", "read_only", ROLES["read_only"])
    await delegate(rory, "rory", "alpha-03", "read_only", ROLES["read_only"])
    await delegate(rory, "rory", "alpha-08", "read_only", ROLES["read_only"])  # revoked below
    role = await _ok(
        await call(
            "alice",
            "POST",
            "/api/v1/tenants/alpha/roles",
            {"name": "Contacts desk", "permissions": sorted(CUSTOM_ROLE)},
        )
    )
    await delegate(cass, "cass", "alpha-04", role["key"], CUSTOM_ROLE)
    await delegate(cass, "cass", "ext-one", role["key"], CUSTOM_ROLE)
    # Tina in ext-one: 1st Level Support exceeds the ceiling Alice holds there, so the
    # instance operator issues it (outside "nobody hands out more than they hold").
    async with database.unit_of_work(
        operator_scope([app_tenants["alpha"].id, app_tenants["ext-one"].id])
    ) as session:
        await create_grant(
            session,
            issuer_tenant_id=app_tenants["alpha"].id,
            user_id=tina,
            role="first_level_support",
            scope=GrantScope.CUSTOMER,
            customer_tenant_id=app_tenants["ext-one"].id,
            actor=OPERATOR,
        )
    principals["tina"].delegations.setdefault("ext-one", []).append(first)
    # Gus: Technician over the tenant group "Healthcare" through the user group "Helpdesk".
    people = await _ok(
        await call("alice", "POST", "/api/v1/tenants/alpha/user-groups", {"name": "Helpdesk"})
    )
    await _ok(
        await call(
            "alice",
            "POST",
            f"/api/v1/tenants/alpha/user-groups/{people['id']}/members",
            {"user": str(gus)},
        )
    )
    clients = await _ok(
        await call("alice", "POST", "/api/v1/tenants/alpha/tenant-groups", {"name": "Healthcare"})
    )
    for slug in ("alpha-05", "alpha-06"):
        await _ok(
            await call(
                "alice",
                "POST",
                f"/api/v1/tenants/alpha/tenant-groups/{clients['id']}/members",
                {"customer": slug},
            )
        )
        principals["gus"].through_groups.setdefault(slug, []).append(
            ("Helpdesk", ROLES["technician"])
        )
    await _ok(
        await call(
            "alice",
            "POST",
            "/api/v1/tenants/alpha/grants",
            {
                "group": people["id"],
                "role": "technician",
                "scope": "tenant_group",
                "tenant_group": clients["id"],
            },
        )
    )
    # Eve: a delegation that has expired (the API only takes future expiries).
    soon = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    expired = await _ok(
        await call(
            "alice",
            "POST",
            "/api/v1/tenants/alpha/grants",
            {
                "user": str(eve),
                "role": "technician",
                "scope": "customer",
                "customer": "alpha-07",
                "expires_at": soon,
            },
        )
    )
    async with owner_engine.begin() as conn:
        await conn.execute(
            sa.update(Grant)
            .where(Grant.id == uuid.UUID(expired["id"]))
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=5))
        )

    # Every tenant gets a contact and ticket #1001, every other one #1002 too, made by
    # someone who may (before alpha-08's link ends).
    contacts: dict[uuid.UUID, str] = {}
    for n, slug in enumerate(o_tenants):
        tenant = o_tenants[slug]
        seeder = (
            "xena"
            if slug == "ext-one"
            else {"alpha": "alice", "bravo": "bob", "charlie": "chad"}[tenant.msp or slug]
        )
        base = f"/api/v1/tenants/{slug}"
        contact = await _ok(
            await call(
                seeder,
                "POST",
                f"{base}/contacts",
                {"name": f"Seed {slug}", "email": f"seed@{slug}.example"},
            )
        )
        contacts[uuid.UUID(contact["id"])] = slug
        for _ in range(1 + n % 2):
            await _ok(
                await call(seeder, "POST", f"{base}/tickets", {"title": f"Seed ticket of {slug}"})
            )

    # Alpha ends its link with alpha-08: Rory's delegation and Alice's ownership stop.
    links = await _ok(await call("alice", "GET", "/api/v1/tenants/alpha/links?limit=200"), 200)
    (link,) = [x for x in links["items"] if x["customer"]["slug"] == "alpha-08"]
    await _ok(await call("alice", "POST", f"/api/v1/tenants/alpha/links/{link['id']}/revoke"), 200)
    o_tenants["alpha-08"].msp = None

    # Blocks (issue #14): Xena keeps Cass out of ext-one, Carl keeps Alice (Alpha's admin)
    # out of alpha-01, and alpha-05's Pia keeps the Helpdesk group out (Gus keeps
    # alpha-06 through it). Everyone else keeps what they had.
    await person("pia", "alpha-05", "admin")
    helpdesk = {"user_group_id": people["id"]}
    for customer, by, body, blocked in (
        ("ext-one", "xena", {"user_id": str(cass)}, "cass"),
        ("alpha-01", "carl", {"user_id": str(alice)}, "alice"),
        ("alpha-05", "pia", helpdesk, None),
    ):
        mine = await _ok(
            await call(by, "GET", f"/api/v1/tenants/{customer}/links?state=active"), 200
        )
        (active,) = mine["items"]
        await _ok(
            await call(by, "POST", f"/api/v1/tenants/{customer}/links/{active['id']}/blocks", body)
        )
        if blocked:
            o_tenants[customer].blocked.add(blocked)
        else:
            o_tenants[customer].blocked_groups.add("Helpdesk")

    customers = [t for t in o_tenants.values() if not t.is_msp]
    assert len([t for t in o_tenants.values() if t.is_msp]) >= 3 and len(customers) >= 20
    oracle = Oracle(o_tenants, principals)
    return World(app, http, owner_engine, oracle, tokens, contacts)


# ---------------------------------------------------------------- what the owner sees

# The tables an operation here may write (every change must stay in the target tenant).
WATCHED = (
    "contacts",
    "tickets",
    "ticket_comments",
    "ticket_events",
    "ticket_counters",
    "sla_policies",
    "audit_events",
    "audit_chain_heads",
)
Snapshot = dict[str, set[tuple[str, str]]]


async def snapshot(owner_engine: AsyncEngine) -> Snapshot:
    """(tenant id, whole row) of every watched row, as the owner reads them."""
    state: Snapshot = {}
    async with owner_engine.connect() as conn:
        for name in WATCHED:
            table = Base.metadata.tables[name]
            rows = await conn.execute(sa.select(table))
            state[name] = {(str(r.tenant_id), repr(tuple(r))) for r in rows}
    return state


def changed_tenants(before: Snapshot, after: Snapshot) -> dict[str, set[str]]:
    """Per table, the tenants whose rows appeared, vanished or changed."""
    return {
        name: {tenant for tenant, _ in before[name] ^ after[name]}
        for name in WATCHED
        if before[name] != after[name]
    }


async def owner_rows(owner_engine: AsyncEngine, table: str, tenant: uuid.UUID) -> set[str]:
    """The ids (tickets: numbers) of one tenant's rows of ``table``, as the owner."""
    t = Base.metadata.tables[table]
    key = t.c.number if table == "tickets" else t.c.id
    async with owner_engine.connect() as conn:
        rows = await conn.execute(sa.select(key).where(t.c.tenant_id == tenant))
        return {str(x) for (x,) in rows}


# ---------------------------------------------------------------- operations

LISTS = {  # list operation -> (path under the tenant, permission)
    "list_tickets": ("tickets?status=all&limit=200", "tickets:read"),
    "list_contacts": ("contacts?limit=200", "contacts:read"),
    "list_audit": ("audit-events?limit=200", "audit:read"),
    "list_customers": ("customers?limit=200", "customers:read"),
}
ITEM_READS = {"get_ticket": "tickets:read", "get_contact": "contacts:read"}
WRITES = {
    "create_contact": ("contacts:write", "contacts"),
    "create_ticket": ("tickets:write", "tickets"),
    "patch_ticket": ("tickets:write", "tickets"),
    "patch_contact": ("contacts:write", "contacts"),
    "comment_ticket": ("tickets:write", "ticket_comments"),
    # MSP-owned (rule 10): the customer's own people in a linked customer are refused.
    "put_sla": ("sla:manage", "sla_policies"),
}
OPERATIONS = [*LISTS, *ITEM_READS, *WRITES, "me_tenants"]
PRIORITIES = ("P1", "P2", "P3", "P4")
NUMBERS = [1001, 1002, 1003, 99999]
NO_SUCH_TENANT = "no-such-tenant"


@dataclass(frozen=True)
class Case:
    who: str
    op: str
    tenant: str  # a slug of the world, or NO_SUCH_TENANT
    by_id: bool  # name the tenant by id in the URL instead of its slug
    number: int
    contact: uuid.UUID
    requester: uuid.UUID | None  # create_ticket: a contact of any tenant, or none


@dataclass
class Tally:
    outcomes: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str) -> None:
        self.outcomes[kind] = self.outcomes.get(kind, 0) + 1


def expect_refusal(
    response: httpx.Response, perms: frozenset[str], needed: str, case: Case
) -> str | None:
    """404 where nothing is visible, 403 naming ``needed`` where it is missing; None
    when the oracle allows the operation (the caller checks the 2xx)."""
    if not perms:
        assert response.status_code == 404, (case, response.status_code, response.text)
        return "404 tenant"
    if needed not in perms:
        assert response.status_code == 403, (case, response.status_code, response.text)
        body = response.json()
        assert body.get("permission") == needed, (case, body)
        return "403"
    return None


async def run_case(world: World, case: Case, tally: Tally) -> None:
    oracle = world.oracle
    if case.op == "me_tenants":
        response = await world.call(case.who, "GET", "/api/v1/me/tenants?limit=200")
        assert response.status_code == 200, response.text
        slugs = [t["slug"] for t in response.json()["items"]]
        assert set(slugs) == set(oracle.visible(case.who)), (case, slugs)
        assert slugs[0] == oracle.principals[case.who].home, slugs
        tally.add("200 me_tenants")
        return

    tenant = oracle.tenants.get(case.tenant)
    ref = str(tenant.id) if (tenant and case.by_id) else case.tenant
    base = f"/api/v1/tenants/{ref}"
    perms = oracle.perms(case.who, case.tenant)

    if case.op in LISTS:
        path, needed = LISTS[case.op]
        response = await world.call(case.who, "GET", f"{base}/{path}")
        refused = expect_refusal(response, perms, needed, case)
        if refused:
            tally.add(refused)
            return
        assert tenant is not None
        assert response.status_code == 200, (case, response.text)
        items = response.json()["items"]
        if case.op == "list_customers":
            got = {t["slug"] for t in items}
            assert got == oracle.customers_of(case.tenant), (case, got)
        else:
            # Every row listed is the tenant's own, and all of them are listed.
            assert {x["tenant_id"] for x in items} <= {str(tenant.id)}, (case, items)
            if case.op == "list_tickets":
                got = {str(x["number"]) for x in items}
                assert got == await owner_rows(world.owner_engine, "tickets", tenant.id)
            elif case.op == "list_contacts":
                got = {x["id"] for x in items}
                assert got == await owner_rows(world.owner_engine, "contacts", tenant.id)
        tally.add(f"200 {case.op}")
        return

    if case.op in ITEM_READS:
        needed = ITEM_READS[case.op]
        if case.op == "get_ticket":
            path, mine = f"tickets/{case.number}", await _has_ticket(world, tenant, case.number)
        else:
            path, mine = f"contacts/{case.contact}", world.contacts.get(case.contact) == case.tenant
        response = await world.call(case.who, "GET", f"{base}/{path}")
        refused = expect_refusal(response, perms, needed, case)
        if refused:
            tally.add(refused)
            return
        assert tenant is not None
        if not mine:  # the id exists, but in another tenant (or nowhere)
            assert response.status_code == 404, (case, response.text)
            tally.add("404 item")
            return
        assert response.status_code == 200, (case, response.text)
        assert response.json()["tenant_id"] == str(tenant.id), (case, response.text)
        tally.add(f"200 {case.op}")
        return

    await run_write(world, case, tenant, base, perms, tally)


async def _has_ticket(world: World, tenant: OTenant | None, number: int) -> bool:
    if tenant is None:
        return False
    return str(number) in await owner_rows(world.owner_engine, "tickets", tenant.id)


async def run_write(
    world: World,
    case: Case,
    tenant: OTenant | None,
    base: str,
    perms: frozenset[str],
    tally: Tally,
) -> None:
    needed, table = WRITES[case.op]
    mark = uuid.uuid4().hex[:8]
    mine = True  # does the item addressed exist in the target tenant?
    if case.op == "create_contact":
        request = (
            "POST",
            f"{base}/contacts",
            {"name": f"New {mark}", "email": f"{mark}@x.example"},
        )
    elif case.op == "create_ticket":
        body: dict[str, Any] = {"title": f"New {mark}"}
        if case.requester is not None:
            body["requester_contact_id"] = str(case.requester)
            mine = world.contacts.get(case.requester) == case.tenant
        request = ("POST", f"{base}/tickets", body)
    elif case.op == "patch_ticket":
        request = ("PATCH", f"{base}/tickets/{case.number}", {"title": f"Renamed {mark}"})
        mine = await _has_ticket(world, tenant, case.number)
    elif case.op == "comment_ticket":
        request = ("POST", f"{base}/tickets/{case.number}/comments", {"body": f"Note {mark}"})
        mine = await _has_ticket(world, tenant, case.number)
    elif case.op == "put_sla":
        minutes = 1 + int(mark, 16) % 100_000  # a new value each time: the write shows
        targets = {p: {"first_response": minutes, "resolution": minutes * 4} for p in PRIORITIES}
        request = ("PUT", f"{base}/sla-policy", {"targets": targets, "business_hours": {}})
    else:  # patch_contact
        request = ("PATCH", f"{base}/contacts/{case.contact}", {"name": f"Renamed {mark}"})
        mine = world.contacts.get(case.contact) == case.tenant

    before = await snapshot(world.owner_engine)
    method, url, payload = request
    response = await world.call(case.who, method, url, json=payload)
    changed = changed_tenants(before, await snapshot(world.owner_engine))

    refused = expect_refusal(response, perms, needed, case)
    if refused is None and not mine:
        # A reference to another tenant's row: not found (an item in the path) or a
        # field error naming it (a body field), never a write.
        if case.op == "create_ticket":
            assert response.status_code == 422, (case, response.text)
            assert response.json()["errors"][0]["field"] == "requester_contact_id"
            refused = "422 foreign requester"
        else:
            assert response.status_code == 404, (case, response.text)
            refused = "404 item"
    if refused:
        assert not changed, (case, "a refused write changed rows", changed)
        tally.add(f"{refused} (write)")
        return

    assert tenant is not None
    assert response.status_code in (200, 201), (case, response.text)
    data = response.json()
    if "tenant_id" in data:
        assert data["tenant_id"] == str(tenant.id), (case, data)
    assert table in changed, (case, "an allowed write wrote nothing", changed)
    outside = {name: tenants - {str(tenant.id)} for name, tenants in changed.items()}
    assert not any(outside.values()), (case, "a write landed outside its tenant", outside)
    if case.op in ("patch_ticket", "patch_contact"):
        assert f"Renamed {mark}" in (data.get("title") or data.get("name"))
    tally.add(f"2xx {case.op}")


# ---------------------------------------------------------------- the property


@st.composite
def cases(draw: Any, world: World) -> Case:
    oracle = world.oracle
    who = draw(st.sampled_from(sorted(oracle.principals)))
    anywhere = [*oracle.tenants, NO_SUCH_TENANT]
    # Half the time a tenant the caller can see, so allowed operations are common too.
    visible = oracle.visible(who)
    tenant = draw(st.sampled_from(visible) | st.sampled_from(anywhere))
    pool = sorted(world.contacts, key=str)
    own = [c for c in pool if world.contacts[c] == tenant]
    any_contact = st.sampled_from(pool) | st.just(uuid.UUID(int=7))
    contact = draw(st.sampled_from(own) | any_contact if own else any_contact)
    return Case(
        who=who,
        op=draw(st.sampled_from(OPERATIONS)),
        tenant=tenant,
        by_id=draw(st.booleans()),
        number=draw(st.sampled_from(NUMBERS)),
        contact=contact,
        requester=draw(st.none() | st.sampled_from(pool)),
    )


# 0.03 s (idle) to 0.1 s (busy machine) an example on either backend, plus 3-20 s to
# build the world: 0.5 to 2 minutes a backend.
EXAMPLES = 1000


@pytest.fixture
async def world(
    settings: Settings, database: Database, owner_engine: AsyncEngine
) -> AsyncIterator[World]:
    app = create_app(settings, database)
    async with client(app) as http:
        yield await build_world(app, database, owner_engine, http)


async def test_random_principals_never_leave_the_oracle(world: World) -> None:
    tally = Tally()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
        ],
    )
    @given(case=cases(world))
    def check(case: Case) -> None:
        anyio.from_thread.run(run_case, world, case, tally)

    await anyio.to_thread.run_sync(check)
    # The draw reached every kind of answer: not a suite that only ever sees 404s.
    kinds = tally.outcomes
    for expected in ("404 tenant", "403", "404 item", "200 me_tenants"):
        assert any(k.startswith(expected) for k in kinds), kinds
    for op in [*WRITES]:
        assert kinds.get(f"2xx {op}"), (op, kinds)
    assert any(k.endswith("(write)") and k.startswith(("403", "404")) for k in kinds), kinds
