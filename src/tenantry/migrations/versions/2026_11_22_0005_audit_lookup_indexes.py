"""Audit: indexes for the two cross-cutting lookups.

* ``(tenant_id, target_type, target_id, seq)``: a link's history (both sides read the
  events whose target is the link) and "what happened to this ticket".
* ``(tenant_id, actor_home_tenant_id, occurred_at)``: the MSP-wide view of its
  technicians' events, newest first, under a multi-tenant scope; per tenant the
  filter on the MSP and the order by time are both served by the index.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 09:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_OWNED_TABLES: tuple[str, ...] = ()


def upgrade() -> None:
    op.create_index(
        "ix_audit_events_tenant_id_target",
        "audit_events",
        ["tenant_id", "target_type", "target_id", "seq"],
    )
    op.create_index(
        "ix_audit_events_tenant_id_actor_home_tenant_id",
        "audit_events",
        ["tenant_id", "actor_home_tenant_id", "occurred_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_audit_events_tenant_id_actor_home_tenant_id", "audit_events")
    op.drop_index("ix_audit_events_tenant_id_target", "audit_events")
