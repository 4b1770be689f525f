"""Identity input/output shapes and input rules."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from tenantry.errors import ValidationFailed


def normalise_email(value: str, field: str = "email") -> str:
    value = value.strip()
    if not value:
        raise ValidationFailed(field, "must not be empty")
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationFailed(field, str(exc)) from exc
    return result.normalized.lower()


# Longer than any password the policy allows, short enough that hashing stays cheap.
_SECRET_MAX = 1024


class SignInIn(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=_SECRET_MAX)
    totp_code: str | None = Field(
        default=None,
        max_length=64,
        description="The authenticator code (or a recovery code), to sign in in one step.",
    )


class CodeIn(BaseModel):
    code: str = Field(max_length=64, description="6-digit authenticator code or recovery code")


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    display_name: str
    created_at: datetime
    last_sign_in_at: datetime | None
    password_changed_at: datetime | None


class HomeTenantOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    slug: str
    display_name: str
    is_msp: bool
    require_mfa: bool


class MfaStateOut(BaseModel):
    enabled: bool
    enabled_at: datetime | None
    required_by_home: bool
    required_from: datetime | None = Field(
        default=None,
        description="While the home's requirement is still ahead: when it takes effect. "
        "Set one up before then; after it, sessions and API tokens of users without one "
        "stop working until they do.",
    )
    passed: bool = Field(description="This session has given its second factor (or needs none).")
    enrolment_pending: bool
    recovery_codes_remaining: int


class MeOut(BaseModel):
    user: UserOut
    home_tenant: HomeTenantOut
    mfa: MfaStateOut
    auth_method: Literal["session", "token", "cli"]
    session_id: uuid.UUID | None
    token_id: uuid.UUID | None
    csrf_token: str | None = Field(
        default=None,
        description="Send as X-CSRF-Token with unsafe requests authenticated by the cookie.",
    )


class SignInOut(BaseModel):
    status: Literal["signed_in", "mfa_required", "mfa_enrolment_required"] = Field(
        description="signed_in; mfa_required: POST the code to /api/v1/auth/totp; "
        "mfa_enrolment_required: the home tenant requires a second factor, enrol one "
        "under /api/v1/me/totp first."
    )
    me: MeOut


class SessionOut(BaseModel):
    id: uuid.UUID
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    source_address: str | None
    user_agent: str | None
    mfa_passed: bool
    current: bool


class TokenCreateIn(BaseModel):
    name: str = Field(max_length=100)
    expires_in_days: int | None = Field(
        default=None, description="1 to 366; the instance default when left out."
    )


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    expired: bool = False


class TokenCreatedOut(TokenOut):
    secret: str = Field(description="Shown this once; only its hash is kept.")


class PasswordChangeIn(BaseModel):
    current_password: str = Field(max_length=_SECRET_MAX)
    new_password: str = Field(max_length=_SECRET_MAX)


class PasswordChangedOut(BaseModel):
    other_sessions_ended: int


class TotpEnrolmentOut(BaseModel):
    secret: str
    otpauth_uri: str
    qr_svg: str = Field(description="An inline SVG of the otpauth URI as a QR code.")


class TotpEnrolIn(BaseModel):
    fresh: bool = Field(default=False, description="Replace a pending secret with a new one.")


class RecoveryCodesOut(BaseModel):
    recovery_codes: list[str] = Field(description="Shown this once; each works one time.")


class TotpDisableIn(BaseModel):
    password: str | None = Field(default=None, max_length=_SECRET_MAX)
    code: str | None = Field(default=None, max_length=64)


class CountOut(BaseModel):
    sessions_ended: int


class InvitationCreateIn(BaseModel):
    email: str = Field(max_length=320)
    role: str = Field(max_length=64, description="A built-in role key, e.g. technician.")


class InvitationOut(BaseModel):
    id: uuid.UUID
    email: str
    role: str
    created_at: datetime
    expires_at: datetime
    status: Literal["pending", "accepted", "revoked", "expired"]
    invited_by: str | None


class InvitationCreatedOut(InvitationOut):
    link: str = Field(description="The single-use link; pass it on when delivery is not 'sent'.")
    delivery: Literal["sent", "logged", "failed"]


class InvitationPreviewOut(BaseModel):
    email: str
    role: str
    role_name: str
    tenant_slug: str
    tenant_display_name: str
    expires_at: datetime


class InvitationAcceptIn(BaseModel):
    display_name: str = Field(max_length=200)
    password: str = Field(max_length=_SECRET_MAX)


class SecurityPolicyIn(BaseModel):
    require_mfa: bool | None = Field(
        default=None, description="Every user of this tenant must use a second factor."
    )
    require_mfa_from: datetime | None = Field(
        default=None,
        description="When the requirement takes effect (RFC 3339; at most 180 days ahead). "
        "Until then users without a second factor keep working and are asked to set one "
        "up. Null: at once. Left unchanged when omitted; cleared when the requirement is "
        "turned off.",
    )

    @field_validator("require_mfa_from", mode="before")
    @classmethod
    def _a_date_not_a_number(cls, value: object) -> object:
        if isinstance(value, int | float) and not isinstance(value, bool):
            raise ValueError("must be a date and time (RFC 3339), not a number")
        return value

    session_lifetime_minutes: int | None = Field(
        default=None,
        description="Absolute session lifetime (5 to 43200); null for the instance default. "
        "Left unchanged when omitted.",
    )
    require_mfa_for_clients: StrictBool | None = Field(
        default=None,
        description="MSP only: everyone who acts in a client (the MSP's admins and every "
        "holder of a grant in a client) must have a second factor; without one they get "
        "403 `mfa-required` in clients and keep working in the MSP. Left unchanged when "
        "omitted.",
    )


class MfaImpactOut(BaseModel):
    users: int = Field(description="Active users at home here without a second factor.")
    api_tokens: int = Field(description="Their API tokens that are live.")
    includes_you: bool


class SecurityPolicyOut(BaseModel):
    tenant_id: uuid.UUID
    require_mfa: bool
    require_mfa_from: datetime | None
    mfa_in_force: bool = Field(
        description="The requirement applies now (its date, if any, has come)."
    )
    session_lifetime_minutes: int | None
    effective_session_lifetime_minutes: int
    require_mfa_for_clients: bool | None = Field(
        description="MSP only (null elsewhere): its staff need a second factor to act in clients."
    )
    without_second_factor: MfaImpactOut = Field(
        description="Who a required second factor stops: look before requiring it."
    )
    warning: str | None = Field(
        default=None,
        description="Set when a second factor is required (or about to be) and some users "
        "have none.",
    )
