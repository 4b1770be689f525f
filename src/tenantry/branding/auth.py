"""Who may reach the branding routes and pages, named once (scope="function": the unit
of work commits when the route returns, before the response leaves)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from tenantry.http.deps import Work, in_home, in_tenant

BrandingRead = Annotated[Work, Depends(in_tenant("tenant:read"), scope="function")]
BrandingManage = Annotated[Work, Depends(in_tenant("settings:manage"), scope="function")]
# The settings page, at home.
HomeBrandingManage = Annotated[Work, Depends(in_home("settings:manage"), scope="function")]
