"""Server-rendered pages: one Jinja2 environment and the helpers every page uses."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from starlette.types import Receive, Scope, Send

from tenantry.config import Settings
from tenantry.web.chrome import load_chrome

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
NOTICE_COOKIE = "tenantry_notice"


def localtime(value: datetime | None, style: str = "datetime") -> Markup:
    """A UTC ``<time>`` the browser rewrites into the viewer's zone, naming the zone.
    Without script it still reads correctly, in UTC."""
    if value is None:
        return Markup("")
    when = value.astimezone(UTC)
    shown = when.strftime("%H:%M UTC" if style == "time" else "%Y-%m-%d %H:%M UTC")
    return Markup('<time datetime="{}" data-local="{}">{}</time>').format(
        when.isoformat().replace("+00:00", "Z"), style, shown
    )


TEMPLATES.env.filters["localtime"] = localtime


class Page(HTMLResponse):
    """An HTML page rendered while it is sent.

    The signed-in frame needs one database read (the user's home permissions decide the
    MSP links), and ``render`` is synchronous so any domain's page can call it. Loading
    the frame here, in the async send, gives every page the same sidebar without each
    route asking for it.
    """

    def __init__(
        self, request: Request, template: str, context: dict[str, Any], status_code: int
    ) -> None:
        self.request = request
        self.template_name = template
        self.context = context
        super().__init__(b"", status_code=status_code)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        notice = read_notice(self.request)
        self.context["chrome"] = await load_chrome(self.request, notice)
        template = TEMPLATES.get_template(self.template_name)
        self.body = template.render(self.context).encode("utf-8")
        self.raw_headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
        self.raw_headers.append((b"content-length", str(len(self.body)).encode()))
        if NOTICE_COOKIE in self.request.cookies:
            self.delete_cookie(NOTICE_COOKIE, path="/")
        if "http.response.debug" in scope.get("extensions", {}):
            # Lets tests read the template and its context, as Starlette's own does.
            await send(
                {
                    "type": "http.response.debug",
                    "info": {"template": template, "context": self.context},
                }
            )
        await super().__call__(scope, receive, send)


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    """Render ``template`` with the request's principal, tenant context and CSRF token."""
    ctx: dict[str, Any] = {
        "request": request,
        "principal": getattr(request.state, "principal", None),
        "tenant_context": getattr(request.state, "tenant_context", None),
    }
    principal = ctx["principal"]
    ctx["csrf_token"] = getattr(principal, "csrf_token", None) or ""
    ctx.update(context or {})
    return Page(request, template, ctx, status)


def render_error(request: Request, problem: dict[str, Any]) -> Response:
    return render(request, "error.html", {"problem": problem}, status=int(problem["status"]))


# ---- a one-shot notice after POST-redirect-GET ("Customer Contoso created.")
# Signed, because a sibling subdomain (every tenant has one) can plant cookies here.


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _mac(settings: Settings, payload: str) -> str:
    key = settings.resolved_secret_key().encode()
    return hmac.new(key, f"notice:{payload}".encode(), hashlib.sha256).hexdigest()[:32]


def redirect_with_notice(request: Request, url: str, notice: str) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    payload = base64.urlsafe_b64encode(notice[:300].encode()).decode().rstrip("=")
    response.set_cookie(
        NOTICE_COOKIE,
        f"{payload}.{_mac(_settings(request), payload)}",
        max_age=120,
        path="/",
        httponly=True,
        samesite="lax",
        secure=_settings(request).secure_cookies or request.url.scheme == "https",
    )
    return response


def read_notice(request: Request) -> str | None:
    raw = request.cookies.get(NOTICE_COOKIE)
    if not raw:
        return None
    payload, _, mac = raw.partition(".")
    if not mac or not hmac.compare_digest(mac, _mac(_settings(request), payload)):
        return None
    try:
        return base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    except ValueError:
        return None
