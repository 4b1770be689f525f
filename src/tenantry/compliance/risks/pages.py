"""Risk register pages (``/t/{tenant}/compliance/risks``): the heat maps, the filtered
list, the overdue reviews and a form to add a risk; a risk's page to edit it, link it to
requirements and measures, see its history and delete it. Thin: the rules are in
RiskService."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from tenantry.compliance import auth
from tenantry.compliance.risks.schemas import (
    RiskFilters,
    RiskLinkIn,
    form_id,
    patch_of_form,
)
from tenantry.compliance.risks.scoring import LEVELS, RATINGS, STATUSES, TREATMENTS, level_of
from tenantry.compliance.risks.service import RiskService, today
from tenantry.errors import NotFound, TenantryError, ValidationFailed
from tenantry.http.deps import Work
from tenantry.web.forms import field_errors
from tenantry.web.render import redirect_with_notice, render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
Text = Annotated[str, Form(max_length=25_000)]
Short = Annotated[str, Form(max_length=1000)]
FILTERS = ("status", "level", "treatment", "view", "likelihood", "impact", "overdue")


def _base(work: Work) -> str:
    return f"/t/{work.ctx.tenant.slug}/compliance/risks"


def _filters(raw: dict[str, str]) -> RiskFilters:
    """The list's query string as filters ("all" statuses: none)."""
    status = raw.get("status") or "open"

    def number(name: str) -> int | None:
        value = raw.get(name, "")
        if not value:
            return None
        if not value.isdigit():
            raise ValidationFailed(name, "must be a whole number from 1 to 5")
        return int(value)

    return RiskFilters(
        status=None if status == "all" else status,
        level=raw.get("level") or None,
        treatment=raw.get("treatment") or None,
        view=raw.get("view") or "inherent",
        likelihood=number("likelihood"),
        impact=number("impact"),
        overdue=raw.get("overdue") in ("1", "true", "on"),
    )


def _common(work: Work) -> dict[str, Any]:
    return {
        "base": _base(work),
        "ratings": RATINGS,
        "levels": LEVELS,
        "treatments": TREATMENTS,
        "statuses": STATUSES,
        "can_write": work.ctx.can("compliance:write"),
        "today": today(),
        "level_of": level_of,
    }


