"""Who may reach the notification routes and pages, named once: any signed-in person,
for their own notifications only (scope="function": the unit of work commits when the
route returns, before the response leaves)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from tenantry.http.deps import SelfWork, signed_in

OwnNotifications = Annotated[SelfWork, Depends(signed_in, scope="function")]
