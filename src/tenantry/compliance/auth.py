"""Who may reach the compliance routes and pages: one named marker per permission."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from tenantry.http.deps import Work, in_home, in_tenant

ComplianceRead = Annotated[Work, Depends(in_tenant("compliance:read"), scope="function")]
ComplianceWrite = Annotated[Work, Depends(in_tenant("compliance:write"), scope="function")]
ComplianceApprove = Annotated[Work, Depends(in_tenant("compliance:approve"), scope="function")]
# The MSP's overview across clients (``/msp/compliance``): compliance:read at home; the
# clients shown are those where the caller holds compliance:read (access.scopes).
MspComplianceRead = Annotated[Work, Depends(in_home("compliance:read"), scope="function")]
