"""Operator tokens: the instance operator's bearer credentials for ``/api/v1/operator``.

A platform table: an operator token belongs to no tenant (the operator stands outside
every tenant), so it is outside row-level security and reached only through
``operator/repository.py``. Only the secret's digest is stored."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.db.base import Base, PlatformTable, new_id, utcnow


class OperatorToken(PlatformTable, Base):
    __tablename__ = "operator_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100))
    # First characters of the secret, shown in lists so the operator can tell them apart.
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
