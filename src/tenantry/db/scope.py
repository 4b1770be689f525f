"""The tenant scope: which tenants' rows one unit of work may touch.

PostgreSQL enforces it with row-level security reading the transaction-local
setting ``tenantry.tenant_ids``; the same scope is applied here, at the ORM
layer, to every statement on both databases, so one isolation suite runs on
SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from tenantry.db.base import TenantOwned

SCOPE_SETTING = "tenantry.tenant_ids"
_SCOPE_KEY = "tenantry_scope"


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


def _touches_tenant_owned(state: ORMExecuteState) -> bool:
    return any(issubclass(mapper.class_, TenantOwned) for mapper in state.all_mappers)


@event.listens_for(Session, "do_orm_execute")
def _apply_scope(state: ORMExecuteState) -> None:
    """Every ORM statement on a tenant-owned table gets ``tenant_id IN scope``.

    With no scope the criterion is ``IN ()``: a query that forgot its scope
    returns nothing, exactly as row-level security answers on PostgreSQL.
    """
    if not _touches_tenant_owned(state):
        return
    scope = session_scope(state.session)
    if state.is_insert:
        _check_insert_values(state, scope)
        return
    if state.is_select or state.is_update or state.is_delete:
        ids = list(scope.tenant_ids)
        state.statement = state.statement.options(
            with_loader_criteria(
                TenantOwned,
                lambda cls: cls.tenant_id.in_(ids),
                include_aliases=True,
            )
        )


@event.listens_for(Session, "before_flush")
def _check_flush(session: Session, flush_context: Any, instances: Any) -> None:
    scope = session_scope(session)
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if isinstance(obj, TenantOwned) and obj.tenant_id not in scope.tenant_ids:
            raise ScopeViolation(
                f"{type(obj).__name__} of tenant {obj.tenant_id} is outside the tenant scope"
            )
