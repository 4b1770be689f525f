"""Links input/output shapes and the input rules of a ceiling (what the customer
consents to give its MSP)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tenantry.access.permissions import (
    BUILTIN_ROLES,
    CATALOG,
    CEILING_TEMPLATES,
    CLIENT_MEANINGFUL,
)
from tenantry.access.permissions import grouped as catalog_groups
from tenantry.errors import ValidationFailed
from tenantry.tenancy.models import Tenant, TenantLink

Side = Literal["msp", "customer"]

# Ten years: a duration is a consent period, not a way to say "forever" (leave it out).
MAX_DURATION_DAYS = 3650
MAX_CEILING_ITEMS = 100


def expand_ceiling(items: Iterable[str], field: str = "ceiling") -> list[str]:
    """Permissions and built-in role keys → the sorted set of permissions they name.

    Role keys are a shorthand for the MSP (``technician`` rather than thirteen
    permissions); the link stores permissions only, so a later change to a built-in
    role never widens what a customer consented to. A role brings only what means
    something inside a client; a permission that does not (creating customers, managing
    links, the MSP's own plan) named on its own is refused (access rule 10).
    """
    wanted = [item.strip() for item in items if item.strip()]
    if not wanted:
        raise ValidationFailed(field, "must name at least one permission or role")
    if len(wanted) > MAX_CEILING_ITEMS:
        raise ValidationFailed(field, f"must name at most {MAX_CEILING_ITEMS} items")
    found: set[str] = set()
    for item in wanted:
        if item in CLIENT_MEANINGFUL:
            found.add(item)
        elif item in CATALOG:
            raise ValidationFailed(
                field,
                f"'{item}' means nothing inside a client (it is the MSP's own business), "
                "so a link cannot carry it",
            )
        elif item.lower() in BUILTIN_ROLES:
            found |= BUILTIN_ROLES[item.lower()].permissions & CLIENT_MEANINGFUL
        else:
            raise ValidationFailed(
                field,
                f"unknown permission or role '{item[:64]}': use permissions from the catalog "
                f"(area:verb, e.g. tickets:read) or a built-in role "
                f"({', '.join(BUILTIN_ROLES)})",
            )
    return sorted(found)


def template_ceiling(key: str, field: str = "template") -> list[str]:
    """A ceiling template's permissions; an unknown key is refused naming ``field``."""
    template = CEILING_TEMPLATES.get(key.strip())
    if template is None:
        raise ValidationFailed(
            field,
            f"unknown ceiling template '{key[:64]}': use one of {', '.join(CEILING_TEMPLATES)}",
        )
    return sorted(template.permissions)


def asked_ceiling(ceiling: list[str] | None, template: str | None) -> list[str]:
    """What an MSP asks for: explicit permissions/roles win over a template; a template
    named is checked even then (a typo is an error, not silently ignored)."""
    from_template = template_ceiling(template) if template else None
    if ceiling:
        return expand_ceiling(ceiling)
    if from_template is not None:
        return from_template
    raise ValidationFailed("ceiling", "must name at least one permission or role, or a template")


def check_duration(days: int | None, field: str = "duration_days") -> int | None:
    if days is None:
        return None
    if not 1 <= days <= MAX_DURATION_DAYS:
        raise ValidationFailed(
            field, f"must be between 1 and {MAX_DURATION_DAYS} days, or left out for no end"
        )
    return days


def grouped(permissions: Iterable[str]) -> list[tuple[str, list[tuple[str, str]]]]:
    """``[(group heading, [(permission, what it allows), …]), …]`` in the catalog's
    display groups, for showing a ceiling in words."""
    return [
        (group, [(p.key, p.words) for p in members])
        for group, members in catalog_groups(frozenset(permissions))
    ]


# ---------------------------------------------------------------- input

CeilingItems = list[str]


class BlockIn(BaseModel):
    """One technician or one user group of the customer's MSP: exactly one of the two."""

    model_config = ConfigDict(extra="forbid")

    user_id: uuid.UUID | None = Field(default=None, description="A user of the MSP.")
    user_group_id: uuid.UUID | None = Field(default=None, description="A user group of the MSP.")


class LinkRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer: str = Field(
        max_length=63,
        description=(
            "Slug of the existing tenant to manage. Slugs are not secret (they are "
            "subdomains), so an unknown slug answers 404 plainly."
        ),
    )
    ceiling: CeilingItems | None = Field(
        default=None,
        description="Permissions (area:verb) and/or built-in role keys, expanded to "
        "permissions: what the MSP asks the customer to consent to. Wins over "
        "``template``. Only permissions that mean something inside a client.",
    )
    template: str | None = Field(
        default=None,
        max_length=64,
        description="A ceiling template (GET /api/v1/ceiling-templates: helpdesk, "
        "service_desk_billing, full), used when ``ceiling`` is left out.",
    )
    duration_days: int | None = Field(
        default=None, description="How long the link lasts once approved; null: no end."
    )
    auto_extend: bool = Field(
        default=False,
        description="The MSP agrees to renew the link at expiry by the same duration "
        "(it renews only if the customer agrees too).",
    )


class LinkApproveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ceiling: CeilingItems | None = Field(
        default=None,
        description="A subset of what was asked, to give less; null gives what was asked.",
    )
    auto_extend: bool = Field(
        default=False, description="The customer agrees to renew the link at expiry."
    )
    block: list[BlockIn] = Field(
        default_factory=list,
        max_length=200,
        description="Technicians ({user_id}) or user groups ({user_group_id}) of the MSP to "
        "block while approving, in the same change (see GET of the link: would_gain).",
    )


class LinkNarrowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ceiling: CeilingItems = Field(
        description="The new ceiling: a subset of the current one (narrowing only)."
    )


# ---------------------------------------------------------------- output


class PartyOut(BaseModel):
    """One end of a link. Only the name and slug: a customer sees nothing else of its
    MSP (access rule 6)."""

    slug: str
    display_name: str


class LinkOut(BaseModel):
    id: uuid.UUID
    side: Side = Field(description="Which end of the link the tenant in the URL is.")
    state: str
    msp: PartyOut
    customer: PartyOut
    ceiling: list[str] = Field(description="What the MSP may do in the customer now.")
    requested_ceiling: list[str] = Field(description="What the MSP asked for.")
    duration_days: int | None
    msp_auto_extend: bool
    customer_auto_extend: bool
    flagged_by_operator: bool
    created_at: datetime
    activated_at: datetime | None
    decided_at: datetime | None
    expires_at: datetime | None
    ended_at: datetime | None
    msp_requires_mfa_for_clients: bool = Field(
        description="The MSP requires a second factor of everyone who acts in its clients."
    )


class LinkEventOut(BaseModel):
    """One entry of a link's history, from the caller's own audit trail."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    seq: int
    occurred_at: datetime
    action: str
    actor_name: str
    actor_home_tenant_name: str | None
    changes: dict[str, Any]


class SweepOut(BaseModel):
    expired: int
    extended: int


@dataclass(frozen=True, slots=True)
class LinkView:
    """A link as one of its ends sees it: the row, both tenants, and which end is asking."""

    link: TenantLink
    msp: Tenant
    customer: Tenant
    side: Side

    @property
    def auto_extends(self) -> bool:
        """Renews itself at expiry: only when both sides agreed and there is a period."""
        link = self.link
        return bool(link.msp_auto_extend and link.customer_auto_extend and link.duration_days)

    @property
    def other(self) -> Tenant:
        return self.customer if self.side == "msp" else self.msp


def link_out(view: LinkView) -> LinkOut:
    link = view.link
    return LinkOut(
        id=link.id,
        side=view.side,
        state=link.state.value,
        msp=PartyOut(slug=view.msp.slug, display_name=view.msp.display_name),
        customer=PartyOut(slug=view.customer.slug, display_name=view.customer.display_name),
        ceiling=sorted(link.ceiling),
        requested_ceiling=sorted(link.requested_ceiling),
        duration_days=link.duration_days,
        msp_auto_extend=link.msp_auto_extend,
        customer_auto_extend=link.customer_auto_extend,
        flagged_by_operator=link.flagged_by_operator,
        created_at=link.created_at,
        activated_at=link.activated_at,
        decided_at=link.decided_at,
        expires_at=link.expires_at,
        ended_at=link.ended_at,
        msp_requires_mfa_for_clients=view.msp.require_mfa_for_clients,
    )
