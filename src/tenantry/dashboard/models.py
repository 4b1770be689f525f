"""``msp_dashboard_rows``: one row per (MSP, client), owned by the MSP.

The MSP's dashboard reads these rows under the MSP's own single-tenant scope: no
multi-tenant policy list of 10,000 ids and no scan of the clients' tickets or scores.
They are kept by the change in the client, in its transaction (``keeping.py``): ticket
moves add to ``open``/``breached``; a kept compliance score rewrites ``scores``; an MSP
technician's audited action moves ``last_activity_at``. One row per client, not one per
MSP, so two clients' changes never wait for each other."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.db.base import Base, TenantOwned, utcnow


class ClientRollup(TenantOwned, Base):
    """One client's dashboard figures, in its managing MSP's tenant."""

    __tablename__ = "msp_dashboard_rows"

    # No foreign key: a row outlives nothing it should (deleting the client deletes it,
    # keeping.forget_client), and a client whose link ended is no longer shown.
    client_id: Mapped[uuid.UUID]
    # Open tickets, and of them those with a breach flag (the breach sweep flags the
    # overdue ones within its interval; ticket_open_counts keeps the same figures).
    open: Mapped[int] = mapped_column(Integer, default=0)
    breached: Mapped[int] = mapped_column(Integer, default=0)
    # Per adopted framework [key, title, score_bp or None, recent scores (oldest first)],
    # by key; and the mean of the scored ones (basis points), for sorting and the total.
    scores: Mapped[list[Any]] = mapped_column(JSON, default=list)
    score_bp: Mapped[int | None] = mapped_column(Integer, default=None)
    # When one of the MSP's people last acted in the client (an audited action), and who.
    last_activity_at: Mapped[datetime | None] = mapped_column(default=None)
    last_activity_by: Mapped[str | None] = mapped_column(String(200), default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("tenant_id", "client_id"),)
