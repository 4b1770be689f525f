"""Who may reach identity's routes and pages, named once. Every marker runs with
scope="function": the unit of work commits when the route returns, before the response
(or the redirect a browser follows) leaves."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from tenantry.http.deps import (
    SelfWork,
    Work,
    in_home,
    in_tenant,
    signed_in,
    signed_in_pending_mfa,
)

# The caller's own account: fully signed in, or still owing the second factor.
SelfOnly = Annotated[SelfWork, Depends(signed_in, scope="function")]
SelfPending = Annotated[SelfWork, Depends(signed_in_pending_mfa, scope="function")]

# Invitations to the tenant of the path.
UsersManage = Annotated[Work, Depends(in_tenant("users:manage"), scope="function")]

# The home security policy: read in any tenant, changed by its own admins.
TenantRead = Annotated[Work, Depends(in_tenant("tenant:read"), scope="function")]
SettingsManage = Annotated[Work, Depends(in_tenant("settings:manage"), scope="function")]
HomeSettingsManage = Annotated[Work, Depends(in_home("settings:manage"), scope="function")]
