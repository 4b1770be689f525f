"""Tenant branding: an MSP admin uploads a logo (PNG or JPEG by its magic bytes, at most
256 KiB, never SVG) on the home tenant's branding page or through the API; the printed
invoice shows the issuing MSP's logo to everyone who may read the invoice; bad input
names the field and changes nothing; others get 403."""

from __future__ import annotations

import re
import struct
import uuid
import zlib
from datetime import date

import httpx
from sqlalchemy import func, select

from tenantry.access.service import operator_scope
from tenantry.audit.models import AuditEvent
from tenantry.branding.models import TenantBranding
from tenantry.config import Settings
from tenantry.db.engine import Database
from tenantry.tenancy.models import Tenant
from tests.factories import make_user, signed_in_client
from tests.psa.time.world import World, world

PAGE = "/settings/branding"


def png(width: int = 2, height: int = 1, pad: int = 0) -> bytes:
    """A real, tiny PNG (``pad`` adds a private chunk to make it larger)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\x00" + b"\x1f\x6f\xeb" * width for _ in range(height)))
    extra = chunk(b"prVt", b"\x00" * pad) if pad else b""
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + extra
        + chunk(b"IDAT", pixels)
        + chunk(b"IEND", b"")
    )


JPEG = (
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    + b"\x00" * 64
    + (b"\xff\xd9")
)
SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
)


async def _branding(database: Database, tenant_id: uuid.UUID) -> tuple[int, int]:
    """(branding rows, branding.* events) in the tenant."""
    async with database.unit_of_work(operator_scope([tenant_id])) as session:
        rows = await session.scalar(
            select(func.count()).select_from(TenantBranding).where(TenantBranding.logo.is_not(None))
        )
        events = await session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action.like("branding.%"))
        )
        return int(rows or 0), int(events or 0)


def _form_client(browser: httpx.AsyncClient) -> str:
    """Forms send the CSRF field, as a browser does (not the header)."""
    return str(browser.headers.pop("x-csrf-token"))


async def _issued_invoice(w: World) -> str:
    await w.admin.post(
        w.api(w.contoso, "recurring-items"),
        json={"description": "Agreement", "amount_minor": 45000, "currency": "EUR"},
    )
    made = await w.admin.post(
        f"/t/{w.contoso}/invoices",
        data={"period_start": "2026-01-01", "period_end": date.today().isoformat(),
              "currency": "EUR", "tax_rate": "19"},
    )  # fmt: skip
    assert made.status_code == 303, made.text
    detail = str(made.headers["location"])
    assert (await w.admin.post(f"{detail}/issue")).status_code == 303
    return detail


async def test_upload_on_the_page_and_the_invoice_shows_it(
    settings: Settings, database: Database
) -> None:
    async with world(settings, database) as w:
        msp = w.msp.id
        detail = await _issued_invoice(w)
        plain = await w.admin.get(detail)
        assert plain.status_code == 200 and 'class="issuer-logo"' not in plain.text
        page = await w.admin.get(PAGE)
        assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.text
        assert 'href="/settings/branding"' in page.text  # in the sidebar
        token = _form_client(w.admin)
        no_csrf = await w.admin.post(f"{PAGE}/logo", files={"logo": ("l.png", png(), "image/png")})
        assert no_csrf.status_code == 403
        # Refused, named, nothing written: SVG, a renamed text file, too large, none.
        for name, data, kind in (
            ("logo.svg", SVG, "image/svg+xml"),
            ("logo.png", b"GIF89a not really a png", "image/png"),
            ("big.png", png(pad=256 * 1024), "image/png"),
        ):
            bad = await w.admin.post(
                f"{PAGE}/logo", data={"csrf_token": token}, files={"logo": (name, data, kind)}
            )
            assert bad.status_code == 422, name
            assert 'id="f-logo-error"' in bad.text, name
        assert "larger than 256 KiB" in bad.text  # the last one
        svg = await w.admin.post(
            f"{PAGE}/logo", data={"csrf_token": token}, files={"logo": ("x.svg", SVG, "image/png")}
        )
        assert "can carry script" in svg.text
        missing = await w.admin.post(f"{PAGE}/logo", data={"csrf_token": token})
        assert missing.status_code == 422 and 'id="f-logo-error"' in missing.text
        colour = await w.admin.post(PAGE, data={"csrf_token": token, "accent_colour": "red"})
        assert colour.status_code == 422 and 'id="f-accent_colour-error"' in colour.text
        assert 'value="red"' in colour.text
        assert await _branding(database, msp) == (0, 0)

        logo = png()
        saved = await w.admin.post(
            f"{PAGE}/logo",
            data={"csrf_token": token},
            files={"logo": ("logo.png", logo, "application/octet-stream")},
        )
        assert saved.status_code == 303 and saved.headers["location"] == PAGE
        accent = await w.admin.post(PAGE, data={"csrf_token": token, "accent_colour": "#1F6FEB"})
        assert accent.status_code == 303
        assert await _branding(database, msp) == (1, 2)
        page = await w.admin.get(PAGE)
        src = re.search(r'<img src="(/settings/branding/logo\?v=[0-9a-f]+)"', page.text)
        assert src, page.text
        image = await w.admin.get(src.group(1))
        assert image.status_code == 200 and image.content == logo
        assert image.headers["content-type"] == "image/png"
        assert image.headers["x-content-type-options"] == "nosniff"
        assert "private" in image.headers["cache-control"]
        again = await w.admin.get(src.group(1), headers={"if-none-match": image.headers["etag"]})
        assert again.status_code == 304

        # The printable invoice shows the issuer's logo and accent.
        sheet = await w.admin.get(detail)
        img = re.search(
            r'<img class="issuer-logo" src="([^"]+)" alt="Northwind IT logo">', sheet.text
        )
        assert img, sheet.text
        assert img.group(1).startswith(f"{detail}/logo?v=")
        assert "border-top: 6px solid #1f6feb" in sheet.text
        served = await w.admin.get(img.group(1))
        assert served.status_code == 200 and served.content == logo
        assert served.headers["content-type"] == "image/png"
        assert served.headers["x-content-type-options"] == "nosniff"
        # The delegated technician and the client's own reader see it too.
        assert (await w.tech.get(img.group(1))).content == logo
        async with database.unit_of_work(operator_scope([])) as session:
            client = await session.scalar(select(Tenant).where(Tenant.slug == w.contoso))
            assert client is not None
        await make_user(database, client, f"reader@{w.contoso}.example", role="read_only")
        async with await signed_in_client(w.app, f"reader@{w.contoso}.example") as reader:
            own = await reader.get(detail)
            assert own.status_code == 200 and 'class="issuer-logo"' in own.text
            assert (await reader.get(img.group(1))).content == logo
            # ... but not the MSP's settings page.
            assert (await reader.get(PAGE)).status_code == 403

        removed = await w.admin.post(f"{PAGE}/logo/remove", data={"csrf_token": token})
        assert removed.status_code == 303
        assert 'class="issuer-logo"' not in (await w.admin.get(detail)).text
        assert (await w.admin.get(img.group(1))).status_code == 404
        assert await _branding(database, msp) == (0, 3)


async def test_logo_api_and_who_may_change_it(settings: Settings, database: Database) -> None:
    async with world(settings, database) as w:
        msp = w.msp.id
        url = f"/api/v1/tenants/{w.msp.slug}/branding"
        assert (await w.admin.get(url)).json()["has_logo"] is False
        assert (await w.admin.get(f"{url}/logo")).status_code == 404
        for data, kind in (
            (SVG, "image/svg+xml"),
            (b"", "image/png"),
            (png(pad=300_000), "image/png"),
        ):
            bad = await w.admin.put(f"{url}/logo", content=data, headers={"content-type": kind})
            assert bad.status_code == 422, bad.text
            assert bad.json()["errors"][0]["field"] == "logo"
        bad_colour = await w.admin.patch(url, json={"accent_colour": "#12345"})
        assert bad_colour.status_code == 422
        assert bad_colour.json()["errors"][0]["field"] == "accent_colour"
        assert await _branding(database, msp) == (0, 0)
        # The technician (no settings:manage at home) is refused, and changes nothing.
        refused = await w.tech.put(
            f"{url}/logo", content=png(), headers={"content-type": "image/png"}
        )
        assert refused.status_code == 403
        assert (await w.tech.get(PAGE)).status_code == 403
        assert (await w.tech.delete(f"{url}/logo")).status_code == 403
        put = await w.admin.put(f"{url}/logo", content=JPEG, headers={"content-type": "image/png"})
        assert put.status_code == 200, put.text
        body = put.json()
        assert body["has_logo"] is True and body["logo_content_type"] == "image/jpeg"
        assert body["logo_size"] == len(JPEG)
        got = await w.tech.get(f"{url}/logo")  # tenant:read at home
        assert got.status_code == 200 and got.content == JPEG
        assert got.headers["content-type"] == "image/jpeg"
        assert got.headers["x-content-type-options"] == "nosniff"
        assert "max-age" in got.headers["cache-control"]
        assert (await w.admin.delete(f"{url}/logo")).status_code == 204
        assert (await w.admin.delete(f"{url}/logo")).status_code == 404
        events = await w.admin.get(
            f"/api/v1/tenants/{w.msp.slug}/audit-events", params={"action": "branding.logo_updated"}
        )
        assert len(events.json()["items"]) == 1
        change = events.json()["items"][0]["changes"]["logo"][1]
        assert change["content_type"] == "image/jpeg" and "logo" not in change
        assert await _branding(database, msp) == (0, 2)
