"""Every mutating API route writes exactly the audit events it should (DESIGN.md, "Audit
trail": every mutating request writes one event).

``EXPECTED`` maps each POST/PUT/PATCH/DELETE route under ``/api/v1`` to the event types
one successful call adds, across every tenant's trail (a change to a customer is
recorded in the MSP's trail and in the customer's, so it appears twice), and to a small
function that prepares the call. A route missing from the table fails
``test_every_mutating_route_has_an_entry``: a domain that adds a route adds its line
here. A route that must write nothing says why (``quiet=``).

Also: a refused request writes nothing, and a change cannot happen without its event
(when recording fails, the change is rolled back with it).
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.access.models import Grant
from tenantry.access.service import operator_scope
from tenantry.app import create_app
from tenantry.audit import service as audit_service
from tenantry.audit.models import AuditEvent
from tenantry.audit.schemas import OPERATOR
from tenantry.audit.schemas import AuditAction as A
from tenantry.billing.plans import PlanService
from tenantry.billing.schemas import PlanIn
from tenantry.billing.service import SubscriptionService
from tenantry.config import Settings
from tenantry.db.engine import Database
from tenantry.http.deps import AccessMarker, InTenant
from tenantry.identity.models import AuthSession, User
from tenantry.identity.service import RequestInfo
from tenantry.operator.service import OperatorTokenService
from tenantry.signup.schemas import SignupForm
from tenantry.signup.service import SignupFlows
from tenantry.tenancy.models import Tenant, TenantLink
from tests.compliance.evidence.helpers import PDF as EVIDENCE_PDF
from tests.compliance.evidence.helpers import seed_assessment
from tests.compliance.risks.rows import requirement_in
from tests.factories import PASSWORD, client, make_tenant, make_user, signed_in_client
from tests.identity.conftest import code

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ALEX = "alex@northwind.example"
NINA = "new@northwind.example"  # invited
IAN = "ian@initech.example"  # owner of Initech, which Northwind asks to manage


@dataclass
class Ctx:
    """One MSP (northwind) with an admin (Alex, signed in with a browser session) and
    one customer (contoso) he created."""

    app: FastAPI
    alex: httpx.AsyncClient
    owner_engine: AsyncEngine
    opened: list[httpx.AsyncClient] = field(default_factory=list)

    async def signed_in(self, email: str = ALEX) -> httpx.AsyncClient:
        browser = await signed_in_client(self.app, email)
        self.opened.append(browser)
        return browser

    def anonymous(self) -> httpx.AsyncClient:
        browser = client(self.app)
        self.opened.append(browser)
        return browser

    async def enrol_totp(self) -> str:
        """Alex turns on an authenticator app; returns its secret."""
        secret: str = (await self.alex.post("/api/v1/me/totp/enrol")).json()["secret"]
        done = await self.alex.post("/api/v1/me/totp/confirm", json={"code": code(secret)})
        assert done.status_code == 200, done.text
        self.alex.headers["x-csrf-token"] = (await self.alex.get("/api/v1/me")).json()["csrf_token"]
        return secret

    async def invite(self, email: str = "new@northwind.example") -> dict[str, Any]:
        r = await self.alex.post(
            "/api/v1/tenants/northwind/invitations", json={"email": email, "role": "technician"}
        )
        assert r.status_code == 201, r.text
        body: dict[str, Any] = r.json()
        return body


Call = Callable[[], Awaitable[httpx.Response]]


@dataclass(frozen=True)
class Case:
    """What one successful call of a route adds to the trails, and how to make that call
    (``prepare`` may do other requests first; only the returned call is measured).

    Beyond the event types, every event added is checked (``_check_event``): it is in the
    trail of the tenant the call acted in (``trails`` names them when a change is recorded
    in more than one), names its actor (Alex unless ``actors`` says otherwise) and his home
    tenant, the request and the source address, the link it acted under in a customer, the
    grant and permission that allowed it, a target the call named or returned, and the
    fields it changed (``changes``; a PATCH/PUT's body fields by default)."""

    expected: tuple[A, ...]
    prepare: Callable[[Ctx], Awaitable[Call]]
    # For a route that records nothing: why that is right.
    quiet: str | None = None
    # The slugs of the trails the events land in, one per event (default: the tenant
    # named in the URL, or the actor's home for /me, /auth and /invitations).
    trails: tuple[str, ...] | None = None
    # Who an event names as its actor, by action: an email, or None for a person not
    # (yet) signed in. Unlisted actions: Alex.
    actors: dict[A, str | None] = field(default_factory=dict)
    # Fields each event's ``changes`` must name, or each action's (None: the body's
    # fields for PATCH/PUT).
    changes: frozenset[str] | dict[A, frozenset[str]] | None = None
    # The event's target is not an id in the URL or the response: why.
    target_elsewhere: str | None = None


def _call(
    method: str, url: str, who: Callable[[Ctx], httpx.AsyncClient] = lambda c: c.alex, **kw: Any
) -> Callable[[Ctx], Awaitable[Call]]:
    """A case that needs no preparation: ``method url`` as ``who`` (Alex by default)."""

    async def prepare(ctx: Ctx) -> Call:
        return lambda: who(ctx).request(method, url, **kw)

    return prepare


async def _resume(ctx: Ctx) -> Call:
    await ctx.alex.post("/api/v1/tenants/northwind/customers/contoso/suspend")
    return lambda: ctx.alex.post("/api/v1/tenants/northwind/customers/contoso/resume")


async def _second_step(ctx: Ctx) -> Call:
    secret = await ctx.enrol_totp()
    pending = await ctx.signed_in()
    # One step ahead: the enrolment just used the current step's code (no replays).
    return lambda: pending.post("/api/v1/auth/totp", json={"code": code(secret, 1)})


async def _sign_out(ctx: Ctx) -> Call:
    other = await ctx.signed_in()
    return lambda: other.post("/api/v1/auth/sign-out")


async def _revoke_session(ctx: Ctx) -> Call:
    await ctx.signed_in()
    sessions = (await ctx.alex.get("/api/v1/me/sessions")).json()["items"]
    other = next(s["id"] for s in sessions if not s["current"])
    return lambda: ctx.alex.delete(f"/api/v1/me/sessions/{other}")


async def _revoke_token(ctx: Ctx) -> Call:
    made = await ctx.alex.post("/api/v1/me/tokens", json={"name": "ci"})
    token_id = made.json()["id"]
    return lambda: ctx.alex.delete(f"/api/v1/me/tokens/{token_id}")


async def _confirm_totp(ctx: Ctx) -> Call:
    secret = (await ctx.alex.post("/api/v1/me/totp/enrol")).json()["secret"]
    return lambda: ctx.alex.post("/api/v1/me/totp/confirm", json={"code": code(secret)})


async def _disable_totp(ctx: Ctx) -> Call:
    await ctx.enrol_totp()
    return lambda: ctx.alex.post("/api/v1/me/totp/disable", json={"password": PASSWORD})


async def _regenerate_codes(ctx: Ctx) -> Call:
    await ctx.enrol_totp()
    return lambda: ctx.alex.post("/api/v1/me/totp/recovery-codes")


async def _revoke_invitation(ctx: Ctx) -> Call:
    invitation = await ctx.invite()
    return lambda: ctx.alex.delete(f"/api/v1/tenants/northwind/invitations/{invitation['id']}")


async def _accept_invitation(ctx: Ctx) -> Call:
    token = (await ctx.invite())["link"].rstrip("/").rsplit("/", 1)[-1]
    stranger = ctx.anonymous()
    body = {"display_name": "Nina New", "password": "another long passphrase 42"}
    return lambda: stranger.post(f"/api/v1/invitations/{token}/accept", json=body)


ANNA = "anna@acme-it.example"  # signs her MSP up by herself


def _signup_on(ctx: Ctx) -> Settings:
    """The operator turned self sign-up on (off by default: the routes answer 404)."""
    settings: Settings = ctx.app.state.settings.model_copy(update={"signup_enabled": True})
    ctx.app.state.settings = settings
    return settings


async def _request_signup(ctx: Ctx) -> Call:
    _signup_on(ctx)
    body = {"organisation": "Acme IT", "admin_name": "Anna Admin", "email": ANNA}
    return lambda: ctx.anonymous().post("/api/v1/signup", json=body)


async def _verify_signup(ctx: Ctx) -> Call:
    settings = _signup_on(ctx)
    form = SignupForm("Acme IT", "acme-it", "Anna Admin", ANNA)
    asked = await SignupFlows(ctx.app.state.db, settings).request(form, RequestInfo())
    assert asked.link is not None
    token = asked.link.rsplit("/", 1)[-1]
    body = {"password": "another long passphrase 42"}
    return lambda: ctx.anonymous().post(f"/api/v1/signup/{token}/verify", json=body)


async def _initech(ctx: Ctx) -> httpx.AsyncClient:
    """An organisation that already uses Tenantry, and its owner Ian, signed in."""
    db = ctx.app.state.db
    initech = await make_tenant(db, "initech", display_name="Initech")
    await make_user(db, initech, "ian@initech.example", role="owner", display_name="Ian")
    return await ctx.signed_in("ian@initech.example")


async def _asked(ctx: Ctx) -> tuple[httpx.AsyncClient, str]:
    """Northwind asks to manage Initech: Ian's client and the pending link's id."""
    ian = await _initech(ctx)
    r = await ctx.alex.post(
        "/api/v1/tenants/northwind/links", json={"customer": "initech", "ceiling": ["technician"]}
    )
    assert r.status_code == 201, r.text
    return ian, str(r.json()["id"])


async def _ask_link(ctx: Ctx) -> Call:
    await _initech(ctx)
    body = {"customer": "initech", "ceiling": ["technician"]}
    return lambda: ctx.alex.post("/api/v1/tenants/northwind/links", json=body)


async def _approve_link(ctx: Ctx) -> Call:
    ian, link = await _asked(ctx)
    return lambda: ian.post(f"/api/v1/tenants/initech/links/{link}/approve", json={})


async def _decline_link(ctx: Ctx) -> Call:
    ian, link = await _asked(ctx)
    return lambda: ian.post(f"/api/v1/tenants/initech/links/{link}/decline")


async def _narrow_link(ctx: Ctx) -> Call:
    ian, link = await _asked(ctx)
    await ian.post(f"/api/v1/tenants/initech/links/{link}/approve", json={})
    body = {"ceiling": ["tenant:read"]}
    return lambda: ian.post(f"/api/v1/tenants/initech/links/{link}/narrow", json=body)


async def _told_alex(ctx: Ctx) -> str:
    """Ian approves Northwind's request: Alex, Northwind's admin, is notified. The id."""
    ian, link = await _asked(ctx)
    assert (await ian.post(f"/api/v1/tenants/initech/links/{link}/approve", json={})).is_success
    [told] = (await ctx.alex.get("/api/v1/me/notifications")).json()["items"]
    return str(told["id"])


async def _read_notification(ctx: Ctx) -> Call:
    notification = await _told_alex(ctx)
    return lambda: ctx.alex.post(f"/api/v1/me/notifications/{notification}/read")


async def _read_all_notifications(ctx: Ctx) -> Call:
    await _told_alex(ctx)
    return lambda: ctx.alex.post("/api/v1/me/notifications/read-all")


async def _blocking(ctx: Ctx) -> tuple[httpx.AsyncClient, str, dict[str, str]]:
    """Initech approved Northwind's request: Ian, the link, and a body naming Alex."""
    ian, link = await _asked(ctx)
    await ian.post(f"/api/v1/tenants/initech/links/{link}/approve", json={})
    alex = (await ctx.alex.get("/api/v1/me")).json()["user"]["id"]
    return ian, link, {"user_id": str(alex)}


async def _block(ctx: Ctx) -> Call:
    ian, link, body = await _blocking(ctx)
    return lambda: ian.post(f"/api/v1/tenants/initech/links/{link}/blocks", json=body)


async def _unblock(ctx: Ctx) -> Call:
    ian, link, body = await _blocking(ctx)
    made = await ian.post(f"/api/v1/tenants/initech/links/{link}/blocks", json=body)
    assert made.status_code == 201, made.text
    url = f"/api/v1/tenants/initech/links/{link}/blocks/{made.json()['id']}"
    return lambda: ian.delete(url)


async def _revoke_link(ctx: Ctx) -> Call:
    # Northwind ends its link with Contoso, the customer it created.
    [link] = (await ctx.alex.get("/api/v1/tenants/northwind/links")).json()["items"]
    return lambda: ctx.alex.post(f"/api/v1/tenants/northwind/links/{link['id']}/revoke")


async def _ticket(ctx: Ctx) -> int:
    made = await ctx.alex.post(f"{CONTOSO}/tickets", json={"title": "Printer on fire"})
    assert made.status_code == 201, made.text
    number: int = made.json()["number"]
    return number


async def _update_ticket(ctx: Ctx) -> Call:
    number = await _ticket(ctx)
    return lambda: ctx.alex.patch(f"{CONTOSO}/tickets/{number}", json={"priority": "P1"})


async def _comment(ctx: Ctx) -> Call:
    number = await _ticket(ctx)
    return lambda: ctx.alex.post(f"{CONTOSO}/tickets/{number}/comments", json={"body": "On it"})


async def _bulk(ctx: Ctx) -> Call:
    numbers = [await _ticket(ctx), await _ticket(ctx)]
    return lambda: ctx.alex.post(
        f"{CONTOSO}/tickets/bulk", json={"numbers": numbers, "priority": "P2"}
    )


async def _update_contact(ctx: Ctx) -> Call:
    made = await ctx.alex.post(
        f"{CONTOSO}/contacts", json={"name": "Pat Doe", "email": "pat@contoso.example"}
    )
    assert made.status_code == 201, made.text
    contact = made.json()["id"]
    return lambda: ctx.alex.patch(f"{CONTOSO}/contacts/{contact}", json={"job_title": "CFO"})


NORTHWIND = "/api/v1/tenants/northwind"


async def _made(ctx: Ctx, url: str, body: dict[str, Any]) -> dict[str, Any]:
    r = await ctx.alex.post(url, json=body)
    assert r.status_code == 201, r.text
    made: dict[str, Any] = r.json()
    return made


def _after(
    url: str, body: dict[str, Any], then: Callable[[Ctx, dict[str, Any]], Awaitable[httpx.Response]]
) -> Callable[[Ctx], Awaitable[Call]]:
    """A case that first creates something (POST ``url`` with ``body``), then calls
    ``then`` with what was created."""

    async def prepare(ctx: Ctx) -> Call:
        made = await _made(ctx, url, body)
        return lambda: then(ctx, made)

    return prepare


ROLE = {"name": "Night shift", "permissions": ["tenant:read", "tickets:read"]}
GROUP = {"name": "Escalation"}


async def _group_with_member(ctx: Ctx, kind: str, member: str) -> tuple[str, str]:
    group = await _made(ctx, f"{NORTHWIND}/{kind}", GROUP)
    field = "user" if kind == "user-groups" else "customer"
    r = await ctx.alex.post(f"{NORTHWIND}/{kind}/{group['id']}/members", json={field: member})
    assert r.status_code < 300, r.text
    return group["id"], member


def _remove_member(kind: str, member: str) -> Callable[[Ctx], Awaitable[Call]]:
    async def prepare(ctx: Ctx) -> Call:
        group_id, who = await _group_with_member(ctx, kind, member)
        return lambda: ctx.alex.delete(f"{NORTHWIND}/{kind}/{group_id}/members/{who}")

    return prepare


async def _technician(ctx: Ctx, email: str = "tina@northwind.example") -> str:
    """A technician of Northwind with no delegation yet; returns her email."""
    await make_user(
        ctx.app.state.db, await _northwind(ctx), email, role="technician", display_name="Tina"
    )
    return email


async def _northwind(ctx: Ctx) -> Tenant:
    async with ctx.app.state.db.platform_reader() as session:
        found: Tenant = (
            await session.scalars(select(Tenant).where(Tenant.slug == "northwind"))
        ).one()
        return found


OLIVE = "olive@northwind.example"


async def _ask_for_more(ctx: Ctx) -> Call:
    await make_user(ctx.app.state.db, await _northwind(ctx), OLIVE, role="owner")
    olive = await ctx.signed_in(OLIVE)
    return lambda: olive.post("/api/v1/msp/billing/requests", json={"seats": 5, "note": "more"})


OPERATOR_API = "/api/v1/operator"


async def _operator(ctx: Ctx) -> httpx.AsyncClient:
    """An operator token's client, with Northwind on the plan Small (3 seats)."""
    db = ctx.app.state.db
    northwind = await _northwind(ctx)
    async with db.unit_of_work(operator_scope([northwind.id])) as session:
        secret, _ = await OperatorTokenService(session).create("walk", days=None)
        await PlanService(session).create(PlanIn(name="Small", max_seats=3))
        await PlanService(session).create(PlanIn(name="Bigger", max_seats=30))
        northwind = await session.merge(northwind)
        await SubscriptionService(session).subscribe(northwind, "Small", actor=OPERATOR)
    op = client(ctx.app)
    op.headers["Authorization"] = f"Bearer {secret}"
    ctx.opened.append(op)
    return op


def _as_operator(method: str, path: str, **kw: Any) -> Callable[[Ctx], Awaitable[Call]]:
    async def prepare(ctx: Ctx) -> Call:
        op = await _operator(ctx)
        return lambda: op.request(method, OPERATOR_API + path, **kw)

    return prepare


def _decide(verb: str) -> Callable[[Ctx], Awaitable[Call]]:
    async def prepare(ctx: Ctx) -> Call:
        op = await _operator(ctx)
        asked = await (await _ask_for_more(ctx))()
        assert asked.status_code == 201, asked.text
        url = f"{OPERATOR_API}/requests/{asked.json()['id']}/{verb}"
        return lambda: op.post(url, json={"note": "done"})

    return prepare


DELEGATION = {"role": "technician", "scope": "customer", "customer": "contoso"}


async def _create_grant(ctx: Ctx) -> Call:
    body = {"user": await _technician(ctx), **DELEGATION}
    return lambda: ctx.alex.post(f"{NORTHWIND}/grants", json=body)


async def _revoke_grant(ctx: Ctx) -> Call:
    grant = await _made(ctx, f"{NORTHWIND}/grants", {"user": await _technician(ctx), **DELEGATION})
    return lambda: ctx.alex.delete(f"{NORTHWIND}/grants/{grant['id']}")


CONTACTS_CSV = (
    "name,email,phone,job_title\nPat Doe,pat@contoso.example,,CFO\nSam Roe,sam@contoso.example,,\n"
)


async def _import_contacts(ctx: Ctx) -> Call:
    files = {"file": ("contacts.csv", CONTACTS_CSV, "text/csv")}
    return lambda: ctx.alex.post(f"{CONTOSO}/contacts/import", files=files)


OSCAL_CATALOG = b"""{"catalog": {"uuid": "0f5a6f3e-7c1a-4a8e-9b5d-2d7b1c3e4f50",
 "metadata": {"title": "Tiny", "last-modified": "2026-01-01T00:00:00Z", "version": "1",
  "oscal-version": "1.1.2"},
 "controls": [{"id": "t-1", "title": "One"}]}}"""


async def _framework(ctx: Ctx, tenant: str | None = None) -> str:
    tenant = tenant or CONTOSO
    body = {"key": "ours", "version": "1", "title": "Our framework"}
    made = await _made(ctx, f"{tenant}/compliance/frameworks", body)
    fid = str(made["id"])
    await _made(
        ctx, f"{tenant}/compliance/frameworks/{fid}/requirements", {"ref": "CM-01", "title": "One"}
    )
    return fid


async def _patch_framework(ctx: Ctx) -> Call:
    fid = await _framework(ctx)
    return lambda: ctx.alex.patch(
        f"{CONTOSO}/compliance/frameworks/{fid}", json={"title": "Renamed"}
    )


async def _delete_framework(ctx: Ctx) -> Call:
    fid = await _framework(ctx)
    return lambda: ctx.alex.delete(f"{CONTOSO}/compliance/frameworks/{fid}")


async def _share_framework(ctx: Ctx) -> Call:
    fid = await _framework(ctx, NORTHWIND)
    url = f"{NORTHWIND}/compliance/frameworks/{fid}/share"
    return lambda: ctx.alex.post(url, json={"shared": True})


async def _add_requirement(ctx: Ctx) -> Call:
    fid = await _framework(ctx)
    url = f"{CONTOSO}/compliance/frameworks/{fid}/requirements"
    return lambda: ctx.alex.post(url, json={"ref": "CM-02", "title": "Two"})


async def _patch_requirement(ctx: Ctx) -> Call:
    fid = await _framework(ctx)
    url = f"{CONTOSO}/compliance/frameworks/{fid}/requirements/CM-01"
    return lambda: ctx.alex.patch(url, json={"title": "Renamed"})


async def _remove_requirement(ctx: Ctx) -> Call:
    fid = await _framework(ctx)
    return lambda: ctx.alex.delete(f"{CONTOSO}/compliance/frameworks/{fid}/requirements/CM-01")


async def _import_oscal(ctx: Ctx) -> Call:
    files = {"file": ("catalog.json", OSCAL_CATALOG, "application/json")}
    return lambda: ctx.alex.post(f"{CONTOSO}/compliance/frameworks/import/oscal", files=files)


async def _import_csv(ctx: Ctx) -> Call:
    files = {"file": ("f.csv", b"id,title\nC-1,One\n", "text/csv")}
    data = {"key": "from-csv", "title": "From CSV"}
    url = f"{CONTOSO}/compliance/frameworks/import/csv"
    return lambda: ctx.alex.post(url, files=files, data=data)


SLA_POLICY = {
    "targets": {p: {"first_response": 60, "resolution": 480} for p in ("P1", "P2", "P3", "P4")},
    "business_hours": {str(d): [["08:00", "17:00"]] for d in range(5)},
    "holidays": ["2026-12-25"],
}

WORK_TYPE = {"name": "Remote support", "rate_minor": 12000, "currency": "EUR"}


async def _bea(ctx: Ctx) -> httpx.AsyncClient:
    """A second admin of Northwind, Bea, signed in: her time is what Alex approves."""
    email = "bea@northwind.example"
    await make_user(
        ctx.app.state.db, await _northwind(ctx), email, role="admin", display_name="Bea"
    )
    return await ctx.signed_in(email)


async def _entry(ctx: Ctx, who: httpx.AsyncClient | None = None, *, submit: bool = False) -> str:
    """A draft time entry in Contoso (Alex's unless ``who`` logs it), optionally submitted."""
    author = who or ctx.alex
    work_type = await _made(ctx, f"{CONTOSO}/work-types", WORK_TYPE)
    r = await author.post(
        f"{CONTOSO}/time-entries", json={"work_type_id": work_type["id"], "minutes": 90}
    )
    assert r.status_code == 201, r.text
    entry: str = r.json()["id"]
    if submit:
        r = await author.post(f"{CONTOSO}/time-entries/{entry}/submit")
        assert r.status_code == 200, r.text
    return entry


def _on_entry(
    method: str, action: str, *, by_bea: bool = False, submit: bool = False, **kw: Any
) -> Callable[[Ctx], Awaitable[Call]]:
    """``method …/time-entries/{id}{action}`` by Alex on an entry (Bea's when Alex must not
    be its technician: approving, rejecting)."""

    async def prepare(ctx: Ctx) -> Call:
        entry = await _entry(ctx, await _bea(ctx) if by_bea else None, submit=submit)
        return lambda: ctx.alex.request(method, f"{CONTOSO}/time-entries/{entry}{action}", **kw)

    return prepare


RECURRING = {"description": "Managed backup", "amount_minor": 5000, "currency": "EUR"}
PLAN = {"name": "Managed Essentials", "included_users": 25, "price_minor": 4500, "currency": "EUR"}


def _on_plan(
    method: str, url: str, *, assigned: bool = False, body: bool = True
) -> Callable[[Ctx], Awaitable[Call]]:
    """``method url`` (``{plan}`` filled) after Northwind made a plan (and put Contoso on
    it); the body is ``{"plan_id": <the plan>}`` unless ``body`` is False."""

    async def prepare(ctx: Ctx) -> Call:
        plan = (await _made(ctx, f"{NORTHWIND}/service-plans", PLAN))["id"]
        if assigned:
            r = await ctx.alex.put(
                f"{NORTHWIND}/service-plans/assignments/contoso", json={"plan_id": plan}
            )
            assert r.status_code == 200, r.text
        kw: dict[str, Any] = {"json": {"plan_id": plan}} if body else {}
        return lambda: ctx.alex.request(method, url.replace("{plan}", plan), **kw)

    return prepare


def _period() -> dict[str, str]:
    today = datetime.now(UTC).date()
    return {
        "period_start": (today - timedelta(days=30)).isoformat(),
        "period_end": today.isoformat(),
        "currency": "EUR",
    }


async def _generate_invoice(ctx: Ctx) -> Call:
    await _made(ctx, f"{CONTOSO}/recurring-items", RECURRING)
    return lambda: ctx.alex.post(f"{CONTOSO}/invoices", json=_period())


def _on_invoice(
    method: str, action: str, *, before: tuple[str, ...] = (), **kw: Any
) -> Callable[[Ctx], Awaitable[Call]]:
    """``method …/invoices/{id}{action}`` on a draft invoice, after the ``before`` steps."""

    async def prepare(ctx: Ctx) -> Call:
        await _made(ctx, f"{CONTOSO}/recurring-items", RECURRING)
        invoice = (await _made(ctx, f"{CONTOSO}/invoices", _period()))["id"]
        for step in before:
            r = await ctx.alex.post(f"{CONTOSO}/invoices/{invoice}/{step}")
            assert r.status_code == 200, r.text
        return lambda: ctx.alex.request(method, f"{CONTOSO}/invoices/{invoice}{action}", **kw)

    return prepare


CUSTOMERS = "/api/v1/tenants/{tenant}/customers"
CONTOSO = "/api/v1/tenants/contoso"
T = "/api/v1/tenants/{tenant}"
LINKS = "/api/v1/tenants/{tenant}/links"
# Marking read changes only when the reader's own notice was seen: no tenant data, no
# access, nothing anyone else sees; the event it is about is in both trails already.
NOTIFICATION_READ = "marking one's own notification read changes nothing but one's own inbox"

# A change to a customer: the MSP's trail and the customer's.
BOTH = ("northwind", "contoso")
# Tickets are named by number in the URL; the event names the ticket's id.
BY_NUMBER = "the ticket, named by its number in the URL"

# (method, route path) → what one successful call records. Add your routes here.
# A 1x1 PNG (signature, IHDR, IDAT, IEND): what the branding service accepts.
LOGO = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de"
    "0000000c4944415478da63f8cfc000000301010018dd8db00000000049454e44ae426082"
)
PNG_TYPE = {"content-type": "image/png"}


