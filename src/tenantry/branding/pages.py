"""The branding page of the home tenant (``/settings/branding``, ``settings:manage``
at home): upload or remove the logo shown on printed invoices, pick an accent colour.
Thin: the rules are in BrandingService."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tenantry.branding import auth
from tenantry.branding.routes import logo_response
from tenantry.branding.schemas import MAX_LOGO_BYTES
from tenantry.branding.service import BrandingService
from tenantry.errors import NotFound, TenantryError, ValidationFailed
from tenantry.http.deps import Work
from tenantry.web.forms import field_errors
from tenantry.web.render import redirect_with_notice, render

router = APIRouter(include_in_schema=False)
BASE = "/settings/branding"


async def _page(
    request: Request,
    work: Work,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    row = await BrandingService(work.session).get(work.ctx.tenant.id)
    has_logo = row is not None and row.logo is not None
    context: dict[str, Any] = {
        "base": BASE,
        "branding": row,
        "has_logo": has_logo,
        "logo_src": f"{BASE}/logo?v={row.logo_sha256[:12]}"
        if row is not None and has_logo and row.logo_sha256
        else None,
        "max_kib": MAX_LOGO_BYTES // 1024,
        "form": {"accent_colour": (row.accent_colour if row else None) or "", **(form or {})},
        "errors": errors or {},
    }
    return render(request, "branding/settings.html", context, status=status)


@router.get("/settings/branding", response_class=HTMLResponse)
async def branding_page(request: Request, work: auth.HomeBrandingManage) -> HTMLResponse:
    return await _page(request, work)


@router.get("/settings/branding/logo", response_model=None)
async def branding_logo(request: Request, work: auth.HomeBrandingManage) -> Response:
    row = await BrandingService(work.session).get(work.ctx.tenant.id)
    if row is None or row.logo is None or not row.logo_content_type or not row.logo_sha256:
        raise NotFound("No logo yet.")
    return logo_response(request, row.logo, row.logo_content_type, row.logo_sha256)


@router.post("/settings/branding/logo", response_model=None)
async def upload_logo(
    request: Request,
    work: auth.HomeBrandingManage,
    logo: Annotated[UploadFile | None, File()] = None,
) -> HTMLResponse | RedirectResponse:
    try:
        if logo is None or not logo.filename:
            raise ValidationFailed("logo", "is required: choose a PNG or JPEG file")
        # One byte past the limit is enough to say it is too large.
        data = await logo.read(MAX_LOGO_BYTES + 1)
        await BrandingService(work.session).set_logo(work.ctx, data, actor=work.actor)
    except TenantryError as exc:
        if exc.status >= 500:
            raise
        return await _page(request, work, errors=field_errors(exc), status=exc.status)
    return redirect_with_notice(request, BASE, "Logo saved: it shows on printed invoices.")


@router.post("/settings/branding/logo/remove", response_model=None)
async def remove_logo(request: Request, work: auth.HomeBrandingManage) -> RedirectResponse:
    await BrandingService(work.session).remove_logo(work.ctx, actor=work.actor)
    return redirect_with_notice(request, BASE, "Logo removed.")


@router.post("/settings/branding", response_model=None)
async def save_branding(
    request: Request,
    work: auth.HomeBrandingManage,
    accent_colour: Annotated[str, Form(max_length=20)] = "",
) -> HTMLResponse | RedirectResponse:
    try:
        await BrandingService(work.session).set_accent(work.ctx, accent_colour, actor=work.actor)
    except TenantryError as exc:
        if exc.status >= 500:
            raise
        return await _page(
            request,
            work,
            form={"accent_colour": accent_colour},
            errors=field_errors(exc),
            status=exc.status,
        )
    return redirect_with_notice(request, BASE, "Branding saved.")
