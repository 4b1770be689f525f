"""Audit vocabulary: stable event types, who acted, and how a trail is filtered."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class AuditAction(enum.StrEnum):
    """Stable event types. Values are stored; never rename one, add a new one."""

    TENANT_CREATED = "tenant.created"
    TENANT_RENAMED = "tenant.renamed"
    TENANT_SUSPENDED = "tenant.suspended"
    TENANT_RESUMED = "tenant.resumed"
    TENANT_DELETED = "tenant.deleted"
    TENANT_LICENSE_CHANGED = "tenant.license_changed"
    TENANT_SETTINGS_CHANGED = "tenant.settings_changed"
    CUSTOMER_CREATED = "customer.created"
    CUSTOMER_DELETED = "customer.deleted"
    LINK_CREATED = "link.created"
    LINK_REQUESTED = "link.requested"
    LINK_FLAGGED = "link.flagged"
    LINK_APPROVED = "link.approved"
    LINK_DECLINED = "link.declined"
    LINK_NARROWED = "link.narrowed"
    LINK_REVOKED = "link.revoked"
    LINK_EXPIRED = "link.expired"
    LINK_EXTENDED = "link.extended"
    # A customer stops (or lets again) one technician or user group of its MSP.
    LINK_BLOCKED = "link.blocked"
    LINK_UNBLOCKED = "link.unblocked"
    USER_CREATED = "user.created"
    USER_INVITED = "user.invited"
    INVITATION_ACCEPTED = "user.invitation_accepted"
    INVITATION_REVOKED = "user.invitation_revoked"
    SIGN_IN = "auth.sign_in"
    SIGN_IN_FAILED = "auth.sign_in_failed"
    SIGN_OUT = "auth.sign_out"
    SIGN_OUT_EVERYWHERE = "auth.sign_out_everywhere"
    SESSION_REVOKED = "auth.session_revoked"
    PASSWORD_CHANGED = "auth.password_changed"  # noqa: S105 - an event name, not a secret
    MFA_ENROLLED = "auth.mfa_enrolled"
    MFA_DISABLED = "auth.mfa_disabled"
    RECOVERY_CODES_REGENERATED = "auth.recovery_codes_regenerated"
    RECOVERY_CODE_USED = "auth.recovery_code_used"
    TOKEN_CREATED = "auth.token_created"  # noqa: S105 - an event name, not a secret
    TOKEN_REVOKED = "auth.token_revoked"  # noqa: S105 - an event name, not a secret
    CONTEXT_SWITCHED = "access.context_switched"
    GRANT_CREATED = "access.grant_created"
    GRANT_REVOKED = "access.grant_revoked"
    ROLE_CREATED = "role.created"
    ROLE_UPDATED = "role.updated"
    ROLE_DELETED = "role.deleted"
    USER_GROUP_CREATED = "user_group.created"
    USER_GROUP_UPDATED = "user_group.updated"
    USER_GROUP_DELETED = "user_group.deleted"
    USER_GROUP_MEMBER_ADDED = "user_group.member_added"
    USER_GROUP_MEMBER_REMOVED = "user_group.member_removed"
    TENANT_GROUP_CREATED = "tenant_group.created"
    TENANT_GROUP_UPDATED = "tenant_group.updated"
    TENANT_GROUP_DELETED = "tenant_group.deleted"
    TENANT_GROUP_MEMBER_ADDED = "tenant_group.member_added"
    TENANT_GROUP_MEMBER_REMOVED = "tenant_group.member_removed"
    AUDIT_SETTINGS_CHANGED = "audit.settings_changed"
    AUDIT_PRUNED = "audit.pruned"
    CONTACT_CREATED = "contact.created"
    CONTACT_UPDATED = "contact.updated"
    CONTACTS_IMPORTED = "contact.imported"
    COMPLIANCE_RISK_CREATED = "compliance.risk.created"
    COMPLIANCE_RISK_UPDATED = "compliance.risk.updated"
    COMPLIANCE_RISK_DELETED = "compliance.risk.deleted"
    COMPLIANCE_RISK_LINKED = "compliance.risk.linked"
    COMPLIANCE_RISK_UNLINKED = "compliance.risk.unlinked"
    TICKET_CREATED = "ticket.created"
    TICKET_UPDATED = "ticket.updated"
    TICKET_COMMENTED = "ticket.commented"
    TICKETS_BULK_UPDATED = "ticket.bulk_updated"
    SLA_POLICY_UPDATED = "sla_policy.updated"
    WORK_TYPE_CREATED = "work_type.created"
    WORK_TYPE_UPDATED = "work_type.updated"
    TIME_ENTRY_CREATED = "time_entry.created"
    TIME_ENTRY_UPDATED = "time_entry.updated"
    TIME_ENTRY_DELETED = "time_entry.deleted"
    TIME_ENTRY_SUBMITTED = "time_entry.submitted"
    TIME_ENTRY_APPROVED = "time_entry.approved"
    TIME_ENTRY_REJECTED = "time_entry.rejected"
    RECURRING_ITEM_CREATED = "recurring_item.created"
    RECURRING_ITEM_UPDATED = "recurring_item.updated"
    SERVICE_PLAN_CREATED = "service_plan.created"
    SERVICE_PLAN_UPDATED = "service_plan.updated"
    SERVICE_PLAN_ASSIGNED = "service_plan.assigned"
    SERVICE_PLAN_UNASSIGNED = "service_plan.unassigned"
    INVOICE_CREATED = "invoice.created"
    INVOICE_DELETED = "invoice.deleted"
    INVOICE_ISSUED = "invoice.issued"
    INVOICE_PAID = "invoice.paid"
    INVOICE_VOIDED = "invoice.voided"
    BRANDING_UPDATED = "branding.updated"
    BRANDING_LOGO_UPDATED = "branding.logo_updated"
    BRANDING_LOGO_REMOVED = "branding.logo_removed"
    COMPLIANCE_EVIDENCE_ADDED = "compliance.evidence.added"
    COMPLIANCE_EVIDENCE_REMOVED = "compliance.evidence.removed"
    POLICY_CREATED = "compliance.policy.created"
    POLICY_UPDATED = "compliance.policy.updated"
    POLICY_VERSION_CREATED = "compliance.policy.version_created"
    POLICY_VERSION_UPDATED = "compliance.policy.version_updated"
    POLICY_APPROVED = "compliance.policy.approved"
    POLICY_PUBLISHED = "compliance.policy.published"
    POLICY_ACKNOWLEDGED = "compliance.policy.acknowledged"
    POLICY_TEMPLATE_CREATED = "compliance.policy_template.created"
    POLICY_TEMPLATE_UPDATED = "compliance.policy_template.updated"
    POLICY_TEMPLATE_DELETED = "compliance.policy_template.deleted"
    POLICY_TEMPLATE_COPIED = "compliance.policy_template.copied"
    AUTHORED_FRAMEWORK_CREATED = "compliance.authored_framework.created"
    AUTHORED_FRAMEWORK_IMPORTED = "compliance.authored_framework.imported"
    AUTHORED_FRAMEWORK_UPDATED = "compliance.authored_framework.updated"
    AUTHORED_FRAMEWORK_DELETED = "compliance.authored_framework.deleted"
    AUTHORED_FRAMEWORK_SHARED = "compliance.authored_framework.shared"
    AUTHORED_FRAMEWORK_UNSHARED = "compliance.authored_framework.unshared"
    AUTHORED_REQUIREMENT_ADDED = "compliance.authored_framework.requirement_added"
    AUTHORED_REQUIREMENT_UPDATED = "compliance.authored_framework.requirement_updated"
    AUTHORED_REQUIREMENT_REMOVED = "compliance.authored_framework.requirement_removed"
    COMPLIANCE_FRAMEWORK_ADOPTED = "compliance.framework.adopted"
    COMPLIANCE_FRAMEWORK_RETIRED = "compliance.framework.retired"
    # In the MSP's own trail: one apply across clients (each client's trail gets ADOPTED).
    COMPLIANCE_FRAMEWORK_APPLIED = "compliance.framework.applied"
    COMPLIANCE_ASSESSMENT_UPDATED = "compliance.assessment.updated"
    COMPLIANCE_MEASURE_CREATED = "compliance.measure.created"
    COMPLIANCE_MEASURE_UPDATED = "compliance.measure.updated"
    COMPLIANCE_MEASURE_DELETED = "compliance.measure.deleted"
    COMPLIANCE_MEASURE_MAPPED = "compliance.measure.mapped"
    COMPLIANCE_MEASURE_UNMAPPED = "compliance.measure.unmapped"
    # In the trail of every MSP on the plan (a plan nobody is on is in no trail).
    PLAN_UPDATED = "billing.plan.updated"
    SUBSCRIPTION_CHANGED = "billing.subscription.changed"
    SUBSCRIPTION_REQUESTED = "billing.subscription.requested"
    SUBSCRIPTION_REQUEST_DECIDED = "billing.subscription.request_decided"
    # MSP self sign-up: written in the new tenant's trail when its link is followed (no
    # tenant exists before); "requested" carries when and from where it was asked.
    SIGNUP_REQUESTED = "signup.requested"
    SIGNUP_VERIFIED = "signup.verified"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did it, and on what authority (stored with every event)."""

    user_id: uuid.UUID | None
    name: str
    home_tenant_id: uuid.UUID | None = None
    home_tenant_name: str | None = None
    via_grant_id: uuid.UUID | None = None
    via_link_id: uuid.UUID | None = None
    explanation: str | None = None
    request_id: str | None = None
    source_address: str | None = None
    user_agent: str | None = None


