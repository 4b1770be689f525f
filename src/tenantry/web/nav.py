"""The sidebar's links, in one place. A new page adds one line here.

Tenant pages live under ``/t/<slug>/``; their ``key`` is what the tenant switcher keeps
when it changes tenant (tickets → the other client's tickets). MSP pages (``/msp/…``)
and account pages are the same from every context.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class NavEntry:
    key: str
    label: str
    # Tenant pages: the path under /t/<slug>/ ("" is the overview). Others: absolute.
    path: str
    # Shown only to those who hold it (in the current tenant for tenant pages, at home
    # for MSP pages). None: every signed-in user.
    permission: str | None
    # Home-level pages that only an MSP has (customers); others exist for every home.
    msp_only: bool = False
    # MSP pages that are the home tenant's own tenant pages (its team: users, invitations,
    # roles): ``path`` is then under /t/<home-slug>/, so they open in one click from any
    # client without the switcher, and stay the same pages as at home.
    at_home: bool = False


OVERVIEW = NavEntry("overview", "Overview", "", "tenant:read")

# "This client": pages of the tenant in the URL.
TENANT_PAGES: tuple[NavEntry, ...] = (
    OVERVIEW,
    NavEntry("tickets", "Tickets", "tickets", "tickets:read"),
    NavEntry("contacts", "Contacts", "contacts", "contacts:read"),
    # Changing the targets needs sla:manage; everyone with tickets:read can read
    # them from the tickets page's link.
    NavEntry("sla", "SLA policy", "settings/sla", "sla:manage"),
    NavEntry("time", "Time", "time", "time:read"),
    NavEntry("invoices", "Invoices", "invoices", "invoices:read"),
    NavEntry("compliance", "Compliance", "compliance", "compliance:read"),
    NavEntry("compliance-risks", "Risks", "compliance/risks", "compliance:read"),
    # Every person of a client reads and acknowledges its published policies.
    NavEntry("policies", "Policies", "compliance/policies", "tenant:read"),
    NavEntry("invitations", "Invitations", "invitations", "users:manage"),
    NavEntry("audit", "Audit trail", "audit", "audit:read"),
    # Who manages this tenant, under which consent: every one of its people may know.
    NavEntry("msp-link", "Your MSP", "msp", "tenant:read"),
    NavEntry("access", "Users & access", "access", "users:read"),
    NavEntry("roles", "Roles", "roles", "users:read"),
)

# The MSP's landing page (web/pages.start): every client the user reaches at a glance.
MSP_DASHBOARD = NavEntry(
    "msp-dashboard", "Dashboard", "/msp/dashboard", "tenant:read", msp_only=True
)

# "MSP" (for a home that is not an MSP: "Organisation"): the home tenant's own pages,
# reachable from any context.
MSP_PAGES: tuple[NavEntry, ...] = (
    MSP_DASHBOARD,
    NavEntry("customers", "Customers", "/msp/customers", "customers:read", msp_only=True),
    # The MSP's team is its home tenant's people, invitations and roles.
    NavEntry("team", "Team", "access", "users:read", msp_only=True, at_home=True),
    NavEntry(
        "team-invitations",
        "Team invitations",
        "invitations",
        "users:manage",
        msp_only=True,
        at_home=True,
    ),
    NavEntry("team-roles", "Team roles", "roles", "users:read", msp_only=True, at_home=True),
    NavEntry(
        "service-plans", "Service plans", "/msp/service-plans", "customers:read", msp_only=True
    ),
    NavEntry("msp-activity", "Technician activity", "/msp/activity", "audit:read", msp_only=True),
    NavEntry("msp-tickets", "All tickets", "/msp/tickets", "tickets:read", msp_only=True),
    NavEntry(
        "msp-compliance", "Compliance overview", "/msp/compliance", "compliance:read", msp_only=True
    ),
    NavEntry("security-policy", "Security policy", "/settings/security", "settings:manage"),
    NavEntry("branding", "Branding", "/settings/branding", "settings:manage"),
    NavEntry("links", "Client links", "/msp/links", "customers:read", msp_only=True),
    NavEntry(
        "billing", "Billing and subscription", "/msp/billing", "billing:manage", msp_only=True
    ),
    NavEntry(
        "client-groups", "Client groups", "/msp/client-groups", "customers:read", msp_only=True
    ),
)

NOTIFICATIONS = "notifications"

# The signed-in user's own account.
ACCOUNT_PAGES: tuple[NavEntry, ...] = (
    # Shows the unread count beside it (web/chrome.py).
    NavEntry(NOTIFICATIONS, "Notifications", "/notifications", None),
    NavEntry("account-security", "Account security", "/account/security", None),
)


def tenant_href(slug: str, entry: NavEntry) -> str:
    return f"/t/{slug}/{entry.path}"


def msp_href(home_slug: str, entry: NavEntry) -> str:
    """Where an MSP entry leads: its own path, or the home tenant's page for a team entry."""
    return tenant_href(home_slug, entry) if entry.at_home else entry.path


def msp_active(home_slug: str, entry: NavEntry, path: str, page_key: str) -> bool:
    if not entry.at_home:
        return entry.key == page_key
    href = msp_href(home_slug, entry)
    return path == href or path.startswith(href.rstrip("/") + "/")


def tenant_page(key: str | None) -> NavEntry | None:
    return next((e for e in TENANT_PAGES if e.key == key), None)


def switch_target(slug: str, key: str | None, permissions: Iterable[str]) -> str:
    """Where choosing ``slug`` in the switcher lands: the same page if it exists there
    and the user may see it, else the tenant's overview."""
    held = frozenset(permissions)
    entry = tenant_page(key)
    if entry is not None and (entry.permission is None or entry.permission in held):
        return tenant_href(slug, entry)
    return tenant_href(slug, OVERVIEW)


def _longest_prefix(entries: Iterable[NavEntry], path: str, prefix: str) -> NavEntry | None:
    best: NavEntry | None = None
    for entry in entries:
        target = prefix + entry.path
        exact_or_below = path == target or path.startswith(target.rstrip("/") + "/")
        if entry.path and exact_or_below and (best is None or len(entry.path) > len(best.path)):
            best = entry
    return best


def page_key_of(path: str) -> str:
    """The nav key of the page at ``path`` ("" when it is none of the sidebar's)."""
    if path.startswith("/t/"):
        parts = path.split("/", 3)
        if len(parts) < 4 or parts[3] == "":
            return OVERVIEW.key
        slug_prefix = f"/t/{parts[2]}/"
        entry = _longest_prefix(TENANT_PAGES, path, slug_prefix)
        return entry.key if entry else ""
    absolute = (e for e in (*MSP_PAGES, *ACCOUNT_PAGES) if not e.at_home)
    entry = _longest_prefix(absolute, path, "")
    return entry.key if entry else ""
