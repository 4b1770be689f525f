"""The permission catalog and the built-in roles: the one place either is defined."""

from __future__ import annotations

from dataclasses import dataclass

# area:verb → what it allows, in words shown to admins.
CATALOG: dict[str, str] = {
    "tenant:read": "See the tenant's overview",
    "contacts:read": "See contacts",
    "contacts:write": "Create, edit and import contacts",
    "tickets:read": "See tickets",
    "tickets:write": "Create and update tickets",
    "time:read": "See time entries",
    "time:write": "Log time",
    "time:approve": "Approve other people's time entries",
    "invoices:read": "See invoices",
    "invoices:write": "Create, issue and void invoices",
    "compliance:read": "See the compliance programme",
    "compliance:write": "Change controls, policies and risk assessments",
    "software:request": "Request software",
    "users:read": "See users and their access",
    "users:manage": "Invite, disable and delegate users",
    "roles:manage": "Create and change custom roles",
    "audit:read": "Read the audit trail",
    "billing:manage": "Manage the plan and billing",
    "customers:read": "See the MSP's customers",
    "customers:create": "Create customer tenants",
    "customers:manage": "Rename, suspend and resume customers",
    "customers:delete": "Delete customer tenants",
    "links:manage": "Request, approve, narrow and revoke MSP links",
    "portal:manage": "Brand and configure the support portal",
    "settings:manage": "Change the tenant's settings and security policy",
}

ALL = frozenset(CATALOG)
READS = frozenset(p for p in CATALOG if p.endswith(":read"))


@dataclass(frozen=True, slots=True)
class Role:
    key: str
    name: str
    permissions: frozenset[str]
    description: str


BUILTIN_ROLES: dict[str, Role] = {
    role.key: role
    for role in (
        Role("owner", "Owner", ALL, "Everything, including billing."),
        Role("admin", "Admin", ALL - {"billing:manage"}, "Everything but billing."),
        Role(
            "technician",
            "Technician",
            frozenset(
                {
                    "tenant:read",
                    "contacts:read",
                    "contacts:write",
                    "tickets:read",
                    "tickets:write",
                    "time:read",
                    "time:write",
                    "invoices:read",
                    "compliance:read",
                    "compliance:write",
                    "software:request",
                    "users:read",
                    "audit:read",
                }
            ),
            "Day-to-day client work: tickets, time, contacts, compliance.",
        ),
        Role(
            "first_level_support",
            "1st Level Support",
            frozenset(
                {
                    "tenant:read",
                    "contacts:read",
                    "tickets:read",
                    "tickets:write",
                    "time:read",
                    "time:write",
                }
            ),
            "Answer and update tickets and log time; nothing else.",
        ),
        Role(
            "software_requester",
            "Software Requester",
            frozenset({"tenant:read", "tickets:read", "software:request"}),
            "Request software for a client.",
        ),
        Role("read_only", "Read-only", READS, "See everything, change nothing."),
        Role(
            "billing",
            "Billing",
            frozenset(
                {
                    "tenant:read",
                    "time:read",
                    "invoices:read",
                    "invoices:write",
                    "billing:manage",
                    "customers:read",
                }
            ),
            "Invoices, time approval reports and the plan.",
        ),
    )
}

# Holding one of these in an MSP tenant implies an all_customers Owner grant (rule 4).
ADMIN_ROLES = frozenset({"owner", "admin"})


def role_by_key(key: str) -> Role | None:
    return BUILTIN_ROLES.get(key)