async def _remove_logo(ctx: Ctx) -> Call:
    made = await ctx.alex.put(f"{NORTHWIND}/branding/logo", content=LOGO, headers=PNG_TYPE)
    assert made.status_code == 200, made.text
    return lambda: ctx.alex.delete(f"{NORTHWIND}/branding/logo")


async def _contoso_assessment(ctx: Ctx) -> str:
    """An assessment in Contoso (made with the programme's models)."""
    async with ctx.owner_engine.connect() as conn:
        contoso = await conn.scalar(select(Tenant.id).where(Tenant.slug == "contoso"))
    assert contoso is not None
    return str(await seed_assessment(ctx.app.state.db, contoso))


async def _upload_evidence(ctx: Ctx) -> Call:
    assessment = await _contoso_assessment(ctx)
    files = {"file": ("mfa.pdf", EVIDENCE_PDF, "application/pdf")}
    url = f"{CONTOSO}/compliance/assessments/{assessment}/evidence"
    return lambda: ctx.alex.post(url, files=files)


async def _link_evidence(ctx: Ctx) -> Call:
    assessment = await _contoso_assessment(ctx)
    url = f"{CONTOSO}/compliance/assessments/{assessment}/evidence/links"
    return lambda: ctx.alex.post(url, json={"url": "https://share.example/mfa"})


