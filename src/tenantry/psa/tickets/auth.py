"""Who may reach the tickets routes and pages: one named marker per permission, declared
once (``work: auth.TicketsRead``) instead of repeating the dependency on every route."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from tenantry.http.deps import Work, in_home, in_tenant

TicketsRead = Annotated[Work, Depends(in_tenant("tickets:read"), scope="function")]
TicketsWrite = Annotated[Work, Depends(in_tenant("tickets:write"), scope="function")]
# The SLA policy is read with the tickets and changed with sla:manage (MSP-owned inside
# a managed client: the MSP promises the targets).
SlaManage = Annotated[Work, Depends(in_tenant("sla:manage"), scope="function")]
# MSP-wide pages (``/msp/tickets``): tickets:read in the caller's home tenant.
MspTicketsRead = Annotated[Work, Depends(in_home("tickets:read"), scope="function")]
