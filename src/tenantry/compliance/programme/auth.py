"""The MSP-level marker of the programme: applying a framework to many clients is done at
home (``/msp/compliance/apply``); each client is then decided on its own (apply.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from tenantry.http.deps import Work, in_home

MspComplianceWrite = Annotated[Work, Depends(in_home("compliance:write"), scope="function")]
