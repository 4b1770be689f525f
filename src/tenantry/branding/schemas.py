"""Branding shapes and the input rules: what a logo may be, what an accent colour is."""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import BaseModel, Field

from tenantry.errors import ValidationFailed

MAX_LOGO_BYTES = 256 * 1024
PNG = "image/png"
JPEG = "image/jpeg"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_ACCENT = re.compile(r"^#[0-9a-f]{6}$")


def sniff_logo(data: bytes, field: str = "logo") -> str:
    """The image type of ``data`` by its magic bytes: PNG or JPEG, else a 422 naming
    ``field``. SVG is refused on purpose: it is a document that can carry script. The
    content type a browser or client claims is never trusted."""
    if not data:
        raise ValidationFailed(field, "is empty: choose a PNG or JPEG file")
    if len(data) > MAX_LOGO_BYTES:
        raise ValidationFailed(field, f"is larger than {MAX_LOGO_BYTES // 1024} KiB")
    if data.startswith(_PNG_SIGNATURE) and data[12:16] == b"IHDR":
        return PNG
    if data.startswith(b"\xff\xd8\xff") and len(data) > 4:
        return JPEG
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"<") or b"<svg" in head:
        raise ValidationFailed(
            field, "is SVG or another markup file; upload a PNG or JPEG (SVG can carry script)"
        )
    raise ValidationFailed(field, "is not a PNG or JPEG image")


def check_accent(value: str | None, field: str = "accent_colour") -> str | None:
    if value is None or not value.strip():
        return None
    colour = value.strip().lower()
    if not _ACCENT.match(colour):
        raise ValidationFailed(field, "must be a colour like #1f6feb")
    return colour


class BrandingOut(BaseModel):
    has_logo: bool
    logo_content_type: str | None = None
    logo_size: int | None = Field(default=None, description="Bytes")
    logo_sha256: str | None = None
    accent_colour: str | None = None
    updated_at: datetime | None = None


class BrandingPatch(BaseModel):
    accent_colour: str | None = Field(
        default=None, max_length=20, description="#rrggbb, or null for the default"
    )
