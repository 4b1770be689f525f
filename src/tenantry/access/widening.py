"""Widening a running unit of work to tenants it did not start in.

A request's scope is the tenant it acts in. A few actions must also write elsewhere:
both trails of a link, a new customer's first rows, the user's own home for a
recently-used row. Each widens only after its service decided the actor may, and says
which of these reasons applies; a static test keeps every widening behind this API.
"""

from __future__ import annotations

import enum
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.db.engine import widen_scope
from tenantry.db.scope import TenantScope, session_scope


class Why(enum.StrEnum):
    """Every reason a unit of work may reach another tenant."""

    NEW_TENANT = "the tenant was created in this unit of work"
    OPERATOR = "the instance operator acts outside any grant"
    SIGN_IN = "a sign-in is recorded in the user's home tenant"
    INVITATION = "an accepted invitation creates the user in the inviting tenant"
    CUSTOMER_OF_MSP = "the MSP acts on its own customer (created, changed or deleted)"
    BOTH_TRAILS = "a link event goes to the MSP's and the customer's trails"
    DELEGATION = "a delegation into a customer is recorded in the customer's trail"
    ISSUING_MSP = "an invoice's issuing MSP numbers it and shows its logo"
    RECENT_AT_HOME = "recently used tenants are the user's home tenant's rows"
    NOTIFY = "a notification is written in its recipient's home tenant"
    BILLING = "an MSP's subscription history is the MSP's own record"
    SERVICE_PLAN = (
        "a client's service plan and counted users are its managing MSP's rows: kept "
        "current by the client's changes, billed on its invoices, shown to it read-only"
    )
    SHARED_BY_MSP = "a client reads the frameworks its managing MSP shared with its clients"
    DASHBOARD = "a change in a client moves its row of the managing MSP's dashboard"


async def widen(session: AsyncSession, *tenant_ids: uuid.UUID, why: Why) -> None:
    """Let the running unit of work also touch ``tenant_ids``, for the reason ``why``
    (the caller decided first that the actor may)."""
    current = session_scope(session.sync_session)
    await widen_scope(session, TenantScope.of(current.tenant_ids | set(tenant_ids)))
