"""Who may reach the links routes and pages, named once (scope="function": the unit of
work commits when the route returns, so the page a POST redirects to shows the change).
Reading needs ``tenant:read`` (a customer's people may always know who manages it);
the service narrows what each caller sees."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from tenantry.http.deps import Work, in_home, in_tenant

LinksRead = Annotated[Work, Depends(in_tenant("tenant:read"), scope="function")]
LinksManage = Annotated[Work, Depends(in_tenant("links:manage"), scope="function")]
HistoryRead = Annotated[Work, Depends(in_tenant("audit:read"), scope="function")]

# The MSP's own pages, at home.
MspLinksRead = Annotated[Work, Depends(in_home("customers:read"), scope="function")]
MspLinksManage = Annotated[Work, Depends(in_home("links:manage"), scope="function")]
