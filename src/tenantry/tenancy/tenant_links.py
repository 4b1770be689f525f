"""The only reader and writer of ``tenant_links`` rows. The consent rules (who may ask,
approve, narrow or end a link, and the audit events that say so) live in ``links/``;
creating a customer lives in ``TenancyService``. Both create and change links here, so
one function makes a link and every state change is spelled once."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.db.base import utcnow
from tenantry.tenancy import repository
from tenantry.tenancy.models import LinkState, Tenant, TenantLink

LIVE = repository.LIVE
ENDED = repository.ENDED

LinkWithParties = tuple[TenantLink, Tenant, Tenant]


class TenantLinkService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # ------------------------------------------------------------ reads

    async def with_parties(
        self, link_id: uuid.UUID, *, for_update: bool = False
    ) -> LinkWithParties | None:
        """A link with its MSP and customer; ``for_update`` locks the link row so that
        two decisions on it run one after the other."""
        return await repository.link_with_parties(self.session, link_id, for_update=for_update)

    async def page(
        self,
        *,
        msp_id: uuid.UUID | None = None,
        customer_id: uuid.UUID | None = None,
        party_id: uuid.UUID | None = None,
        states: Sequence[LinkState] = (),
        before_id: uuid.UUID | None = None,
        limit: int,
    ) -> Sequence[LinkWithParties]:
        return await repository.links_page(
            self.session,
            msp_id=msp_id,
            customer_id=customer_id,
            party_id=party_id,
            states=states,
            before_id=before_id,
            limit=limit,
        )

    async def every(self, tenant_id: uuid.UUID | None = None) -> Sequence[LinkWithParties]:
        """Every link (the operator's list), or those with ``tenant_id`` at either end."""
        return await repository.all_links(self.session, tenant_id)

    async def due_ids(self, before: datetime) -> Sequence[uuid.UUID]:
        return await repository.due_link_ids(self.session, before)

    async def live_of(self, customer_id: uuid.UUID) -> TenantLink | None:
        """The customer's pending or active link (at most one)."""
        return await repository.live_link_of(self.session, customer_id)

    async def active(self, msp_id: uuid.UUID, customer_id: uuid.UUID) -> TenantLink | None:
        return await repository.active_link(self.session, msp_id, customer_id)

    # ------------------------------------------------------------ the one way to make a link

    async def open(
        self,
        *,
        msp_id: uuid.UUID,
        customer_id: uuid.UUID,
        ceiling: Sequence[str] | None,
        created_by: uuid.UUID | None,
        requested_ceiling: Sequence[str] = (),
        duration_days: int | None = None,
        msp_auto_extend: bool = False,
        flagged: bool = False,
    ) -> TenantLink:
        """A new link, flushed. With a ``ceiling`` it is active at once (a customer the MSP
        created); without one it is a pending request for ``requested_ceiling``, and
        nothing is consented until the customer approves. A second live link for one
        customer fails the flush (a partial unique index): the caller says why."""
        now = utcnow()
        active = ceiling is not None
        link = TenantLink(
            msp_tenant_id=msp_id,
            customer_tenant_id=customer_id,
            state=LinkState.ACTIVE if active else LinkState.PENDING,
            ceiling=sorted(ceiling or []),
            # A created customer's link was asked for what it starts with.
            requested_ceiling=sorted(ceiling) if active and ceiling else list(requested_ceiling),
            duration_days=duration_days,
            msp_auto_extend=msp_auto_extend,
            flagged_by_operator=flagged,
            created_by_user_id=created_by,
            created_at=now,
            activated_at=now if active else None,
        )
        self.session.add(link)
        await self.session.flush()
        return link

    # ------------------------------------------------------------ state changes

    async def activate(
        self,
        link: TenantLink,
        *,
        ceiling: list[str],
        customer_auto_extend: bool,
        decided_by: uuid.UUID | None,
    ) -> None:
        """The customer approved: active with ``ceiling``, for the asked duration."""
        now = utcnow()
        link.state = LinkState.ACTIVE
        link.ceiling = ceiling
        link.activated_at = now
        link.expires_at = now + timedelta(days=link.duration_days) if link.duration_days else None
        link.customer_auto_extend = customer_auto_extend
        link.decided_by_user_id = decided_by
        link.decided_at = now
        await self.session.flush()

    async def narrow(
        self, link: TenantLink, *, ceiling: list[str], decided_by: uuid.UUID | None
    ) -> None:
        link.ceiling = ceiling
        link.decided_by_user_id = decided_by
        link.decided_at = utcnow()
        await self.session.flush()

    async def end(
        self,
        link: TenantLink,
        *,
        decided_by: uuid.UUID | None = None,
        ended_by: uuid.UUID | None = None,
    ) -> None:
        """Revoked (or declined) now. The row keeps what was consented, as history.
        ``decided_by``: someone of the customer's side, who is then on record;
        ``ended_by``: whoever ended it, on either side."""
        now = utcnow()
        link.state = LinkState.REVOKED
        link.ended_at = now
        link.ended_by_user_id = ended_by or decided_by
        if decided_by is not None:
            link.decided_by_user_id = decided_by
            link.decided_at = now
        await self.session.flush()

    async def extend(self, link: TenantLink, expires_at: datetime) -> None:
        link.expires_at = expires_at
        await self.session.flush()

    async def expire(self, link: TenantLink) -> None:
        """Lapsed: ended at the instant it expired."""
        link.state = LinkState.EXPIRED
        link.ended_at = link.expires_at
        await self.session.flush()