async def _remove_evidence(ctx: Ctx) -> Call:
    made = await (await _upload_evidence(ctx))()
    assert made.status_code == 201, made.text
    return lambda: ctx.alex.delete(f"{CONTOSO}/compliance/evidence/{made.json()['id']}")


# ---- compliance: the risk register (work in a customer: the customer's trail)
RISKS = "/api/v1/tenants/contoso/compliance/risks"
RISK = {"title": "Phishing", "likelihood": 4, "impact": 3, "treatment": "mitigate"}


async def _risk_and_requirement(ctx: Ctx) -> tuple[str, str]:
    risk = await _made(ctx, RISKS, RISK)
    async with ctx.owner_engine.connect() as conn:
        contoso = await conn.scalar(select(Tenant.id).where(Tenant.slug == "contoso"))
    assert contoso is not None
    return str(risk["id"]), str(await requirement_in(ctx.owner_engine, contoso))


async def _link_risk(ctx: Ctx) -> Call:
    risk, requirement = await _risk_and_requirement(ctx)
    return lambda: ctx.alex.post(f"{RISKS}/{risk}/links", json={"requirement_id": requirement})


async def _unlink_risk(ctx: Ctx) -> Call:
    risk, requirement = await _risk_and_requirement(ctx)
    link = await _made(ctx, f"{RISKS}/{risk}/links", {"requirement_id": requirement})
    return lambda: ctx.alex.delete(f"{RISKS}/{risk}/links/{link['id']}")


