"""What every page's form handling shares."""

from __future__ import annotations

from tenantry.errors import TenantryError, ValidationFailed


def field_errors(exc: TenantryError) -> dict[str, str]:
    """``{"name": "is already taken"}`` from any of our errors that names fields; an
    error that names none is shown at the top of the form (``form``)."""
    if isinstance(exc, ValidationFailed):
        return {exc.field: exc.message}
    listed = exc.extra.get("errors")
    if isinstance(listed, list):
        return {str(e["field"]): str(e["message"]) for e in listed if isinstance(e, dict)}
    return {"form": exc.detail}
