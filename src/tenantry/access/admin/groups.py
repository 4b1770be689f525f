"""User groups and client (tenant) groups of one tenant: one stack, told by a
``GroupKind`` (admin/kinds.py) which kind it handles."""

from __future__ import annotations

import uuid
from typing import Any

from tenantry.access import repository, schemas
from tenantry.access.admin.base import AdminBase, _clean_description, _clean_name
from tenantry.access.admin.kinds import GroupKind, MemberRule
from tenantry.access.presenters import load_names, uuid_or_none
from tenantry.access.repository import Group
from tenantry.access.repository.groups import G
from tenantry.access.service import AccessService
from tenantry.audit.changes import Changes, changed, removed, set_to
from tenantry.audit.schemas import Actor
from tenantry.db.base import utcnow
from tenantry.errors import Conflict, NotFound, ValidationFailed
from tenantry.kit.pagination import Keyset, check_limit
from tenantry.tenancy import service as tenancy

# By name, ties by id.
NAME_ORDER = Keyset(str, uuid.UUID)
GroupOut = schemas.UserGroupOut | schemas.TenantGroupOut
GroupDetail = schemas.UserGroupDetail | schemas.TenantGroupDetail


class GroupsAdmin(AdminBase):
    def _check_holder(self, kind: GroupKind[Any, Any]) -> None:
        """Client groups belong to an MSP acting at home; elsewhere there are none."""
        if kind.msp_home_only and (
            not self.tenant.is_msp or (self.ctx is not None and self.ctx.relation != "home")
        ):
            raise NotFound(
                f"{self.tenant.display_name} is not an MSP here, so it has no {kind.noun}s."
            )

    def _out(self, kind: GroupKind[Any, Any], group: Group, members: int) -> GroupOut:
        return kind.out(
            id=group.id,
            name=group.name,
            description=group.description,
            created_at=group.created_at,
            member_count=members,
        )

    async def groups(
        self, kind: GroupKind[Any, Any], *, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[GroupOut], str | None]:
        self._check_holder(kind)
        check_limit(limit)
        position = NAME_ORDER.decode(cursor)
        rows = await repository.groups_by_name(
            self.session,
            kind.tables,
            self.tenant.id,
            after=(position[0], position[1]) if position else None,
            limit=limit + 1,
        )
        counts = await repository.member_counts(self.session, kind.tables, (g.id for g in rows))
        items = [self._out(kind, g, counts.get(g.id, 0)) for g in rows[:limit]]
        last = rows[limit - 1] if len(rows) > limit else None
        return items, NAME_ORDER.encode(last.name.lower(), last.id) if last else None

    async def _group(self, kind: GroupKind[G, Any], ref: str, field: str | None = None) -> G:
        """By id; by name too when ``field`` names the input it came from (grants)."""
        self._check_holder(kind)
        group_id = uuid_or_none(ref)
        found = (
            await repository.group_in(self.session, kind.tables, self.tenant.id, group_id)
            if group_id
            else await repository.group_named(
                self.session, kind.tables, self.tenant.id, ref.strip()
            )
            if field
            else None
        )
        if found is None:
            if field:
                raise ValidationFailed(
                    field, f"no {kind.noun} '{ref}' in {self.tenant.display_name}"
                )
            raise NotFound(f"No such {kind.noun}.")
        return found

    async def _members(self, kind: GroupKind[Any, Any], group: Group) -> list[Any]:
        return list(await kind.members(self.session, repository.member_ids(kind.tables, group.id)))

    async def group(self, kind: GroupKind[Any, Any], ref: str) -> GroupDetail:
        group = await self._group(kind, ref)
        members = await self._members(kind, group)
        return kind.detail(
            **self._out(kind, group, len(members)).model_dump(),
            members=[kind.brief(m) for m in members],
        )

    async def _check_name(
        self, kind: GroupKind[Any, Any], name: str, keep: uuid.UUID | None
    ) -> None:
        same = await repository.group_named(self.session, kind.tables, self.tenant.id, name)
        if same is not None and same.id != keep:
            raise Conflict(
                f"{self.tenant.display_name} already has a {kind.noun} named {same.name}.",
                errors=[{"field": "name", "message": "is already taken by another group"}],
            )

    async def create_group(
        self, kind: GroupKind[Any, Any], *, name: str, description: str | None = None, actor: Actor
    ) -> GroupOut:
        self._check_holder(kind)
        name = _clean_name(name)
        description = _clean_description(description)
        await self._check_name(kind, name, None)
        group = kind.tables.new(self.tenant.id, name, description)
        self.session.add(group)
        await self.session.flush()
        await self._record(
            actor,
            kind.audit("created"),
            kind.key,
            group.id,
            group.name,
            set_to(name=name, description=description),
        )
        return self._out(kind, group, 0)

    async def update_group(
        self,
        kind: GroupKind[Any, Any],
        ref: str,
        *,
        name: str | None = None,
        description: str | None = None,
        actor: Actor,
    ) -> GroupOut:
        group = await self._group(kind, ref)
        changes = Changes()
        if name is not None:
            cleaned = _clean_name(name)
            if cleaned != group.name:
                await self._check_name(kind, cleaned, group.id)
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
                actor, kind.audit("updated"), kind.key, group.id, group.name, changes
            )
        counts = await repository.member_counts(self.session, kind.tables, [group.id])
        return self._out(kind, group, counts.get(group.id, 0))

    async def delete_group(self, kind: GroupKind[Any, Any], ref: str, *, actor: Actor) -> GroupOut:
        """Refused while a live grant is held by the group or scoped to it."""
        group = await self._group(kind, ref)
        now = utcnow()
        live_grants = await repository.live_grants_naming(
            self.session, kind.tables.grant_column, group.id, now
        )
        if live_grants:
            names = await load_names(self.session, self.tenant, live_grants)
            listed = [names.grant_out(g, now) for g in live_grants]
            raise Conflict(
                f"The {kind.called} {group.name} {kind.holds} {len(listed)} active grant(s); "
                "revoke them before deleting the group.",
                errors=[{"field": "group", "message": f"{kind.holds} active grants"}],
                grants=[g.model_dump(mode="json") for g in listed],
            )
        members = await self._members(kind, group)
        out = self._out(kind, group, len(members))
        dead_grants = await repository.delete_group(self.session, kind.tables, group)
        await self.session.flush()
        await self._record(
            actor,
            kind.audit("deleted"),
            kind.key,
            out.id,
            out.name,
            removed(name=out.name, members=[kind.label(m) for m in members])
            | set_to(dead_grants_removed=dead_grants),
        )
        return out

    async def _check_members_change(
        self, kind: GroupKind[Any, Any], group: Group, *, joining: bool, member_id: uuid.UUID
    ) -> None:
        grants = await repository.live_grants_naming(
            self.session, kind.tables.grant_column, group.id, utcnow()
        )
        if kind.rule == MemberRule.MSP_ADMIN_WHILE_SCOPED:
            if grants and not self._is_msp_admin():
                raise ValidationFailed(
                    kind.member_field,
                    f"the group {group.name} is the scope of {len(grants)} active grant(s), "
                    "so changing its customers changes who can act in them: only an MSP "
                    "admin may",
                )
            return
        # Joining a group gives its grants; leaving takes them away. Both are limited as
        # issuing and revoking those grants would be.
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
                    kind.member_field,
                    f"cannot {'join' if joining else 'leave'} {group.name} through you: the "
                    f"group holds {book.name(grant.role)}, which {exc.message}",
                ) from exc
        if not joining:
            await self._check_admins_left(without_member=(group.id, member_id))

    async def add_member(
        self, kind: GroupKind[Any, Any], ref: str, member: str, *, actor: Actor
    ) -> GroupDetail:
        group = await self._group(kind, ref)
        found = await kind.joining(self.session, self.tenant.id, member)
        if found is None:
            raise ValidationFailed(
                kind.member_field,
                kind.no_member.format(ref=member, tenant=self.tenant.display_name),
            )
        if await repository.membership(self.session, kind.tables, group.id, found.id) is None:
            await self._check_members_change(kind, group, joining=True, member_id=found.id)
            self.session.add(kind.tables.membership(group.id, found.id))
            await self.session.flush()
            await self._record(
                actor,
                kind.audit("member_added"),
                kind.key,
                group.id,
                group.name,
                set_to(**{kind.member_change: kind.label(found)}),
            )
        return await self.group(kind, str(group.id))

    async def remove_member(
        self, kind: GroupKind[Any, Any], ref: str, member: str, *, actor: Actor
    ) -> GroupDetail:
        group = await self._group(kind, ref)
        found = await kind.leaving(self.session, self.tenant.id, member)
        membership = (
            await repository.membership(self.session, kind.tables, group.id, found.id)
            if found
            else None
        )
        if found is None or membership is None:
            raise NotFound(kind.not_in_group)
        await self._check_members_change(kind, group, joining=False, member_id=found.id)
        await self.session.delete(membership)
        await self.session.flush()
        await self._record(
            actor,
            kind.audit("member_removed"),
            kind.key,
            group.id,
            group.name,
            removed(**{kind.member_change: kind.label(found)}),
        )
        return await self.group(kind, str(group.id))