POLICIES = f"{CONTOSO}/compliance/policies"
TEMPLATES = f"{NORTHWIND}/compliance/policy-templates"
PAT = "pat@contoso.example"  # one of Contoso's own people


async def _policy(ctx: Ctx, *steps: str) -> tuple[str, str]:
    """A policy in Contoso (draft version 1, then ``steps`` on it): (policy, version)."""
    made = await _made(ctx, POLICIES, {"title": "Passwords", "body_markdown": "Use MFA."})
    version = str(made["versions"][0]["id"])
    for step in steps:
        r = await ctx.alex.post(f"{POLICIES}/{made['id']}/versions/{version}/{step}")
        assert r.status_code == 200, r.text
    return str(made["id"]), version


def _on_policy(method: str, tail: str, *steps: str, **kw: Any) -> Callable[[Ctx], Awaitable[Call]]:
    """``method`` on ``POLICIES/{policy}{tail}`` (``{version}`` filled in) after ``steps``."""

    async def prepare(ctx: Ctx) -> Call:
        policy, version = await _policy(ctx, *steps)
        url = f"{POLICIES}/{policy}" + tail.format(version=version)
        return lambda: ctx.alex.request(method, url, **kw)

    return prepare


async def _acknowledge(ctx: Ctx) -> Call:
    policy, _version = await _policy(ctx, "approve", "publish")
    async with ctx.app.state.db.platform_reader() as session:
        contoso = (await session.scalars(select(Tenant).where(Tenant.slug == "contoso"))).one()
    await make_user(ctx.app.state.db, contoso, PAT, role="read_only", display_name="Pat")
    pat = await ctx.signed_in(PAT)
    return lambda: pat.post(f"{POLICIES}/{policy}/acknowledge")


def _on_template(method: str, tail: str = "", **kw: Any) -> Callable[[Ctx], Awaitable[Call]]:
    async def prepare(ctx: Ctx) -> Call:
        made = await _made(ctx, TEMPLATES, {"title": "Acceptable use", "body_markdown": "Work."})
        return lambda: ctx.alex.request(method, f"{TEMPLATES}/{made['id']}{tail}", **kw)

    return prepare


# Compliance programme: Contoso adopts the baseline first where a route needs it.
BASELINE = {"framework": "msp-baseline@1"}


async def _adopted(ctx: Ctx) -> tuple[str, dict[str, Any]]:
    """Contoso's adopted baseline id and its first assessable requirement."""
    framework = await _made(ctx, f"{CONTOSO}/compliance/adopted", BASELINE)
    listed = await ctx.alex.get(f"{CONTOSO}/compliance/adopted/{framework['id']}/requirements")
    requirement = next(r for r in listed.json()["items"] if r["assessable"])
    return str(framework["id"]), requirement


async def _retire(ctx: Ctx) -> Call:
    framework_id, _ = await _adopted(ctx)
    return lambda: ctx.alex.delete(f"{CONTOSO}/compliance/adopted/{framework_id}")


async def _assess(ctx: Ctx) -> Call:
    _, requirement = await _adopted(ctx)
    url = f"{CONTOSO}/compliance/assessments/{requirement['assessment']['id']}"
    return lambda: ctx.alex.patch(url, json={"status": "implemented", "notes": "Done"})


def _on_measure(
    method: str, suffix: str, *, mapped: bool = False, **kw: Any
) -> Callable[[Ctx], Awaitable[Call]]:
    async def prepare(ctx: Ctx) -> Call:
        _, requirement = await _adopted(ctx)
        measure = await _made(ctx, f"{CONTOSO}/compliance/measures", {"title": "MFA for all"})
        url = f"{CONTOSO}/compliance/measures/{measure['id']}"
        if mapped:
            done = await ctx.alex.post(
                f"{url}/requirements", json={"requirement_id": requirement["id"]}
            )
            assert done.status_code == 200, done.text
        path = suffix.replace("{requirement_id}", str(requirement["id"]))
        body = {"json": {"requirement_id": requirement["id"]}} if path == "/requirements" else kw
        return lambda: ctx.alex.request(method, url + path, **body)

    return prepare


