"""The frame's own pages: the start page, the full tenant list behind the switcher, and
the switch itself (a recorded navigation: the tenant stays in the URL)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from tenantry.access import recent
from tenantry.access.switcher import MAX_QUERY_LENGTH, TenantSwitcher
from tenantry.audit import service as audit
from tenantry.audit.changes import set_to
from tenantry.audit.schemas import AuditAction
from tenantry.errors import ValidationFailed
from tenantry.http.deps import SelfWork, Work, in_tenant, signed_in
from tenantry.web import nav
from tenantry.web.render import render

router = APIRouter(include_in_schema=False)
# Every marker is used with scope="function": the unit of work commits when the route
# returns, before the response leaves. With FastAPI's default ("request") the commit runs
# after the response is sent, so a browser following a POST's redirect could miss it.
PAGE_SIZE = 50


@router.get("/")
async def start(
    work: Annotated[SelfWork, Depends(signed_in, scope="function")],
) -> RedirectResponse:
    """The MSP's dashboard for its people; else the home tenant's overview, or the first
    tenant the user can act in."""
    items, _ = await TenantSwitcher(work.session).page(work.principal, limit=1)
    if not items:
        return RedirectResponse("/tenants", status_code=303)
    if work.principal.home_is_msp and items[0].slug == work.principal.home_tenant_slug:
        # The MSP's people start on its dashboard: every client they reach at a glance.
        return RedirectResponse(nav.MSP_DASHBOARD.path, status_code=303)
    return RedirectResponse(nav.tenant_href(items[0].slug, nav.OVERVIEW), status_code=303)


@router.get("/tenants", response_class=HTMLResponse)
async def tenant_list(
    request: Request,
    work: Annotated[SelfWork, Depends(signed_in, scope="function")],
    q: Annotated[str, Query(max_length=MAX_QUERY_LENGTH)] = "",
    cursor: Annotated[str | None, Query()] = None,
    to: Annotated[str, Query(max_length=40)] = "",
) -> HTMLResponse:
    """Every tenant the user can switch to; the switcher without script."""
    try:
        items, next_cursor = await TenantSwitcher(work.session).page(
            work.principal, query=q, limit=PAGE_SIZE, cursor=cursor
        )
    except ValidationFailed:
        # A stale or hand-edited cursor: start again from the first page.
        items, next_cursor = await TenantSwitcher(work.session).page(
            work.principal, query=q, limit=PAGE_SIZE
        )
        cursor = None
    return render(
        request,
        "tenants.html",
        {
            "items": items,
            "q": q,
            "to": to if nav.tenant_page(to) else "",
            "cursor": cursor,
            "next_cursor": next_cursor,
        },
    )


@router.get("/t/{tenant}/switch")
async def switch_link(
    work: Annotated[
        Work, Depends(in_tenant("tenant:read", allow_suspended=True), scope="function")
    ],
    to: Annotated[str, Query(max_length=40)] = "",
) -> RedirectResponse:
    """An old link or bookmark to the switch: goes to the page and writes nothing, so a
    link on another site cannot add events to a trail (the switch itself is the POST)."""
    ctx = work.ctx
    return RedirectResponse(
        nav.switch_target(ctx.tenant.slug, to, ctx.permissions), status_code=303
    )


@router.post("/t/{tenant}/switch")
async def switch_to(
    work: Annotated[
        Work, Depends(in_tenant("tenant:read", allow_suspended=True), scope="function")
    ],
    to: Annotated[str, Form(max_length=40)] = "",
) -> RedirectResponse:
    """Choosing a tenant in the switcher (a form with the CSRF token, checked by the
    marker): recorded in that tenant's trail and in the user's recently used tenants,
    then the same page there if it exists and the user may see it, else its overview."""
    ctx = work.ctx
    await audit.record(
        work.session,
        tenant_id=ctx.tenant.id,
        actor=work.actor,
        action=AuditAction.CONTEXT_SWITCHED,
        target_type="tenant",
        target_id=ctx.tenant.id,
        target_label=ctx.tenant.slug,
        changes=set_to(page=to or nav.OVERVIEW.key),
    )
    # The switcher lists it right after home from now on (only orders, never grants).
    await recent.remember(work.session, ctx.principal, ctx.tenant.id)
    return RedirectResponse(
        nav.switch_target(ctx.tenant.slug, to, ctx.permissions), status_code=303
    )
