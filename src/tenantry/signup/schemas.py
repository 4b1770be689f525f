"""Sign-up input/output shapes and the input rules."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, Field

from tenantry.errors import ValidationFailed
from tenantry.identity.schemas import MeOut, normalise_email
from tenantry.tenancy.schemas import check_display_name, check_slug, slugify


class SignupIn(BaseModel):
    organisation: str = Field(max_length=200, description="The MSP's name.")
    slug: str | None = Field(
        default=None,
        max_length=100,
        description="Its address (a DNS label); made from the name when left out.",
    )
    admin_name: str = Field(max_length=200, description="Your name: the MSP's first admin.")
    email: str = Field(max_length=320, description="Your email: the link is sent there.")


class SignupAcceptedOut(BaseModel):
    """The same answer whether or not the address already has an account."""

    status: str = "check_your_email"
    detail: str


class SignupPreviewOut(BaseModel):
    organisation: str
    slug: str
    admin_name: str
    email: str
    expires_at: datetime


class SignupVerifyIn(BaseModel):
    password: str = Field(max_length=1024)


class SignupDoneOut(BaseModel):
    id: uuid.UUID = Field(description="The sign-up.")
    slug: str = Field(description="The new MSP tenant's slug.")
    status: str
    me: MeOut


@dataclass(frozen=True, slots=True)
class SignupForm:
    """A request's input after the rules: what a pending sign-up records."""

    organisation: str
    slug: str
    admin_name: str
    email: str


def suggested_slug(organisation: str) -> str:
    return slugify(organisation)


def check_signup(body: SignupIn) -> SignupForm:
    """Each rule names its field; a slug left out is made from the organisation's name."""
    organisation = check_display_name(body.organisation, "organisation")
    admin_name = " ".join(body.admin_name.split())
    if not admin_name:
        raise ValidationFailed("admin_name", "must not be empty")
    email = normalise_email(body.email)
    wanted = (body.slug or "").strip().lower() or slugify(organisation)
    slug = check_slug(wanted, "slug")
    return SignupForm(organisation, slug, admin_name, email)
