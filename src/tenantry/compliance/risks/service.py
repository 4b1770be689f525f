"""The risk register's rules. Services never commit; the request's unit of work does.

Every change is recorded twice, in the same transaction: an audit event in the tenant's
trail (``compliance.risk.*``), and a row of the risk's own history
(``compliance_risk_changes``), which anyone who may read the register sees on the risk's
page without needing ``audit:read``. Deleting a risk deletes its history and links; the
audit event of the deletion keeps its last values."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.context import TenantContext
from tenantry.access.service import AccessService
from tenantry.audit.changes import Changes, of_pairs, removed, set_to, stored
from tenantry.audit.schemas import Actor, AuditAction
from tenantry.audit.service import record
from tenantry.compliance.risks import repository, rules
from tenantry.compliance.risks.models import Risk, RiskChange, RiskLink
from tenantry.compliance.risks.schemas import (
    MAX_CATEGORY,
    MAX_OWNER,
    MAX_TITLE,
    RATING_FIELDS,
    HeatCell,
    HeatMapOut,
    Linkable,
    RiskChangeOut,
    RiskFilters,
    RiskLinkIn,
    RiskLinkOut,
    RiskPatch,
)
from tenantry.compliance.risks.scoring import (
    RATINGS,
    STATUSES,
    TREATMENTS,
    VIEWS,
    level_of,
    score,
)
from tenantry.db.base import new_id, utcnow
from tenantry.errors import NotFound, TenantryError, ValidationFailed
from tenantry.identity import service as identity
from tenantry.kit.pagination import Keyset, check_limit, page_of

COMPLIANCE_READ = "compliance:read"
# Risks are listed by score, highest first, ties by id.
BY_SCORE = Keyset(int, uuid.UUID)


def _parse_id(value: str | uuid.UUID, what: str = "risk") -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError as exc:
        raise NotFound(f"No such {what}.") from exc


def today() -> date:
    return utcnow().date()


class RiskService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # ---- reading

    async def get(self, ctx: TenantContext, risk_id: str | uuid.UUID) -> Risk:
        risk = await repository.by_id(self.session, ctx.tenant.id, _parse_id(risk_id))
        if risk is None:
            raise NotFound("No such risk.")
        return risk

    async def page(
        self, ctx: TenantContext, filters: RiskFilters, *, cursor: str | None, limit: int
    ) -> tuple[list[Risk], str | None]:
        check_limit(limit)
        query = rules.query_of(filters, today())
        after = BY_SCORE.decode(cursor)
        rows = await repository.page(
            self.session,
            ctx.tenant.id,
            query,
            after=(after[0], after[1]) if after is not None else None,
            limit=limit,
        )
        if query.residual:
            return page_of(rows, limit, lambda r: (r.residual_likelihood * r.residual_impact, r.id))
        return page_of(rows, limit, lambda r: (r.likelihood * r.impact, r.id))

    async def heatmap(self, ctx: TenantContext, view: str = "inherent") -> HeatMapOut:
        """The 5x5 grid of open risks: likelihood 5 → 1 down, impact 1 → 5 across."""
        view = rules.one_of("view", view, VIEWS)
        counts = {
            (lk, im): n
            for lk, im, n in await repository.heat_counts(
                self.session, ctx.tenant.id, residual=view == "residual"
            )
        }
        cells = [
            HeatCell(
                likelihood=lk,
                impact=im,
                score=score(lk, im),
                level=level_of(score(lk, im)),
                count=counts.get((lk, im), 0),
            )
            for lk in reversed(RATINGS)
            for im in RATINGS
        ]
        return HeatMapOut(
            view="residual" if view == "residual" else "inherent",
            open_risks=sum(counts.values()),
            cells=cells,
        )

    async def history(self, ctx: TenantContext, risk_id: str | uuid.UUID) -> list[RiskChangeOut]:
        risk = await self.get(ctx, risk_id)
        rows = await repository.changes_of(self.session, ctx.tenant.id, risk.id)
        return [RiskChangeOut.of(c) for c in rows]

    async def links(self, ctx: TenantContext, risk_id: str | uuid.UUID) -> list[RiskLinkOut]:
        risk = await self.get(ctx, risk_id)
        return [
            _link_out(link, key, ref, title)
            for link, key, ref, title in await repository.links_of(
                self.session, ctx.tenant.id, risk.id
            )
        ]

    async def linkable(self, ctx: TenantContext) -> list[Linkable]:
        """What a risk here can be linked to: assessable requirements, then measures."""
        found = [
            Linkable("requirement", rid, f"{ref} {title}", f"{ftitle} ({key})")
            for rid, key, ftitle, ref, title in await repository.linkable_requirements(
                self.session, ctx.tenant.id
            )
        ]
        found += [
            Linkable("measure", mid, title, "Applied measures")
            for mid, title in await repository.linkable_measures(self.session, ctx.tenant.id)
        ]
        return found

    # ---- the rules of a risk's values

    async def _owner(self, ctx: TenantContext, user_id: uuid.UUID) -> str:
        """An owner with a login must be able to read the register here (decided by the
        access rules as if they opened this tenant themselves); their name is kept."""
        as_them = await identity.principal_for(self.session, user_id)
        if as_them is None:
            raise ValidationFailed("owner_user_id", "is not an active user")
        try:
            theirs = await AccessService(self.session).context_for(as_them, str(ctx.tenant.id))
        except TenantryError:
            theirs = None
        if theirs is None or not theirs.can(COMPLIANCE_READ):
            raise ValidationFailed(
                "owner_user_id",
                f"{as_them.display_name} cannot see the compliance programme of "
                f"{ctx.tenant.display_name}",
            )
        return as_them.display_name

    async def _checked(self, ctx: TenantContext, given: dict[str, Any]) -> dict[str, Any]:
        """The given fields cleaned, in form order; the first bad one is named."""
        out: dict[str, Any] = {}
        for name, value in given.items():
            if name == "title":
                out[name] = rules.line(name, value or "", MAX_TITLE, required=True)
            elif name == "category":
                out[name] = rules.line(name, value or "", MAX_CATEGORY)
            elif name in ("description", "treatment_plan"):
                out[name] = rules.text(name, value or "")
            elif name in RATING_FIELDS:
                out[name] = rules.rating(name, value)
            elif name == "treatment":
                out[name] = rules.one_of(name, value, TREATMENTS)
            elif name == "status":
                out[name] = rules.one_of(name, value, STATUSES)
            elif name == "owner_name":
                out[name] = rules.line(name, value or "", MAX_OWNER)
            elif name == "owner_user_id":
                out[name] = value
            elif name == "next_review_on":
                if value is not None and not isinstance(value, date):
                    raise ValidationFailed(name, "must be a date (YYYY-MM-DD)")
                out[name] = value
        if out.get("owner_user_id") is not None:
            # A person with a login: their name, whatever name was typed beside it.
            out["owner_name"] = await self._owner(ctx, out["owner_user_id"])
        return out

    # ---- changing

    async def create(self, ctx: TenantContext, values: RiskPatch, *, actor: Actor) -> Risk:
        """A new risk from every field given (a residual rating left out or null: the
        inherent one, nothing being in place yet)."""
        given = values.given()
        for name in ("residual_likelihood", "residual_impact"):
            if given.get(name) is None:
                given[name] = given.get(name.removeprefix("residual_"))
        for required in ("title", "likelihood", "impact", "treatment"):
            given.setdefault(required, None)
        given.setdefault("status", "open")
        cleaned = await self._checked(ctx, given)
        risk = Risk(tenant_id=ctx.tenant.id, id=new_id(), updated_by_name=actor.name, **cleaned)
        self.session.add(risk)
        await self.session.flush()
        await self._recorded(
            ctx, risk, "created", AuditAction.COMPLIANCE_RISK_CREATED, set_to(**cleaned), actor
        )
        return risk

    async def update(
        self, ctx: TenantContext, risk_id: str | uuid.UUID, changes: RiskPatch, *, actor: Actor
    ) -> Risk:
        risk = await self.get(ctx, risk_id)
        cleaned = await self._checked(ctx, changes.given())
        if (
            "owner_user_id" not in cleaned
            and "owner_name" in cleaned
            and cleaned["owner_name"] != risk.owner_name
        ):
            # Another name typed in: the owner is that name, no longer a person's login.
            cleaned["owner_user_id"] = None
        diff = [(k, getattr(risk, k), v) for k, v in cleaned.items() if getattr(risk, k) != v]
        if not diff:
            return risk
        for key, _, new in diff:
            setattr(risk, key, new)
        risk.updated_by_name = actor.name
        await self.session.flush()
        await self._recorded(
            ctx, risk, "updated", AuditAction.COMPLIANCE_RISK_UPDATED, of_pairs(diff), actor
        )
        return risk

    async def delete(self, ctx: TenantContext, risk_id: str | uuid.UUID, *, actor: Actor) -> None:
        risk = await self.get(ctx, risk_id)
        last = {
            k: getattr(risk, k)
            for k in (
                "title",
                "likelihood",
                "impact",
                "treatment",
                "status",
                "residual_likelihood",
                "residual_impact",
                "owner_name",
                "next_review_on",
            )
        }
        await repository.delete_risk(self.session, ctx.tenant.id, risk.id)
        await record(
            self.session,
            tenant_id=ctx.tenant.id,
            actor=actor,
            action=AuditAction.COMPLIANCE_RISK_DELETED,
            target_type="compliance_risk",
            target_id=risk.id,
            target_label=risk.title,
            changes=removed(**last),
        )

    async def link(
        self, ctx: TenantContext, risk_id: str | uuid.UUID, target: RiskLinkIn, *, actor: Actor
    ) -> RiskLinkOut:
        """Link the risk to one requirement or measure of this same tenant; one of
        another tenant (or none) is refused naming the field, and nothing is stored."""
        risk = await self.get(ctx, risk_id)
        if (target.requirement_id is None) == (target.measure_id is None):
            raise ValidationFailed("requirement_id", "give a requirement_id or a measure_id")
        key = ref = ""
        if target.requirement_id is not None:
            found = await repository.requirement(self.session, ctx.tenant.id, target.requirement_id)
            if found is None:
                raise ValidationFailed("requirement_id", "is not a requirement of this tenant")
            requirement, key = found
            ref, title = requirement.ref, requirement.title
        else:
            assert target.measure_id is not None
            measure = await repository.measure(self.session, ctx.tenant.id, target.measure_id)
            if measure is None:
                raise ValidationFailed("measure_id", "is not an applied measure of this tenant")
            title = measure.title
        existing = await repository.link_to(
            self.session,
            ctx.tenant.id,
            risk.id,
            requirement_id=target.requirement_id,
            measure_id=target.measure_id,
        )
        if existing is not None:
            field = "requirement_id" if target.requirement_id is not None else "measure_id"
            raise ValidationFailed(field, "is already linked to this risk")
        link = RiskLink(
            tenant_id=ctx.tenant.id,
            id=new_id(),
            risk_id=risk.id,
            requirement_id=target.requirement_id,
            measure_id=target.measure_id,
        )
        self.session.add(link)
        await self.session.flush()
        changes = set_to(**_link_changes(link, ref, title))
        await self._recorded(
            ctx, risk, "linked", AuditAction.COMPLIANCE_RISK_LINKED, changes, actor
        )
        return _link_out(link, key, ref, title)

    async def unlink(
        self,
        ctx: TenantContext,
        risk_id: str | uuid.UUID,
        link_id: str | uuid.UUID,
        *,
        actor: Actor,
    ) -> None:
        risk = await self.get(ctx, risk_id)
        link = await repository.link_by_id(
            self.session, ctx.tenant.id, risk.id, _parse_id(link_id, "link")
        )
        if link is None:
            raise NotFound("No such link.")
        shown = {view.id: view for view in await self.links(ctx, risk.id)}.get(link.id)
        ref, title = (shown.ref, shown.title) if shown is not None else ("", "")
        await repository.delete_link(self.session, ctx.tenant.id, link.id)
        changes = removed(**_link_changes(link, ref, title))
        await self._recorded(
            ctx, risk, "unlinked", AuditAction.COMPLIANCE_RISK_UNLINKED, changes, actor
        )

    async def _recorded(
        self,
        ctx: TenantContext,
        risk: Risk,
        kind: str,
        action: AuditAction,
        made: Changes,
        actor: Actor,
    ) -> None:
        """The change in the risk's history and in the audit trail."""
        self.session.add(
            RiskChange(
                tenant_id=ctx.tenant.id,
                id=new_id(),
                risk_id=risk.id,
                action=kind,
                changes=stored(made),
                actor_user_id=actor.user_id,
                actor_name=actor.name,
            )
        )
        await record(
            self.session,
            tenant_id=ctx.tenant.id,
            actor=actor,
            action=action,
            target_type="compliance_risk",
            target_id=risk.id,
            target_label=risk.title,
            changes=made,
        )


def _link_changes(link: RiskLink, ref: str, title: str) -> dict[str, Any]:
    if link.requirement_id is not None:
        return {"requirement_id": link.requirement_id, "requirement": f"{ref} {title}".strip()}
    return {"measure_id": link.measure_id, "measure": title}


def _link_out(link: RiskLink, key: str, ref: str, title: str) -> RiskLinkOut:
    is_requirement = link.requirement_id is not None
    target = link.requirement_id if is_requirement else link.measure_id
    assert target is not None
    return RiskLinkOut(
        id=link.id,
        risk_id=link.risk_id,
        kind="requirement" if is_requirement else "measure",
        target_id=target,
        ref=ref,
        framework_key=key,
        title=title,
        created_at=link.created_at,
    )