EXPECTED: dict[tuple[str, str], Case] = {
    # tenancy: changes to a customer go to the MSP's trail and the customer's.
    ("POST", CUSTOMERS): Case(
        (A.CUSTOMER_CREATED, A.TENANT_CREATED, A.LINK_CREATED),
        _call("POST", "/api/v1/tenants/northwind/customers", json={"name": "Tailspin"}),
        trails=("northwind", "tailspin", "tailspin"),
        changes={
            A.CUSTOMER_CREATED: frozenset({"slug", "display_name"}),
            A.TENANT_CREATED: frozenset({"slug", "display_name", "msp"}),
            A.LINK_CREATED: frozenset({"state", "ceiling"}),
        },
    ),
    ("PATCH", CUSTOMERS + "/{customer}"): Case(
        (A.TENANT_RENAMED, A.TENANT_RENAMED),
        _call(
            "PATCH",
            "/api/v1/tenants/northwind/customers/contoso",
            json={"display_name": "Contoso Group"},
        ),
        trails=BOTH,
    ),
    ("POST", CUSTOMERS + "/{customer}/suspend"): Case(
        (A.TENANT_SUSPENDED, A.TENANT_SUSPENDED),
        _call("POST", "/api/v1/tenants/northwind/customers/contoso/suspend"),
        trails=BOTH,
        changes=frozenset({"status"}),
    ),
    ("POST", CUSTOMERS + "/{customer}/resume"): Case(
        (A.TENANT_RESUMED, A.TENANT_RESUMED), _resume, trails=BOTH, changes=frozenset({"status"})
    ),
    # The customer's own trail goes with it; the MSP keeps the deletion.
    ("DELETE", CUSTOMERS + "/{customer}"): Case(
        (A.CUSTOMER_DELETED,),
        _call(
            "DELETE",
            "/api/v1/tenants/northwind/customers/contoso",
            params={"confirm_slug": "contoso"},
        ),
    ),
    # audit
    ("PUT", "/api/v1/tenants/{tenant}/audit-settings"): Case(
        (A.AUDIT_SETTINGS_CHANGED,),
        _call("PUT", "/api/v1/tenants/northwind/audit-settings", json={"retention_days": 90}),
        changes=frozenset({"audit_retention_days"}),
    ),
    # identity: sign-in and the account
    ("POST", "/api/v1/auth/sign-in"): Case(
        (A.SIGN_IN,),
        _call(
            "POST",
            "/api/v1/auth/sign-in",
            who=lambda c: c.anonymous(),
            json={"email": ALEX, "password": PASSWORD},
        ),
        changes=frozenset({"method", "second_factor"}),
    ),
    ("POST", "/api/v1/auth/totp"): Case(
        (A.SIGN_IN,), _second_step, changes=frozenset({"method", "second_factor"})
    ),
    ("POST", "/api/v1/auth/sign-out"): Case((A.SIGN_OUT,), _sign_out),
    ("POST", "/api/v1/auth/sign-out-everywhere"): Case(
        (A.SIGN_OUT_EVERYWHERE,), _call("POST", "/api/v1/auth/sign-out-everywhere")
    ),
    ("DELETE", "/api/v1/me/sessions/{session_id}"): Case((A.SESSION_REVOKED,), _revoke_session),
    ("POST", "/api/v1/me/tokens"): Case(
        (A.TOKEN_CREATED,), _call("POST", "/api/v1/me/tokens", json={"name": "ci"})
    ),
    ("DELETE", "/api/v1/me/tokens/{token_id}"): Case((A.TOKEN_REVOKED,), _revoke_token),
    ("POST", "/api/v1/me/password"): Case(
        (A.PASSWORD_CHANGED,),
        _call(
            "POST",
            "/api/v1/me/password",
            json={"current_password": PASSWORD, "new_password": "a different long passphrase"},
        ),
    ),
    ("POST", "/api/v1/me/totp/enrol"): Case(
        (),
        _call("POST", "/api/v1/me/totp/enrol"),
        quiet="only a pending secret is kept; nothing changes until /me/totp/confirm",
    ),
    ("POST", "/api/v1/me/totp/confirm"): Case((A.MFA_ENROLLED,), _confirm_totp),
    ("POST", "/api/v1/me/totp/disable"): Case((A.MFA_DISABLED,), _disable_totp),
    ("POST", "/api/v1/me/totp/recovery-codes"): Case(
        (A.RECOVERY_CODES_REGENERATED,), _regenerate_codes
    ),
    # identity: invitations and the home security policy
    ("POST", "/api/v1/tenants/{tenant}/invitations"): Case(
        (A.USER_INVITED,),
        _call(
            "POST",
            "/api/v1/tenants/northwind/invitations",
            json={"email": "new@northwind.example", "role": "technician"},
        ),
    ),
    ("DELETE", "/api/v1/tenants/{tenant}/invitations/{invitation_id}"): Case(
        (A.INVITATION_REVOKED,), _revoke_invitation
    ),
    ("POST", "/api/v1/invitations/{token}/accept"): Case(
        # Nina's account is made before she is anyone; the inviter decided her role.
        (A.INVITATION_ACCEPTED, A.USER_CREATED, A.GRANT_CREATED, A.SIGN_IN),
        _accept_invitation,
        actors={A.INVITATION_ACCEPTED: NINA, A.USER_CREATED: None, A.SIGN_IN: NINA},
        target_elsewhere="the invitation, the new user, her grant and session",
    ),
    # MSP self sign-up: no tenant exists before its link is followed.
    ("POST", "/api/v1/signup"): Case(
        (),
        _request_signup,
        quiet="no tenant exists yet to hold an event: the pending sign-up row records when, "
        "from where and in which request it was asked; signup.requested carries that into "
        "the new tenant's trail when the link is followed",
    ),
    ("POST", "/api/v1/signup/{token}/verify"): Case(
        (
            A.TENANT_CREATED,
            A.SIGNUP_REQUESTED,
            A.TENANT_LICENSE_CHANGED,
            A.USER_CREATED,
            A.GRANT_CREATED,
            A.SIGNUP_VERIFIED,
            A.SIGN_IN,
        ),
        _verify_signup,
        trails=("acme-it",) * 7,
        # Anna is nobody until her account exists; then she acts as its Owner.
        actors={
            A.TENANT_CREATED: None,
            A.SIGNUP_REQUESTED: None,
            A.TENANT_LICENSE_CHANGED: None,
            A.USER_CREATED: None,
            A.GRANT_CREATED: None,
            A.SIGNUP_VERIFIED: ANNA,
            A.SIGN_IN: ANNA,
        },
        changes={
            A.SIGNUP_REQUESTED: frozenset({"email", "slug", "requested_at", "requested_from"}),
            A.SIGNUP_VERIFIED: frozenset({"tenant", "owner"}),
        },
        target_elsewhere="the new tenant, its owner, her grant and session, and the sign-up",
    ),
    ("PUT", "/api/v1/tenants/{tenant}/security-policy"): Case(
        (A.TENANT_SETTINGS_CHANGED,),
        _call(
            "PUT",
            "/api/v1/tenants/northwind/security-policy",
            json={"session_lifetime_minutes": 600},
        ),
    ),
    # links: every change is recorded in the MSP's trail and in the customer's.
    ("POST", LINKS): Case(
        (A.LINK_REQUESTED, A.LINK_REQUESTED), _ask_link, trails=("northwind", "initech")
    ),
    # Ian, Initech's owner, decides; his own trail and the MSP's record it.
    ("POST", LINKS + "/{link_id}/approve"): Case(
        (A.LINK_APPROVED, A.LINK_APPROVED),
        _approve_link,
        trails=("northwind", "initech"),
        actors={A.LINK_APPROVED: IAN},
    ),
    ("POST", LINKS + "/{link_id}/decline"): Case(
        (A.LINK_DECLINED, A.LINK_DECLINED),
        _decline_link,
        trails=("northwind", "initech"),
        actors={A.LINK_DECLINED: IAN},
    ),
    ("POST", LINKS + "/{link_id}/narrow"): Case(
        (A.LINK_NARROWED, A.LINK_NARROWED),
        _narrow_link,
        trails=("northwind", "initech"),
        actors={A.LINK_NARROWED: IAN},
    ),
    # Ian blocks (and unblocks) Alex in Initech: the customer's decision, both trails.
    ("POST", LINKS + "/{link_id}/blocks"): Case(
        (A.LINK_BLOCKED, A.LINK_BLOCKED),
        _block,
        trails=("northwind", "initech"),
        actors={A.LINK_BLOCKED: IAN},
        changes=frozenset({"block_id", "user_id", "blocked"}),
    ),
    ("DELETE", LINKS + "/{link_id}/blocks/{block_id}"): Case(
        (A.LINK_UNBLOCKED, A.LINK_UNBLOCKED),
        _unblock,
        trails=("northwind", "initech"),
        actors={A.LINK_UNBLOCKED: IAN},
        changes=frozenset({"block_id", "user_id", "blocked"}),
    ),
    ("POST", LINKS + "/{link_id}/revoke"): Case(
        (A.LINK_REVOKED, A.LINK_REVOKED), _revoke_link, trails=BOTH
    ),
    # notifications: the reader's own inbox.
    ("POST", "/api/v1/me/notifications/{notification_id}/read"): Case(
        (),
        _read_notification,
        quiet=NOTIFICATION_READ,
    ),
    ("POST", "/api/v1/me/notifications/read-all"): Case(
        (), _read_all_notifications, quiet=NOTIFICATION_READ
    ),
    # access: custom roles, user groups and tenant groups of the MSP
    ("POST", T + "/roles"): Case((A.ROLE_CREATED,), _call("POST", f"{NORTHWIND}/roles", json=ROLE)),
    ("PATCH", T + "/roles/{role}"): Case(
        (A.ROLE_UPDATED,),
        _after(
            f"{NORTHWIND}/roles",
            ROLE,
            lambda c, m: c.alex.patch(f"{NORTHWIND}/roles/{m['key']}", json={"name": "Nights"}),
        ),
    ),
    ("DELETE", T + "/roles/{role}"): Case(
        (A.ROLE_DELETED,),
        _after(
            f"{NORTHWIND}/roles", ROLE, lambda c, m: c.alex.delete(f"{NORTHWIND}/roles/{m['key']}")
        ),
    ),
    ("POST", T + "/user-groups"): Case(
        (A.USER_GROUP_CREATED,), _call("POST", f"{NORTHWIND}/user-groups", json=GROUP)
    ),
    ("PATCH", T + "/user-groups/{group_id}"): Case(
        (A.USER_GROUP_UPDATED,),
        _after(
            f"{NORTHWIND}/user-groups",
            GROUP,
            lambda c, m: c.alex.patch(f"{NORTHWIND}/user-groups/{m['id']}", json={"name": "L2"}),
        ),
    ),
    ("DELETE", T + "/user-groups/{group_id}"): Case(
        (A.USER_GROUP_DELETED,),
        _after(
            f"{NORTHWIND}/user-groups",
            GROUP,
            lambda c, m: c.alex.delete(f"{NORTHWIND}/user-groups/{m['id']}"),
        ),
    ),
    ("POST", T + "/user-groups/{group_id}/members"): Case(
        (A.USER_GROUP_MEMBER_ADDED,),
        _after(
            f"{NORTHWIND}/user-groups",
            GROUP,
            lambda c, m: c.alex.post(
                f"{NORTHWIND}/user-groups/{m['id']}/members", json={"user": ALEX}
            ),
        ),
    ),
    ("DELETE", T + "/user-groups/{group_id}/members/{user}"): Case(
        (A.USER_GROUP_MEMBER_REMOVED,), _remove_member("user-groups", ALEX)
    ),
    ("POST", T + "/tenant-groups"): Case(
        (A.TENANT_GROUP_CREATED,), _call("POST", f"{NORTHWIND}/tenant-groups", json=GROUP)
    ),
    ("PATCH", T + "/tenant-groups/{group_id}"): Case(
        (A.TENANT_GROUP_UPDATED,),
        _after(
            f"{NORTHWIND}/tenant-groups",
            GROUP,
            lambda c, m: c.alex.patch(f"{NORTHWIND}/tenant-groups/{m['id']}", json={"name": "EU"}),
        ),
    ),
    ("DELETE", T + "/tenant-groups/{group_id}"): Case(
        (A.TENANT_GROUP_DELETED,),
        _after(
            f"{NORTHWIND}/tenant-groups",
            GROUP,
            lambda c, m: c.alex.delete(f"{NORTHWIND}/tenant-groups/{m['id']}"),
        ),
    ),
    ("POST", T + "/tenant-groups/{group_id}/members"): Case(
        (A.TENANT_GROUP_MEMBER_ADDED,),
        _after(
            f"{NORTHWIND}/tenant-groups",
            GROUP,
            lambda c, m: c.alex.post(
                f"{NORTHWIND}/tenant-groups/{m['id']}/members", json={"customer": "contoso"}
            ),
        ),
    ),
    ("DELETE", T + "/tenant-groups/{group_id}/members/{customer}"): Case(
        (A.TENANT_GROUP_MEMBER_REMOVED,), _remove_member("tenant-groups", "contoso")
    ),
    ("POST", T + "/grants"): Case((A.GRANT_CREATED, A.GRANT_CREATED), _create_grant, trails=BOTH),
    ("DELETE", T + "/grants/{grant_id}"): Case(
        (A.GRANT_REVOKED, A.GRANT_REVOKED), _revoke_grant, trails=BOTH
    ),
    # PSA: work in a customer is recorded in that customer's trail.
    ("POST", T + "/contacts"): Case(
        (A.CONTACT_CREATED,),
        _call(
            "POST", f"{CONTOSO}/contacts", json={"name": "Pat Doe", "email": "pat@contoso.example"}
        ),
    ),
    ("PATCH", T + "/contacts/{contact_id}"): Case((A.CONTACT_UPDATED,), _update_contact),
    ("POST", T + "/contacts/import"): Case((A.CONTACTS_IMPORTED,), _import_contacts),
    # compliance: the framework library (authored frameworks)
    ("POST", T + "/compliance/frameworks"): Case(
        (A.AUTHORED_FRAMEWORK_CREATED,),
        _call("POST", f"{CONTOSO}/compliance/frameworks", json={"key": "k", "title": "T"}),
    ),
    ("PATCH", T + "/compliance/frameworks/{framework_id}"): Case(
        (A.AUTHORED_FRAMEWORK_UPDATED,), _patch_framework
    ),
    ("DELETE", T + "/compliance/frameworks/{framework_id}"): Case(
        (A.AUTHORED_FRAMEWORK_DELETED,), _delete_framework
    ),
    ("POST", T + "/compliance/frameworks/{framework_id}/share"): Case(
        (A.AUTHORED_FRAMEWORK_SHARED,), _share_framework, changes=frozenset({"shared"})
    ),
    ("POST", T + "/compliance/frameworks/{framework_id}/requirements"): Case(
        (A.AUTHORED_REQUIREMENT_ADDED,), _add_requirement
    ),
    ("PATCH", T + "/compliance/frameworks/{framework_id}/requirements/{requirement}"): Case(
        (A.AUTHORED_REQUIREMENT_UPDATED,), _patch_requirement, changes=frozenset({"CM-01.title"})
    ),
    ("DELETE", T + "/compliance/frameworks/{framework_id}/requirements/{requirement}"): Case(
        (A.AUTHORED_REQUIREMENT_REMOVED,), _remove_requirement
    ),
    ("POST", T + "/compliance/frameworks/import/oscal"): Case(
        (A.AUTHORED_FRAMEWORK_IMPORTED,), _import_oscal
    ),
    ("POST", T + "/compliance/frameworks/import/csv"): Case(
        (A.AUTHORED_FRAMEWORK_IMPORTED,), _import_csv
    ),
    ("POST", T + "/tickets"): Case(
        (A.TICKET_CREATED,), _call("POST", f"{CONTOSO}/tickets", json={"title": "No e-mail"})
    ),
    ("PATCH", T + "/tickets/{number}"): Case((A.TICKET_UPDATED,), _update_ticket),
    ("POST", T + "/tickets/{number}/comments"): Case(
        (A.TICKET_COMMENTED,), _comment, target_elsewhere=BY_NUMBER
    ),
    # One event per ticket changed.
    ("POST", T + "/tickets/bulk"): Case(
        (A.TICKETS_BULK_UPDATED, A.TICKETS_BULK_UPDATED),
        _bulk,
        target_elsewhere=BY_NUMBER,
        changes=frozenset({"priority"}),
    ),
    ("PUT", T + "/sla-policy"): Case(
        (A.SLA_POLICY_UPDATED,),
        _call("PUT", f"{CONTOSO}/sla-policy", json=SLA_POLICY),
        target_elsewhere="the tenant's one SLA policy, whose row id the API does not show",
        changes=frozenset({"targets", "business_hours", "holidays"}),
    ),
    ("POST", T + "/work-types"): Case(
        (A.WORK_TYPE_CREATED,), _call("POST", f"{CONTOSO}/work-types", json=WORK_TYPE)
    ),
    ("PATCH", T + "/work-types/{work_type_id}"): Case(
        (A.WORK_TYPE_UPDATED,),
        _after(
            f"{CONTOSO}/work-types",
            WORK_TYPE,
            lambda c, m: c.alex.patch(
                f"{CONTOSO}/work-types/{m['id']}", json={"rate_minor": 13000}
            ),
        ),
    ),
    ("POST", T + "/time-entries"): Case(
        (A.TIME_ENTRY_CREATED,),
        _after(
            f"{CONTOSO}/work-types",
            WORK_TYPE,
            lambda c, m: c.alex.post(
                f"{CONTOSO}/time-entries", json={"work_type_id": m["id"], "minutes": 45}
            ),
        ),
    ),
    ("PATCH", T + "/time-entries/{entry_id}"): Case(
        (A.TIME_ENTRY_UPDATED,), _on_entry("PATCH", "", json={"minutes": 60})
    ),
    ("DELETE", T + "/time-entries/{entry_id}"): Case(
        (A.TIME_ENTRY_DELETED,), _on_entry("DELETE", "")
    ),
    ("POST", T + "/time-entries/{entry_id}/submit"): Case(
        (A.TIME_ENTRY_SUBMITTED,), _on_entry("POST", "/submit")
    ),
    ("POST", T + "/time-entries/{entry_id}/approve"): Case(
        (A.TIME_ENTRY_APPROVED,), _on_entry("POST", "/approve", by_bea=True, submit=True)
    ),
    ("POST", T + "/time-entries/{entry_id}/reject"): Case(
        (A.TIME_ENTRY_REJECTED,),
        _on_entry("POST", "/reject", by_bea=True, submit=True, json={"reason": "Which ticket?"}),
    ),
    ("POST", T + "/recurring-items"): Case(
        (A.RECURRING_ITEM_CREATED,), _call("POST", f"{CONTOSO}/recurring-items", json=RECURRING)
    ),
    ("PATCH", T + "/recurring-items/{item_id}"): Case(
        (A.RECURRING_ITEM_UPDATED,),
        _after(
            f"{CONTOSO}/recurring-items",
            RECURRING,
            lambda c, m: c.alex.patch(
                f"{CONTOSO}/recurring-items/{m['id']}", json={"amount_minor": 6000}
            ),
        ),
    ),
    ("POST", T + "/invoices"): Case((A.INVOICE_CREATED,), _generate_invoice),
    ("DELETE", T + "/invoices/{invoice_id}"): Case((A.INVOICE_DELETED,), _on_invoice("DELETE", "")),
    ("POST", T + "/invoices/{invoice_id}/issue"): Case(
        (A.INVOICE_ISSUED,), _on_invoice("POST", "/issue")
    ),
    ("POST", T + "/invoices/{invoice_id}/paid"): Case(
        (A.INVOICE_PAID,), _on_invoice("POST", "/paid", before=("issue",))
    ),
    ("POST", T + "/invoices/{invoice_id}/void"): Case(
        (A.INVOICE_VOIDED,),
        _on_invoice("POST", "/void", before=("issue",), json={"reason": "Wrong client"}),
    ),
    # Service plans: the MSP's records, in its trail; set from inside the client, in the
    # client's trail too.
    ("POST", T + "/service-plans"): Case(
        (A.SERVICE_PLAN_CREATED,), _call("POST", f"{NORTHWIND}/service-plans", json=PLAN)
    ),
    ("PATCH", T + "/service-plans/{plan_id}"): Case(
        (A.SERVICE_PLAN_UPDATED,),
        _after(
            f"{NORTHWIND}/service-plans",
            PLAN,
            lambda c, m: c.alex.patch(
                f"{NORTHWIND}/service-plans/{m['id']}", json={"price_minor": 4900}
            ),
        ),
    ),
    ("PUT", T + "/service-plans/assignments/{customer}"): Case(
        (A.SERVICE_PLAN_ASSIGNED,),
        _on_plan("PUT", f"{NORTHWIND}/service-plans/assignments/contoso"),
    ),
    ("DELETE", T + "/service-plans/assignments/{customer}"): Case(
        (A.SERVICE_PLAN_UNASSIGNED,),
        _on_plan(
            "DELETE", f"{NORTHWIND}/service-plans/assignments/contoso", assigned=True, body=False
        ),
    ),
    ("PUT", T + "/service-plan"): Case(
        (A.SERVICE_PLAN_ASSIGNED, A.SERVICE_PLAN_ASSIGNED),
        _on_plan("PUT", f"{CONTOSO}/service-plan"),
        trails=("northwind", "contoso"),
    ),
    ("DELETE", T + "/service-plan"): Case(
        (A.SERVICE_PLAN_UNASSIGNED, A.SERVICE_PLAN_UNASSIGNED),
        _on_plan("DELETE", f"{CONTOSO}/service-plan", assigned=True, body=False),
        trails=("northwind", "contoso"),
    ),
    # Branding: the tenant's own trail (the target is the tenant's branding, by its id).
    ("PATCH", T + "/branding"): Case(
        (A.BRANDING_UPDATED,),
        _call("PATCH", f"{NORTHWIND}/branding", json={"accent_colour": "#1f6feb"}),
    ),
    ("PUT", T + "/branding/logo"): Case(
        (A.BRANDING_LOGO_UPDATED,),
        _call("PUT", f"{NORTHWIND}/branding/logo", content=LOGO, headers=PNG_TYPE),
        changes=frozenset({"logo"}),
    ),
    ("DELETE", T + "/branding/logo"): Case((A.BRANDING_LOGO_REMOVED,), _remove_logo),
    # Compliance evidence: the client's trail (a file's type, size and hash, never bytes).
    ("POST", T + "/compliance/assessments/{assessment_id}/evidence"): Case(
        (A.COMPLIANCE_EVIDENCE_ADDED,),
        _upload_evidence,
        changes=frozenset({"assessment_id", "kind", "name", "content_type", "size", "sha256"}),
    ),
    ("POST", T + "/compliance/assessments/{assessment_id}/evidence/links"): Case(
        (A.COMPLIANCE_EVIDENCE_ADDED,),
        _link_evidence,
        changes=frozenset({"assessment_id", "kind", "name", "url"}),
    ),
    ("DELETE", T + "/compliance/evidence/{evidence_id}"): Case(
        (A.COMPLIANCE_EVIDENCE_REMOVED,),
        _remove_evidence,
        changes=frozenset({"removed_at", "removed_by_name"}),
    ),
    # Compliance: the risk register.
    ("POST", T + "/compliance/risks"): Case(
        (A.COMPLIANCE_RISK_CREATED,), _call("POST", RISKS, json=RISK)
    ),
    ("PATCH", T + "/compliance/risks/{risk_id}"): Case(
        (A.COMPLIANCE_RISK_UPDATED,),
        _after(
            RISKS,
            RISK,
            lambda c, m: c.alex.patch(f"{RISKS}/{m['id']}", json={"residual_impact": 1}),
        ),
    ),
    ("DELETE", T + "/compliance/risks/{risk_id}"): Case(
        (A.COMPLIANCE_RISK_DELETED,),
        _after(RISKS, RISK, lambda c, m: c.alex.delete(f"{RISKS}/{m['id']}")),
        changes=frozenset({"title", "likelihood", "impact"}),
    ),
    ("POST", T + "/compliance/risks/{risk_id}/links"): Case(
        (A.COMPLIANCE_RISK_LINKED,), _link_risk, changes=frozenset({"requirement_id"})
    ),
    ("DELETE", T + "/compliance/risks/{risk_id}/links/{risk_link_id}"): Case(
        (A.COMPLIANCE_RISK_UNLINKED,), _unlink_risk, changes=frozenset({"requirement_id"})
    ),
    # Compliance policies: a client's own trail; a template's copy in both.
    ("POST", T + "/compliance/policies"): Case(
        (A.POLICY_CREATED,), _call("POST", POLICIES, json={"title": "Passwords"})
    ),
    ("PATCH", T + "/compliance/policies/{policy_id}"): Case(
        (A.POLICY_UPDATED,), _on_policy("PATCH", "", json={"summary": "How we sign in"})
    ),
    ("POST", T + "/compliance/policies/{policy_id}/versions"): Case(
        (A.POLICY_VERSION_CREATED,),
        _on_policy("POST", "/versions", "approve", "publish", json={"change_note": "MFA"}),
    ),
    ("PATCH", T + "/compliance/policies/{policy_id}/versions/{version_id}"): Case(
        (A.POLICY_VERSION_UPDATED,),
        _on_policy("PATCH", "/versions/{version}", json={"body_markdown": "Use MFA always."}),
    ),
    ("POST", T + "/compliance/policies/{policy_id}/versions/{version_id}/approve"): Case(
        (A.POLICY_APPROVED,), _on_policy("POST", "/versions/{version}/approve")
    ),
    ("POST", T + "/compliance/policies/{policy_id}/versions/{version_id}/publish"): Case(
        (A.POLICY_PUBLISHED,), _on_policy("POST", "/versions/{version}/publish", "approve")
    ),
    ("POST", T + "/compliance/policies/{policy_id}/acknowledge"): Case(
        (A.POLICY_ACKNOWLEDGED,), _acknowledge, actors={A.POLICY_ACKNOWLEDGED: PAT}
    ),
    ("POST", T + "/compliance/policy-templates"): Case(
        (A.POLICY_TEMPLATE_CREATED,), _call("POST", TEMPLATES, json={"title": "Acceptable use"})
    ),
    ("PATCH", T + "/compliance/policy-templates/{template_id}"): Case(
        (A.POLICY_TEMPLATE_UPDATED,), _on_template("PATCH", json={"category": "People"})
    ),
    ("DELETE", T + "/compliance/policy-templates/{template_id}"): Case(
        (A.POLICY_TEMPLATE_DELETED,), _on_template("DELETE")
    ),
    ("POST", T + "/compliance/policy-templates/{template_id}/copy"): Case(
        (A.POLICY_TEMPLATE_COPIED, A.POLICY_CREATED),
        _on_template("POST", "/copy", json={"client": "contoso"}),
        trails=BOTH,
    ),
    # Compliance programme: each change in the client's own trail.
    ("POST", T + "/compliance/adopted"): Case(
        (A.COMPLIANCE_FRAMEWORK_ADOPTED,),
        _call("POST", f"{CONTOSO}/compliance/adopted", json=BASELINE),
    ),
    ("DELETE", T + "/compliance/adopted/{framework_id}"): Case(
        (A.COMPLIANCE_FRAMEWORK_RETIRED,), _retire
    ),
    ("PATCH", T + "/compliance/assessments/{assessment_id}"): Case(
        (A.COMPLIANCE_ASSESSMENT_UPDATED,), _assess
    ),
    ("POST", T + "/compliance/measures"): Case(
        (A.COMPLIANCE_MEASURE_CREATED,),
        _call("POST", f"{CONTOSO}/compliance/measures", json={"title": "MFA for all"}),
    ),
    ("PATCH", T + "/compliance/measures/{measure_id}"): Case(
        (A.COMPLIANCE_MEASURE_UPDATED,),
        _on_measure("PATCH", "", mapped=True, json={"status": "implemented"}),
    ),
    ("DELETE", T + "/compliance/measures/{measure_id}"): Case(
        (A.COMPLIANCE_MEASURE_DELETED,), _on_measure("DELETE", "", mapped=True)
    ),
    ("POST", T + "/compliance/measures/{measure_id}/requirements"): Case(
        (A.COMPLIANCE_MEASURE_MAPPED,), _on_measure("POST", "/requirements")
    ),
    ("DELETE", T + "/compliance/measures/{measure_id}/requirements/{requirement_id}"): Case(
        (A.COMPLIANCE_MEASURE_UNMAPPED,),
        _on_measure("DELETE", "/requirements/{requirement_id}", mapped=True),
    ),
    # Only an owner holds billing:manage: Olive asks the operator for more seats.
    ("POST", "/api/v1/msp/billing/requests"): Case(
        (A.SUBSCRIPTION_REQUESTED,),
        _ask_for_more,
        actors={A.SUBSCRIPTION_REQUESTED: OLIVE},
        trails=("northwind",),
    ),
    # The operator API (operator token, no user): the same events as the CLI's, in the
    # MSP's trail, by an actor naming the token. A new plan is no tenant's: no trail.
    ("POST", "/api/v1/operator/plans"): Case(
        (),
        _as_operator("POST", "/plans", json={"name": "Large"}),
        quiet="a plan belongs to no tenant until an MSP is put on it (as `tenantry plans "
        "create`); the MSP's trail records the subscription change then",
    ),
    ("PATCH", "/api/v1/operator/plans/{plan}"): Case(
        (A.PLAN_UPDATED,),
        _as_operator("PATCH", "/plans/Small", json={"max_seats": 4}),
        actors={A.PLAN_UPDATED: None},
    ),
    ("PUT", "/api/v1/operator/subscriptions/{msp}"): Case(
        (A.SUBSCRIPTION_CHANGED,),
        _as_operator("PUT", "/subscriptions/northwind", json={"plan": "Bigger", "seats": 7}),
        actors={A.SUBSCRIPTION_CHANGED: None},
        target_elsewhere="the subscription's id; the call names its MSP",
    ),
    ("POST", "/api/v1/operator/requests/{request_id}/approve"): Case(
        (A.SUBSCRIPTION_CHANGED, A.SUBSCRIPTION_REQUEST_DECIDED),
        _decide("approve"),
        actors={A.SUBSCRIPTION_CHANGED: None, A.SUBSCRIPTION_REQUEST_DECIDED: None},
        target_elsewhere="the subscription's id for the change it applies",
    ),
    ("POST", "/api/v1/operator/requests/{request_id}/decline"): Case(
        (A.SUBSCRIPTION_REQUEST_DECIDED,),
        _decide("decline"),
        actors={A.SUBSCRIPTION_REQUEST_DECIDED: None},
    ),
    # Applied from the MSP: one event at home, one adoption in each client's own trail.
    ("POST", "/api/v1/msp/compliance/apply"): Case(
        (A.COMPLIANCE_FRAMEWORK_APPLIED, A.COMPLIANCE_FRAMEWORK_ADOPTED),
        _call("POST", "/api/v1/msp/compliance/apply", json={**BASELINE, "all": True}),
        trails=BOTH,
        target_elsewhere="the MSP's apply names its home; each adoption its new framework",
    ),
}


