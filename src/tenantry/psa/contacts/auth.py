"""Who may reach the contacts routes and pages: one named marker per permission."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from tenantry.http.deps import Work, in_tenant

ContactsRead = Annotated[Work, Depends(in_tenant("contacts:read"), scope="function")]
ContactsWrite = Annotated[Work, Depends(in_tenant("contacts:write"), scope="function")]
