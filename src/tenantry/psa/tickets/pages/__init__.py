"""Ticket pages, one file per page family: the list (with CSV, new ticket, bulk bar),
one ticket, the MSP-wide list and the SLA policy. Thin: the rules are in the services.

Included in this order: ``/t/{tenant}/tickets/bulk`` is matched before
``/t/{tenant}/tickets/{number}``."""

from __future__ import annotations

from fastapi import APIRouter

from tenantry.psa.tickets.pages import listing, msp, sla, ticket

router = APIRouter(include_in_schema=False)
for family in (listing, ticket, msp, sla):
    router.include_router(family.router)
