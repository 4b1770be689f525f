"""Who may reach the time routes and pages: one named marker per permission."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from tenantry.http.deps import Work, in_tenant

TimeRead = Annotated[Work, Depends(in_tenant("time:read"), scope="function")]
TimeWrite = Annotated[Work, Depends(in_tenant("time:write"), scope="function")]
TimeApprove = Annotated[Work, Depends(in_tenant("time:approve"), scope="function")]
# Work types carry hourly rates: billing data, changed with invoices:write.
RatesWrite = Annotated[Work, Depends(in_tenant("invoices:write"), scope="function")]
