"""Who may reach the billing routes and pages: the MSP's billing:manage at home. Asking
for more stays possible when the subscription lapsed (that is how it is mended)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from tenantry.http.deps import Work, in_home

BillingRead = Annotated[Work, Depends(in_home("billing:manage"), scope="function")]
BillingAsk = Annotated[
    Work, Depends(in_home("billing:manage", allow_lapsed=True), scope="function")
]
