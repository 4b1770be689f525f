"""Who may reach the time routes and pages: one named marker per permission."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from tenantry.http.deps import Work, in_tenant

TimeRead = Annotated[Work, Depends(in_tenant("time:read"), scope="function")]
TimeWrite = Annotated[Work, Depends(in_tenant("time:write"), scope="function")]
TimeApprove = Annotated[Work, Depends(in_tenant("time:approve"), scope="function")]
# Work types carry hourly rates: the MSP's prices, changed with rates:manage (MSP-owned
# inside a managed client: its own admins read them, the MSP sets them).
RatesWrite = Annotated[Work, Depends(in_tenant("rates:manage"), scope="function")]
