"""What one user reaches across their home MSP's customers, kept per worker (issue #15):
the switcher and every MSP-wide scope (``scopes.customers_with``) read it instead of
deciding up to 10,000 customers on every request.

Everything it depends on for a user of home tenant H is covered by H's access version
(migration 0014: grants, custom roles, user groups and members, client groups and
members, links and blocks, any update of a customer's row), plus time (grant and link
expiries). So a request reads H's version first, in its own transaction (one statement,
before any fact a miss reads: ``access/decisions.py`` says why), and uses what this
worker kept under the same number, before the first expiry it depends on. Never a
time-to-live: a change is seen by the very next request in every worker.

Kept in two parts, so that memory follows the number of MSPs more than of their people:

* ``MSP_CUSTOMERS``: H's customers under an active, unexpired link, in the switcher's
  order (lower(display name), id, as the database sorts it), with slug, status and the
  link's ceiling. One list per MSP, shared by everyone there whose grants could cover
  every customer (or very many); it ends at the first expiry of one of those links (an
  expired link leaves, and never comes back by itself).
* ``USER_REACHES``: what one user holds in each customer of such a list, decided by
  ``Reach.in_customer`` exactly as ``AccessService.context_in`` decides one tenant, and
  their home permissions; it ends at the first expiry of one of their grants too. A
  technician delegated to a few customers gets a list of their own, read narrowed to
  those: the MSP's 10,000 are not read for them. The ``CustomerScope`` per permission is
  made once; when the user holds the permission in every customer of the list (an MSP
  admin), it is the list's own scope, shared by all such users, so the engine's cache
  of the scope's ``BEGIN`` text finds that same object too (db/engine.py).
"""

from __future__ import annotations

import itertools
import json
import uuid
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access import repository
from tenantry.access.context import Principal
from tenantry.access.decisions import KeptDecisions, Key, Versions, earliest, versions_of
from tenantry.access.reach import Reach, reach_for
from tenantry.db.scope import TenantScope
from tenantry.tenancy import service as tenancy

_NO_GROUPS: frozenset[uuid.UUID] = frozenset()
# Between the slugs and names of a list's search text: in no slug, nor in any name.
_APART = "\x00"
# A user whose grants name more customers than this (delegations, client groups) is
# decided over the MSP's whole list: one shared read beats a long list of ids.
NARROW_AT_MOST = 500


@dataclass(frozen=True, slots=True)
class CustomerInScope:
    id: uuid.UUID
    slug: str
    display_name: str


@dataclass(frozen=True, slots=True)
class CustomerScope:
    """The customers where the user holds ``permission`` and the scope covering them.
    Kept and shared between requests: never changed once made."""

    permission: str
    scope: TenantScope
    customers: Mapping[uuid.UUID, CustomerInScope]

    def by_ref(self, ref: str) -> CustomerInScope | None:
        """A customer of the scope by slug or id (None when it is not in the scope)."""
        try:
            found = self.customers.get(uuid.UUID(ref))
        except ValueError:
            found = None
        if found is not None and str(found.id) == ref:
            return found
        return next((c for c in self.customers.values() if c.slug == ref), None)


@dataclass(frozen=True, slots=True)
class LinkedCustomer:
    customer: CustomerInScope
    status: str
    # lower(display name) as the database computed it: the order, the cursor's key and
    # the search compare with it, as the switcher's statements did.
    name_key: str
    ceiling: tuple[str, ...]

    def matches(self, needle: str) -> bool:
        """As the switcher's SQL search: the slug or the lowered name contains it."""
        return needle in self.customer.slug or needle in self.name_key


