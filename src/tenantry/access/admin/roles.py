"""Roles of one tenant: the built-in ones and its custom roles."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from tenantry.access import repository, schemas
from tenantry.access.admin.base import (
    AdminBase,
    _clean_description,
    _clean_name,
    _clean_permissions,
    _listed,
)
from tenantry.access.models import (
    CUSTOM_ROLE_PREFIX,
    CustomRole,
)
from tenantry.access.permissions import ALL, BUILTIN_ROLES, CATALOG
from tenantry.access.presenters import (
    builtin_role_out,
    custom_role_out,
    load_names,
    page_after,
    uuid_or_none,
)
from tenantry.audit.changes import Changes, changed, removed, set_to
from tenantry.audit.schemas import Actor, AuditAction
from tenantry.db.base import utcnow
from tenantry.errors import Conflict, NotFound, ValidationFailed
from tenantry.kit.pagination import Keyset

ROLE_ORDER = Keyset(int)


class RolesAdmin(AdminBase):
    # ------------------------------------------------------------ roles

    async def roles(self) -> list[schemas.RoleOut]:
        """Built-in roles (in their defined order), then the tenant's own by name."""
        customs = await repository.custom_roles_of(self.session, self.tenant.id)
        return [
            *(builtin_role_out(r) for r in BUILTIN_ROLES.values()),
            *(custom_role_out(r) for r in customs),
        ]

    async def roles_page(
        self, *, limit: int, cursor: str | None
    ) -> tuple[list[schemas.RoleOut], str | None]:
        everything = await self.roles()
        order = {r.key: i for i, r in enumerate(everything)}
        return page_after(everything, lambda r: (order[r.key],), ROLE_ORDER, limit, cursor)

    async def _custom_role(self, ref: str, field: str | None = None) -> CustomRole:
        role_id = uuid_or_none(ref.removeprefix(CUSTOM_ROLE_PREFIX))
        found = (
            await repository.custom_role_in(self.session, self.tenant.id, role_id)
            if role_id
            else None
        )
        if found is None:
            if field:
                raise ValidationFailed(field, f"no role '{ref}' in {self.tenant.display_name}")
            raise NotFound("No such role.")
        return found

    async def role(self, ref: str, field: str | None = None) -> schemas.RoleOut:
        """A role by built-in key, ``custom:<id>`` or the custom role's bare id."""
        builtin = BUILTIN_ROLES.get(ref)
        if builtin is not None:
            return builtin_role_out(builtin)
        return custom_role_out(await self._custom_role(ref, field))

    async def _check_role_name(self, name: str, keep: uuid.UUID | None = None) -> None:
        lowered = name.lower()
        if any(lowered in (r.key, r.name.lower()) for r in BUILTIN_ROLES.values()):
            raise ValidationFailed("name", f"'{name}' is a built-in role; choose another name")
        same = await repository.custom_role_named(self.session, self.tenant.id, name)
        if same is not None and same.id != keep:
            raise Conflict(
                f"{self.tenant.display_name} already has a role named {same.name}.",
                errors=[{"field": "name", "message": "is already taken by another role"}],
            )

    async def create_role(
        self,
        *,
        name: str,
        description: str | None = None,
        permissions: Sequence[str] | None = None,
        clone_from: str | None = None,
        actor: Actor,
    ) -> schemas.RoleOut:
        """From scratch, or a copy of a built-in or custom role (renamed, then editable)."""
        name = _clean_name(name)
        if clone_from and permissions is not None:
            raise ValidationFailed(
                "clone_from", "give either permissions or a role to clone, not both"
            )
        if clone_from:
            source = await self.role(clone_from.strip(), "clone_from")
            chosen = frozenset(source.permissions)
            if description is None:
                description = f"Copy of {source.name}. {source.description}".strip()
        else:
            chosen = _clean_permissions(permissions or ())
        description = _clean_description(description)
        beyond = self._beyond(chosen)
        if beyond:
            raise ValidationFailed(
                "clone_from" if clone_from else "permissions",
                f"includes permissions you do not have here ({_listed(beyond)})",
            )
        await self._check_role_name(name)
        role = CustomRole(
            tenant_id=self.tenant.id,
            name=name,
            description=description,
            permissions=[p for p in CATALOG if p in chosen],
            created_by_user_id=actor.user_id,
        )
        self.session.add(role)
        await self.session.flush()
        await self._record(
            actor,
            AuditAction.ROLE_CREATED,
            "role",
            role.id,
            role.name,
            set_to(
                name=role.name,
                description=role.description,
                permissions=list(role.permissions),
                **({"cloned_from": clone_from} if clone_from else {}),
            ),
        )
        return custom_role_out(role)

    async def update_role(
        self,
        ref: str,
        *,
        name: str | None = None,
        description: str | None = None,
        permissions: Sequence[str] | None = None,
        actor: Actor,
    ) -> schemas.RoleOut:
        """Changes reach everyone holding the role on their next request."""
        if ref in BUILTIN_ROLES:
            raise ValidationFailed(
                "role", "built-in roles cannot be changed; clone it and change the copy"
            )
        role = await self._custom_role(ref)
        changes = Changes()
        if name is not None:
            cleaned = _clean_name(name)
            if cleaned != role.name:
                await self._check_role_name(cleaned, keep=role.id)
                changes |= changed("name", role.name, cleaned)
                role.name = cleaned
        if description is not None:
            cleaned = _clean_description(description)
            if cleaned != role.description:
                changes |= changed("description", role.description, cleaned)
                role.description = cleaned
        if permissions is not None:
            chosen = _clean_permissions(permissions)
            before = frozenset(role.permissions)
            beyond = self._beyond(chosen ^ before)
            if beyond:
                raise ValidationFailed(
                    "permissions",
                    f"you can only add or remove permissions you hold yourself ({_listed(beyond)})",
                )
            if chosen != before:
                changes |= changed(
                    "permissions",
                    [p for p in CATALOG if p in before],
                    [p for p in CATALOG if p in chosen],
                )
                role.permissions = [p for p in CATALOG if p in chosen]
        if changes:
            role.updated_at = utcnow()
            await self.session.flush()
            await self._record(actor, AuditAction.ROLE_UPDATED, "role", role.id, role.name, changes)
        return custom_role_out(role)

    async def grants_using_role(self, key: str) -> list[schemas.GrantOut]:
        now = utcnow()
        grants = await repository.live_grants_with_role(self.session, key, now)
        names = await load_names(self.session, self.tenant, grants)
        return [names.grant_out(g, now) for g in grants]

    async def delete_role(self, ref: str, *, actor: Actor) -> schemas.RoleOut:
        """Only when no live grant uses it; otherwise the refusal lists those grants."""
        if ref in BUILTIN_ROLES:
            raise ValidationFailed("role", "built-in roles cannot be deleted")
        role = await self._custom_role(ref)
        using = await self.grants_using_role(role.key)
        if using:
            raise Conflict(
                f"{role.name} is used by {len(using)} active grant(s); revoke them (or let "
                "them expire) before deleting the role.",
                errors=[{"field": "role", "message": "is still in use"}],
                grants=[g.model_dump(mode="json") for g in using],
            )
        out = custom_role_out(role)
        await self.session.delete(role)
        await self.session.flush()
        await self._record(
            actor,
            AuditAction.ROLE_DELETED,
            "role",
            out.id,
            out.name,
            removed(name=out.name, permissions=out.permissions),
        )
        return out

    async def compare(self, a: str, b: str) -> schemas.RoleComparison:
        left = await self.role(a.strip(), "a")
        right = await self.role(b.strip(), "b")
        in_a, in_b = set(left.permissions), set(right.permissions)
        return schemas.RoleComparison(
            a=left,
            b=right,
            only_a=[p for p in CATALOG if p in in_a - in_b],
            only_b=[p for p in CATALOG if p in in_b - in_a],
            both=[p for p in CATALOG if p in in_a & in_b],
            rows=[
                schemas.ComparisonRow(permission=p, description=d, in_a=p in in_a, in_b=p in in_b)
                for p, d in CATALOG.items()
            ],
        )

    async def _role_key(self, ref: str, field: str = "role") -> tuple[str, frozenset[str], str]:
        """(key, permissions, name) of a role usable in this tenant's grants."""
        ref = ref.strip()
        builtin = BUILTIN_ROLES.get(ref)
        if builtin is not None:
            return builtin.key, builtin.permissions, builtin.name
        role_id = uuid_or_none(ref.removeprefix(CUSTOM_ROLE_PREFIX))
        found = (
            await repository.custom_role_in(self.session, self.tenant.id, role_id)
            if role_id
            else None
        )
        if found is None:
            raise ValidationFailed(
                field,
                f"no role '{ref}' in {self.tenant.display_name}: use a built-in key "
                f"({', '.join(BUILTIN_ROLES)}) or custom:<id> of one of its own roles",
            )
        return found.key, frozenset(found.permissions) & ALL, found.name
