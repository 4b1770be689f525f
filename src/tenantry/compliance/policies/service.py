"""Policies: the rules of a policy's life. Services never commit; the request's unit of
work does.

A new policy starts with draft version 1. Only a draft is edited. Approving needs
``compliance:approve`` (the route's marker) and records who approved and when; the
author may approve their own draft (a small client often has one person who writes and
signs its policies; the version shows both names). Publishing an approved version makes
it the policy's current one and supersedes the one before. A new draft starts from the
published version, and only while no other draft or approved version is open.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.context import TenantContext
from tenantry.audit.changes import Changes, changed, of_pairs, set_to
from tenantry.audit.schemas import Actor, AuditAction
from tenantry.audit.service import record
from tenantry.compliance.policies import repository
from tenantry.compliance.policies.models import Policy, PolicyAcknowledgement, PolicyVersion
from tenantry.compliance.policies.schemas import (
    AcknowledgementsOut,
    Acknowledger,
    PolicyChanges,
    clean_body,
    clean_note,
    clean_owner,
    clean_summary,
    clean_title,
)
from tenantry.db.base import new_id, utcnow
from tenantry.errors import NotFound, PermissionDenied, ValidationFailed
from tenantry.identity import service as identity
from tenantry.kit.pagination import Keyset, check_limit, page_of

BY_TITLE = Keyset(str, uuid.UUID)
# The people listed as having or not having acknowledged: a client's whole staff.
MAX_PEOPLE = 2_000


def parse_id(value: str | uuid.UUID, what: str) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError as exc:
        raise NotFound(f"No such {what}.") from exc


class PolicyService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # ---------------------------------------------------------------- reading

    async def get(
        self, ctx: TenantContext, policy_id: str | uuid.UUID, *, lock: bool = False
    ) -> Policy:
        found = await repository.policy(
            self.session, ctx.tenant.id, parse_id(policy_id, "policy"), lock=lock
        )
        if found is None:
            raise NotFound("No such policy.")
        return found

    async def page(
        self,
        ctx: TenantContext,
        *,
        cursor: str | None,
        limit: int,
        published_only: bool = False,
    ) -> tuple[list[Policy], str | None]:
        check_limit(limit)
        after = BY_TITLE.decode(cursor)
        rows = await repository.policies(
            self.session,
            ctx.tenant.id,
            after=(after[0], after[1]) if after is not None else None,
            limit=limit,
            published_only=published_only,
        )
        return page_of(rows, limit, lambda p: (p.title, str(p.id)))

    async def versions(self, ctx: TenantContext, policy: Policy) -> list[PolicyVersion]:
        """Newest first."""
        return list(await repository.versions(self.session, ctx.tenant.id, policy.id))

    async def version(
        self, ctx: TenantContext, policy: Policy, version_id: str | uuid.UUID
    ) -> PolicyVersion:
        found = await repository.version(
            self.session, ctx.tenant.id, policy.id, parse_id(version_id, "version")
        )
        if found is None:
            raise NotFound("No such version of this policy.")
        return found

    async def current(self, ctx: TenantContext, policy: Policy) -> PolicyVersion | None:
        if policy.current_version_id is None:
            return None
        found = await repository.versions_by_id(
            self.session, ctx.tenant.id, [policy.current_version_id]
        )
        return found.get(policy.current_version_id)

    # ---------------------------------------------------------------- changing a policy

    async def _check_title_free(
        self, ctx: TenantContext, title: str, but: uuid.UUID | None = None
    ) -> None:
        other = await repository.policy_by_title(self.session, ctx.tenant.id, title)
        if other is not None and other.id != but:
            raise ValidationFailed("title", "is already used by another policy here")

    async def create(
        self,
        ctx: TenantContext,
        *,
        title: str,
        summary: str = "",
        owner_name: str = "",
        review_on: date | None = None,
        body_markdown: str = "",
        change_note: str = "",
        actor: Actor,
        template: str | None = None,
    ) -> Policy:
        """A policy with its draft version 1. ``template``: the MSP template it was copied
        from (its title), recorded in the event."""
        values = {
            "title": clean_title(title),
            "summary": clean_summary(summary),
            "owner_name": clean_owner(owner_name),
        }
        body = clean_body(body_markdown)
        note = clean_note(change_note)
        await self._check_title_free(ctx, values["title"])
        policy = Policy(tenant_id=ctx.tenant.id, id=new_id(), review_on=review_on, **values)
        self.session.add(policy)
        await self.session.flush()
        draft = self._draft(ctx, policy, 1, body, note, actor)
        self.session.add(draft)
        await self.session.flush()
        extra = {"template": template} if template is not None else {}
        await self._record(
            ctx,
            actor,
            AuditAction.POLICY_CREATED,
            policy,
            set_to(
                **values,
                review_on=review_on.isoformat() if review_on else None,
                version=1,
                state="draft",
                **extra,
            ),
        )
        return policy

    @staticmethod
    def _draft(
        ctx: TenantContext, policy: Policy, number: int, body: str, note: str, actor: Actor
    ) -> PolicyVersion:
        return PolicyVersion(
            tenant_id=ctx.tenant.id,
            id=new_id(),
            policy_id=policy.id,
            number=number,
            body_markdown=body,
            state="draft",
            change_note=note,
            created_by_user_id=actor.user_id,
            # The person's name as shown on the page (the actor's name adds the address).
            created_by_name=ctx.principal.display_name,
        )

    async def update(
        self,
        ctx: TenantContext,
        policy_id: str | uuid.UUID,
        changes: PolicyChanges,
        *,
        actor: Actor,
    ) -> Policy:
        policy = await self.get(ctx, policy_id)
        cleaned: dict[str, object] = {}
        if changes.title is not None:
            cleaned["title"] = clean_title(changes.title)
            await self._check_title_free(ctx, str(cleaned["title"]), but=policy.id)
        if changes.summary is not None:
            cleaned["summary"] = clean_summary(changes.summary)
        if changes.owner_name is not None:
            cleaned["owner_name"] = clean_owner(changes.owner_name)
        if changes.review_on is not None or changes.clear_review:
            cleaned["review_on"] = changes.review_on
        diff = [(k, getattr(policy, k), v) for k, v in cleaned.items() if getattr(policy, k) != v]
        if not diff:
            return policy
        for key, _, new in diff:
            setattr(policy, key, new)
        await self.session.flush()
        shown = [(k, _plain(old), _plain(new)) for k, old, new in diff]
        await self._record(ctx, actor, AuditAction.POLICY_UPDATED, policy, of_pairs(shown))
        return policy

    # ---------------------------------------------------------------- versions

    async def new_version(
        self, ctx: TenantContext, policy_id: str | uuid.UUID, *, change_note: str, actor: Actor
    ) -> PolicyVersion:
        """A new draft from the published version."""
        policy = await self.get(ctx, policy_id, lock=True)
        note = clean_note(change_note)
        versions = await self.versions(ctx, policy)
        open_ = next((v for v in versions if v.state in ("draft", "approved")), None)
        if open_ is not None:
            raise ValidationFailed(
                "state",
                f"version {open_.number} is still {open_.state}; "
                + ("edit it" if open_.state == "draft" else "publish it")
                + " before starting another",
            )
        published = next((v for v in versions if v.id == policy.current_version_id), None)
        if published is None:
            raise ValidationFailed("state", "the policy has no published version to start from")
        number = max(v.number for v in versions) + 1
        draft = self._draft(ctx, policy, number, published.body_markdown, note, actor)
        self.session.add(draft)
        await self.session.flush()
        await self._record(
            ctx,
            actor,
            AuditAction.POLICY_VERSION_CREATED,
            policy,
            set_to(version=number, state="draft", change_note=note, from_version=published.number),
        )
        return draft

    async def edit_version(
        self,
        ctx: TenantContext,
        policy_id: str | uuid.UUID,
        version_id: str | uuid.UUID,
        *,
        body_markdown: str | None,
        change_note: str | None,
        actor: Actor,
    ) -> PolicyVersion:
        policy = await self.get(ctx, policy_id, lock=True)
        version = await self.version(ctx, policy, version_id)
        if version.state != "draft":
            raise ValidationFailed(
                "state", f"only a draft can be edited; version {version.number} is {version.state}"
            )
        cleaned: dict[str, str] = {}
        if body_markdown is not None:
            cleaned["body_markdown"] = clean_body(body_markdown)
        if change_note is not None:
            cleaned["change_note"] = clean_note(change_note)
        diff = [(k, getattr(version, k), v) for k, v in cleaned.items() if getattr(version, k) != v]
        if not diff:
            return version
        for key, _, new in diff:
            setattr(version, key, new)
        await self.session.flush()
        # The body's text is in the version itself; the trail says that it changed and how
        # long it is now, not the whole document twice.
        shown = [
            (k, f"{len(old)} characters", f"{len(new)} characters")
            if k == "body_markdown"
            else (k, old, new)
            for k, old, new in diff
        ]
        await self._record(
            ctx,
            actor,
            AuditAction.POLICY_VERSION_UPDATED,
            policy,
            of_pairs([*shown]),
            version=version,
        )
        return version

    async def approve(
        self,
        ctx: TenantContext,
        policy_id: str | uuid.UUID,
        version_id: str | uuid.UUID,
        *,
        actor: Actor,
    ) -> PolicyVersion:
        policy = await self.get(ctx, policy_id, lock=True)
        version = await self.version(ctx, policy, version_id)
        if version.state != "draft":
            raise ValidationFailed(
                "state",
                f"only a draft can be approved; version {version.number} is {version.state}",
            )
        if not version.body_markdown.strip():
            raise ValidationFailed("body_markdown", "is empty: write the policy before approving")
        version.state = "approved"
        version.approved_by_user_id = actor.user_id
        version.approved_by_name = ctx.principal.display_name
        version.approved_at = utcnow()
        await self.session.flush()
        await self._record(
            ctx,
            actor,
            AuditAction.POLICY_APPROVED,
            policy,
            changed("state", "draft", "approved"),
            version=version,
        )
        return version

    async def publish(
        self,
        ctx: TenantContext,
        policy_id: str | uuid.UUID,
        version_id: str | uuid.UUID,
        *,
        actor: Actor,
    ) -> PolicyVersion:
        policy = await self.get(ctx, policy_id, lock=True)
        version = await self.version(ctx, policy, version_id)
        if version.state != "approved":
            raise ValidationFailed(
                "state",
                f"only an approved version can be published; version {version.number} is "
                f"{version.state}",
            )
        before = await self.current(ctx, policy)
        if before is not None:
            before.state = "superseded"
        version.state = "published"
        version.published_at = utcnow()
        policy.current_version_id = version.id
        await self.session.flush()
        changes = changed("state", "approved", "published")
        if before is not None:
            changes = changes | set_to(superseded_version=before.number)
        await self._record(
            ctx, actor, AuditAction.POLICY_PUBLISHED, policy, changes, version=version
        )
        return version

    # ---------------------------------------------------------------- acknowledgements

    async def acknowledge(
        self, ctx: TenantContext, policy_id: str | uuid.UUID, *, actor: Actor
    ) -> PolicyAcknowledgement:
        """The caller, one of the tenant's own people, acknowledges the published version
        (again: nothing changes). The MSP's technicians acting here are not the client's
        people: their reading does not make the client's staff aware of its rules."""
        policy = await self.get(ctx, policy_id)
        if ctx.relation != "home":
            raise PermissionDenied(
                f"Only {ctx.tenant.display_name}'s own people acknowledge its policies; "
                "you act here for its MSP.",
                reason="not-own-user",
            )
        version = await self.current(ctx, policy)
        if version is None:
            raise ValidationFailed("state", "the policy has no published version to acknowledge")
        user_id = ctx.principal.user_id
        kept = await repository.acknowledgement(self.session, ctx.tenant.id, version.id, user_id)
        if kept is not None:
            return kept
        row = PolicyAcknowledgement(
            tenant_id=ctx.tenant.id,
            id=new_id(),
            version_id=version.id,
            user_id=user_id,
            user_name=ctx.principal.display_name,
            at=utcnow(),
        )
        self.session.add(row)
        await self.session.flush()
        await self._record(
            ctx,
            actor,
            AuditAction.POLICY_ACKNOWLEDGED,
            policy,
            set_to(version=version.number, user=ctx.principal.display_name),
            version=version,
        )
        return row

    async def acknowledgements(self, ctx: TenantContext, policy: Policy) -> AcknowledgementsOut:
        """Who among the tenant's own active people has acknowledged the published version
        and who has not yet (a new version starts everyone again)."""
        version = await self.current(ctx, policy)
        if version is None:
            return AcknowledgementsOut(
                version_id=None, version_number=None, acknowledged=[], pending=[]
            )
        rows = await repository.acknowledgements(self.session, ctx.tenant.id, version.id)
        done = {r.user_id: r for r in rows}
        people = await identity.people_at_home(self.session, ctx.tenant.id, MAX_PEOPLE)
        active = {u.id for u in people if u.disabled_at is None}
        return AcknowledgementsOut(
            version_id=version.id,
            version_number=version.number,
            # Someone who acknowledged and has left since still did.
            acknowledged=[Acknowledger(user_id=r.user_id, name=r.user_name, at=r.at) for r in rows],
            pending=[
                Acknowledger(user_id=u.id, name=u.display_name, at=None)
                for u in people
                if u.id in active and u.id not in done
            ],
        )

    async def acknowledged_by(self, ctx: TenantContext, policy: Policy, user_id: uuid.UUID) -> bool:
        if policy.current_version_id is None:
            return False
        found = await repository.acknowledgement(
            self.session, ctx.tenant.id, policy.current_version_id, user_id
        )
        return found is not None

    # ---------------------------------------------------------------- audit

    async def _record(
        self,
        ctx: TenantContext,
        actor: Actor,
        action: AuditAction,
        policy: Policy,
        changes: Changes,
        *,
        version: PolicyVersion | None = None,
    ) -> None:
        label = policy.title if version is None else f"{policy.title} v{version.number}"
        await record(
            self.session,
            tenant_id=ctx.tenant.id,
            actor=actor,
            action=action,
            target_type="policy",
            target_id=policy.id,
            target_label=label,
            changes=changes,
        )


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, date) else value
