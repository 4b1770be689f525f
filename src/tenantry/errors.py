"""One exception family; each kind carries its HTTP status and problem type (RFC 9457)."""

from __future__ import annotations

from typing import Any


class TenantryError(Exception):
    status = 400
    type_slug = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"https://tenantry.dev/problems/{self.type_slug}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        body.update(self.extra)
        return body


class ValidationFailed(TenantryError):
    """Bad input. ``errors`` names each field: [{"field": "slug", "message": "..."}]."""

    status = 422
    type_slug = "validation"
    title = "Invalid input"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", errors=[{"field": field, "message": message}])
        self.field = field
        self.message = message


class NotAuthenticated(TenantryError):
    status = 401
    type_slug = "not-authenticated"
    title = "Sign-in required"


class PermissionDenied(TenantryError):
    """Visible tenant, missing permission: names the permission (access rule 9)."""

    status = 403
    type_slug = "permission-denied"
    title = "Permission denied"

    def __init__(self, detail: str, permission: str | None = None, **extra: Any) -> None:
        if permission:
            extra["permission"] = permission
        super().__init__(detail, **extra)


class NotFound(TenantryError):
    """Also what a tenant the caller cannot see answers, so existence does not leak."""

    status = 404
    type_slug = "not-found"
    title = "Not found"


class Conflict(TenantryError):
    status = 409
    type_slug = "conflict"
    title = "Conflict"


class TenantSuspended(TenantryError):
    status = 403
    type_slug = "tenant-suspended"
    title = "Tenant suspended"


class TooManyAttempts(TenantryError):
    status = 429
    type_slug = "too-many-attempts"
    title = "Too many attempts"


class MfaRequired(TenantryError):
    status = 403
    type_slug = "mfa-required"
    title = "Second factor required"


class ServiceUnavailable(TenantryError):
    status = 503
    type_slug = "unavailable"
    title = "Service unavailable"