class CustomerList:
    """Linked customers in the switcher's order, and when the first of their links ends."""

    __slots__ = ("_everyone", "_text", "index", "reaches", "rows", "valid_until")

    def __init__(self, rows: tuple[LinkedCustomer, ...], valid_until: datetime | None) -> None:
        self.rows = rows
        self.index = {row.customer.id: i for i, row in enumerate(rows)}
        self.valid_until = valid_until
        # The kept reaches decided over this list: they go when it is replaced.
        self.reaches: set[Key] = set()
        self._everyone: tuple[dict[uuid.UUID, CustomerInScope], TenantScope] | None = None
        self._text: tuple[str, list[int]] | None = None

    def matching(self, needle: str, start: int = 0) -> Iterator[int]:
        """The rows from ``start`` on whose slug or lowered name contains ``needle``, in
        order: one text of every slug and name, searched at C speed, so a page of a
        search stops after its matches instead of testing 10,000 rows."""
        if _APART in needle:  # could match across two fields: test each row instead
            yield from (i for i in range(start, len(self.rows)) if self.rows[i].matches(needle))
            return
        if self._text is None:
            fields = [f for row in self.rows for f in (row.customer.slug, row.name_key)]
            starts = list(itertools.accumulate((len(f) + 1 for f in fields), initial=0))
            self._text = (_APART.join(fields), starts)
        text, starts = self._text
        at = starts[2 * start] if start < len(self.rows) else len(text)
        while (at := text.find(needle, at)) >= 0:
            row = (bisect_right(starts, at) - 1) // 2
            yield row
            at = starts[2 * row + 2]  # on to the next row: one match per row

    def everyone(self) -> tuple[dict[uuid.UUID, CustomerInScope], TenantScope]:
        """Every customer of the list and their scope, made once and shared."""
        if self._everyone is None:
            customers = {row.customer.id: row.customer for row in self.rows}
            self._everyone = (customers, TenantScope.of(customers))
        return self._everyone


class UserReach:
    """One user's permissions across a ``CustomerList`` (see the module)."""

    __slots__ = ("_scopes", "customers", "held", "home", "valid_until", "visible")

    def __init__(
        self,
        home: frozenset[str],
        customers: CustomerList,
        visible: array[int],
        held: list[frozenset[str]],
        valid_until: datetime | None,
    ) -> None:
        self.home = home
        self.customers = customers
        # Where in the list the user holds something, ascending (so in the list's
        # order), and what they hold there.
        self.visible = visible
        self.held = held
        self.valid_until = valid_until
        self._scopes: dict[str, CustomerScope] = {}

    @property
    def reaches_customers(self) -> bool:
        return bool(self.visible)

    def holds(self, customer_id: uuid.UUID) -> LinkedCustomer | None:
        """The customer, if the user holds at least one permission there."""
        i = self.customers.index.get(customer_id)
        return self.customers.rows[i] if i is not None and self.holds_row(i) else None

    def holds_row(self, i: int) -> bool:
        """The user holds at least one permission in the list's ``i``-th customer."""
        at = bisect_left(self.visible, i)
        return at < len(self.visible) and self.visible[at] == i

    def rows_from(self, start: int, needle: str = "") -> Iterator[LinkedCustomer]:
        """The customers from the list's ``start``-th on where the user holds something
        (and whose slug or name contains ``needle``), in the list's order."""
        rows = self.customers.rows
        if not needle:
            visible = self.visible
            return (rows[visible[at]] for at in range(bisect_left(visible, start), len(visible)))
        matching = self.customers.matching(needle, start)
        return (rows[i] for i in matching if self.holds_row(i))

    def scope(self, permission: str) -> CustomerScope:
        """Every customer where the user holds ``permission``: made once per reach."""
        kept = self._scopes.get(permission)
        if kept is not None:
            return kept
        rows = self.customers.rows
        picked = [i for i, held in zip(self.visible, self.held, strict=True) if permission in held]
        if picked and len(picked) == len(rows):
            customers, scope = self.customers.everyone()
        else:
            customers = {rows[i].customer.id: rows[i].customer for i in picked}
            scope = TenantScope.of(customers)
        self._scopes[permission] = made = CustomerScope(permission, scope, customers)
        return made


# This worker's lists and reaches, weighed by the customers they hold (a list's row
# costs a few hundred bytes, a reach's entry a few dozen): a few 10,000-client MSPs.
MSP_CUSTOMERS: KeptDecisions[CustomerList] = KeptDecisions(
    30_000, weigh=lambda found: len(found.rows) + 1
)
USER_REACHES: KeptDecisions[UserReach] = KeptDecisions(
    100_000, weigh=lambda found: len(found.visible) + 1
)


