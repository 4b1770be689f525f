"""The two kinds of group: a tenant's user groups and an MSP's client (tenant) groups.
One stack serves both (``GroupsAdmin``, the group routes and pages, one template pair);
a ``GroupKind`` says what differs."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access import repository, schemas
from tenantry.access.models import TenantGroup, UserGroup
from tenantry.access.presenters import tenant_brief, user_ref
from tenantry.audit.schemas import AuditAction
from tenantry.identity import service as identity
from tenantry.identity.models import User
from tenantry.tenancy import service as tenancy
from tenantry.tenancy.models import Tenant

Member = TypeVar("Member", User, Tenant)
G = TypeVar("G", UserGroup, TenantGroup)


class MemberRule(enum.Enum):
    """What a change of members must also respect."""

    # A member holds the group's grants: joining is limited as issuing them would be,
    # leaving as revoking them (and never strips the tenant's last Admin or Owner).
    RECEIVES_GRANTS = "receives grants"
    # While grants are scoped to the group, its customers change who can act in them:
    # only an MSP admin may change them then.
    MSP_ADMIN_WHILE_SCOPED = "msp admin while scoped"


@dataclass(frozen=True, slots=True)
class GroupKind(Generic[G, Member]):
    key: str  # audit target type and event prefix ("user_group.created")
    noun: str  # in messages: "no user group 'x' in Northwind"
    title: str  # the pages' heading
    pages: str  # the pages' URL ("{tenant}": the acting tenant's slug)
    api: str  # under /api/v1/tenants/{tenant}
    read: str  # the permission to see the groups
    manage: str  # the permission to change them
    msp_home_only: bool  # only an MSP acting at home has them (404 elsewhere)
    tables: repository.GroupTables[G, Any]
    out: type[schemas.UserGroupOut] | type[schemas.TenantGroupOut]
    detail: type[schemas.UserGroupDetail] | type[schemas.TenantGroupDetail]
    rule: MemberRule
    # Members: the field naming one (API, forms, errors) and the audit change's name.
    member_field: str
    member_change: str
    label: Callable[[Member], str]  # a member in the audit trail
    brief: Callable[[Member], Any]  # a member in the group's detail
    members: Callable[[AsyncSession, Select[uuid.UUID]], Awaitable[Sequence[Member]]]
    # Who may join (by id, email or slug), and who is named when leaving.
    joining: Callable[[AsyncSession, uuid.UUID, str], Awaitable[Member | None]]
    leaving: Callable[[AsyncSession, uuid.UUID, str], Awaitable[Member | None]]
    no_member: str  # nobody may join by that reference ({ref}, {tenant})
    not_in_group: str  # removing a non-member (404)
    called: str  # "The {called} {name} {holds} 3 active grant(s)": refusing a deletion
    holds: str

    def audit(self, event: str) -> AuditAction:
        return AuditAction(f"{self.key}.{event}")


async def _customer(session: AsyncSession, msp_id: uuid.UUID, ref: str) -> Tenant | None:
    found = await tenancy.customer_of(session, msp_id, ref.strip())
    return found[0] if found else None


async def _tenant(session: AsyncSession, _msp_id: uuid.UUID, ref: str) -> Tenant | None:
    # A customer whose link has ended can still leave its groups.
    return await tenancy.tenant_by_ref(session, ref.strip())


def _email(user: User) -> str:
    return user.email


def _slug(tenant: Tenant) -> str:
    return tenant.slug


USER_GROUPS: GroupKind[UserGroup, User] = GroupKind(
    key="user_group",
    noun="user group",
    title="User groups",
    pages="/t/{tenant}/access/groups",
    api="/user-groups",
    read="users:read",
    manage="users:manage",
    msp_home_only=False,
    tables=repository.USER_GROUP_TABLES,
    out=schemas.UserGroupOut,
    detail=schemas.UserGroupDetail,
    rule=MemberRule.RECEIVES_GRANTS,
    member_field="user",
    member_change="member",
    label=_email,
    brief=user_ref,
    members=identity.users_among,
    joining=identity.user_at_home,
    leaving=identity.user_at_home,
    no_member="no user with that id or email at home in {tenant}",
    not_in_group="That user is not a member of this group.",
    called="group",
    holds="still holds",
)

CLIENT_GROUPS: GroupKind[TenantGroup, Tenant] = GroupKind(
    key="tenant_group",
    noun="client group",
    title="Client groups",
    pages="/msp/client-groups",
    api="/tenant-groups",
    read="customers:read",
    manage="customers:manage",
    msp_home_only=True,
    tables=repository.TENANT_GROUP_TABLES,
    out=schemas.TenantGroupOut,
    detail=schemas.TenantGroupDetail,
    rule=MemberRule.MSP_ADMIN_WHILE_SCOPED,
    member_field="customer",
    member_change="customer",
    label=_slug,
    brief=tenant_brief,
    members=tenancy.tenants_among,
    joining=_customer,
    leaving=_tenant,
    no_member="'{ref}' is not a customer of {tenant}",
    not_in_group="That customer is not in this client group.",
    called="client group",
    holds="is the scope of",
)
