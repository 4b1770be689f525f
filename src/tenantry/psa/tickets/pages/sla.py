"""The tenant's SLA policy page: ``/t/{tenant}/settings/sla`` (targets, business hours,
time zone, holidays). Read with ``tickets:read``, changed with ``sla:manage`` as the
API's PUT. Thin: the rules are in SlaPolicyService.set_policy."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from tenantry.errors import TenantryError, ValidationFailed
from tenantry.http.deps import Work
from tenantry.psa.tickets import auth
from tenantry.psa.tickets.models import Priority
from tenantry.psa.tickets.policy import SlaPolicyService
from tenantry.psa.tickets.schemas import PolicyChange, parse_windows
from tenantry.tenancy.schemas import time_zones
from tenantry.web.forms import field_errors
from tenantry.web.render import redirect_with_notice, render

router = APIRouter(include_in_schema=False)

SLA_KINDS = (("first_response", "First response"), ("resolution", "Resolution"))
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _sla_base(work: Work) -> str:
    return f"/t/{work.ctx.tenant.slug}/settings/sla"


def _sla_field(name: str) -> str:
    """Service field names → the page's: ``targets.P1.resolution`` → ``P1_resolution``,
    ``business_hours.0`` → ``hours_0``."""
    if name.startswith("targets."):
        return name.removeprefix("targets.").replace(".", "_")
    if name.startswith("business_hours."):
        return "hours_" + name.removeprefix("business_hours.")
    return {"holidays": "holiday", "business_hours": "form", "targets": "form"}.get(name, name)


def _errors(exc: TenantryError) -> dict[str, str]:
    return {_sla_field(k): v for k, v in field_errors(exc).items()}


def _minutes_text(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    return f"{hours}h {rest:02d}m" if hours else f"{rest}m"


async def _sla_page(
    request: Request,
    work: Work,
    *,
    form: dict[str, str] | None = None,
    holiday_form: str = "",
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    policy = await SlaPolicyService(work.session).policy(work.ctx.tenant)
    current: dict[str, str] = {"time_zone": policy.time_zone}
    for p in Priority:
        for kind, _ in SLA_KINDS:
            value = policy.targets.get(p.value, {}).get(kind)
            current[f"{p.value}_{kind}"] = "" if value is None else str(value)
    for day in range(7):
        windows = policy.business_hours.get(str(day), [])
        current[f"hours_{day}"] = ", ".join(f"{a}-{b}" for a, b in windows)
    return render(
        request,
        "psa/tickets/sla.html",
        {
            "base": _sla_base(work),
            "tickets_href": f"/t/{work.ctx.tenant.slug}/tickets",
            "policy": policy,
            "form": {**current, **(form or {})},
            "holiday_form": holiday_form,
            "errors": errors or {},
            "priorities": [p.value for p in Priority],
            "kinds": SLA_KINDS,
            "weekdays": list(enumerate(WEEKDAYS)),
            "zones": sorted(time_zones()),
            "minutes_text": _minutes_text,
            "can_edit": work.ctx.can("sla:manage"),
            "no_hours": policy.calendar is None,
        },
        status=status,
    )


@router.get("/t/{tenant}/settings/sla", response_class=HTMLResponse)
async def sla_policy_page(request: Request, work: auth.TicketsRead) -> HTMLResponse:
    """Everyone who sees the tickets may see the targets they are measured by; changing
    them needs ``sla:manage`` (as the API's PUT)."""
    return await _sla_page(request, work)


def _target_value(raw: str) -> int | str:
    """A whole number as typed, else the text itself (the service names the field)."""
    text = raw.strip()
    return int(text) if text.lstrip("-").isdigit() and len(text) < 12 else text


@router.post("/t/{tenant}/settings/sla", response_model=None)
async def save_sla_policy(
    request: Request, work: auth.SlaManage
) -> HTMLResponse | RedirectResponse:
    data = await request.form()
    form: dict[str, str] = {}
    names = [f"{p.value}_{k}" for p in Priority for k, _ in SLA_KINDS]
    names += [f"hours_{d}" for d in range(7)] + ["time_zone"]
    for name in names:
        value = data.get(name)
        form[name] = value[:200] if isinstance(value, str) else ""
    try:
        targets = {
            p.value: {k: _target_value(form[f"{p.value}_{k}"]) for k, _ in SLA_KINDS}
            for p in Priority
        }
        hours: dict[str, list[tuple[str, str]]] = {}
        for day in range(7):
            try:
                hours[str(day)] = parse_windows(form[f"hours_{day}"])
            except ValueError as exc:
                raise ValidationFailed(f"business_hours.{day}", str(exc)) from exc
        service = SlaPolicyService(work.session)
        current = await service.policy(work.ctx.tenant)
        change = PolicyChange(targets, hours, current.holidays, time_zone=form["time_zone"])
        await service.set_policy(work.ctx, change, actor=work.actor)
    except TenantryError as exc:
        if exc.status >= 500:
            raise
        return await _sla_page(request, work, form=form, errors=_errors(exc), status=exc.status)
    return redirect_with_notice(request, _sla_base(work), "SLA policy saved.")


@router.post("/t/{tenant}/settings/sla/holidays", response_model=None)
async def add_sla_holiday(
    request: Request,
    work: auth.SlaManage,
    holiday: Annotated[str, Form(max_length=40)] = "",
) -> HTMLResponse | RedirectResponse:
    day = holiday.strip()
    try:
        if not day:
            raise ValidationFailed("holiday", "is required: pick a date")
        await SlaPolicyService(work.session).add_holiday(work.ctx, day, actor=work.actor)
    except TenantryError as exc:
        if exc.status >= 500:
            raise
        return await _sla_page(request, work, holiday_form=holiday, errors=_errors(exc), status=422)
    return redirect_with_notice(request, _sla_base(work) + "#holidays", f"Holiday {day} added.")


@router.post("/t/{tenant}/settings/sla/holidays/remove", response_model=None)
async def remove_sla_holiday(
    request: Request,
    work: auth.SlaManage,
    holiday: Annotated[str, Form(max_length=40)] = "",
) -> HTMLResponse | RedirectResponse:
    try:
        await SlaPolicyService(work.session).remove_holiday(
            work.ctx, holiday.strip(), actor=work.actor
        )
    except TenantryError as exc:
        if exc.status >= 500:
            raise
        return await _sla_page(request, work, errors=_errors(exc), status=422)
    return redirect_with_notice(
        request, _sla_base(work) + "#holidays", f"Holiday {holiday.strip()} removed."
    )
