"""The session cookie, and the CSRF token of the forms shown before sign-in.

Signed-in forms carry their session's CSRF token (checked centrally in http/deps.py).
The sign-in and invitation forms have no session yet, so they use a signed
double-submit token: a random nonce with an HMAC made with the instance secret, set as
an HttpOnly, SameSite=Strict cookie and repeated in a hidden field. A post is accepted
only when both match and the HMAC is ours; a cross-site page can neither read the cookie
nor forge the HMAC, and a cookie planted from a sibling subdomain fails the HMAC.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from fastapi import Request, Response

from tenantry.config import Settings
from tenantry.http.deps import SESSION_COOKIE
from tenantry.identity.devices import DEVICE_COOKIE, DEVICE_MAX_AGE, device_token
from tenantry.identity.tokens import new_secret

FORM_COOKIE = "tenantry_form"
FORM_FIELD = "csrf_token"
_FORM_MAX_AGE = 2 * 60 * 60


def is_secure(request: Request, settings: Settings) -> bool:
    return settings.secure_cookies or request.url.scheme == "https"


def set_session_cookie(
    response: Response, request: Request, settings: Settings, token: str, expires_at: datetime
) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        expires=expires_at,
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_secure(request, settings),
    )


def set_device_cookie(response: Response, request: Request, settings: Settings, email: str) -> None:
    """Mark the browser as one that signed in to ``email`` (devices.py)."""
    response.set_cookie(
        DEVICE_COOKIE,
        device_token(settings, email),
        max_age=DEVICE_MAX_AGE,
        path="/",
        httponly=True,
        samesite="strict",
        secure=is_secure(request, settings),
    )


def clear_session_cookie(response: Response, request: Request, settings: Settings) -> None:
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_secure(request, settings),
    )


def _sign(settings: Settings, nonce: str) -> str:
    key = settings.resolved_secret_key().encode()
    return hmac.new(key, f"form-csrf:{nonce}".encode(), hashlib.sha256).hexdigest()[:32]


def form_token(request: Request, settings: Settings) -> str:
    """The token for a pre-sign-in form: the browser's current one if valid, else new."""
    current = request.cookies.get(FORM_COOKIE, "")
    if _valid(settings, current):
        return current
    nonce = new_secret(18)
    return f"{nonce}.{_sign(settings, nonce)}"


def set_form_cookie(response: Response, request: Request, settings: Settings, token: str) -> None:
    response.set_cookie(
        FORM_COOKIE,
        token,
        max_age=_FORM_MAX_AGE,
        path="/",
        httponly=True,
        samesite="strict",
        secure=is_secure(request, settings),
    )


def _valid(settings: Settings, token: str) -> bool:
    nonce, _, mac = token.partition(".")
    return bool(nonce and mac) and hmac.compare_digest(
        mac.encode(), _sign(settings, nonce).encode()
    )


def form_token_ok(request: Request, settings: Settings, sent: str) -> bool:
    cookie = request.cookies.get(FORM_COOKIE, "")
    return (
        bool(sent)
        and hmac.compare_digest(cookie.encode(), sent.encode())
        and _valid(settings, sent)
    )
