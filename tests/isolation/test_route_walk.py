"""Every route with an id in its path, called with another MSP's real ids, answers 404
and changes nothing (DESIGN.md, access rule 9 and "Isolation").

The caller is Alice, admin of the MSP Alpha: she holds every permission in Alpha and in
its customer Alpha One. Bravo (another MSP) and its customer Bravo One hold a real row of
every kind (ticket, comment, contact, work type, time entry, recurring item, invoice,
custom role, user group, client group, grant, link, user, invitation, session, token).

* Phase 1: every route, every method, with Bravo's tenants in ``{tenant}`` and Bravo's
  ids in every other parameter: 404.
* Phase 2: the routes with ``{tenant}`` and an item id, with Alpha's own tenants in
  ``{tenant}`` (where Alice may do anything) and Bravo's item ids: 404.

After each route the whole database, read as the owner, must be what it was (a few
bookkeeping columns excepted, see ``IGNORED``). A path parameter the walk cannot fill
fails the test: a new route cannot slip through unwalked; teach ``b_values`` its name.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.app import create_app
from tenantry.config import Settings
from tenantry.db.base import Base
from tenantry.db.engine import Database
from tenantry.tenancy.models import Tenant
from tests.compliance.evidence.helpers import PDF, seed_assessment
from tests.compliance.risks.rows import requirement_through
from tests.factories import PASSWORD, api_token, client, make_tenant, make_user, signed_in_client

PARAM = re.compile(r"{([^}:]+)(?::[^}]*)?}")

# The instance operator's API (operator/): the operator stands outside every tenant and
# sees every MSP by design, so "another MSP's id" means nothing there. What the walk
# checks instead: a tenant user's credentials (Alice's token) answer 401 on every one of
# them, with Bravo's slug and ids in the path, and change nothing.
OPERATOR_PREFIX = "/api/v1/operator/"

# Capability URLs: the secret token in the path is the credential, by design, so the
# caller's tenant does not matter there (identity/invitations.py). Listed, not skipped
# silently: the walk checks they are still public routes.
CAPABILITY_ROUTES = {
    ("GET", "/api/v1/invitations/{token}"),
    ("POST", "/api/v1/invitations/{token}/accept"),
    ("GET", "/invite/{token}"),
    ("POST", "/invite/{token}"),
    # MSP self sign-up's emailed link (signup/): no tenant exists before it is followed.
    ("GET", "/api/v1/signup/{token}"),
    ("POST", "/api/v1/signup/{token}/verify"),
    ("GET", "/signup/verify/{token}"),
    ("POST", "/signup/verify/{token}"),
}

# Bookkeeping a request may touch without changing anything of a tenant: the caller's
# own token use and session activity, the sign-in throttle.
IGNORED = {
    "api_tokens": {"last_used_at"},
    "auth_sessions": {"last_seen_at", "expires_at"},
    "sign_in_throttles": None,  # the whole table
}

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

# Valid bodies, so a 404 is the item lookup's answer, not the body check's 422.
API = "/api/v1/tenants/{tenant}"
JSON_BODIES: dict[tuple[str, str], Any] = {
    ("PATCH", API + "/customers/{customer}"): {"display_name": "Renamed"},
    ("PATCH", API + "/roles/{role}"): {"name": "Renamed role"},
    ("PATCH", API + "/user-groups/{group_id}"): {"name": "Renamed group"},
    ("POST", API + "/user-groups/{group_id}/members"): {"user": "{alice}"},
    ("PATCH", API + "/tenant-groups/{group_id}"): {"name": "Renamed group"},
    ("POST", API + "/tenant-groups/{group_id}/members"): {"customer": "{a1}"},
    ("POST", API + "/links/{link_id}/approve"): {},
    ("POST", API + "/links/{link_id}/narrow"): {"ceiling": ["tickets:read"]},
    ("POST", API + "/links/{link_id}/blocks"): {"user_id": "{alice}"},
    ("PATCH", API + "/contacts/{contact_id}"): {"name": "Renamed"},
    ("PATCH", API + "/tickets/{number}"): {"title": "Renamed"},
    ("POST", API + "/tickets/{number}/comments"): {"body": "hello"},
    ("PATCH", API + "/work-types/{work_type_id}"): {"name": "Renamed"},
    ("PATCH", API + "/time-entries/{entry_id}"): {"minutes": 15},
    ("POST", API + "/time-entries/{entry_id}/reject"): {"reason": "no"},
    ("POST", API + "/invoices/{invoice_id}/void"): {"reason": "no"},
    ("PATCH", API + "/recurring-items/{item_id}"): {"amount_minor": 5},
    ("PATCH", API + "/service-plans/{plan_id}"): {"price_minor": 5},
    ("PUT", API + "/service-plans/assignments/{customer}"): {"plan_id": str(uuid.uuid4())},
    ("PUT", API + "/service-plan"): {"plan_id": str(uuid.uuid4())},
    ("POST", API + "/compliance/assessments/{assessment_id}/evidence/links"): {
        "url": "https://example.com/evidence"
    },
    ("PATCH", API + "/compliance/risks/{risk_id}"): {"title": "Renamed"},
    ("POST", API + "/compliance/risks/{risk_id}/links"): {"requirement_id": str(uuid.uuid4())},
    ("PATCH", API + "/compliance/policies/{policy_id}"): {"title": "Renamed"},
    ("PATCH", API + "/compliance/policies/{policy_id}/versions/{version_id}"): {
        "body_markdown": "x"
    },
    ("PATCH", API + "/compliance/policy-templates/{template_id}"): {"title": "Renamed"},
    ("POST", API + "/compliance/policy-templates/{template_id}/copy"): {"client": "{a1}"},
    ("PATCH", API + "/compliance/frameworks/{framework_id}"): {"title": "Renamed"},
    ("POST", API + "/compliance/frameworks/{framework_id}/share"): {"shared": True},
    ("POST", API + "/compliance/frameworks/{framework_id}/requirements"): {
        "ref": "X-1",
        "title": "t",
    },
    ("PATCH", API + "/compliance/frameworks/{framework_id}/requirements/{requirement}"): {
        "title": "Renamed"
    },
    ("PATCH", API + "/compliance/assessments/{assessment_id}"): {"notes": "x"},
    ("PATCH", API + "/compliance/measures/{measure_id}"): {"title": "Renamed"},
    ("POST", API + "/compliance/measures/{measure_id}/requirements"): {
        "requirement_id": str(uuid.uuid4())
    },
}
FORM_BODIES: dict[tuple[str, str], dict[str, str]] = {
    ("POST", "/msp/customers/{customer}/rename"): {"display_name": "Renamed"},
    ("POST", "/msp/service-plans/{plan_id}"): {"name": "R", "included_users": "5", "price": "1"},
    ("POST", "/msp/service-plans/clients/{customer}"): {"plan_id": str(uuid.uuid4())},
    ("POST", "/t/{tenant}/roles/{role}/edit"): {"name": "Renamed role"},
    ("POST", "/t/{tenant}/access/groups/{group_id}/edit"): {"name": "Renamed group"},
    ("POST", "/msp/client-groups/{group_id}/edit"): {"name": "Renamed group"},
    ("POST", "/t/{tenant}/contacts/{contact_id}"): {"name": "Renamed", "email": "r@x.example"},
    ("POST", "/t/{tenant}/tickets/{number}"): {"title": "Renamed"},
    ("POST", "/t/{tenant}/tickets/{number}/comments"): {"body": "hello"},
    ("POST", "/t/{tenant}/time/{entry_id}/reject"): {"reason": "no"},
    ("POST", "/t/{tenant}/invoices/{invoice_id}/void"): {"reason": "no"},
    ("POST", "/t/{tenant}/msp/{link_id}/decline"): {"confirm": "yes"},
    ("POST", "/t/{tenant}/msp/{link_id}/revoke"): {"confirm": "yes"},
    ("POST", "/t/{tenant}/msp/{link_id}/narrow"): {"ceiling": "tickets:read"},
    ("POST", "/t/{tenant}/msp/{link_id}/approve"): {"ceiling": "tickets:read"},
    ("POST", "/msp/links/{link_id}/revoke"): {"confirm": "yes"},
    ("POST", "/msp/client-groups/{group_id}/members"): {"customer": "{a1}"},
    ("POST", "/t/{tenant}/access/groups/{group_id}/members"): {"user": "{alice}"},
    ("POST", "/t/{tenant}/compliance/assessments/{assessment_id}/evidence/links"): {
        "url": "https://example.com/evidence"
    },
    ("POST", "/t/{tenant}/compliance/risks/{risk_id}"): {"title": "Renamed", "likelihood": "2"},
    ("POST", "/t/{tenant}/compliance/risks/{risk_id}/delete"): {"confirm": "yes"},
    ("POST", "/t/{tenant}/compliance/risks/{risk_id}/links"): {"target": f"measure:{uuid.uuid4()}"},
    ("POST", "/t/{tenant}/compliance/policies/{policy_id}/edit"): {"title": "Renamed"},
    ("POST", "/t/{tenant}/compliance/policy-templates/{template_id}"): {"title": "Renamed"},
    ("POST", "/t/{tenant}/compliance/policy-templates/{template_id}/copy"): {"client": "{a1}"},
    ("POST", "/t/{tenant}/compliance/library/{framework_id}/requirements"): {
        "ref": "X-1",
        "title": "t",
    },
    ("POST", "/t/{tenant}/compliance/library/{framework_id}/share"): {"shared": "on"},
    (
        "POST",
        "/t/{tenant}/compliance/library/{framework_id}/requirements/{requirement}/move",
    ): {"position": "0"},
}
# Ids that exist nowhere, to tell an id-independent refusal from a leak.
NOWHERE = {"number": "999999", "role": f"custom:{uuid.uuid4()}", "customer": "no-such-client"}


@dataclass
class Bravo:
    """Another MSP's rows (all values as they go into a path)."""

    values: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Walk:
    app: FastAPI
    http: httpx.AsyncClient
    owner_engine: AsyncEngine
    alice: dict[str, str]
    mine: dict[str, str]  # Alpha's own values: "a1" (its client's slug), "alice" (id)
    bravo: Bravo