def _marker(dependant: Dependant) -> AccessMarker | None:
    if isinstance(dependant.call, AccessMarker):
        return dependant.call
    return next((m for d in dependant.dependencies if (m := _marker(d))), None)


@cache
def _route_table() -> dict[tuple[str, str], str | None]:
    """(method, path) of every mutating API route → the tenant permission it needs (None
    for the caller's own account and public routes)."""
    app = create_app(Settings(database_url="sqlite:///:memory:"))
    found: dict[tuple[str, str], str | None] = {}
    for ctx in iter_route_contexts(app.routes):
        route = ctx.original_route
        path = ctx.path or ""
        if isinstance(route, APIRoute) and path.startswith("/api/v1/"):
            marker = _marker(route.dependant)
            permission = marker.permission if isinstance(marker, InTenant) else None
            for method in set(route.methods or ()) & MUTATING:
                found[(method, path)] = permission
    return found


def mutating_routes() -> set[tuple[str, str]]:
    return set(_route_table())


def test_every_mutating_route_has_an_entry() -> None:
    routes = mutating_routes()
    missing = sorted(routes - EXPECTED.keys())
    assert not missing, (
        "mutating routes without an entry in tests/audit/test_completeness.py EXPECTED "
        "(say which audit events one call writes):\n" + "\n".join(f"{m} {p}" for m, p in missing)
    )
    stale = sorted(EXPECTED.keys() - routes)
    assert not stale, "EXPECTED names routes that no longer exist: " + repr(stale)
    for key, case in EXPECTED.items():
        assert case.expected or case.quiet, f"{key} records nothing: say why (quiet=...)"


