"""Risk register API (``/api/v1/tenants/{tenant}/compliance/risks``): thin, the rules are
in RiskService."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from tenantry.compliance import auth
from tenantry.compliance.risks.schemas import (
    HeatMapOut,
    RiskChangeOut,
    RiskDetailOut,
    RiskFilters,
    RiskIn,
    RiskLinkIn,
    RiskLinkOut,
    RiskOut,
    RiskPatch,
)
from tenantry.compliance.risks.service import RiskService, today
from tenantry.http.params import Limit
from tenantry.kit.pagination import Page

router = APIRouter(prefix="/api/v1/tenants/{tenant}/compliance/risks", tags=["compliance"])


@router.get("", response_model=Page[RiskOut])
async def list_risks(
    work: auth.ComplianceRead,
    status_: Annotated[str | None, Query(alias="status", description="open or closed")] = None,
    level: Annotated[
        str | None, Query(description="low, medium, high or critical (of the view's score)")
    ] = None,
    treatment: Annotated[str | None, Query(description="accept, mitigate, transfer, avoid")] = None,
    view: Annotated[
        Literal["inherent", "residual"],
        Query(description="which ratings level, likelihood and impact filter and sort by"),
    ] = "inherent",
    likelihood: Annotated[int | None, Query()] = None,
    impact: Annotated[int | None, Query()] = None,
    overdue: Annotated[bool, Query(description="open risks whose review day has passed")] = False,
    limit: Limit = 50,
    cursor: Annotated[str | None, Query()] = None,
) -> Page[RiskOut]:
    """Risks by score (of the view), highest first."""
    filters = RiskFilters(status_, level, treatment, view, likelihood, impact, overdue)
    rows, next_cursor = await RiskService(work.session).page(
        work.ctx, filters, cursor=cursor, limit=limit
    )
    on = today()
    return Page[RiskOut](items=[RiskOut.of(r, on) for r in rows], next_cursor=next_cursor)


@router.post("", response_model=RiskOut, status_code=status.HTTP_201_CREATED)
async def create_risk(body: RiskIn, work: auth.ComplianceWrite) -> RiskOut:
    risk = await RiskService(work.session).create(
        work.ctx, RiskPatch(**body.model_dump()), actor=work.actor
    )
    return RiskOut.of(risk, today())


@router.get("/heatmap", response_model=HeatMapOut)
async def heatmap(
    work: auth.ComplianceRead,
    view: Annotated[Literal["inherent", "residual"], Query()] = "inherent",
) -> HeatMapOut:
    """Open risks per likelihood x impact cell, of the inherent or the residual ratings."""
    return await RiskService(work.session).heatmap(work.ctx, view)


@router.get("/{risk_id}", response_model=RiskDetailOut)
async def get_risk(risk_id: str, work: auth.ComplianceRead) -> RiskDetailOut:
    service = RiskService(work.session)
    risk = await service.get(work.ctx, risk_id)
    out = RiskOut.of(risk, today())
    return RiskDetailOut(**out.model_dump(), links=await service.links(work.ctx, risk.id))


@router.patch("/{risk_id}", response_model=RiskOut)
async def update_risk(risk_id: str, body: RiskPatch, work: auth.ComplianceWrite) -> RiskOut:
    risk = await RiskService(work.session).update(work.ctx, risk_id, body, actor=work.actor)
    return RiskOut.of(risk, today())


@router.delete("/{risk_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def delete_risk(risk_id: str, work: auth.ComplianceWrite) -> Response:
    await RiskService(work.session).delete(work.ctx, risk_id, actor=work.actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{risk_id}/history", response_model=list[RiskChangeOut])
async def risk_history(risk_id: str, work: auth.ComplianceRead) -> list[RiskChangeOut]:
    """Every change of the risk, newest first."""
    return await RiskService(work.session).history(work.ctx, risk_id)


@router.post("/{risk_id}/links", response_model=RiskLinkOut, status_code=status.HTTP_201_CREATED)
async def link_risk(risk_id: str, body: RiskLinkIn, work: auth.ComplianceWrite) -> RiskLinkOut:
    """Link the risk to a requirement or an applied measure of this tenant."""
    return await RiskService(work.session).link(work.ctx, risk_id, body, actor=work.actor)


@router.delete(
    "/{risk_id}/links/{risk_link_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
)
async def unlink_risk(risk_id: str, risk_link_id: str, work: auth.ComplianceWrite) -> Response:
    await RiskService(work.session).unlink(work.ctx, risk_id, risk_link_id, actor=work.actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
