"""Columns encrypted at rest with the instance's secret key (e.g. TOTP secrets).

A database dump or a read replica alone then does not yield second factors. The key is
derived from ``TENANTRY_SECRET_KEY`` with HKDF, so rotating that key makes sealed values
unreadable: users re-enrol their authenticator.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import String, TypeDecorator
from sqlalchemy.engine import Dialect

from tenantry.config import get_settings

_PREFIX = "v1:"


@lru_cache(maxsize=4)
def _fernet(secret: str) -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"tenantry sealed column v1"
    ).derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def seal(plain: str) -> str:
    return _PREFIX + _fernet(get_settings().resolved_secret_key()).encrypt(plain.encode()).decode()


def unseal(stored: str) -> str:
    if not stored.startswith(_PREFIX):
        return stored  # written before sealing existed
    try:
        token = stored.removeprefix(_PREFIX).encode()
        return _fernet(get_settings().resolved_secret_key()).decrypt(token).decode()
    except InvalidToken as exc:
        raise ValueError("a sealed value cannot be opened with this instance's secret key") from exc


class SealedString(TypeDecorator[str]):
    impl = String(255)
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else seal(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else unseal(value)
