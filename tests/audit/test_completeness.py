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

import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.app import create_app
from tenantry.audit import service as audit_service
from tenantry.audit.models import AuditEvent
from tenantry.audit.schemas import AuditAction as A
from tenantry.config import Settings
from tenantry.db.engine import Database
from tenantry.tenancy.models import Tenant
from tests.factories import PASSWORD, client, make_tenant, make_user, signed_in_client
from tests.identity.conftest import code

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ALEX = "alex@northwind.example"


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
        secret = (await self.alex.post("/api/v1/me/totp/enrol")).json()["secret"]
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

    ``prepare=None`` declares the events without a call yet: the route is accounted for,
    but its call is skipped until the owning domain writes it (prefer writing it)."""

    expected: tuple[A, ...]
    prepare: Callable[[Ctx], Awaitable[Call]] | None
    # For a route that records nothing: why that is right.
    quiet: str | None = None


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


EXPECTED: dict[tuple[str, str], Case] = {
    # tenancy: changes to a customer go to the MSP's trail and the customer's.
    ("POST", CUSTOMERS): Case(
        (A.CUSTOMER_CREATED, A.TENANT_CREATED, A.LINK_CREATED),
        _call("POST", "/api/v1/tenants/northwind/customers", json={"name": "Tailspin"}),
    ),
    ("PATCH", CUSTOMERS + "/{customer}"): Case(
        (A.TENANT_RENAMED, A.TENANT_RENAMED),
        _call(
            "PATCH",
            "/api/v1/tenants/northwind/customers/contoso",
            json={"display_name": "Contoso Group"},
        ),
    ),
    ("POST", CUSTOMERS + "/{customer}/suspend"): Case(
        (A.TENANT_SUSPENDED, A.TENANT_SUSPENDED),
        _call("POST", "/api/v1/tenants/northwind/customers/contoso/suspend"),
    ),
    ("POST", CUSTOMERS + "/{customer}/resume"): Case((A.TENANT_RESUMED, A.TENANT_RESUMED), _resume),
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
    ),
    ("POST", "/api/v1/auth/totp"): Case((A.SIGN_IN,), _second_step),
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
        (A.INVITATION_ACCEPTED, A.USER_CREATED, A.GRANT_CREATED), _accept_invitation
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
    ("POST", LINKS): Case((A.LINK_REQUESTED, A.LINK_REQUESTED), _ask_link),
    ("POST", LINKS + "/{link_id}/approve"): Case((A.LINK_APPROVED, A.LINK_APPROVED), _approve_link),
    ("POST", LINKS + "/{link_id}/decline"): Case((A.LINK_DECLINED, A.LINK_DECLINED), _decline_link),
    ("POST", LINKS + "/{link_id}/narrow"): Case((A.LINK_NARROWED, A.LINK_NARROWED), _narrow_link),
    ("POST", LINKS + "/{link_id}/revoke"): Case((A.LINK_REVOKED, A.LINK_REVOKED), _revoke_link),
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
    ("POST", T + "/grants"): Case((A.GRANT_CREATED, A.GRANT_CREATED), _create_grant),
    ("DELETE", T + "/grants/{grant_id}"): Case((A.GRANT_REVOKED, A.GRANT_REVOKED), _revoke_grant),
    # PSA: work in a customer is recorded in that customer's trail.
    ("POST", T + "/contacts"): Case(
        (A.CONTACT_CREATED,),
        _call(
            "POST", f"{CONTOSO}/contacts", json={"name": "Pat Doe", "email": "pat@contoso.example"}
        ),
    ),
    ("PATCH", T + "/contacts/{contact_id}"): Case((A.CONTACT_UPDATED,), _update_contact),
    ("POST", T + "/contacts/import"): Case((A.CONTACTS_IMPORTED,), _import_contacts),
    ("POST", T + "/tickets"): Case(
        (A.TICKET_CREATED,), _call("POST", f"{CONTOSO}/tickets", json={"title": "No e-mail"})
    ),
    ("PATCH", T + "/tickets/{number}"): Case((A.TICKET_UPDATED,), _update_ticket),
    ("POST", T + "/tickets/{number}/comments"): Case((A.TICKET_COMMENTED,), _comment),
    # One event per ticket changed.
    ("POST", T + "/tickets/bulk"): Case((A.TICKETS_BULK_UPDATED, A.TICKETS_BULK_UPDATED), _bulk),
    ("PUT", T + "/sla-policy"): Case(
        (A.SLA_POLICY_UPDATED,), _call("PUT", f"{CONTOSO}/sla-policy", json=SLA_POLICY)
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
    # Branding: the tenant's own trail (the target is the tenant's branding, by its id).
    ("PATCH", T + "/branding"): Case(
        (A.BRANDING_UPDATED,),
        _call("PATCH", f"{NORTHWIND}/branding", json={"accent_colour": "#1f6feb"}),
    ),
    ("PUT", T + "/branding/logo"): Case(
        (A.BRANDING_LOGO_UPDATED,),
        _call("PUT", f"{NORTHWIND}/branding/logo", content=LOGO, headers=PNG_TYPE),
    ),
    ("DELETE", T + "/branding/logo"): Case((A.BRANDING_LOGO_REMOVED,), _remove_logo),
}


def mutating_routes() -> set[tuple[str, str]]:
    app = create_app(Settings(database_url="sqlite:///:memory:"))
    found: set[tuple[str, str]] = set()
    for ctx in iter_route_contexts(app.routes):
        route = ctx.original_route
        if isinstance(route, APIRoute) and ctx.path.startswith("/api/v1/"):
            found |= {(method, ctx.path) for method in route.methods & MUTATING}
    return found


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


@pytest.mark.parametrize("key", sorted(EXPECTED), ids=lambda k: f"{k[0]} {k[1]}")
async def test_each_mutating_route_writes_its_events(ctx: Ctx, key: tuple[str, str]) -> None:
    case = EXPECTED[key]
    if case.prepare is None:
        pytest.skip("events declared; the owning domain has not written the call yet")
    call = await case.prepare(ctx)
    before = await _events(ctx.owner_engine)
    response = await call()
    assert response.status_code < 300, response.text
    added = await _events(ctx.owner_engine) - before
    assert Counter(a for _, _, a in added) == Counter(a.value for a in case.expected)


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
