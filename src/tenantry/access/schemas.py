"""Access management input/output shapes: roles, user and tenant groups, grants, and the
"why" answers (explain, access review)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tenantry.access.models import GrantScope

# ---------------------------------------------------------------- small references


class UserRef(BaseModel):
    id: uuid.UUID
    email: str
    display_name: str


class TenantBrief(BaseModel):
    id: uuid.UUID
    slug: str
    display_name: str


class GroupBrief(BaseModel):
    id: uuid.UUID
    name: str


# ---------------------------------------------------------------- roles


class RoleOut(BaseModel):
    key: str = Field(description="What grants name: a built-in key, or custom:<id>.")
    id: uuid.UUID | None = Field(description="The custom role's id; null for built-ins.")
    name: str
    description: str
    permissions: list[str]
    builtin: bool
    created_at: datetime | None = None
    updated_at: datetime | None = None


class RoleCreate(BaseModel):
    """From scratch (``permissions``) or as a copy of another role (``clone_from``)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=1000)
    permissions: list[str] | None = Field(
        default=None, description="Permissions from the catalog (area:verb)."
    )
    clone_from: str | None = Field(
        default=None,
        description="Key of the role to copy: a built-in key or custom:<id>.",
        max_length=100,
    )


class RoleUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=1000)
    permissions: list[str] | None = None


class ComparisonRow(BaseModel):
    permission: str
    description: str
    in_a: bool
    in_b: bool


class RoleComparison(BaseModel):
    a: RoleOut
    b: RoleOut
    only_a: list[str]
    only_b: list[str]
    both: list[str]
    rows: list[ComparisonRow] = Field(description="Every catalog permission, in catalog order.")


class PermissionOut(BaseModel):
    permission: str
    description: str
    group: str = Field(description="The heading it is shown under.")
    owner: Literal["client", "msp"] = Field(
        description="Who holds it inside a client an MSP manages: the client's own roles, "
        "or only the MSP through its link (access rule 10)."
    )
    in_client: bool = Field(
        description="Whether it means anything inside a client: false ones never enter a "
        "link's ceiling."
    )


class CeilingTemplateOut(BaseModel):
    key: str
    name: str
    description: str
    permissions: list[str]


# ---------------------------------------------------------------- user groups


class UserGroupOut(BaseModel):
    id: uuid.UUID
    name: str
    description: str
    created_at: datetime
    member_count: int


class UserGroupDetail(UserGroupOut):
    members: list[UserRef]


class GroupCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=1000)


class GroupUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=1000)


class UserMemberAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: str = Field(description="The user's id or email.", max_length=254)


# ---------------------------------------------------------------- tenant groups


class TenantGroupOut(BaseModel):
    id: uuid.UUID
    name: str
    description: str
    created_at: datetime
    member_count: int


class TenantGroupDetail(TenantGroupOut):
    members: list[TenantBrief]


class CustomerMemberAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer: str = Field(description="The customer's slug or id.", max_length=100)


# ---------------------------------------------------------------- grants


class GrantCreate(BaseModel):
    """To a user or to a user group of this tenant: a role over a scope."""

    model_config = ConfigDict(extra="forbid")

    user: str | None = Field(default=None, description="User id or email.", max_length=254)
    group: str | None = Field(default=None, description="User group id or name.", max_length=200)
    role: str = Field(description="Built-in role key or custom:<id>.", max_length=100)
    scope: GrantScope = GrantScope.HOME
    customer: str | None = Field(
        default=None, description="Scope customer: the customer's slug or id.", max_length=100
    )
    tenant_group: str | None = Field(
        default=None, description="Scope tenant_group: the group's id or name.", max_length=200
    )
    excluded_customers: list[str] = Field(
        default_factory=list,
        description="Scope all_customers: customers (slug or id) left out.",
        max_length=1000,
    )
    expires_at: datetime | None = Field(
        default=None, description="RFC 3339 with a zone; the grant stops working then."
    )


GrantStatus = Literal["active", "expired", "revoked"]


class GrantOut(BaseModel):
    id: uuid.UUID
    tenant_id: uuid.UUID = Field(description="The issuing tenant (the grantee's home).")
    user: UserRef | None
    group: GroupBrief | None
    role: str
    role_name: str
    scope: GrantScope
    scope_label: str = Field(description="The scope in words, with names.")
    customer: TenantBrief | None = None
    tenant_group: GroupBrief | None = None
    excluded_customers: list[TenantBrief] = Field(default_factory=list)
    expires_at: datetime | None
    created_at: datetime
    created_by_user_id: uuid.UUID | None
    revoked_at: datetime | None
    revoked_by_user_id: uuid.UUID | None
    status: GrantStatus


# ---------------------------------------------------------------- why


class SourceOut(BaseModel):
    """One reason a permission is held: a grant's role (or the implicit MSP-admin grant)."""

    grant_id: uuid.UUID | None
    role: str
    role_name: str
    scope_label: str
    via: str = Field(
        description="direct grant, user group <name> (in a client: a group of <MSP>'s "
        "technicians), or MSP admin."
    )
    user_group: GroupBrief | None = None
    expires_at: datetime | None = None
    implicit: bool = False


class LinkOut(BaseModel):
    id: uuid.UUID
    msp: TenantBrief
    ceiling: list[str]
    expires_at: datetime | None = None


class PermissionExplained(BaseModel):
    permission: str
    description: str
    held: bool
    sources: list[SourceOut]
    reason: str


class Explanation(BaseModel):
    user: UserRef
    user_home: TenantBrief
    tenant: TenantBrief
    relation: Literal["home", "customer", "none"]
    has_access: bool
    summary: str
    link: LinkOut | None = None
    permissions: list[PermissionExplained] = Field(
        description="Every catalog permission: held or not, and why."
    )


class ReviewSource(SourceOut):
    permissions: list[str] = Field(description="What this source gives here, link included.")


class ReviewEntry(BaseModel):
    user: UserRef
    home: TenantBrief
    relation: Literal["own user", "MSP technician"]
    disabled: bool
    permissions: list[str]
    sources: list[ReviewSource]


class AccessReview(BaseModel):
    tenant: TenantBrief
    generated_at: datetime
    link: LinkOut | None = None
    items: list[ReviewEntry]
    next_cursor: str | None = None
