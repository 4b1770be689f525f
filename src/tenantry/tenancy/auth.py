"""Who may reach tenancy's routes and pages, named once. Every marker runs with
scope="function": the unit of work commits when the route returns, before the response
(or the redirect a browser follows) leaves."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from tenantry.http.deps import Work, in_home, in_tenant

# The API, in the tenant of the path.
TenantRead = Annotated[Work, Depends(in_tenant("tenant:read"), scope="function")]
CustomersRead = Annotated[Work, Depends(in_tenant("customers:read"), scope="function")]
CustomersCreate = Annotated[Work, Depends(in_tenant("customers:create"), scope="function")]
CustomersManage = Annotated[Work, Depends(in_tenant("customers:manage"), scope="function")]
CustomersDelete = Annotated[Work, Depends(in_tenant("customers:delete"), scope="function")]

# The pages: a tenant's overview (also while suspended), and the MSP's customers at home.
OverviewRead = Annotated[
    Work, Depends(in_tenant("tenant:read", allow_suspended=True), scope="function")
]
HomeCustomersRead = Annotated[Work, Depends(in_home("customers:read"), scope="function")]
HomeCustomersCreate = Annotated[Work, Depends(in_home("customers:create"), scope="function")]
HomeCustomersManage = Annotated[Work, Depends(in_home("customers:manage"), scope="function")]
HomeCustomersDelete = Annotated[Work, Depends(in_home("customers:delete"), scope="function")]