@pytest.fixture
async def ctx(
    database: Database, settings: Settings, owner_engine: AsyncEngine
) -> AsyncIterator[Ctx]:
    northwind = await make_tenant(database, "northwind", is_msp=True, display_name="Northwind IT")
    await make_user(database, northwind, ALEX, role="admin", display_name="Alex Admin")
    app = create_app(settings, database)
    alex = await signed_in_client(app, ALEX)
    context = Ctx(app, alex, owner_engine, [alex])
    made = await alex.post(
        "/api/v1/tenants/northwind/customers", json={"name": "Contoso", "slug": "contoso"}
    )
    assert made.status_code == 201, made.text
    try:
        yield context
    finally:
        for browser in context.opened:
            await browser.aclose()


async def _events(owner_engine: AsyncEngine) -> set[tuple[uuid.UUID, int, str]]:
    async with owner_engine.connect() as conn:
        rows = await conn.execute(select(AuditEvent.tenant_id, AuditEvent.seq, AuditEvent.action))
        return {(r[0], r[1], r[2]) for r in rows}


async def _added(
    owner_engine: AsyncEngine, before: set[tuple[uuid.UUID, int, str]]
) -> list[AuditEvent]:
    """The events written since ``before``, whole (read as the table owner)."""
    async with owner_engine.connect() as conn:
        rows = (await conn.execute(select(AuditEvent.__table__))).mappings().all()
    return [
        AuditEvent(**dict(r)) for r in rows if (r["tenant_id"], r["seq"], r["action"]) not in before
    ]


