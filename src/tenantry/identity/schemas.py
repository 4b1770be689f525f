"""Identity input/output shapes."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from tenantry.errors import ValidationFailed


def normalise_email(value: str, field: str = "email") -> str:
    try:
        result = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationFailed(field, str(exc)) from exc
    return result.normalized.lower()
