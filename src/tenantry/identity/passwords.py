"""Password hashing (argon2id) and the minimum password policy."""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from tenantry.errors import ValidationFailed

MIN_LENGTH = 12
MAX_LENGTH = 256

# argon2-cffi's defaults are RFC 9106's low-memory profile for argon2id.
_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the account does not exist, so timing does not tell. Made on
    first use, with the hasher's own parameters: at import it added the hash's 64 MiB to
    the peak memory of every server worker, also of those that never sign anyone in."""
    return _hasher.hash("tenantry-dummy-password")


def check_policy(password: str, *, email: str = "", field: str = "password") -> None:
    """A sensible minimum (NIST 800-63B): length, not the email, not trivially repeated."""
    if len(password) < MIN_LENGTH:
        raise ValidationFailed(field, f"must be at least {MIN_LENGTH} characters long")
    if len(password) > MAX_LENGTH:
        raise ValidationFailed(field, f"must be at most {MAX_LENGTH} characters long")
    if email and password.lower() == email.lower():
        raise ValidationFailed(field, "must not be your email address")
    if len(set(password)) < 4:
        raise ValidationFailed(field, "is too easy to guess; use more different characters")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return (
            _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
        )
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
