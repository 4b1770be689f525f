"""Second factor: TOTP (RFC 6238) enrolment and checks, and one-time recovery codes."""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Literal

import pyotp
import segno
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.db.base import utcnow
from tenantry.errors import Conflict, ValidationFailed
from tenantry.identity import repository
from tenantry.identity.models import RecoveryCode, User
from tenantry.identity.tokens import digest

ISSUER = "Tenantry"
RECOVERY_CODE_COUNT = 10
# No 0/o, 1/l/i: codes are read off paper and typed by hand. 16 characters ≈ 79 bits.
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_RECOVERY_LENGTH = 16
_TOTP_CODE = re.compile(r"^\d{6}$")
# One step either side of now: phones whose clock is a little off still work.
_VALID_WINDOW = 1

SecondFactor = Literal["totp", "recovery_code"]


@dataclass(frozen=True, slots=True)
class Enrolment:
    secret: str
    otpauth_uri: str
    qr_svg: str


def new_recovery_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, _RECOVERY_LENGTH, 4))


def _normalise_recovery_code(code: str) -> str:
    return re.sub(r"[\s-]", "", code).lower()


def clean_code(code: str) -> str:
    """What people paste: ``123 456`` or ``abcd-efgh-…`` with stray spaces."""
    return code.strip().replace(" ", "")


def qr_svg(uri: str) -> str:
    """An inline SVG QR code, drawn here: no image service outside the instance."""
    svg: str = segno.make(uri, error="m").svg_inline(
        scale=5, dark="#000", light="#fff", title="QR code for your authenticator app"
    )
    return svg


def enrolment_of(user: User) -> Enrolment:
    assert user.totp_secret is not None
    uri = pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
    return Enrolment(secret=user.totp_secret, otpauth_uri=uri, qr_svg=qr_svg(uri))


class MfaService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def begin_enrolment(self, user: User, *, fresh: bool = False) -> Enrolment:
        """A pending secret (kept until confirmed with a code); ``fresh`` replaces it."""
        if user.has_mfa:
            raise Conflict(
                "An authenticator app is already set up; turn it off first to set up another."
            )
        if user.totp_secret is None or fresh:
            user.totp_secret = pyotp.random_base32()
            user.totp_last_step = None
        return enrolment_of(user)

    async def confirm_enrolment(self, user: User, code: str) -> list[str]:
        """Turn TOTP on once a code from the app matches; returns the recovery codes."""
        if user.has_mfa:
            raise Conflict("An authenticator app is already set up.")
        if user.totp_secret is None:
            raise Conflict("Start setting up an authenticator app first.")
        await self.check_totp(user, code, field="code")
        user.totp_enabled_at = utcnow()
        return await self.new_recovery_codes(user)

    async def check_totp(self, user: User, code: str, *, field: str = "code") -> None:
        """Accept a current code once: the same time step is never accepted twice."""
        code = clean_code(code)
        if not _TOTP_CODE.match(code):
            raise ValidationFailed(field, "must be the 6-digit code from your authenticator app")
        assert user.totp_secret is not None
        totp = pyotp.TOTP(user.totp_secret)
        now_step = int(utcnow().timestamp()) // totp.interval
        for step in range(now_step + _VALID_WINDOW, now_step - _VALID_WINDOW - 1, -1):
            if hmac.compare_digest(totp.at(step * totp.interval), code):
                if user.totp_last_step is not None and step <= user.totp_last_step:
                    break
                if not await repository.claim_totp_step(self.session, user.id, step):
                    break
                user.totp_last_step = step
                return
        else:
            raise ValidationFailed(field, "is not the current code; check your app and try again")
        raise ValidationFailed(field, "was already used; wait for the next code")

    async def check_second_factor(
        self, user: User, code: str, *, field: str = "code"
    ) -> SecondFactor:
        """A TOTP code or one unused recovery code (which is then spent)."""
        cleaned = clean_code(code)
        if not cleaned:
            raise ValidationFailed(field, "must not be empty")
        if _TOTP_CODE.match(cleaned):
            await self.check_totp(user, cleaned, field=field)
            return "totp"
        normal = _normalise_recovery_code(cleaned)
        if len(normal) != _RECOVERY_LENGTH or not await repository.use_recovery_code(
            self.session, user.id, digest(normal), utcnow()
        ):
            raise ValidationFailed(field, "is neither a current code nor an unused recovery code")
        return "recovery_code"

    async def new_recovery_codes(self, user: User) -> list[str]:
        """Ten fresh codes replace any earlier ones; only their hashes are kept."""
        await repository.delete_recovery_codes(self.session, user.id)
        codes = [new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
        self.session.add_all(
            RecoveryCode(user_id=user.id, code_hash=digest(_normalise_recovery_code(c)))
            for c in codes
        )
        await self.session.flush()
        return codes

    async def remaining_codes(self, user: User) -> int:
        return await repository.unused_recovery_codes(self.session, user.id)

    async def disable(self, user: User) -> None:
        user.totp_secret = None
        user.totp_enabled_at = None
        user.totp_last_step = None
        await repository.delete_recovery_codes(self.session, user.id)
