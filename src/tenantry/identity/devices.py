"""Known devices: a browser that has signed in to an account carries a signed cookie
naming that account (by an HMAC, not in clear), so a crowd of failures from the address
it shares with others (an office behind one proxy or NAT) does not lock it out.

The address key of the throttle (throttle.py) exists against password spraying: many
accounts, few guesses each, from one address. A right password cannot be told from a
guess before it is checked, so the address key must refuse attempts unseen; it spares
only attempts that prove, before any password is checked, that this browser has signed
in to this very account before. Such an attempt is still counted and locked per
account, so a stolen cookie buys no more guesses than the account allows anyone.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from tenantry.config import Settings

DEVICE_COOKIE = "tenantry_device"
DEVICE_MAX_AGE = 90 * 24 * 60 * 60


def _mac(settings: Settings, email: str, issued: int) -> str:
    key = settings.resolved_secret_key().encode()
    message = f"known-device:{email.strip().lower()}:{issued}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:40]


def device_token(settings: Settings, email: str, *, now: float | None = None) -> str:
    issued = int(now if now is not None else time.time())
    return f"{issued}.{_mac(settings, email, issued)}"


def is_known_device(settings: Settings, token: str | None, email: str) -> bool:
    """Whether ``token`` was issued to a browser that signed in as ``email`` and has not
    run out."""
    if not token:
        return False
    issued_text, _, mac = token.partition(".")
    if not issued_text.isdigit() or not mac:
        return False
    issued = int(issued_text)
    if not 0 <= time.time() - issued <= DEVICE_MAX_AGE:
        return False
    return hmac.compare_digest(mac.encode(), _mac(settings, email, issued).encode())
