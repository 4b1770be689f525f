"""The port through which tenancy, links, identity and evidence ask the MSP's plan for
room before they add a client, a seat or stored bytes.

Those domains sit below billing (billing counts their rows), so they cannot import its
service without a cycle. They call ``ensure_room`` here; billing's service installs the
guard when it is imported (the app, the CLI and the tests all import it through
``tenantry.http.deps`` or the CLI). No guard installed: nothing is limited.
"""

from __future__ import annotations

import uuid
from typing import Literal, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

LimitName = Literal["clients", "seats", "storage"]


class Guard(Protocol):
    async def __call__(
        self,
        session: AsyncSession,
        msp_id: uuid.UUID | None,
        limit: LimitName,
        *,
        adding: int,
        msp_name: str,
        tenant_id: uuid.UUID | None = None,
    ) -> None: ...


_guard: list[Guard] = []


def install(guard: Guard) -> None:
    _guard[:] = [guard]


async def ensure_room(
    session: AsyncSession,
    msp_id: uuid.UUID | None,
    limit: LimitName,
    *,
    adding: int = 1,
    msp_name: str = "",
    tenant_id: uuid.UUID | None = None,
) -> None:
    """409 ``limit-reached`` when adding ``adding`` units of ``limit`` would take the
    MSP over its plan (``msp_id`` None with ``tenant_id``: the MSP managing that
    tenant, or the tenant itself if it is an MSP; negative ``adding`` for storage
    gives bytes back)."""
    for guard in _guard:
        await guard(session, msp_id, limit, adding=adding, msp_name=msp_name, tenant_id=tenant_id)
