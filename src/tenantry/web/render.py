"""Server-rendered pages: one Jinja2 environment and the helpers every page uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    """Render ``template`` with the request's principal, tenant context and CSRF token."""
    ctx: dict[str, Any] = {
        "principal": getattr(request.state, "principal", None),
        "tenant_context": getattr(request.state, "tenant_context", None),
    }
    principal = ctx["principal"]
    ctx["csrf_token"] = getattr(principal, "csrf_token", None) or ""
    ctx.update(context or {})
    return TEMPLATES.TemplateResponse(request, template, ctx, status_code=status)


def render_error(request: Request, problem: dict[str, Any]) -> Response:
    return render(request, "error.html", {"problem": problem}, status=int(problem["status"]))
