"""Branding API: ``/api/v1/tenants/{tenant}/branding`` (read: ``tenant:read``; change:
``settings:manage``). The logo is sent as the raw request body (``Content-Type:
image/png`` or ``image/jpeg``); its type is decided from its bytes. Thin: the rules
are in BrandingService."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from fastapi.responses import Response

from tenantry.branding import auth
from tenantry.branding.schemas import MAX_LOGO_BYTES, BrandingOut, BrandingPatch
from tenantry.branding.service import BrandingService, branding_out
from tenantry.errors import NotFound, ValidationFailed

router = APIRouter(prefix="/api/v1/tenants/{tenant}", tags=["branding"])

LOGO_CACHE = "private, max-age=300"


def logo_response(request: Request, data: bytes, content_type: str, sha256: str) -> Response:
    """The logo as an image: its checked type, a private cache with an ETag (the
    browser revalidates cheaply), never sniffed as anything else (X-Content-Type-Options
    is added to every response by the middleware), shown inline."""
    etag = f'"{sha256[:32]}"'
    headers = {
        "cache-control": LOGO_CACHE,
        "etag": etag,
        "content-disposition": 'inline; filename="logo.{}"'.format(
            "png" if content_type == "image/png" else "jpg"
        ),
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=content_type, headers=headers)


async def read_limited(request: Request, field: str = "logo") -> bytes:
    """The request body, refused (422 naming ``field``) once it passes the logo limit,
    without reading the rest into memory."""
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_LOGO_BYTES:
            raise ValidationFailed(field, f"is larger than {MAX_LOGO_BYTES // 1024} KiB")
    return bytes(body)


@router.get("/branding", response_model=BrandingOut)
async def get_branding(work: auth.BrandingRead) -> BrandingOut:
    return branding_out(await BrandingService(work.session).get(work.ctx.tenant.id))


@router.patch("/branding", response_model=BrandingOut)
async def patch_branding(body: BrandingPatch, work: auth.BrandingManage) -> BrandingOut:
    row = await BrandingService(work.session).set_accent(
        work.ctx, body.accent_colour, actor=work.actor
    )
    return branding_out(row)


@router.get(
    "/branding/logo",
    response_class=Response,
    responses={200: {"content": {"image/png": {}, "image/jpeg": {}}}, 404: {}},
)
async def get_logo(request: Request, work: auth.BrandingRead) -> Response:
    row = await BrandingService(work.session).get(work.ctx.tenant.id)
    if row is None or row.logo is None or not row.logo_content_type or not row.logo_sha256:
        raise NotFound("This tenant has no logo.")
    return logo_response(request, row.logo, row.logo_content_type, row.logo_sha256)


@router.put(
    "/branding/logo",
    response_model=BrandingOut,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "image/png": {"schema": {"type": "string", "format": "binary"}},
                "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
async def put_logo(request: Request, work: auth.BrandingManage) -> BrandingOut:
    """Replace the logo: PNG or JPEG, at most 256 KiB, as the raw body. SVG is refused
    (it can carry script)."""
    data = await read_limited(request)
    row = await BrandingService(work.session).set_logo(work.ctx, data, actor=work.actor)
    return branding_out(row)


@router.delete("/branding/logo", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def delete_logo(work: auth.BrandingManage) -> Response:
    await BrandingService(work.session).remove_logo(work.ctx, actor=work.actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
