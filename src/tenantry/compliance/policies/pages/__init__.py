"""Policy pages, one file per page family: a tenant's policies (list, one policy, its
editor) and the MSP's templates. Thin: the rules are in the services."""

from __future__ import annotations

from fastapi import APIRouter

from tenantry.compliance.policies.pages import msp_templates, policies

router = APIRouter(include_in_schema=False)
for family in (policies, msp_templates):
    router.include_router(family.router)
