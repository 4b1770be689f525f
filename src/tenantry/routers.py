"""Every domain's routers, in one list the app mounts (API first, then pages)."""

from __future__ import annotations

from fastapi import APIRouter


def all_routers() -> list[APIRouter]:
    from tenantry.tenancy import routes as tenancy_routes

    return [tenancy_routes.router]
