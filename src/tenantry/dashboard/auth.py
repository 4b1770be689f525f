"""Who may reach the dashboard: anyone at home in an MSP (every role gives tenant:read);
the clients shown are those the caller reaches (service.covered)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from tenantry.http.deps import Work, in_home

MspDashboardRead = Annotated[Work, Depends(in_home("tenant:read"), scope="function")]