async def _list_page(
    request: Request,
    work: Work,
    raw: dict[str, str],
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    service = RiskService(work.session)
    cursor = raw.pop("cursor", None) or None
    filter_errors: dict[str, str] = {}
    try:
        filters = _filters(raw)
        risks, next_cursor = await service.page(work.ctx, filters, cursor=cursor, limit=PAGE_SIZE)
    except ValidationFailed as exc:
        # A hand-edited query string: say which filter, show the open risks.
        filter_errors = field_errors(exc)
        raw, cursor = {}, None
        filters = _filters(raw)
        risks, next_cursor = await service.page(work.ctx, filters, cursor=None, limit=PAGE_SIZE)
    overdue, _ = await service.page(
        work.ctx, RiskFilters(status="open", overdue=True), cursor=None, limit=10
    )
    base = _base(work)
    kept = {k: v for k, v in raw.items() if k in FILTERS and v}
    return render(
        request,
        "compliance/risks/list.html",
        {
            **_common(work),
            "risks": risks,
            "overdue": overdue,
            "heatmaps": [
                await service.heatmap(work.ctx, "inherent"),
                await service.heatmap(work.ctx, "residual"),
            ],
            "filters": filters,
            "raw": kept,
            "filter_errors": filter_errors,
            "cursor": cursor,
            "next_href": base + "?" + urlencode({**kept, "cursor": next_cursor})
            if next_cursor
            else None,
            "first_href": base + ("?" + urlencode(kept) if kept else ""),
            "form": form or {},
            "errors": errors or {},
        },
        status=status,
    )


@router.get("/t/{tenant}/compliance/risks", response_class=HTMLResponse)
async def risks_page(
    request: Request,
    work: auth.ComplianceRead,
    status: Annotated[str, Query(max_length=20)] = "",
    level: Annotated[str, Query(max_length=20)] = "",
    treatment: Annotated[str, Query(max_length=20)] = "",
    view: Annotated[str, Query(max_length=20)] = "",
    likelihood: Annotated[str, Query(max_length=5)] = "",
    impact: Annotated[str, Query(max_length=5)] = "",
    overdue: Annotated[str, Query(max_length=5)] = "",
    cursor: Annotated[str, Query(max_length=4096)] = "",
) -> HTMLResponse:
    raw = {
        "status": status,
        "level": level,
        "treatment": treatment,
        "view": view,
        "likelihood": likelihood,
        "impact": impact,
        "overdue": overdue,
        "cursor": cursor,
    }
    return await _list_page(request, work, raw)


@router.post("/t/{tenant}/compliance/risks", response_model=None)
async def create_risk(
    request: Request,
    work: auth.ComplianceWrite,
    title: Short = "",
    category: Short = "",
    description: Text = "",
    likelihood: Short = "",
    impact: Short = "",
    treatment: Short = "",
    treatment_plan: Text = "",
    owner_name: Short = "",
    residual_likelihood: Short = "",
    residual_impact: Short = "",
    next_review_on: Short = "",
) -> HTMLResponse | RedirectResponse:
    form = {
        "title": title,
        "category": category,
        "description": description,
        "likelihood": likelihood,
        "impact": impact,
        "treatment": treatment,
        "treatment_plan": treatment_plan,
        "owner_name": owner_name,
        "residual_likelihood": residual_likelihood,
        "residual_impact": residual_impact,
        "next_review_on": next_review_on,
    }
    try:
        risk = await RiskService(work.session).create(
            work.ctx, patch_of_form(form), actor=work.actor
        )
    except TenantryError as exc:
        return await _list_page(request, work, {}, form=form, errors=field_errors(exc), status=422)
    return redirect_with_notice(request, f"{_base(work)}/{risk.id}", f"Risk “{risk.title}” added.")


async def _risk_page(
    request: Request,
    work: Work,
    risk_id: str,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    service = RiskService(work.session)
    risk = await service.get(work.ctx, risk_id)
    current = {
        "title": risk.title,
        "category": risk.category,
        "description": risk.description,
        "likelihood": str(risk.likelihood),
        "impact": str(risk.impact),
        "treatment": risk.treatment,
        "treatment_plan": risk.treatment_plan,
        "owner_name": risk.owner_name,
        "residual_likelihood": str(risk.residual_likelihood),
        "residual_impact": str(risk.residual_impact),
        "status": risk.status,
        "next_review_on": risk.next_review_on.isoformat() if risk.next_review_on else "",
    }
    return render(
        request,
        "compliance/risks/risk.html",
        {
            **_common(work),
            "risk": risk,
            "links": await service.links(work.ctx, risk.id),
            "linkable": await service.linkable(work.ctx)
            if work.ctx.can("compliance:write")
            else [],
            "history": await service.history(work.ctx, risk.id),
            "form": {**current, **(form or {})},
            "errors": errors or {},
        },
        status=status,
    )


@router.get("/t/{tenant}/compliance/risks/{risk_id}", response_class=HTMLResponse)
async def risk_page(request: Request, risk_id: str, work: auth.ComplianceRead) -> HTMLResponse:
    return await _risk_page(request, work, risk_id)


@router.post("/t/{tenant}/compliance/risks/{risk_id}", response_model=None)
async def update_risk(
    request: Request,
    risk_id: str,
    work: auth.ComplianceWrite,
    title: Short = "",
    category: Short = "",
    description: Text = "",
    likelihood: Short = "",
    impact: Short = "",
    treatment: Short = "",
    treatment_plan: Text = "",
    owner_name: Short = "",
    residual_likelihood: Short = "",
    residual_impact: Short = "",
    status: Short = "",
    next_review_on: Short = "",
) -> HTMLResponse | RedirectResponse:
    form = {
        "title": title,
        "category": category,
        "description": description,
        "likelihood": likelihood,
        "impact": impact,
        "treatment": treatment,
        "treatment_plan": treatment_plan,
        "owner_name": owner_name,
        "residual_likelihood": residual_likelihood,
        "residual_impact": residual_impact,
        "status": status,
        "next_review_on": next_review_on,
    }
    try:
        risk = await RiskService(work.session).update(
            work.ctx, risk_id, patch_of_form(form), actor=work.actor
        )
    except NotFound:
        raise
    except TenantryError as exc:
        return await _risk_page(
            request, work, risk_id, form=form, errors=field_errors(exc), status=422
        )
    return redirect_with_notice(request, f"{_base(work)}/{risk.id}", "Risk saved.")


@router.post("/t/{tenant}/compliance/risks/{risk_id}/delete", response_model=None)
async def delete_risk(
    request: Request,
    risk_id: str,
    work: auth.ComplianceWrite,
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> HTMLResponse | RedirectResponse:
    service = RiskService(work.session)
    risk = await service.get(work.ctx, risk_id)
    if confirm != "yes":
        errors = {"confirm": "Tick the box to confirm that the risk and its history go."}
        return await _risk_page(request, work, risk_id, errors=errors, status=422)
    await service.delete(work.ctx, risk.id, actor=work.actor)
    return redirect_with_notice(request, _base(work), f"Risk “{risk.title}” deleted.")


@router.post("/t/{tenant}/compliance/risks/{risk_id}/links", response_model=None)
async def link_risk(
    request: Request,
    risk_id: str,
    work: auth.ComplianceWrite,
    target: Short = "",
) -> HTMLResponse | RedirectResponse:
    """``target`` is ``requirement:<id>`` or ``measure:<id>``."""
    service = RiskService(work.session)
    risk = await service.get(work.ctx, risk_id)
    kind, _, ref = target.partition(":")
    try:
        if kind not in ("requirement", "measure"):
            raise ValidationFailed("target", "choose a requirement or a measure")
        chosen = form_id("target", ref)
        body = RiskLinkIn(**{f"{kind}_id": chosen})
        await service.link(work.ctx, risk.id, body, actor=work.actor)
    except TenantryError as exc:
        found = field_errors(exc)
        errors = {"target": next(iter(found.values()))}
        return await _risk_page(request, work, risk_id, errors=errors, status=422)
    return redirect_with_notice(request, f"{_base(work)}/{risk.id}#links", "Link added.")


@router.post(
    "/t/{tenant}/compliance/risks/{risk_id}/links/{risk_link_id}/delete", response_model=None
)
async def unlink_risk(
    request: Request, risk_id: str, risk_link_id: str, work: auth.ComplianceWrite
) -> RedirectResponse:
    service = RiskService(work.session)
    risk = await service.get(work.ctx, risk_id)
    await service.unlink(work.ctx, risk.id, risk_link_id, actor=work.actor)
    return redirect_with_notice(request, f"{_base(work)}/{risk.id}#links", "Link removed.")
