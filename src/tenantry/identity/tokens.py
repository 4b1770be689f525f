"""Random secrets handed to browsers and API clients; only their hashes are stored."""

from __future__ import annotations

import hashlib
import secrets

API_TOKEN_PREFIX = "tnt_"  # noqa: S105 - a visible marker, not a secret


def new_secret(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def digest(secret: str) -> str:
    # Secrets are 256-bit random, so a fast hash is enough (no guessing to slow down).
    return hashlib.sha256(secret.encode()).hexdigest()


def new_api_token() -> str:
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)
