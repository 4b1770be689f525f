"""``/msp/compliance/apply``: the MSP applies a framework to one client, a client group
or all clients in one action, and sees a result per client. Thin: ApplyService decides."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from tenantry.compliance.programme.apply import ApplyService
from tenantry.compliance.programme.auth import MspComplianceWrite
from tenantry.compliance.programme.pages.frameworks import available_to
from tenantry.compliance.programme.schemas import ApplyReport, ApplyTarget
from tenantry.errors import NotFound, TenantryError, ValidationFailed
from tenantry.http.deps import Work
from tenantry.web.forms import field_errors
from tenantry.web.render import render

router = APIRouter(include_in_schema=False)
RESULT_LABELS = {
    "adopted": "Adopted",
    "already_adopted": "Already adopted",
    "not_permitted": "Not permitted",
    "failed": "Failed",
}


def _only_msp(work: Work) -> None:
    if not work.ctx.tenant.is_msp:
        raise NotFound(f"{work.ctx.tenant.display_name} is not an MSP: it has no clients.")


async def _page(
    request: Request,
    work: Work,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    result: ApplyReport | None = None,
    status: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "compliance/programme/apply.html",
        {
            "groups": await ApplyService(work.session).client_groups(work.ctx),
            "suggested": await available_to(work),
            "form": form or {"target": "client_group"},
            "errors": errors or {},
            "result": result,
            "labels": RESULT_LABELS,
        },
        status=status,
    )


@router.get("/msp/compliance/apply", response_class=HTMLResponse)
async def apply_form(request: Request, work: MspComplianceWrite) -> HTMLResponse:
    _only_msp(work)
    return await _page(request, work)


@router.post("/msp/compliance/apply", response_model=None)
async def apply(
    request: Request,
    work: MspComplianceWrite,
    framework: Annotated[str, Form(max_length=200)] = "",
    target: Annotated[str, Form(max_length=50)] = "",
    client: Annotated[str, Form(max_length=200)] = "",
    client_group: Annotated[str, Form(max_length=200)] = "",
) -> HTMLResponse:
    _only_msp(work)
    form = {
        "framework": framework,
        "target": target,
        "client": client,
        "client_group": client_group,
    }
    try:
        if not framework.strip():
            raise ValidationFailed("framework", "must name a framework")
        if target == "client":
            if not client.strip():
                raise ValidationFailed("client_id", "must name a client (slug or id)")
            chosen = ApplyTarget(client=client.strip())
        elif target == "client_group":
            if not client_group.strip():
                raise ValidationFailed("client_group_id", "choose a client group")
            chosen = ApplyTarget(client_group=client_group.strip())
        elif target == "all":
            chosen = ApplyTarget(everyone=True)
        else:
            raise ValidationFailed("target", "choose one client, a client group or all clients")
        result = await ApplyService(work.session).apply(
            work.ctx, framework, chosen, actor=work.actor
        )
    except TenantryError as exc:
        return await _page(request, work, form=form, errors=field_errors(exc), status=422)
    return await _page(request, work, form=form, result=result)