async def reached(
    session: AsyncSession,
    principal: Principal,
    now: datetime,
    home_version: int | None = None,
) -> UserReach:
    """The user's reach across their home MSP's customers, kept when nothing changed.
    ``home_version``: the home's access version this request already read (with its
    decision, ``TenantContext.home_version``), else it is read here."""
    home_id = principal.home_tenant_id
    # First, before any fact: what is made below is kept under a number no newer than
    # the facts it read.
    version = home_version
    if version is None:
        version = await repository.version_of(session, home_id)
    versions = versions_of(version, version)
    key = (principal.user_id, home_id)
    found = USER_REACHES.get(key, versions, now)
    if found is not None:
        return found
    reach = await reach_for(session, principal, now)
    members = await repository.tenant_group_memberships(session, reach.tenant_groups)
    among = _named(reach, members)
    if not principal.home_is_msp or not reach.reaches_customers or among == set():
        customers = CustomerList((), None)
    elif among is not None:
        customers = await _customer_list(session, principal, now, among)
    else:
        customers = await _msp_customers(session, principal, now, versions)
    found = _decided(reach, members, customers)
    USER_REACHES.put(key, versions, found.valid_until, found)
    customers.reaches.add(key)
    return found


async def _msp_customers(
    session: AsyncSession, principal: Principal, now: datetime, versions: Versions | None
) -> CustomerList:
    """The MSP's whole list, kept; a list it replaces takes its reaches with it (they
    were made under an older number: only memory would keep them)."""
    home_id = principal.home_tenant_id
    customers = MSP_CUSTOMERS.get(home_id, versions, now)
    if customers is not None:
        return customers
    replaced = MSP_CUSTOMERS.pop(home_id)
    for key in replaced.reaches if replaced is not None else ():
        USER_REACHES.discard(key)
    customers = await _customer_list(session, principal, now, None)
    MSP_CUSTOMERS.put(home_id, versions, customers.valid_until, customers)
    return customers


def _named(
    reach: Reach, members: Mapping[uuid.UUID, frozenset[uuid.UUID]]
) -> set[uuid.UUID] | None:
    """The only customers the user's grants can cover, when they are few (None: the
    MSP's whole list, for a grant covering every customer or very many)."""
    if reach.every_customer:
        return None
    named = set(reach.delegated) | set(members)
    return named if len(named) <= NARROW_AT_MOST else None


async def _customer_list(
    session: AsyncSession, principal: Principal, now: datetime, among: Iterable[uuid.UUID] | None
) -> CustomerList:
    """The MSP's customers under an active, unexpired link (only ``among``, if given)."""
    found = await tenancy.linked_customers_listed(
        session, tenancy.linked_customer_conditions(principal.home_tenant_id, now, among)
    )
    ceilings = _Ceilings()
    statuses: dict[str, str] = {}
    rows = []
    ends: list[datetime] = []
    for tenant_id, slug, name, status, name_key, ceiling, expires_at in found:
        text = str(status)
        rows.append(
            LinkedCustomer(
                CustomerInScope(tenant_id, slug, name),
                statuses.setdefault(text, text),
                name_key,
                ceilings[ceiling],
            )
        )
        if expires_at is not None:
            ends.append(expires_at)
    return CustomerList(tuple(rows), earliest(*ends))


def _decided(
    reach: Reach, members: Mapping[uuid.UUID, frozenset[uuid.UUID]], customers: CustomerList
) -> UserReach:
    """Each customer of the list decided for the user, as ``context_in`` decides it."""
    index = customers.index
    if reach.every_customer:
        candidates: Sequence[int] = range(len(customers.rows))
    else:
        named = (index.get(c) for c in itertools.chain(reach.delegated, members))
        candidates = sorted({i for i in named if i is not None})
    visible: array[int] = array("q")
    held: list[frozenset[str]] = []
    for i in candidates:
        row = customers.rows[i]
        tenant_id = row.customer.id
        permissions = reach.in_customer(tenant_id, row.ceiling, members.get(tenant_id, _NO_GROUPS))
        if permissions:
            visible.append(i)
            held.append(permissions)
    grants_end = earliest(*(g.expires_at for g in reach.grants))
    return UserReach(
        reach.home, customers, visible, held, earliest(grants_end, customers.valid_until)
    )


class _Ceilings(dict[str | None, tuple[str, ...]]):
    """JSON text of a link's ceiling → its permissions, parsed on first sight (and one
    tuple shared by every link with that text)."""

    def __missing__(self, text: str | None) -> tuple[str, ...]:
        parsed = json.loads(text) if text else None
        self[text] = found = tuple(parsed or ())
        return found
