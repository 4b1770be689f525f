"""Access pages, one module per page family: roles, users & access (grants and the
delegations on a customer), user and client groups, the review and explanations.
Thin: the rules are in AccessAdmin and WhyService; these routes turn forms into calls
and errors into fields, and redirect after a change."""

from fastapi import APIRouter

from tenantry.access.pages import grants, groups, review, roles

router = APIRouter(include_in_schema=False)
for _family in (roles, grants, groups, review):
    router.include_router(_family.router)

__all__ = ["router"]
