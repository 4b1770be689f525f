"""Plans, usage and requests in and out; the problems a limit or a lapsed subscription
answers with."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from tenantry.billing.models import FEATURES, SubscriptionStatus
from tenantry.errors import Conflict, PermissionDenied, ValidationFailed

LIMIT_WORDS = {
    "clients": "client tenants",
    "seats": "technician seats",
    "storage": "evidence storage (bytes)",
}


class LimitReached(Conflict):
    """409: the change would take the MSP over one of its plan's limits."""

    type_slug = "limit-reached"
    title = "Plan limit reached"

    def __init__(self, *, limit_name: str, limit: int, usage: int, plan: str, adding: int):
        words = LIMIT_WORDS[limit_name]
        super().__init__(
            f"The plan '{plan}' allows {limit} {words}; {usage} are in use, so "
            f"{adding} more would go over the limit. Ask for more on the Billing and "
            "subscription page (/msp/billing).",
            limit=limit_name,
            allowed=limit,
            usage=usage,
            plan=plan,
        )


class SubscriptionLapsed(PermissionDenied):
    """403: the caller's MSP may read but not change anything until it is active again."""

    type_slug = "subscription-lapsed"
    title = "Subscription not active"

    def __init__(self, msp_name: str, status: str) -> None:
        super().__init__(
            f"The subscription of {msp_name} is {status}: its staff can read but not change "
            "anything until the instance operator makes it active again. Nothing was deleted.",
            reason="subscription-lapsed",
            subscription_status=status,
        )


def check_features(features: list[str] | None) -> list[str]:
    chosen = sorted({f.strip().lower() for f in features or [] if f.strip()})
    unknown = [f for f in chosen if f not in FEATURES]
    if unknown:
        raise ValidationFailed(
            "features", f"unknown feature(s) {', '.join(unknown)}: use {', '.join(FEATURES)}"
        )
    return chosen


def check_status(status: str) -> SubscriptionStatus:
    try:
        return SubscriptionStatus(status.strip().lower())
    except ValueError:
        raise ValidationFailed(
            "status", f"must be one of {', '.join(s.value for s in SubscriptionStatus)}"
        ) from None


def check_limit_value(value: int | None, field: str) -> int | None:
    if value is not None and value < 0:
        raise ValidationFailed(field, "must be 0 or more (leave it out for unlimited)")
    return value


def check_plan_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise ValidationFailed("name", "must not be empty")
    if len(cleaned) > 100:
        raise ValidationFailed("name", "must be at most 100 characters long")
    return cleaned


class PlanIn(BaseModel):
    name: str = Field(max_length=200)
    max_clients: int | None = None
    max_seats: int | None = None
    max_storage_bytes: int | None = None
    features: list[str] = Field(default_factory=list)
    trial_days: int | None = None


class PlanChange(BaseModel):
    """Only the fields given change; ``unlimited`` lists limits to clear."""

    name: str | None = Field(default=None, max_length=200)
    max_clients: int | None = None
    max_seats: int | None = None
    max_storage_bytes: int | None = None
    features: list[str] | None = None
    trial_days: int | None = None
    unlimited: list[str] = Field(default_factory=list)


class PlanOut(BaseModel):
    id: uuid.UUID
    name: str
    max_clients: int | None
    max_seats: int | None
    max_storage_bytes: int | None
    features: list[str]
    trial_days: int | None


@dataclass(frozen=True, slots=True)
class LimitUsage:
    used: int
    limit: int | None

    @property
    def percent(self) -> int | None:
        if self.limit is None:
            return None
        if self.limit == 0:
            return 100
        return min(999, self.used * 100 // self.limit)

    def as_dict(self) -> dict[str, Any]:
        return {"used": self.used, "limit": self.limit, "percent": self.percent}


@dataclass(frozen=True, slots=True)
class PlanUsage:
    """An MSP's plan and its usage; None limits are unlimited (also: no subscription)."""

    plan: str | None
    status: str | None
    clients: LimitUsage
    seats: LimitUsage
    storage: LimitUsage
    features: tuple[str, ...] = ()

    def of(self, name: str) -> LimitUsage:
        return {"clients": self.clients, "seats": self.seats, "storage": self.storage}[name]


class UsageOut(BaseModel):
    used: int
    limit: int | None
    percent: int | None


class ChangeOut(BaseModel):
    at: datetime
    action: str
    actor: str
    changes: dict[str, Any]


class RequestOut(BaseModel):
    id: uuid.UUID
    status: str
    plan: str | None
    seats: int | None
    note: str
    requested_by: str
    created_at: datetime
    decided_at: datetime | None
    decision_note: str


class BillingOut(BaseModel):
    plan: str | None
    status: str | None
    seats_override: int | None
    started_at: datetime | None
    ends_at: datetime | None
    features: list[str]
    clients: UsageOut
    seats: UsageOut
    storage: UsageOut
    history: list[ChangeOut]
    requests: list[RequestOut]


class RequestIn(BaseModel):
    plan: str | None = Field(default=None, max_length=200)
    seats: int | None = Field(default=None)
    note: str = Field(default="", max_length=1000)
