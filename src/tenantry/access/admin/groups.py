"""User groups and client (tenant) groups of one tenant."""

from __future__ import annotations

import uuid

from tenantry.access import repository, schemas
from tenantry.access.admin.base import AdminBase, _clean_description, _clean_name
from tenantry.access.models import (
    TenantGroup,
    TenantGroupMember,
    UserGroup,
    UserGroupMember,
)
from tenantry.access.presenters import (
    load_names,
    tenant_brief,
    user_ref,
    uuid_or_none,
)
from tenantry.access.service import AccessService
from tenantry.audit.changes import Changes, changed, removed, set_to
from tenantry.audit.schemas import AuditAction
from tenantry.db.base import utcnow
from tenantry.errors import Conflict, NotFound, ValidationFailed
from tenantry.identity import service as identity
from tenantry.kit.pagination import Keyset, check_limit
from tenantry.tenancy import service as tenancy

# By name, ties by id.
NAME_ORDER = Keyset(str, uuid.UUID)


class GroupsAdmin(AdminBase):
    # ------------------------------------------------------------ user groups

    async def user_groups(
        self, *, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[schemas.UserGroupOut], str | None]:
        check_limit(limit)
        after = _name_cursor(cursor)
        rows = await repository.user_groups_of(
            self.session, self.tenant.id, after=after, limit=limit + 1
        )
        counts = await repository.user_group_member_counts(self.session, (g.id for g in rows))
        items = [_user_group_out(g, counts.get(g.id, 0)) for g in rows[:limit]]
        last = rows[limit - 1] if len(rows) > limit else None
        return items, NAME_ORDER.encode(last.name.lower(), last.id) if last else None

    async def _user_group(self, ref: str, field: str | None = None) -> UserGroup:
        group_id = uuid_or_none(ref)
        found = (
            await repository.user_group_in(self.session, self.tenant.id, group_id)
            if group_id
            else await repository.user_group_named(self.session, self.tenant.id, ref.strip())
            if field
            else None
        )
        if found is None:
            if field:
                raise ValidationFailed(
                    field, f"no user group '{ref}' in {self.tenant.display_name}"
                )
            raise NotFound("No such user group.")
        return found

    async def user_group(self, ref: str) -> schemas.UserGroupDetail:
        group = await self._user_group(ref)
        members = await identity.users_among(
            self.session, repository.user_group_member_ids(group.id)
        )
        return schemas.UserGroupDetail(
            **_user_group_out(group, len(members)).model_dump(),
            members=[user_ref(u) for u in members],
        )

    async def _check_group_name(self, name: str, keep: uuid.UUID | None = None) -> None:
        same = await repository.user_group_named(self.session, self.tenant.id, name)
        if same is not None and same.id != keep:
            raise Conflict(
                f"{self.tenant.display_name} already has a user group named {same.name}.",
                errors=[{"field": "name", "message": "is already taken by another group"}],
            )

    async def create_user_group(
        self, *, name: str, description: str | None = None
    ) -> schemas.UserGroupOut:
        name = _clean_name(name)
        description = _clean_description(description)
        await self._check_group_name(name)
        group = UserGroup(tenant_id=self.tenant.id, name=name, description=description)
        self.session.add(group)
        await self.session.flush()
        await self._record(
            AuditAction.USER_GROUP_CREATED,
            "user_group",
            group.id,
            group.name,
            set_to(name=name, description=description),
        )
        return _user_group_out(group, 0)

    async def update_user_group(
        self, ref: str, *, name: str | None = None, description: str | None = None
    ) -> schemas.UserGroupOut:
        group = await self._user_group(ref)
        changes = Changes()
        if name is not None:
            cleaned = _clean_name(name)
            if cleaned != group.name:
                await self._check_group_name(cleaned, keep=group.id)
                changes |= changed("name", group.name, cleaned)
                group.name = cleaned
        if description is not None:
            cleaned = _clean_description(description)
            if cleaned != group.description:
                changes |= changed("description", group.description, cleaned)
                group.description = cleaned
        if changes:
            await self.session.flush()
            await self._record(
                AuditAction.USER_GROUP_UPDATED, "user_group", group.id, group.name, changes
            )
        counts = await repository.user_group_member_counts(self.session, [group.id])
        return _user_group_out(group, counts.get(group.id, 0))

    async def delete_user_group(self, ref: str) -> schemas.UserGroupOut:
        group = await self._user_group(ref)
        now = utcnow()
        live_grants = await repository.live_grants_to_user_group(self.session, group.id, now)
        if live_grants:
            names = await load_names(self.session, self.tenant, live_grants)
            listed = [names.grant_out(g, now) for g in live_grants]
            raise Conflict(
                f"The group {group.name} still holds {len(listed)} active grant(s); revoke "
                "them before deleting the group.",
                errors=[{"field": "group", "message": "still holds active grants"}],
                grants=[g.model_dump(mode="json") for g in listed],
            )
        members = await identity.users_among(
            self.session, repository.user_group_member_ids(group.id)
        )
        out = _user_group_out(group, len(members))
        dead_grants = await repository.delete_user_group(self.session, group)
        await self.session.flush()
        await self._record(
            AuditAction.USER_GROUP_DELETED,
            "user_group",
            out.id,
            out.name,
            removed(name=out.name, members=[u.email for u in members])
            | set_to(dead_grants_removed=dead_grants),
        )
        return out

    async def _check_group_grants(
        self, group: UserGroup, *, joining: bool, user_id: uuid.UUID
    ) -> None:
        """Joining a group gives its grants; leaving takes them away. Both are limited as
        issuing and revoking those grants would be."""
        now = utcnow()
        grants = await repository.live_grants_to_user_group(self.session, group.id, now)
        book = await AccessService(self.session).role_book(grants)
        customers = await tenancy.tenants_by_ids(
            self.session, {g.customer_tenant_id for g in grants if g.customer_tenant_id}
        )
        for grant in grants:
            permissions = book.permissions(grant.role)
            try:
                if joining:
                    customer = customers.get(grant.customer_tenant_id or uuid.UUID(int=0))
                    await self._check_may_give(grant.role, permissions, grant.scope, customer)
                else:
                    self._check_may_take(book.name(grant.role), permissions, grant.scope)
            except ValidationFailed as exc:
                raise ValidationFailed(
                    "user",
                    f"cannot {'join' if joining else 'leave'} {group.name} through you: the "
                    f"group holds {book.name(grant.role)}, which {exc.message}",
                ) from exc
        if not joining:
            await self._check_admins_left(without_member=(group.id, user_id))

    async def add_user_group_member(self, ref: str, user: str) -> schemas.UserGroupDetail:
        group = await self._user_group(ref)
        member = await identity.user_at_home(self.session, self.tenant.id, user)
        if member is None:
            raise ValidationFailed(
                "user", f"no user with that id or email at home in {self.tenant.display_name}"
            )
        if await repository.user_group_membership(self.session, group.id, member.id) is None:
            await self._check_group_grants(group, joining=True, user_id=member.id)
            self.session.add(UserGroupMember(group_id=group.id, user_id=member.id))
            await self.session.flush()
            await self._record(
                AuditAction.USER_GROUP_MEMBER_ADDED,
                "user_group",
                group.id,
                group.name,
                set_to(member=member.email),
            )
        return await self.user_group(str(group.id))

    async def remove_user_group_member(self, ref: str, user: str) -> schemas.UserGroupDetail:
        group = await self._user_group(ref)
        member = await identity.user_at_home(self.session, self.tenant.id, user)
        membership = (
            await repository.user_group_membership(self.session, group.id, member.id)
            if member
            else None
        )
        if member is None or membership is None:
            raise NotFound("That user is not a member of this group.")
        await self._check_group_grants(group, joining=False, user_id=member.id)
        await self.session.delete(membership)
        await self.session.flush()
        await self._record(
            AuditAction.USER_GROUP_MEMBER_REMOVED,
            "user_group",
            group.id,
            group.name,
            removed(member=member.email),
        )
        return await self.user_group(str(group.id))

    # ------------------------------------------------------------ tenant groups (MSP)

    def _require_msp(self) -> None:
        if not self.tenant.is_msp or (self.ctx is not None and self.ctx.relation != "home"):
            raise NotFound(
                f"{self.tenant.display_name} is not an MSP here, so it has no client groups."
            )

    async def tenant_groups(
        self, *, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[schemas.TenantGroupOut], str | None]:
        self._require_msp()
        check_limit(limit)
        rows = await repository.tenant_groups_of(
            self.session, self.tenant.id, after=_name_cursor(cursor), limit=limit + 1
        )
        counts = await repository.tenant_group_member_counts(self.session, (g.id for g in rows))
        items = [_tenant_group_out(g, counts.get(g.id, 0)) for g in rows[:limit]]
        last = rows[limit - 1] if len(rows) > limit else None
        return items, NAME_ORDER.encode(last.name.lower(), last.id) if last else None

    async def _tenant_group(self, ref: str, field: str | None = None) -> TenantGroup:
        self._require_msp()
        group_id = uuid_or_none(ref)
        found = (
            await repository.tenant_group_in(self.session, self.tenant.id, group_id)
            if group_id
            else await repository.tenant_group_named(self.session, self.tenant.id, ref.strip())
            if field
            else None
        )
        if found is None:
            if field:
                raise ValidationFailed(
                    field, f"no client group '{ref}' in {self.tenant.display_name}"
                )
            raise NotFound("No such client group.")
        return found

    async def tenant_group(self, ref: str) -> schemas.TenantGroupDetail:
        group = await self._tenant_group(ref)
        members = await tenancy.tenants_among(
            self.session, repository.tenant_group_member_ids(group.id)
        )
        return schemas.TenantGroupDetail(
            **_tenant_group_out(group, len(members)).model_dump(),
            members=[tenant_brief(t) for t in members],
        )

    async def _check_tenant_group_name(self, name: str, keep: uuid.UUID | None = None) -> None:
        same = await repository.tenant_group_named(self.session, self.tenant.id, name)
        if same is not None and same.id != keep:
            raise Conflict(
                f"{self.tenant.display_name} already has a client group named {same.name}.",
                errors=[{"field": "name", "message": "is already taken by another group"}],
            )

    async def create_tenant_group(
        self, *, name: str, description: str | None = None
    ) -> schemas.TenantGroupOut:
        self._require_msp()
        name = _clean_name(name)
        description = _clean_description(description)
        await self._check_tenant_group_name(name)
        group = TenantGroup(msp_tenant_id=self.tenant.id, name=name, description=description)
        self.session.add(group)
        await self.session.flush()
        await self._record(
            AuditAction.TENANT_GROUP_CREATED,
            "tenant_group",
            group.id,
            group.name,
            set_to(name=name, description=description),
        )
        return _tenant_group_out(group, 0)

    async def update_tenant_group(
        self, ref: str, *, name: str | None = None, description: str | None = None
    ) -> schemas.TenantGroupOut:
        group = await self._tenant_group(ref)
        changes = Changes()
        if name is not None:
            cleaned = _clean_name(name)
            if cleaned != group.name:
                await self._check_tenant_group_name(cleaned, keep=group.id)
                changes |= changed("name", group.name, cleaned)
                group.name = cleaned
        if description is not None:
            cleaned = _clean_description(description)
            if cleaned != group.description:
                changes |= changed("description", group.description, cleaned)
                group.description = cleaned
        if changes:
            await self.session.flush()
            await self._record(
                AuditAction.TENANT_GROUP_UPDATED, "tenant_group", group.id, group.name, changes
            )
        counts = await repository.tenant_group_member_counts(self.session, [group.id])
        return _tenant_group_out(group, counts.get(group.id, 0))

    async def delete_tenant_group(self, ref: str) -> schemas.TenantGroupOut:
        group = await self._tenant_group(ref)
        now = utcnow()
        live_grants = await repository.live_grants_for_tenant_group(self.session, group.id, now)
        if live_grants:
            names = await load_names(self.session, self.tenant, live_grants)
            listed = [names.grant_out(g, now) for g in live_grants]
            raise Conflict(
                f"The client group {group.name} is the scope of {len(listed)} active "
                "grant(s); revoke them before deleting the group.",
                errors=[{"field": "group", "message": "is the scope of active grants"}],
                grants=[g.model_dump(mode="json") for g in listed],
            )
        members = await tenancy.tenants_among(
            self.session, repository.tenant_group_member_ids(group.id)
        )
        out = _tenant_group_out(group, len(members))
        dead_grants = await repository.delete_tenant_group(self.session, group)
        await self.session.flush()
        await self._record(
            AuditAction.TENANT_GROUP_DELETED,
            "tenant_group",
            out.id,
            out.name,
            removed(name=out.name, members=[t.slug for t in members])
            | set_to(dead_grants_removed=dead_grants),
        )
        return out

    async def _check_tenant_group_grants(self, group: TenantGroup) -> None:
        """Adding a customer to a group extends the group's grants to it: only someone
        who could issue those grants (an MSP admin) may, when there are any."""
        grants = await repository.live_grants_for_tenant_group(self.session, group.id, utcnow())
        if grants and not self._is_msp_admin():
            raise ValidationFailed(
                "customer",
                f"the group {group.name} is the scope of {len(grants)} active grant(s), so "
                "changing its customers changes who can act in them: only an MSP admin may",
            )

    async def add_tenant_group_member(self, ref: str, customer: str) -> schemas.TenantGroupDetail:
        group = await self._tenant_group(ref)
        member = await self._customer(customer)
        if await repository.tenant_group_membership(self.session, group.id, member.id) is None:
            await self._check_tenant_group_grants(group)
            self.session.add(TenantGroupMember(group_id=group.id, customer_tenant_id=member.id))
            await self.session.flush()
            await self._record(
                AuditAction.TENANT_GROUP_MEMBER_ADDED,
                "tenant_group",
                group.id,
                group.name,
                set_to(customer=member.slug),
            )
        return await self.tenant_group(str(group.id))

    async def remove_tenant_group_member(
        self, ref: str, customer: str
    ) -> schemas.TenantGroupDetail:
        group = await self._tenant_group(ref)
        target = await tenancy.tenant_by_ref(self.session, customer.strip())
        membership = (
            await repository.tenant_group_membership(self.session, group.id, target.id)
            if target
            else None
        )
        if target is None or membership is None:
            raise NotFound("That customer is not in this client group.")
        await self._check_tenant_group_grants(group)
        await self.session.delete(membership)
        await self.session.flush()
        await self._record(
            AuditAction.TENANT_GROUP_MEMBER_REMOVED,
            "tenant_group",
            group.id,
            group.name,
            removed(customer=target.slug),
        )
        return await self.tenant_group(str(group.id))


def _name_cursor(cursor: str | None) -> tuple[str, uuid.UUID] | None:
    position = NAME_ORDER.decode(cursor)
    return (position[0], position[1]) if position else None


def _user_group_out(group: UserGroup, members: int) -> schemas.UserGroupOut:
    return schemas.UserGroupOut(
        id=group.id,
        name=group.name,
        description=group.description,
        created_at=group.created_at,
        member_count=members,
    )


def _tenant_group_out(group: TenantGroup, members: int) -> schemas.TenantGroupOut:
    return schemas.TenantGroupOut(
        id=group.id,
        name=group.name,
        description=group.description,
        created_at=group.created_at,
        member_count=members,
    )
