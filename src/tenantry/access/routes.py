"""Access API for the signed-in user: the tenants they can switch to."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from tenantry.access.switcher import MAX_QUERY_LENGTH, TenantChoice, TenantSwitcher
from tenantry.http.deps import SelfWork, signed_in
from tenantry.pagination import Page

router = APIRouter(prefix="/api/v1/me", tags=["me"])
# Every marker is used with scope="function": the unit of work commits when the route
# returns, before the response leaves. With FastAPI's default ("request") the commit runs
# after the response is sent, so a browser following a POST's redirect could miss it.


@router.get("/tenants", response_model=Page[TenantChoice])
async def my_tenants(
    work: Annotated[SelfWork, Depends(signed_in, scope="function")],
    q: Annotated[
        str | None,
        Query(description="Part of a slug or display name", max_length=MAX_QUERY_LENGTH),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    cursor: Annotated[str | None, Query()] = None,
) -> Page[TenantChoice]:
    """The tenants where you hold at least one permission: your home tenant first, then
    the customers you can act in, by display name (the tenant switcher's list)."""
    items, next_cursor = await TenantSwitcher(work.session).page(
        work.principal, query=q, limit=limit, cursor=cursor
    )
    return Page[TenantChoice](items=items, next_cursor=next_cursor)
