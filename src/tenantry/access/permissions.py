"""The permission catalog, the built-in roles and the ceiling templates: the one place
each is defined.

Every permission says, besides its words, where it is shown (its group), who owns it
inside a client that an MSP manages (access rule 10: the client, or the MSP), and
whether it means anything inside a client at all (creating customers or managing links
does not: such a permission never enters a link's ceiling).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Owner = Literal["client", "msp"]

# Display groups, in the order a reader meets them.
GROUPS: tuple[str, ...] = (
    "Tickets and contacts",
    "Time",
    "Billing",
    "Compliance",
    "People and access",
    "Settings",
    "MSP only",
)


@dataclass(frozen=True, slots=True)
class Permission:
    key: str
    words: str
    group: str
    # Inside a customer with an active MSP link: "msp" means only the MSP holds it
    # there, through the link; the client's own roles do not give it while managed.
    owner: Owner = "client"
    # False: meaningless inside a client (the MSP's own business); never in a ceiling.
    in_client: bool = True


def _p(
    key: str, words: str, group: str, owner: Owner = "client", in_client: bool = True
) -> Permission:
    return Permission(key, words, group, owner, in_client)


PERMISSIONS: tuple[Permission, ...] = (
    _p("tenant:read", "See the tenant's overview", "Tickets and contacts"),
    _p("contacts:read", "See contacts", "Tickets and contacts"),
    _p("contacts:write", "Create, edit and import contacts", "Tickets and contacts"),
    _p("tickets:read", "See tickets", "Tickets and contacts"),
    _p("tickets:write", "Create and update tickets", "Tickets and contacts"),
    _p("sla:manage", "Change SLA targets and business hours", "Settings", "msp"),
    _p("time:read", "See time entries", "Time"),
    _p("time:write", "Log time", "Time"),
    _p("time:approve", "Approve other people's time entries", "Time", "msp"),
    _p("invoices:read", "See invoices", "Billing"),
    _p("invoices:write", "Create, issue and void invoices and recurring items", "Billing", "msp"),
    _p("rates:manage", "Set work types, hourly rates and service plans", "Billing", "msp"),
    _p("compliance:read", "See the compliance programme", "Compliance"),
    _p("compliance:write", "Change controls, policies and risk assessments", "Compliance"),
    _p("compliance:approve", "Approve and publish compliance policies", "Compliance"),
    _p("software:request", "Request software", "Tickets and contacts"),
    _p("users:read", "See users and their access", "People and access"),
    _p("users:manage", "Invite, disable and delegate users", "People and access"),
    _p("roles:manage", "Create and change custom roles", "People and access"),
    _p("audit:read", "Read the audit trail", "People and access"),
    _p("billing:manage", "Manage the plan and billing", "MSP only", in_client=False),
    _p("customers:read", "See the MSP's customers", "MSP only", in_client=False),
    _p("customers:create", "Create customer tenants", "MSP only", in_client=False),
    _p("customers:manage", "Rename, suspend and resume customers", "MSP only", in_client=False),
    _p("customers:delete", "Delete customer tenants", "MSP only", in_client=False),
    _p(
        "links:manage",
        "Request, approve, narrow and revoke MSP links",
        "MSP only",
        in_client=False,
    ),
    _p("portal:manage", "Brand and configure the support portal", "Settings"),
    _p("settings:manage", "Change the tenant's settings and security policy", "Settings"),
)

BY_KEY: dict[str, Permission] = {p.key: p for p in PERMISSIONS}

# area:verb → what it allows, in words shown to admins (the catalog's first shape,
# kept for the callers that need only the words).
CATALOG: dict[str, str] = {p.key: p.words for p in PERMISSIONS}

ALL = frozenset(CATALOG)
READS = frozenset(p for p in CATALOG if p.endswith(":read"))
# Held inside a managed client only through the MSP's link (access rule 10).
MSP_OWNED = frozenset(p.key for p in PERMISSIONS if p.owner == "msp")
# What may appear in a link's ceiling: everything that means something inside a client.
CLIENT_MEANINGFUL = frozenset(p.key for p in PERMISSIONS if p.in_client)
IN_CLIENT = CLIENT_MEANINGFUL
MEANINGLESS_IN_CLIENT = ALL - CLIENT_MEANINGFUL


def grouped(
    permissions: frozenset[str] | set[str] | list[str] | tuple[str, ...],
) -> list[tuple[str, list[Permission]]]:
    """``[(group, [Permission, …]), …]`` in the order of GROUPS, then of the catalog."""
    held = set(permissions)
    found: dict[str, list[Permission]] = {}
    for permission in PERMISSIONS:
        if permission.key in held:
            found.setdefault(permission.group, []).append(permission)
    return [(g, found[g]) for g in GROUPS if g in found]


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
                    "rates:manage",
                    "billing:manage",
                    "customers:read",
                }
            ),
            "Invoices, work types and rates, time reports and the plan.",
        ),
    )
}

# Holding one of these in an MSP tenant implies an all_customers Owner grant (rule 4).
ADMIN_ROLES = frozenset({"owner", "admin"})


def role_by_key(key: str) -> Role | None:
    return BUILTIN_ROLES.get(key)


@dataclass(frozen=True, slots=True)
class CeilingTemplate:
    """A named ceiling the MSP can ask for (or a customer be created with) in one choice."""

    key: str
    name: str
    description: str
    permissions: frozenset[str]


HELPDESK = frozenset(
    {
        "tenant:read",
        "contacts:read",
        "contacts:write",
        "tickets:read",
        "tickets:write",
        "time:read",
        "time:write",
        "software:request",
        "users:read",
        "audit:read",
    }
)

CEILING_TEMPLATES: dict[str, CeilingTemplate] = {
    t.key: t
    for t in (
        CeilingTemplate(
            "helpdesk",
            "Helpdesk",
            "Tickets, contacts and logging time; seeing users and the audit trail.",
            HELPDESK,
        ),
        CeilingTemplate(
            "service_desk_billing",
            "Service desk and billing",
            "Helpdesk, plus approving time, invoices, rates and the SLA policy.",
            HELPDESK
            | {"time:approve", "invoices:read", "invoices:write", "rates:manage", "sla:manage"},
        ),
        CeilingTemplate(
            "full",
            "Full management",
            "Everything that means something inside a client.",
            CLIENT_MEANINGFUL,
        ),
    )
}
DEFAULT_CEILING_TEMPLATE = "full"