@dataclass(frozen=True)
class World:
    """What the checks compare events with, read after the call."""

    tenants: dict[str, uuid.UUID]  # slug → id
    users: dict[str, tuple[uuid.UUID, uuid.UUID]]  # email → (id, home tenant id)
    links: dict[tuple[uuid.UUID, uuid.UUID], set[uuid.UUID]]  # (msp, customer) → link ids
    grants: dict[uuid.UUID, set[uuid.UUID]]  # user id → their grant ids
    sessions: dict[uuid.UUID, set[uuid.UUID]]  # user id → their sessions

    def __or__(self, other: World) -> World:
        def union(
            a: dict[Any, set[uuid.UUID]], b: dict[Any, set[uuid.UUID]]
        ) -> dict[Any, set[uuid.UUID]]:
            return {k: a.get(k, set()) | b.get(k, set()) for k in a.keys() | b.keys()}

        return World(
            self.tenants | other.tenants,
            self.users | other.users,
            union(self.links, other.links),
            union(self.grants, other.grants),
            union(self.sessions, other.sessions),
        )


async def _world(owner_engine: AsyncEngine) -> World:
    async with owner_engine.connect() as conn:
        tenants = {r[0]: r[1] for r in await conn.execute(select(Tenant.slug, Tenant.id))}
        users = {
            r[0]: (r[1], r[2])
            for r in await conn.execute(select(User.email, User.id, User.home_tenant_id))
        }
        links: dict[tuple[uuid.UUID, uuid.UUID], set[uuid.UUID]] = {}
        for msp, customer, link in await conn.execute(
            select(TenantLink.msp_tenant_id, TenantLink.customer_tenant_id, TenantLink.id)
        ):
            links.setdefault((msp, customer), set()).add(link)
        grants: dict[uuid.UUID, set[uuid.UUID]] = {}
        for user, grant in await conn.execute(select(Grant.user_id, Grant.id)):
            if user is not None:
                grants.setdefault(user, set()).add(grant)
        sessions: dict[uuid.UUID, set[uuid.UUID]] = {}
        for user, session in await conn.execute(select(AuthSession.user_id, AuthSession.id)):
            sessions.setdefault(user, set()).add(session)
    return World(tenants, users, links, grants, sessions)


def _acting_tenant(response: httpx.Response, world: World, actor_home: uuid.UUID) -> uuid.UUID:
    parts = response.request.url.path.split("/")
    if parts[:4] == ["", "api", "v1", "tenants"]:
        return world.tenants[parts[4]]
    return actor_home


def _named(response: httpx.Response, world: World, actor: uuid.UUID | None) -> set[str]:
    """Everything the call named or returned that an event's target could be: path
    segments (slugs resolved to ids) and the response's ids, keys and numbers; for the
    caller's own account (/me, /auth), the caller and their sessions."""
    names = set(response.request.url.path.split("/"))
    if "tenants" not in names and actor is not None:
        names |= {str(actor)} | {str(s) for s in world.sessions.get(actor, set())}
    names |= {str(world.tenants[n]) for n in names if n in world.tenants}
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("id", "key", "number", "slug"):
            if key in body:
                names.add(str(body[key]))
        if body.get("slug") in world.tenants:
            names.add(str(world.tenants[body["slug"]]))
    # And the links between tenants named (a new customer comes with its link).
    for (msp, customer), links in world.links.items():
        if {str(msp), str(customer)} <= names:
            names |= {str(link) for link in links}
    return names


def _check_event(
    event: AuditEvent,
    case: Case,
    response: httpx.Response,
    world: World,
    permission: str | None,
    acting: uuid.UUID,
) -> None:
    """``acting``: the tenant the call acted in (the URL's, or the caller's home)."""
    action = A(event.action)
    who = case.actors.get(action, ALEX)
    if who is None:
        assert event.actor_user_id is None, event.actor_name
        assert event.actor_name, "an event without a user still says who acted"
    else:
        user_id, home = world.users[who]
        assert (event.actor_user_id, event.actor_home_tenant_id) == (user_id, home), who
        between = world.links.get((home, event.tenant_id), set()) | world.links.get(
            (event.tenant_id, home), set()
        )
        if event.tenant_id == acting != home:
            # Acting in a customer: under the link between the actor's MSP and it.
            assert event.via_link_id in between, f"{action} in a customer names no link"
        elif event.via_link_id is not None:
            # A copy for the other party's trail may name the link between the two.
            assert event.via_link_id in between, f"{action} names a link of other tenants"
    # What the request was: its id and where it came from.
    assert event.request_id and event.request_id == response.headers.get("x-request-id")
    assert event.source_address == "127.0.0.1"
    # The authority: the permission the route needs and the grant that gave it.
    if permission is not None and who is not None and event.actor_user_id is not None:
        explanation = event.explanation or ""
        assert explanation.startswith(f"{permission}: "), explanation
        if event.via_grant_id is None:
            assert "implicit MSP-admin Owner grant" in explanation
        else:
            assert event.via_grant_id in world.grants.get(event.actor_user_id, set())
            assert str(event.via_grant_id) in explanation
    # The target: what the call named or created.
    assert event.target_type and event.target_id, f"{action} names no target"
    if case.target_elsewhere is None:
        assert event.target_id in _named(response, world, event.actor_user_id), (
            f"{action} targets {event.target_type} {event.target_id}, which the call "
            "neither named nor returned"
        )
    # The changed fields.
    fields = case.changes.get(action) if isinstance(case.changes, dict) else case.changes
    if fields is None and response.request.method in {"PATCH", "PUT"} and response.request.content:
        fields = frozenset(json.loads(response.request.content))
    if fields:
        assert fields <= set(event.changes), f"{action} changes {event.changes}, not {fields}"


@pytest.mark.parametrize("key", sorted(EXPECTED), ids=lambda k: f"{k[0]} {k[1]}")
async def test_each_mutating_route_writes_its_events(ctx: Ctx, key: tuple[str, str]) -> None:
    case = EXPECTED[key]
    call = await case.prepare(ctx)
    before = await _events(ctx.owner_engine)
    earlier = await _world(ctx.owner_engine)
    response = await call()
    assert response.status_code < 300, response.text
    added = await _added(ctx.owner_engine, before)
    assert Counter(e.action for e in added) == Counter(a.value for a in case.expected)
    # What existed before the call or after it (a deletion's target is gone after).
    world = earlier | await _world(ctx.owner_engine)
    alex_home = world.users[ALEX][1]
    if case.trails is None:
        trails = Counter({_acting_tenant(response, world, alex_home): len(added)})
    else:
        trails = Counter(world.tenants[slug] for slug in case.trails)
    assert Counter(e.tenant_id for e in added) == trails
    permission = _route_table().get(key)
    acting = _acting_tenant(response, world, alex_home)
    for event in added:
        _check_event(event, case, response, world, permission, acting)


# (method, url, body) of refused requests: each changes nothing and records nothing.
REFUSED: list[tuple[str, str, dict[str, Any]]] = [
    ("PATCH", "/api/v1/tenants/northwind/customers/contoso", {"json": {"display_name": ""}}),
    ("DELETE", "/api/v1/tenants/northwind/customers/contoso", {"params": {"confirm_slug": "x"}}),
    ("PUT", "/api/v1/tenants/northwind/audit-settings", {"json": {"retention_days": 1}}),
    ("POST", "/api/v1/tenants/northwind/customers", {"json": {"name": "!!!"}}),
    ("POST", "/api/v1/tenants/northwind/invitations", {"json": {"email": "x", "role": "owner"}}),
    ("PUT", "/api/v1/tenants/nowhere/audit-settings", {"json": {"retention_days": 90}}),
]


@pytest.mark.parametrize(("method", "url", "kw"), REFUSED, ids=lambda v: str(v)[:60])
async def test_a_refused_request_writes_no_event(
    ctx: Ctx, method: str, url: str, kw: dict[str, Any]
) -> None:
    before = await _events(ctx.owner_engine)
    response = await ctx.alex.request(method, url, **kw)
    assert response.status_code >= 400
    assert await _events(ctx.owner_engine) == before


async def test_a_change_cannot_happen_without_its_event(
    ctx: Ctx, monkeypatch: pytest.MonkeyPatch, database: Database
) -> None:
    """Recording is part of the change's transaction: if it fails, the change is undone."""

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the audit trail is unavailable")

    before = await _events(ctx.owner_engine)
    monkeypatch.setattr(audit_service, "record", broken)
    quiet = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=ctx.app, raise_app_exceptions=False),
        base_url="http://testserver",
        cookies=ctx.alex.cookies,
        headers=ctx.alex.headers,
    )
    async with quiet:
        response = await quiet.patch(
            "/api/v1/tenants/northwind/customers/contoso", json={"display_name": "Renamed"}
        )
    assert response.status_code == 500
    monkeypatch.undo()
    async with database.platform_reader() as session:
        tenant = (await session.scalars(select(Tenant).where(Tenant.slug == "contoso"))).one()
    assert tenant.display_name == "Contoso"
    assert await _events(ctx.owner_engine) == before


async def test_a_delegated_technicians_event_names_the_delegation_and_the_link(ctx: Ctx) -> None:
    """Alex acts in Contoso through the implicit MSP-admin grant (checked above); Tina, a
    technician, only through her delegation: her event names that grant and the link."""
    grant = await _made(ctx, f"{NORTHWIND}/grants", {"user": await _technician(ctx), **DELEGATION})
    tina = await ctx.signed_in("tina@northwind.example")
    before = await _events(ctx.owner_engine)
    made = await tina.post(f"{CONTOSO}/tickets", json={"title": "Screen flickers"})
    assert made.status_code == 201, made.text
    [event] = await _added(ctx.owner_engine, before)
    world = await _world(ctx.owner_engine)
    northwind, contoso = world.tenants["northwind"], world.tenants["contoso"]
    assert (event.action, event.tenant_id) == (A.TICKET_CREATED.value, contoso)
    assert (event.actor_user_id, event.actor_home_tenant_id) == (
        world.users["tina@northwind.example"][0],
        northwind,
    )
    assert event.via_grant_id == uuid.UUID(grant["id"])
    assert event.via_link_id in world.links[(northwind, contoso)]
    assert event.explanation is not None
    assert event.explanation.startswith("tickets:write: ") and grant["id"] in event.explanation
    assert event.target_id == made.json()["id"]
