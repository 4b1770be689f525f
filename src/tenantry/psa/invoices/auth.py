"""Who may reach the invoice routes and pages: one named marker per permission (writing
also needs acting for the client's MSP, which InvoiceService decides)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from tenantry.http.deps import Work, in_tenant

InvoicesRead = Annotated[Work, Depends(in_tenant("invoices:read"), scope="function")]
InvoicesWrite = Annotated[Work, Depends(in_tenant("invoices:write"), scope="function")]