OPERATOR = Actor(user_id=None, name="instance operator (CLI)")


class AuditEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    seq: int
    tenant_id: uuid.UUID
    occurred_at: datetime
    action: str
    actor_user_id: uuid.UUID | None
    actor_name: str
    actor_home_tenant_id: uuid.UUID | None
    actor_home_tenant_name: str | None
    via_grant_id: uuid.UUID | None
    via_link_id: uuid.UUID | None
    explanation: str | None
    target_type: str | None
    target_id: str | None
    target_label: str | None
    changes: dict[str, Any]
    request_id: str | None
    source_address: str | None
    user_agent: str | None
    hash: str


class TechnicianEventOut(AuditEventOut):
    """An event in the MSP-wide view: which customer it happened in."""

    tenant_slug: str | None = None
    tenant_display_name: str | None = None


# Retention shorter than this would let someone with settings:manage shorten the trail
# and have their own recent actions pruned before anyone looked; 30 days leaves time.
MIN_RETENTION_DAYS = 30
MAX_RETENTION_DAYS = 36_500


class AuditSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    retention_days: int | None = None


class AuditSettingsOut(BaseModel):
    retention_days: int | None
    pruned_through_seq: int | None
    last_pruned_at: datetime | None


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Which events of a trail to read (the scope of the unit of work limits the tenants;
    ``tenant_ids`` narrows further)."""

    tenant_ids: tuple[uuid.UUID, ...] = ()
    actor_user_id: uuid.UUID | None = None
    actor_home_tenant_id: uuid.UUID | None = None
    # Only people at home elsewhere (an MSP's technicians in a customer's trail).
    actor_from_outside: uuid.UUID | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


ExportFormat = Literal["jsonl", "csv"]
