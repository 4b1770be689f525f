"""Tenancy API: the MSP's customers (``/api/v1/tenants/{tenant}/customers``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from tenantry.http.params import Limit
from tenantry.kit.pagination import Page
from tenantry.tenancy import auth
from tenantry.tenancy import service as tenancy
from tenantry.tenancy.deletion import CustomerDeletion
from tenantry.tenancy.schemas import (
    CustomerCreate,
    CustomerUpdate,
    DeletionReport,
    TenantOut,
)
from tenantry.tenancy.service import TenancyService

router = APIRouter(prefix="/api/v1/tenants/{tenant}", tags=["customers"])


@router.get("", response_model=TenantOut)
async def get_tenant(
    work: auth.TenantRead,
) -> TenantOut:
    """The tenant itself (by slug or id)."""
    return TenantOut.model_validate(await tenancy.tenant(work.session, work.ctx.tenant.id))


@router.get("/customers", response_model=Page[TenantOut])
async def list_customers(
    work: auth.CustomersRead,
    q: Annotated[str | None, Query(description="Search slug and display name")] = None,
    limit: Limit = 50,
    cursor: Annotated[str | None, Query()] = None,
) -> Page[TenantOut]:
    tenants, next_cursor = await TenancyService(work.session).list_customers(
        work.ctx, query=q, cursor=cursor, limit=limit
    )
    return Page[TenantOut](
        items=[TenantOut.model_validate(t) for t in tenants], next_cursor=next_cursor
    )


@router.post("/customers", response_model=TenantOut, status_code=status.HTTP_201_CREATED)
async def create_customer(
    body: CustomerCreate,
    work: auth.CustomersCreate,
) -> TenantOut:
    customer = await TenancyService(work.session).create_customer(
        work.ctx,
        name=body.name,
        display_name=body.display_name,
        slug=body.slug,
        ceiling_template=body.ceiling_template,
        actor=work.actor,
    )
    return TenantOut.model_validate(customer)


@router.get("/customers/{customer}", response_model=TenantOut)
async def get_customer(customer: str, work: auth.CustomersRead) -> TenantOut:
    return TenantOut.model_validate(await TenancyService(work.session).customer(work.ctx, customer))


@router.patch("/customers/{customer}", response_model=TenantOut)
async def rename_customer(
    customer: str,
    body: CustomerUpdate,
    work: auth.CustomersManage,
) -> TenantOut:
    renamed = await TenancyService(work.session).rename(
        work.ctx, customer, body.display_name, actor=work.actor
    )
    return TenantOut.model_validate(renamed)


@router.post("/customers/{customer}/suspend", response_model=TenantOut)
async def suspend_customer(customer: str, work: auth.CustomersManage) -> TenantOut:
    changed = await TenancyService(work.session).set_suspended(
        work.ctx, customer, True, actor=work.actor
    )
    return TenantOut.model_validate(changed)


@router.post("/customers/{customer}/resume", response_model=TenantOut)
async def resume_customer(customer: str, work: auth.CustomersManage) -> TenantOut:
    changed = await TenancyService(work.session).set_suspended(
        work.ctx, customer, False, actor=work.actor
    )
    return TenantOut.model_validate(changed)


@router.delete("/customers/{customer}", response_model=DeletionReport)
async def delete_customer(
    customer: str,
    confirm_slug: Annotated[
        str, Query(description="The customer's slug, typed again to confirm the deletion.")
    ],
    work: auth.CustomersDelete,
) -> DeletionReport:
    """Deletes the customer and every row it owns. Cannot be undone."""
    service = TenancyService(work.session)
    target = await service.customer(work.ctx, customer)
    tenant_id, slug = target.id, target.slug
    counts = await CustomerDeletion(work.session).delete_customer(
        work.ctx, customer, confirm_slug, actor=work.actor
    )
    return DeletionReport(tenant_id=tenant_id, slug=slug, rows_deleted=counts)
