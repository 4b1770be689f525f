"""Who may reach the service plan routes and pages. The plans are the MSP's records:
read with customers:read at the MSP, changed with rates:manage (MSP-owned inside a
client, access rule 10); a client's people read their own plan with invoices:read."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from tenantry.http.deps import Work, in_home, in_tenant

PlansRead = Annotated[Work, Depends(in_tenant("customers:read"), scope="function")]
PlansManage = Annotated[Work, Depends(in_tenant("rates:manage"), scope="function")]
# ``/msp/service-plans``: the same permissions in the caller's home tenant.
HomePlansRead = Annotated[Work, Depends(in_home("customers:read"), scope="function")]
HomePlansManage = Annotated[Work, Depends(in_home("rates:manage"), scope="function")]
# The client's side (``/api/v1/tenants/{client}/service-plan``).
ClientPlanRead = Annotated[Work, Depends(in_tenant("invoices:read"), scope="function")]
