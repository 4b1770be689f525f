"""The link events people are told about, who is told, and the words they read.

One enum for every caller (the links domain's consent, asking and sweep; blocking),
and the text composed here in plain words, so that the in-app list and the email say
the same thing: "Contoso Ltd narrowed Northwind IT's access: removed invoices:write —
by Carol Owner".
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Side = Literal["msp", "customer"]
TITLE_MAX = 300
BODY_MAX = 2000


class LinkEvent(enum.StrEnum):
    REQUESTED = "link.requested"
    FLAGGED = "link.flagged"  # the instance operator proposed the MSP
    APPROVED = "link.approved"
    DECLINED = "link.declined"
    NARROWED = "link.narrowed"
    REVOKED = "link.revoked"  # ended by the side named in ``by``
    WITHDRAWN = "link.withdrawn"  # the MSP took back a request still pending
    EXPIRING_14 = "link.expiring_14"
    EXPIRING_3 = "link.expiring_3"
    EXPIRED = "link.expired"
    EXTENDED = "link.extended"
    BLOCKED = "link.blocked"  # the client blocked one technician or group of its MSP
    UNBLOCKED = "link.unblocked"


# Who is told: the other side of the one who acted. The sweep's events concern both.
_TOLD: dict[LinkEvent, tuple[Side, ...]] = {
    LinkEvent.REQUESTED: ("customer",),
    LinkEvent.FLAGGED: ("customer",),
    LinkEvent.APPROVED: ("msp",),
    LinkEvent.DECLINED: ("msp",),
    LinkEvent.NARROWED: ("msp",),
    LinkEvent.WITHDRAWN: ("customer",),
    LinkEvent.BLOCKED: ("msp",),
    LinkEvent.UNBLOCKED: ("msp",),
    LinkEvent.EXPIRING_14: ("msp", "customer"),
    LinkEvent.EXPIRING_3: ("msp", "customer"),
    LinkEvent.EXPIRED: ("msp", "customer"),
    LinkEvent.EXTENDED: ("msp", "customer"),
}


def told(event: LinkEvent, by: Side | None) -> tuple[Side, ...]:
    """The sides whose admins hear of ``event``; a revocation goes to the other side."""
    if event == LinkEvent.REVOKED:
        if by is None:
            raise ValueError("a revocation names the side that revoked (by=)")
        return ("customer",) if by == "msp" else ("msp",)
    return _TOLD[event]


@dataclass(frozen=True, slots=True)
class Party:
    id: uuid.UUID
    slug: str
    name: str


@dataclass(frozen=True, slots=True)
class LinkFacts:
    """What the words are made of."""

    event: LinkEvent
    link_id: uuid.UUID
    msp: Party
    customer: Party
    actor_name: str = ""
    permissions: Sequence[str] = ()
    expires_at: datetime | None = None
    who: str = ""  # the technician or group blocked / unblocked


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment is not None else "(no end)"


def _by(facts: LinkFacts) -> str:
    return f" — by {facts.actor_name}" if facts.actor_name else ""


def _list(items: Sequence[str]) -> str:
    return ", ".join(items) if items else "nothing"


def url_for(facts: LinkFacts, side: Side) -> str:
    """Where each side acts on a link: the MSP's client links, the customer's "Your MSP"."""
    if side == "msp":
        return f"/msp/links/{facts.link_id}"
    return f"/t/{facts.customer.slug}/msp/{facts.link_id}"


def words(facts: LinkFacts) -> tuple[str, str]:
    """(title, body) of the notification, the same for both sides."""
    msp, customer, e = facts.msp.name, facts.customer.name, facts.event
    between = f"The link between {msp} and {customer}"
    if e in (LinkEvent.REQUESTED, LinkEvent.FLAGGED):
        title = f"{msp} asks to manage {customer}"
        origin = (
            f"The instance operator proposed {msp} as {customer}'s MSP"
            if e == LinkEvent.FLAGGED
            else f"{msp} asks to manage {customer}"
        )
        body = (
            f"{origin}, with access to: {_list(facts.permissions)}. Nothing changes until "
            f"one of {customer}'s admins approves it (possibly giving less) or declines it"
            f"{_by(facts)}."
        )
    elif e == LinkEvent.APPROVED:
        title = f"{customer} approved {msp}'s request"
        withheld = f", withholding {_list(facts.permissions)}" if facts.permissions else ""
        body = (
            f"{customer} approved {msp}'s request to manage it{withheld}; the link runs "
            f"until {_when(facts.expires_at)}{_by(facts)}."
        )
    elif e == LinkEvent.DECLINED:
        title = f"{customer} declined {msp}'s request"
        body = f"{customer} declined {msp}'s request to manage it{_by(facts)}."
    elif e == LinkEvent.NARROWED:
        title = f"{customer} narrowed {msp}'s access"
        body = (
            f"{customer} narrowed {msp}'s access: removed {_list(facts.permissions)}{_by(facts)}."
        )
    elif e == LinkEvent.REVOKED:
        title = f"{between} was ended"
        body = f"{between} was ended: {msp} can no longer act in {customer}{_by(facts)}."
    elif e == LinkEvent.WITHDRAWN:
        title = f"{msp} withdrew its request"
        body = f"{msp} withdrew its request to manage {customer}{_by(facts)}."
    elif e in (LinkEvent.EXPIRING_14, LinkEvent.EXPIRING_3):
        days = 14 if e == LinkEvent.EXPIRING_14 else 3
        title = f"{between} expires in {days} days"
        body = (
            f"{between} expires on {_when(facts.expires_at)}. It is not set to renew on "
            f"both sides, so {msp} loses its access to {customer} then, unless {customer} "
            "approves a new request."
        )
    elif e == LinkEvent.EXPIRED:
        title = f"{between} expired"
        body = (
            f"{between} expired on {_when(facts.expires_at)}: {msp} can no longer act in "
            f"{customer}."
        )
    elif e == LinkEvent.EXTENDED:
        title = f"{between} was renewed"
        body = (
            f"{between} was renewed until {_when(facts.expires_at)}, as both sides agreed "
            "to renew it."
        )
    elif e == LinkEvent.BLOCKED:
        title = f"{customer} blocked {facts.who}"
        body = f"{customer} blocked {facts.who} from acting in it for {msp}{_by(facts)}."
    else:
        title = f"{customer} unblocked {facts.who}"
        body = f"{customer} unblocked {facts.who}: they may act in it for {msp} again{_by(facts)}."
    return title[:TITLE_MAX], body[:BODY_MAX]
