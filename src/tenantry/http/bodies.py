"""The one refusal a request body's size gets (413), shared by the edge that raises it and
the problem handlers that render it."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException

TOO_LARGE = "https://tenantry.dev/problems/too-large"


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body passes its limit. An HTTPException, so
    that FastAPI's body parsing lets it through to the problem handler unchanged."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than {limit:,} bytes.")
        self.limit = limit

    def problem(self, instance: str) -> dict[str, Any]:
        return {
            "type": TOO_LARGE,
            "title": "Request body too large",
            "status": 413,
            "detail": str(self.detail),
            "instance": instance,
            "limit": self.limit,
        }
