"""The tenant scope: which tenants' rows one unit of work may touch.

PostgreSQL enforces it with row-level security reading transaction-local settings
(``tenantry.tenant_id`` for one tenant, ``tenantry.tenant_ids`` under the multi role
for several; db/rls.py and db/engine.py); the same scope is applied here, at the ORM
layer, to every statement on both databases, so one isolation suite runs on
SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, event
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.sql import visitors
from sqlalchemy.sql.selectable import Alias, Join, Select

from tenantry.db.base import Base, TenantOwned

_SCOPE_KEY = "tenantry_scope"

# On PostgreSQL a multi-tenant scope of more tenants than this gets no ORM criterion: the
# list policy alone (one hash probe per row) decides. A long ``IN`` list of bind
# parameters costs more than it helps there: thousands of parameters to send, and under
# a generic plan a linear search of the list per row. Shorter lists stay in the
# statement because the planner can use them as an index condition (a technician's
# twenty clients), which the policy's sub-select cannot be.
RLS_ONLY_ABOVE = 100


class ScopeViolation(RuntimeError):
    """Code tried to write a row outside its tenant scope (a bug, never user input)."""


@dataclass(frozen=True, slots=True)
class TenantScope:
    """The tenant ids a unit of work may touch.

    Made only by the access layer (``tenantry.access``) once it has decided the
    caller may act there, and by operator commands; a test keeps it that way.
    """

    tenant_ids: frozenset[uuid.UUID]

    @classmethod
    def of(cls, ids: Iterable[uuid.UUID]) -> TenantScope:
        return cls(frozenset(ids))

    def covers(self, tenant_id: uuid.UUID) -> bool:
        return tenant_id in self.tenant_ids

    def as_setting(self) -> str:
        # UUIDs print as hex and dashes only, so the literal needs no escaping.
        return ",".join(sorted(str(t) for t in self.tenant_ids))


NO_SCOPE = TenantScope(frozenset())


def session_scope(session: Session) -> TenantScope:
    scope = session.info.get(_SCOPE_KEY)
    return scope if isinstance(scope, TenantScope) else NO_SCOPE


def set_session_scope(session: Session, scope: TenantScope) -> None:
    """Bind a scope to a session before its transaction starts (see db/engine.py)."""
    if session.in_transaction() and session_scope(session) != scope:
        raise ScopeViolation("the scope of a unit of work is fixed once its transaction began")
    session.info[_SCOPE_KEY] = scope


def _tenant_ids_in_params(params: Any) -> Iterable[Any]:
    rows = params if isinstance(params, list) else [params]
    for row in rows:
        if isinstance(row, dict) and "tenant_id" in row:
            yield row["tenant_id"]


def _check_insert_values(state: ORMExecuteState, scope: TenantScope) -> None:
    statement: Any = state.statement
    values = getattr(statement, "_values", None) or {}
    for key, value in values.items():
        if getattr(key, "key", key) == "tenant_id":
            bound = getattr(value, "value", value)
            if bound not in scope.tenant_ids:
                raise ScopeViolation(f"insert into {statement.table.name} outside the tenant scope")
    for tenant_id in _tenant_ids_in_params(state.parameters):
        if tenant_id not in scope.tenant_ids:
            raise ScopeViolation(f"insert into {statement.table.name} outside the tenant scope")


def _owned_tables() -> frozenset[Table]:
    """Tables of the mapped TenantOwned classes (recomputed if more get mapped)."""
    mappers = Base.registry.mappers
    if len(mappers) != _OWNED_CACHE[0]:
        owned = frozenset(
            m.local_table
            for m in mappers
            if issubclass(m.class_, TenantOwned) and isinstance(m.local_table, Table)
        )
        _OWNED_CACHE[:] = [len(mappers), owned]
    tables: frozenset[Table] = _OWNED_CACHE[1]
    return tables


_OWNED_CACHE: list[Any] = [-1, frozenset()]


def _owned_in(from_clause: Any, owned: frozenset[Table]) -> list[Any]:
    """Tenant-owned tables (or aliases of them) directly in one FROM element."""
    if isinstance(from_clause, Join):
        return _owned_in(from_clause.left, owned) + _owned_in(from_clause.right, owned)
    if isinstance(from_clause, Table):
        return [from_clause] if from_clause in owned else []
    if isinstance(from_clause, Alias) and isinstance(from_clause.element, Table):
        return [from_clause] if from_clause.element in owned else []
    return []


def _inspect(statement: Any, owned: frozenset[Table]) -> tuple[bool, bool]:
    """(names a tenant-owned table anywhere, holds a nested SELECT)."""
    mentions = nested = False
    for element in visitors.iterate(statement):
        if isinstance(element, Table):
            mentions = mentions or element in owned
        elif isinstance(element, Select) and element is not statement:
            nested = True
    return mentions, nested


def _scope_top_level(statement: Any, ids: list[uuid.UUID], owned: frozenset[Table]) -> Any:
    """The common, cheap case: no subqueries, so criteria on the statement itself do."""
    if isinstance(statement, Select):
        # Explicit FROMs (select_from, join) and those implied by the columns; cheaper
        # than get_final_froms(), which builds the ORM compile state (~1 ms).
        froms = [*statement._from_obj, *statement.columns_clause_froms]
        tables = list(dict.fromkeys(t for f in froms for t in _owned_in(f, owned)))
    else:
        tables = [statement.table] if statement.table in owned else []
    return statement.where(*(t.c.tenant_id.in_(ids) for t in tables)) if tables else statement


def _scope_every_from(statement: Any, ids: list[uuid.UUID], owned: frozenset[Table]) -> Any:
    """Add ``tenant_id IN scope`` for each tenant-owned table in every SELECT's FROM list
    (subqueries included) and to UPDATE/DELETE of such a table. Cloning the tree costs
    about a millisecond, so only statements with subqueries take this path.

    ``with_loader_criteria`` alone misses tables named only in ``select_from()`` (e.g.
    ``select(func.count()).select_from(Model)``) and Core statements on a Table, so the
    statement tree is walked as well.
    """

    def visit_select(select: Any) -> None:
        for from_clause in select.get_final_froms():
            for table in _owned_in(from_clause, owned):
                select._where_criteria += (table.c.tenant_id.in_(ids),)

    def visit_dml(dml: Any) -> None:
        if dml.table in owned:
            dml._where_criteria += (dml.table.c.tenant_id.in_(ids),)

    return visitors.cloned_traverse(
        statement, {}, {"select": visit_select, "update": visit_dml, "delete": visit_dml}
    )


@event.listens_for(Session, "do_orm_execute")
def _apply_scope(state: ORMExecuteState) -> None:
    """Every statement on a tenant-owned table gets ``tenant_id IN scope``.

    With no scope the criterion is ``IN ()``: a query that forgot its scope
    returns nothing, exactly as row-level security answers on PostgreSQL.
    """
    scope = session_scope(state.session)
    if (
        not state.is_insert
        and (len(scope.tenant_ids) <= 1 or len(scope.tenant_ids) > RLS_ONLY_ABOVE)
        and _rls_enforces(state.session)
    ):
        # PostgreSQL's policy is the filter and, for one tenant (a scalar equal to the
        # column) or none, an index condition the planner uses as it would ours: walking
        # the statement for a criterion that changes nothing cost ~0.3 ms per statement.
        return
    owned = _owned_tables()
    touches_entity = any(issubclass(m.class_, TenantOwned) for m in state.all_mappers)
    mentions, nested = _inspect(state.statement, owned)
    if not touches_entity and not mentions:
        return
    if state.is_insert:
        _check_insert_values(state, scope)
        return
    if state.is_select or state.is_update or state.is_delete:
        ids = list(scope.tenant_ids)
        scoped = _scope_every_from if nested else _scope_top_level
        statement = scoped(state.statement, ids, owned)
        # Joined eager loads add their JOINs only at compile time: criteria for those.
        state.statement = statement.options(
            with_loader_criteria(
                TenantOwned,
                lambda cls: cls.tenant_id.in_(ids),
                include_aliases=True,
            )
        )


def _rls_enforces(session: Session) -> bool:
    """PostgreSQL applies the scope itself (row-level security, db/rls.py)."""
    bind = session.bind
    return bind is not None and bind.dialect.name == "postgresql"


def redundant_with_scope(session: Session, tenant_ids: Iterable[uuid.UUID]) -> bool:
    """True when filtering on ``tenant_ids`` would only repeat the unit of work's scope
    (then a repository leaves the condition out: the scope applies it anyway)."""
    scoped = session_scope(session).tenant_ids
    # The very set of a kept MSP-wide scope: no need to compare 10,000 ids.
    return tenant_ids is scoped or frozenset(tenant_ids) == scoped


@event.listens_for(Session, "before_flush")
def _check_flush(session: Session, flush_context: Any, instances: Any) -> None:
    scope = session_scope(session)
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if isinstance(obj, TenantOwned) and obj.tenant_id not in scope.tenant_ids:
            raise ScopeViolation(
                f"{type(obj).__name__} of tenant {obj.tenant_id} is outside the tenant scope"
            )
