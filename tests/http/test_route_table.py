"""Access rule 1: every route names the permission it needs, or is explicitly public."""

from __future__ import annotations

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from tenantry.app import create_app
from tenantry.config import Settings
from tenantry.http.deps import AccessMarker, InTenant


def _markers(dependant: Dependant) -> list[AccessMarker]:
    found = [dependant.call] if isinstance(dependant.call, AccessMarker) else []
    for sub in dependant.dependencies:
        found.extend(_markers(sub))
    return found


def _unit_of_work_scopes(dependant: Dependant) -> list[str | None]:
    """The FastAPI scope of each marker that opens a unit of work."""
    found = []
    if isinstance(dependant.call, AccessMarker) and not dependant.call.public:
        found.append(dependant.scope)
    for sub in dependant.dependencies:
        found.extend(_unit_of_work_scopes(sub))
    return found


def api_routes() -> list[APIRoute]:
    app = create_app(Settings(database_url="sqlite:///:memory:"))
    return [
        ctx.original_route
        for ctx in iter_route_contexts(app.routes)
        if isinstance(ctx.original_route, APIRoute)
    ]


def test_every_route_names_its_permission_or_is_public() -> None:
    unnamed = []
    for route in api_routes():
        markers = _markers(route.dependant)
        if len(markers) != 1:
            unnamed.append(f"{sorted(route.methods)} {route.path}: {len(markers)} markers")
    assert not unnamed, "routes without exactly one access marker:\n" + "\n".join(unnamed)


def test_units_of_work_commit_before_the_response_is_sent() -> None:
    # With FastAPI's default ("request") a yield dependency exits after the response has
    # left: a client could see 200 for a change whose commit then failed.
    late = [
        f"{sorted(route.methods)} {route.path}"
        for route in api_routes()
        if any(scope != "function" for scope in _unit_of_work_scopes(route.dependant))
    ]
    assert not late, 'use Depends(marker, scope="function") on:\n' + "\n".join(late)


def test_tenant_routes_take_the_tenant_from_the_path() -> None:
    for route in api_routes():
        for marker in _markers(route.dependant):
            if isinstance(marker, InTenant) and not marker.home:
                assert "{tenant}" in route.path, route.path


def test_openapi_document_is_served_by_the_app() -> None:
    app = create_app(Settings(database_url="sqlite:///:memory:"))
    schema = app.openapi()
    assert schema["info"]["title"] == "Tenantry"
    assert "/api/v1/tenants/{tenant}/customers" in schema["paths"]
