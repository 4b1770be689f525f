"""Access's named markers: what each access route and page needs, declared once.

Every marker is used with scope="function": the unit of work commits when the route
returns, before the response leaves. With FastAPI's default ("request") the commit runs
after the response is sent, so a browser following a POST's redirect could miss it.
Reading needs users:read (client groups: customers:read); changing roles needs
roles:manage, groups and grants users:manage, client groups customers:manage.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from tenantry.http.deps import SelfWork, Work, in_home, in_tenant, signed_in

SignedIn = Annotated[SelfWork, Depends(signed_in, scope="function")]

# In the tenant of the URL (/t/<tenant>/…, /api/v1/tenants/<tenant>/…).
Reader = Annotated[Work, Depends(in_tenant("users:read"), scope="function")]
UserManager = Annotated[Work, Depends(in_tenant("users:manage"), scope="function")]
RoleManager = Annotated[Work, Depends(in_tenant("roles:manage"), scope="function")]
CustomerReader = Annotated[Work, Depends(in_tenant("customers:read"), scope="function")]
CustomerManager = Annotated[Work, Depends(in_tenant("customers:manage"), scope="function")]

# In the user's home tenant (the MSP-level pages under /msp/…).
HomeReader = Annotated[Work, Depends(in_home("users:read"), scope="function")]
HomeUserManager = Annotated[Work, Depends(in_home("users:manage"), scope="function")]
HomeCustomerReader = Annotated[Work, Depends(in_home("customers:read"), scope="function")]
HomeCustomerManager = Annotated[Work, Depends(in_home("customers:manage"), scope="function")]
