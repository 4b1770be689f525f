"""Links pages: an MSP's links to its clients (``/msp/links``) with the form that asks
to manage an existing tenant, and a customer's "Your MSP" page (``/t/<slug>/msp``) where
its own people approve, narrow, decline or revoke. Thin: the rules are in LinkService;
these routes turn forms into calls and errors into fields."""

from __future__ import annotations

from fastapi import APIRouter

from tenantry.links.pages import customer, msp
from tenantry.links.pages.common import describe

__all__ = ["describe", "router"]

router = APIRouter(include_in_schema=False)
router.include_router(msp.router)
router.include_router(customer.router)