async def _ok(response: httpx.Response, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, (response.request.url, response.text)
    body: dict[str, Any] = response.json()
    return body


async def _customer(http: httpx.AsyncClient, auth: dict[str, str], msp: str, name: str) -> str:
    made = await _ok(
        await http.post(f"/api/v1/tenants/{msp}/customers", json={"name": name}, headers=auth)
    )
    return str(made["slug"])


async def _build_bravo(
    http: httpx.AsyncClient, app: FastAPI, database: Database, bravo: Tenant
) -> Bravo:
    """Bravo's rows of every kind, made through the API as its admin Bob."""
    bob_user = await make_user(database, bravo, "bob@bravo.example", role="owner")
    bob = {"Authorization": f"Bearer {await api_token(database, bob_user)}"}
    bert = await make_user(database, bravo, "bert@bravo.example", role="technician", password=None)
    b1 = await _customer(http, bob, "bravo", "Bravo One")

    async def post(tenant: str, path: str, body: Any) -> dict[str, Any]:
        return await _ok(
            await http.post(f"/api/v1/tenants/{tenant}/{path}", json=body, headers=bob)
        )

    async with database.platform_reader() as session:
        b1_row = (await session.scalars(sa.select(Tenant).where(Tenant.slug == b1))).one()
    beth = await make_user(database, b1_row, "beth@bravo-one.example", role="admin", password=None)

    v: dict[str, list[str]] = {
        "tenant": [b1, "bravo"],
        "customer": [b1, str(b1_row.id)],
        "user": [str(bert.id), str(beth.id)],
    }
    v["user_id"] = v["user"]
    roles = [
        await post(t, "roles", {"name": "Secret role", "permissions": ["tickets:read"]})
        for t in ("bravo", b1)
    ]
    v["role"] = [r["key"] for r in roles]
    user_groups = [await post(t, "user-groups", {"name": "Secret people"}) for t in ("bravo", b1)]
    client_group = await post("bravo", "tenant-groups", {"name": "Secret clients"})
    await post("bravo", f"tenant-groups/{client_group['id']}/members", {"customer": b1})
    await post("bravo", f"user-groups/{user_groups[0]['id']}/members", {"user": str(bert.id)})
    v["group_id"] = [str(g["id"]) for g in [*user_groups, client_group]]
    grant = await post(
        "bravo",
        "grants",
        {"user": str(bert.id), "role": "technician", "scope": "customer", "customer": b1},
    )
    v["grant_id"] = [str(grant["id"])]
    # A tenant Bravo asks to manage: its owner is notified (a notification of someone else).
    prospect = await make_tenant(database, "bravo-prospect", display_name="Bravo Prospect")
    pat = await make_user(database, prospect, "pat@prospect.example", role="owner", password=None)
    await post("bravo", "links", {"customer": "bravo-prospect", "ceiling": ["technician"]})
    pat_auth = {"Authorization": f"Bearer {await api_token(database, pat)}"}
    told = await _ok(await http.get("/api/v1/me/notifications", headers=pat_auth), 200)
    v["notification_id"] = [str(n["id"]) for n in told["items"]]
    assert v["notification_id"]
    links = await _ok(await http.get("/api/v1/tenants/bravo/links", headers=bob), 200)
    v["link_id"] = [str(link["id"]) for link in links["items"]]
    assert v["link_id"]
    # Bravo One's own admin blocks Bert (a block is the customer's row about its link).
    beth_auth = {"Authorization": f"Bearer {await api_token(database, beth)}"}
    [b1_link] = [link["id"] for link in links["items"] if link["customer"]["slug"] == b1]
    block = await _ok(
        await http.post(
            f"/api/v1/tenants/{b1}/links/{b1_link}/blocks",
            json={"user_id": str(bert.id)},
            headers=beth_auth,
        )
    )
    v["block_id"] = [str(block["id"])]
    contact = await post(b1, "contacts", {"name": "Carla", "email": "carla@bravo-one.example"})
    v["contact_id"] = [str(contact["id"])]
    tickets = [await post(b1, "tickets", {"title": f"Secret {n}"}) for n in range(3)]
    await post(b1, f"tickets/{tickets[-1]['number']}/comments", {"body": "secret"})
    # Alpha One has ticket #1001 of its own: Bravo's #1003 is a number Alpha lacks.
    v["number"] = [str(tickets[-1]["number"])]
    work_type = await post(b1, "work-types", {"name": "Work", "rate_minor": 100, "currency": "EUR"})
    v["work_type_id"] = [str(work_type["id"])]
    entry = await post(
        b1, "time-entries", {"work_type_id": work_type["id"], "minutes": 30, "billable": True}
    )
    v["entry_id"] = [str(entry["id"])]
    item = await post(
        b1, "recurring-items", {"description": "Support", "amount_minor": 1000, "currency": "EUR"}
    )
    v["item_id"] = [str(item["id"])]
    # Bravo's service plan, with Bravo One on it (both rows in Bravo's tenant).
    plan = await post(
        "bravo",
        "service-plans",
        {"name": "Secret plan", "included_users": 5, "price_minor": 100, "currency": "EUR"},
    )
    v["plan_id"] = [str(plan["id"])]
    await _ok(
        await http.put(
            f"/api/v1/tenants/bravo/service-plans/assignments/{b1}",
            json={"plan_id": plan["id"]},
            headers=bob,
        ),
        200,
    )
    invoice = await post(
        b1,
        "invoices",
        {"period_start": "2026-01-01", "period_end": "2026-01-31", "currency": "EUR"},
    )
    v["invoice_id"] = [str(invoice["id"])]
    # Compliance: an assessment (made with the programme's models) and a file on it.
    assessment = await seed_assessment(database, b1_row.id)
    v["assessment_id"] = [str(assessment)]
    evidence = await _ok(
        await http.post(
            f"/api/v1/tenants/{b1}/compliance/assessments/{assessment}/evidence",
            files={"file": ("secret.pdf", PDF, "application/pdf")},
            headers=bob,
        )
    )
    v["evidence_id"] = [str(evidence["id"])]
    risk = await post(
        b1,
        "compliance/risks",
        {"title": "Secret risk", "likelihood": 3, "impact": 4, "treatment": "mitigate"},
    )
    v["risk_id"] = [str(risk["id"])]
    requirement = await requirement_through(database, b1_row.id)
    risk_link = await post(
        b1, f"compliance/risks/{risk['id']}/links", {"requirement_id": str(requirement)}
    )
    v["risk_link_id"] = [str(risk_link["id"])]
    # A published policy with a new draft in Bravo One, one template in Bravo.
    policy = await post(b1, "compliance/policies", {"title": "Secret", "body_markdown": "x"})
    v1 = policy["versions"][0]["id"]
    policy_url = f"/api/v1/tenants/{b1}/compliance/policies/{policy['id']}"
    for step in ("approve", "publish"):
        await _ok(await http.post(f"{policy_url}/versions/{v1}/{step}", headers=bob), 200)
    # Beth is Bravo One's own: she acknowledges (Bob acts there for the MSP).
    beth_token = {"Authorization": f"Bearer {await api_token(database, beth)}"}
    await _ok(await http.post(f"{policy_url}/acknowledge", headers=beth_token), 200)
    draft = await post(b1, f"compliance/policies/{policy['id']}/versions", {})
    v["policy_id"] = [str(policy["id"])]
    v["version_id"] = [str(v1), str(draft["id"])]
    template = await post("bravo", "compliance/policy-templates", {"title": "Secret"})
    v["template_id"] = [str(template["id"])]
    # A framework Bravo wrote and shares with its clients, and one Bravo One wrote.
    frameworks = [
        await post(t, "compliance/frameworks", {"key": "secret", "title": "Secret", "version": "1"})
        for t in ("bravo", b1)
    ]
    shared = f"/api/v1/tenants/bravo/compliance/frameworks/{frameworks[0]['id']}/share"
    await _ok(await http.post(shared, json={"shared": True}, headers=bob), 200)
    requirement = await post(
        b1,
        f"compliance/frameworks/{frameworks[1]['id']}/requirements",
        {"ref": "SECRET-01", "title": "Secret"},
    )
    v["framework_id"] = [str(f["id"]) for f in frameworks]
    v["ref"] = v["framework_id"]
    v["requirement"] = [str(requirement["requirements"][0]["id"])]
    # A compliance programme: an adopted framework, its requirement and assessment, a
    # measure mapped to it.
    adopted = await post(b1, "compliance/adopted", {"framework": "msp-baseline@1"})
    # Both kinds of framework id: the authored ones above and this adopted one.
    v["framework_id"] = [*v["framework_id"], str(adopted["id"])]
    listed = await _ok(
        await http.get(
            f"/api/v1/tenants/{b1}/compliance/adopted/{adopted['id']}/requirements", headers=bob
        ),
        200,
    )
    requirement = next(r for r in listed["items"] if r["assessable"])
    v["requirement_id"] = [str(requirement["id"])]
    v["assessment_id"] = [*v["assessment_id"], str(requirement["assessment"]["id"])]
    measure = await post(b1, "compliance/measures", {"title": "Secret measure"})
    await _ok(
        await http.post(
            f"/api/v1/tenants/{b1}/compliance/measures/{measure['id']}/requirements",
            json={"requirement_id": requirement["id"]},
            headers=bob,
        ),
        200,
    )
    v["measure_id"] = [str(measure["id"])]
    invitation = await post("bravo", "invitations", {"email": "new@bravo.example", "role": "admin"})
    v["invitation_id"] = [str(invitation["id"])]
    v["token"] = [invitation["link"].rstrip("/").rsplit("/", 1)[-1]]
    tokens = await _ok(await http.get("/api/v1/me/tokens", headers=bob), 200)
    v["token_id"] = [str(t["id"]) for t in tokens["items"]]
    async with await signed_in_client(app, "bob@bravo.example", PASSWORD) as browser:
        sessions = await _ok(await browser.get("/api/v1/me/sessions"), 200)
    v["session_id"] = [str(s["id"]) for s in sessions["items"]]
    assert v["token_id"] and v["session_id"]
    return Bravo(v)


@pytest.fixture
async def walk(
    settings: Settings, database: Database, owner_engine: AsyncEngine
) -> AsyncIterator[Walk]:
    app = create_app(settings, database)
    alpha = await make_tenant(database, "alpha", is_msp=True, display_name="Alpha IT")
    bravo = await make_tenant(database, "bravo", is_msp=True, display_name="Bravo IT")
    alice = await make_user(database, alpha, "alice@alpha.example", role="owner", password=None)
    auth = {"Authorization": f"Bearer {await api_token(database, alice)}"}
    async with client(app) as http:
        a1 = await _customer(http, auth, "alpha", "Alpha One")
        await _ok(
            await http.post(f"/api/v1/tenants/{a1}/tickets", json={"title": "Own"}, headers=auth)
        )
        b = await _build_bravo(http, app, database, bravo)
        mine = {"a1": a1, "alice": str(alice.id)}
        yield Walk(app, http, owner_engine, auth, mine, b)


# ---------------------------------------------------------------- the route table


def id_routes(app: FastAPI) -> list[tuple[str, str, APIRoute]]:
    """(method, path, route) for every route whose path holds a parameter."""
    found = []
    for ctx in iter_route_contexts(app.routes):
        route = ctx.original_route
        if isinstance(route, APIRoute) and "{" in route.path:
            for method in sorted(route.methods):
                if method in METHODS:
                    found.append((method, route.path, route))
    return found


def path_params(path: str) -> list[str]:
    return PARAM.findall(path)


def unknown_params(routes: list[tuple[str, str, APIRoute]], known: set[str]) -> list[str]:
    return sorted(
        f"{method} {path}: {{{name}}}"
        for method, path, _ in routes
        for name in path_params(path)
        if name not in known
    )


def fill(path: str, values: dict[str, str]) -> str:
    return PARAM.sub(lambda m: values[m.group(1)], path)


def combinations(path: str, choices: dict[str, list[str]]) -> list[dict[str, str]]:
    names = path_params(path)
    return [
        dict(zip(names, combo, strict=True))
        for combo in itertools.product(*(choices[n] for n in names))
    ]


# ---------------------------------------------------------------- snapshots


async def snapshot(owner_engine: AsyncEngine) -> dict[str, set[tuple[Any, ...]]]:
    """Every row of every table as the owner reads it (bypassing row-level security)."""
    state: dict[str, set[tuple[Any, ...]]] = {}
    async with owner_engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            ignored = IGNORED.get(table.name, set())
            if ignored is None:
                continue
            columns = [c for c in table.columns if c.name not in ignored]
            rows = await conn.execute(sa.select(*columns))
            state[table.name] = {tuple(repr(x) for x in row) for row in rows}
    return state


def changes(before: dict[str, set[Any]], after: dict[str, set[Any]]) -> dict[str, str]:
    return {
        table: f"{len(before[table] - after[table])} rows gone/changed, "
        f"{len(after[table] - before[table])} new/changed"
        for table in before
        if before[table] != after[table]
    }


# ---------------------------------------------------------------- the walk


def _own(value: Any, mine: dict[str, str]) -> Any:
    """A body with Alpha's own values ("{alice}", "{a1}") filled in."""
    if isinstance(value, dict):
        return {k: _own(v, mine) for k, v in value.items()}
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return mine[value[1:-1]]
    return value


async def call(walk: Walk, method: str, route_path: str, url: str) -> httpx.Response:
    key = (method, route_path)
    kwargs: dict[str, Any] = {}
    if route_path.startswith("/api/"):
        if method in ("POST", "PUT", "PATCH"):
            kwargs["json"] = _own(JSON_BODIES.get(key, {}), walk.mine)
    elif method == "POST":
        kwargs["data"] = _own(FORM_BODIES.get(key, {}), walk.mine)
    if method == "DELETE" and route_path.endswith("/customers/{customer}"):
        kwargs["params"] = {"confirm_slug": walk.bravo.values["customer"][0]}
    return await walk.http.request(method, url, headers=walk.alice, **kwargs)


def _kind(response: httpx.Response) -> tuple[int, str]:
    if response.headers.get("content-type", "").startswith("application/problem+json"):
        return response.status_code, str(response.json().get("type"))
    return response.status_code, ""


async def check_route(
    walk: Walk,
    method: str,
    path: str,
    choices: dict[str, list[str]],
    failures: list[str],
    *,
    blind_403: bool = False,
) -> int:
    """Every combination of ``choices`` must answer 404 and leave every row as it was.

    ``blind_403``: a 403 passes too when an id that exists nowhere gets the same
    problem: the refusal does not depend on the id (e.g. invoices cannot be written in
    an MSP's own tenant at all), so it says nothing about Bravo's row.
    """
    before = await snapshot(walk.owner_engine)
    calls = 0
    for values in combinations(path, choices):
        url = fill(path, values)
        response = await call(walk, method, path, url)
        calls += 1
        if response.status_code == 404:
            continue
        if blind_403 and response.status_code == 403:
            nowhere = {
                k: (v if k == "tenant" else NOWHERE.get(k, str(uuid.uuid4())))
                for k, v in values.items()
            }
            control = await call(walk, method, path, fill(path, nowhere))
            calls += 1
            if _kind(control) == _kind(response):
                continue
        failures.append(f"{method} {url} ({path}): {response.status_code} {response.text[:200]}")
    changed = changes(before, await snapshot(walk.owner_engine))
    if changed:
        failures.append(f"{method} {path} changed rows: {changed}")
    return calls


def test_the_walk_knows_every_path_parameter() -> None:
    """A new route whose parameter the walk cannot fill fails here, by name."""
    app = create_app(Settings(database_url="sqlite:///:memory:"))
    known = set(KNOWN_PARAMS)
    tenant_routes = [r for r in id_routes(app) if not r[1].startswith(OPERATOR_PREFIX)]
    missing = unknown_params(tenant_routes, known)
    assert not missing, (
        "routes with a path parameter the route walk cannot fill with another tenant's "
        "real id (teach tests/isolation/test_route_walk.py _build_bravo and KNOWN_PARAMS):\n"
        + "\n".join(missing)
    )
    stale = CAPABILITY_ROUTES - {(m, p) for m, p, _ in id_routes(app)}
    assert not stale, f"CAPABILITY_ROUTES names routes that no longer exist: {stale}"


KNOWN_PARAMS = (
    "tenant",
    "customer",
    "user",
    "user_id",
    "role",
    "group_id",
    "grant_id",
    "link_id",
    "block_id",
    "contact_id",
    "number",
    "work_type_id",
    "entry_id",
    "item_id",
    "plan_id",
    "invoice_id",
    "invitation_id",
    "token",
    "token_id",
    "session_id",
    "notification_id",
    "assessment_id",
    "evidence_id",
    "risk_id",
    "risk_link_id",
    "policy_id",
    "version_id",
    "template_id",
    "framework_id",
    "ref",
    "requirement",
    "framework_id",
    "requirement_id",
    "assessment_id",
    "measure_id",
)


async def test_another_msps_ids_answer_404_and_change_nothing(walk: Walk) -> None:
    every = id_routes(walk.app)
    routes = [r for r in every if not r[1].startswith(OPERATOR_PREFIX)]
    values = walk.bravo.values
    assert set(values) == set(KNOWN_PARAMS), set(values) ^ set(KNOWN_PARAMS)
    missing = unknown_params(routes, set(values))
    assert not missing, "the walk cannot fill:\n" + "\n".join(missing)

    failures: list[str] = []
    walked = calls = 0
    for method, path, _route in routes:
        if (method, path) in CAPABILITY_ROUTES:
            continue
        walked += 1
        # Phase 1: Bravo's tenant and Bravo's ids everywhere.
        calls += await check_route(walk, method, path, values, failures)
        # Phase 2: Alpha's own client (Alice may do there everything that means something
        # inside a client: the MSP-only routes, customers and client groups, answer a
        # 403 that does not depend on the id) and home, with Bravo's item ids.
        params = path_params(path)
        if "tenant" in params and len(params) > 1:
            in_client = {**values, "tenant": [walk.mine["a1"]]}
            calls += await check_route(walk, method, path, in_client, failures, blind_403=True)
            at_home = {**values, "tenant": ["alpha"]}
            calls += await check_route(walk, method, path, at_home, failures, blind_403=True)
    before = await snapshot(walk.owner_engine)
    bravo = {"plan": ["Bravo Plan"], "msp": ["bravo"], "request_id": values["item_id"]}
    for method, path, _route in every:
        if path.startswith(OPERATOR_PREFIX):
            walked += 1
            for filled in combinations(path, bravo):
                response = await call(walk, method, path, fill(path, filled))
                calls += 1
                if response.status_code != 401:
                    failures.append(f"{method} {path}: a user's token got {response.status_code}")
    changed = changes(before, await snapshot(walk.owner_engine))
    if changed:
        failures.append(f"the operator routes changed rows for a user's token: {changed}")
    assert walked > 150, walked
    assert not failures, f"{len(failures)} of {calls} calls leaked or answered wrong:\n" + (
        "\n".join(failures)
    )
