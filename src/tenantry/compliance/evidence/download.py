"""What the API and the pages share to take a file in and send one out."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request, UploadFile
from fastapi.responses import Response

from tenantry.compliance.evidence.models import Evidence
from tenantry.compliance.evidence.rules import ACCEPTED

# What a download may answer, for the OpenAPI document (types without their charset).
DOWNLOAD_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {t: {} for t in sorted({t.split(";")[0] for t in ACCEPTED})}},
    404: {},
}

# A downloaded file is never rendered as part of the instance: its own type (sniffed at
# upload), saved rather than shown, not sniffed, in a sandbox without script or origin
# if a browser opens it anyway, never cached.
DOWNLOAD_CSP = "sandbox; default-src 'none'; frame-ancestors 'none'"


def download_response(evidence: Evidence, data: bytes) -> Response:
    ascii_name = evidence.name.encode("ascii", "replace").decode().replace('"', "'")
    ascii_name = ascii_name.replace("?", "_").replace("\\", "_")
    disposition = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(evidence.name, safe='')}"
    )
    return Response(
        data,
        media_type=evidence.content_type or "application/octet-stream",
        headers={
            "content-disposition": disposition,
            "x-content-type-options": "nosniff",
            "content-security-policy": DOWNLOAD_CSP,
            "cache-control": "private, no-store",
        },
    )


async def read_upload(request: Request, file: UploadFile | None) -> tuple[str, bytes | None]:
    """The upload's name and at most one byte past the limit (enough to refuse it); no
    bytes when no file was chosen (the service says so after finding the assessment)."""
    if file is None or (not file.filename and not file.size):
        return "", None
    limit: int = request.app.state.settings.evidence_max_bytes
    return file.filename or "", await file.read(limit + 1)
