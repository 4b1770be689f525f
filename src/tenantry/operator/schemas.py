"""Bodies of the operator API."""

from __future__ import annotations

from pydantic import BaseModel, Field

from tenantry.billing.schemas import BillingOut, RequestOut


class SubscriptionIn(BaseModel):
    """Put an MSP on a plan, as ``tenantry tenants license SLUG --plan NAME``: ``seats``
    overrides the plan's seat limit (left out: the plan's); ``status`` active, trial,
    lapsed or suspended (left out: active for a new subscription, else unchanged)."""

    plan: str = Field(max_length=200)
    seats: int | None = None
    status: str | None = Field(default=None, max_length=16)


class DecisionIn(BaseModel):
    note: str = Field(default="", max_length=1000)


class SubscriptionOut(BillingOut):
    msp: str


class OperatorRequestOut(RequestOut):
    msp: str
