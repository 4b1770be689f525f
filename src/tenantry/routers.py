"""Every domain's routers, in one list the app mounts (API first, then pages)."""

from __future__ import annotations

from fastapi import APIRouter

from tenantry.access import pages as access_pages
from tenantry.access import routes as access_routes
from tenantry.audit import pages as audit_pages
from tenantry.audit import routes as audit_routes
from tenantry.billing import pages as billing_pages
from tenantry.billing import routes as billing_routes
from tenantry.branding import pages as branding_pages
from tenantry.branding import routes as branding_routes
from tenantry.compliance.evidence import pages as evidence_pages
from tenantry.compliance.evidence import routes as evidence_routes
from tenantry.compliance.library import pages as library_pages
from tenantry.compliance.library import routes as library_routes
from tenantry.compliance.overview import pages as compliance_overview_pages
from tenantry.compliance.overview import routes as compliance_overview_routes
from tenantry.compliance.policies import pages as policies_pages
from tenantry.compliance.policies import routes as policies_routes
from tenantry.compliance.programme import pages as programme_pages
from tenantry.compliance.programme import routes as programme_routes
from tenantry.compliance.risks import pages as risks_pages
from tenantry.compliance.risks import routes as risks_routes
from tenantry.dashboard import pages as dashboard_pages
from tenantry.dashboard import routes as dashboard_routes
from tenantry.identity.routes import routers as identity_routers
from tenantry.links import pages as links_pages
from tenantry.links import routes as links_routes
from tenantry.notifications import pages as notifications_pages
from tenantry.notifications import routes as notifications_routes
from tenantry.operator import routes as operator_routes
from tenantry.psa.contacts import pages as contacts_pages
from tenantry.psa.contacts import routes as contacts_routes
from tenantry.psa.invoices import pages as invoices_pages
from tenantry.psa.invoices import routes as invoices_routes
from tenantry.psa.service_plans import pages as service_plans_pages
from tenantry.psa.service_plans import routes as service_plans_routes
from tenantry.psa.tickets import pages as tickets_pages
from tenantry.psa.tickets import routes as tickets_routes
from tenantry.psa.time import pages as time_pages
from tenantry.psa.time import routes as time_routes
from tenantry.signup import pages as signup_pages
from tenantry.signup import routes as signup_routes
from tenantry.tenancy import pages as tenancy_pages
from tenantry.tenancy import routes as tenancy_routes
from tenantry.web import pages as web_pages


def all_routers() -> list[APIRouter]:
    return [
        tenancy_routes.router,
        access_routes.router,
        access_routes.tenant_router,
        audit_routes.router,
        links_routes.router,
        contacts_routes.router,
        tickets_routes.router,
        time_routes.router,
        invoices_routes.router,
        service_plans_routes.router,
        branding_routes.router,
        notifications_routes.router,
        evidence_routes.router,
        risks_routes.router,
        policies_routes.router,
        library_routes.router,
        programme_routes.router,
        programme_routes.msp_router,
        compliance_overview_routes.router,
        dashboard_routes.router,
        billing_routes.router,
        operator_routes.router,
        signup_routes.router,
        *identity_routers(),
        web_pages.router,
        tenancy_pages.router,
        access_pages.router,
        audit_pages.router,
        contacts_pages.router,
        tickets_pages.router,
        time_pages.router,
        invoices_pages.router,
        service_plans_pages.router,
        links_pages.router,
        branding_pages.router,
        notifications_pages.router,
        evidence_pages.router,
        risks_pages.router,
        policies_pages.router,
        library_pages.router,
        programme_pages.router,
        compliance_overview_pages.router,
        dashboard_pages.router,
        billing_pages.router,
        signup_pages.router,
    ]
