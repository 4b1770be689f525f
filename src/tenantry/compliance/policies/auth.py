"""Markers of the policies routes beyond the compliance ones: acknowledging a published
policy (and reading the published text on the pages) needs only ``tenant:read``, which
every role holds: a client wants every one of its people to acknowledge, not only those
who may see its whole compliance programme."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from tenantry.http.deps import Work, in_tenant

TenantRead = Annotated[Work, Depends(in_tenant("tenant:read"), scope="function")]
