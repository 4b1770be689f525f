"""The programme's pages, one file per page family: home and frameworks (with the
assessment pages), measures, the report, and the MSP's apply form. Thin: the rules are
in the services."""

from __future__ import annotations

from fastapi import APIRouter

from tenantry.compliance.programme.pages import apply, frameworks, measures, report

router = APIRouter(include_in_schema=False)
for family in (frameworks, measures, report, apply):
    router.include_router(family.router)
