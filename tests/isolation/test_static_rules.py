"""Static rules over src/tenantry (an AST walk, no database):

* raw SQL (``text(...)``, ``sqlalchemy.text(...)``, ``.exec_driver_sql(...)``) naming a
  tenant-owned table, or built at run time, appears only in ``tenantry/db/`` and the
  migrations: elsewhere the ORM scope must see every statement;
* a ``TenantScope`` is made (``TenantScope(...)``, ``TenantScope.of(...)``) only in
  ``tenantry/access/`` (which decides who may act where), ``tenantry/db/`` and the
  operator's CLI ``tenantry/cli/``.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import tenantry
from tenantry.db.base import tenant_owned_tables

SRC = Path(tenantry.__file__).resolve().parent
RAW_SQL_ALLOWED = ("db", "migrations")
SCOPE_MAKERS = ("access", "db", "cli")
SQLALCHEMY_TEXT_MODULES = {"sqlalchemy", "sqlalchemy.sql", "sqlalchemy.sql.expression"}
SCOPE_MODULES = {"tenantry.db.scope", "tenantry.db"}


@dataclass
class _Names:
    """What the module's imports bind: ``text``, sqlalchemy modules, TenantScope."""

    text: set[str] = field(default_factory=set)
    sqlalchemy: set[str] = field(default_factory=set)
    scope_class: set[str] = field(default_factory=set)
    scope_module: set[str] = field(default_factory=set)


def _imports(tree: ast.AST) -> _Names:
    names = _Names()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                bound = alias.asname or alias.name
                if node.module in SQLALCHEMY_TEXT_MODULES and alias.name == "text":
                    names.text.add(bound)
                if node.module in SCOPE_MODULES and alias.name == "TenantScope":
                    names.scope_class.add(bound)
                if node.module == "tenantry.db" and alias.name == "scope":
                    names.scope_module.add(bound)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in SQLALCHEMY_TEXT_MODULES:
                    names.sqlalchemy.add(alias.asname or alias.name.split(".")[0])
                if alias.name == "tenantry.db.scope":
                    names.scope_module.add(alias.asname or "tenantry")
    return names


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def _literal(node: ast.AST) -> str | None:
    """The string a SQL argument spells, or None when it is built at run time."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _literal(node.left), _literal(node.right)
        return None if left is None or right is None else left + right
    return None


def _is_raw_sql(call: ast.Call, names: _Names) -> bool:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id in names.text
    if isinstance(func, ast.Attribute):
        if func.attr == "exec_driver_sql":
            return True
        if func.attr == "text":
            base = _dotted(func.value)
            return base is not None and (
                base in names.sqlalchemy or base in SQLALCHEMY_TEXT_MODULES
            )
    return False


def _makes_scope(call: ast.Call, names: _Names) -> bool:
    target = _dotted(call.func)
    if target is None:
        return False
    if target.endswith(".of"):
        target = target[: -len(".of")]
    if target in names.scope_class:
        return True
    return any(target == f"{module}.TenantScope" for module in names.scope_module) or (
        target == "tenantry.db.scope.TenantScope"
    )


def violations(
    source: str,
    where: str,
    tables: list[str],
    *,
    raw_sql_allowed: bool,
    scope_allowed: bool,
) -> list[str]:
    tree = ast.parse(source)
    names = _imports(tree)
    table_re = re.compile(r"\b(" + "|".join(map(re.escape, tables)) + r")\b", re.I)
    found: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        at = f"{where}:{node.lineno}"
        if not raw_sql_allowed and _is_raw_sql(node, names):
            arg = node.args[0] if node.args else None
            sql = _literal(arg) if arg is not None else None
            if sql is None:
                found.append(f"{at}: raw SQL built at run time outside tenantry/db/")
            elif tables and table_re.search(sql):
                found.append(f"{at}: raw SQL on tenant-owned table(s) outside tenantry/db/")
        if not scope_allowed and _makes_scope(node, names):
            found.append(f"{at}: TenantScope made outside tenantry/access/ (and db/, cli/)")
    return found


def source_files() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "__pycache__" not in p.parts)


def test_the_source_keeps_raw_sql_and_scope_making_where_they_belong() -> None:
    tables = tenant_owned_tables()
    assert tables, "no tenant-owned tables found: is models_registry imported?"
    found: list[str] = []
    for path in source_files():
        top = path.relative_to(SRC).parts[0]
        found += violations(
            path.read_text(),
            str(path.relative_to(SRC.parent.parent)),
            tables,
            raw_sql_allowed=top in RAW_SQL_ALLOWED,
            scope_allowed=top in SCOPE_MAKERS,
        )
    assert not found, "\n".join(found)


# ---------------------------------------------------------------- the checker itself

TABLES = ["audit_events", "tickets"]

CAUGHT = {
    "text_on_table": "from sqlalchemy import text\nq = text('SELECT * FROM audit_events')",
    "aliased_text": "from sqlalchemy import text as t\nq = t('DELETE FROM tickets')",
    "sa_text": "import sqlalchemy as sa\nq = sa.text('select 1 from Tickets')",
    "sqlalchemy_text": "import sqlalchemy\nq = sqlalchemy.text('select 1 from tickets')",
    "concatenated": "from sqlalchemy import text\nq = text('select 1 ' + 'from tickets')",
    "dynamic": "from sqlalchemy import text\nq = text(f'select 1 from {name}')",
    "driver_sql": "async def f(c):\n    await c.exec_driver_sql('select 1 from audit_events')",
    "scope_call": "from tenantry.db.scope import TenantScope\ns = TenantScope(frozenset())",
    "scope_of": "from tenantry.db.scope import TenantScope as T\ns = T.of([])",
    "scope_module": "from tenantry.db import scope\ns = scope.TenantScope.of([])",
    "scope_dotted": "import tenantry.db.scope\ns = tenantry.db.scope.TenantScope.of([])",
}

ALLOWED = {
    "text_elsewhere": "from sqlalchemy import text\nq = text('lower(display_name)')",
    "platform_table": "from sqlalchemy import text\nq = text('SELECT 1 FROM tenants')",
    "other_text": "def text(x): return x\nq = text('audit_events')",
    "scope_annotation": "from tenantry.db.scope import TenantScope\ndef f(s: TenantScope): ...",
    "no_scope": "from tenantry.db.scope import NO_SCOPE\ns = NO_SCOPE",
}


@pytest.mark.parametrize("source", [pytest.param(s, id=k) for k, s in CAUGHT.items()])
def test_the_checker_catches(source: str) -> None:
    assert violations(source, "x.py", TABLES, raw_sql_allowed=False, scope_allowed=False)


@pytest.mark.parametrize("source", [pytest.param(s, id=k) for k, s in ALLOWED.items()])
def test_the_checker_lets_pass(source: str) -> None:
    assert not violations(source, "x.py", TABLES, raw_sql_allowed=False, scope_allowed=False)


def test_the_checker_respects_allowed_places() -> None:
    for source in CAUGHT.values():
        assert not violations(source, "x.py", TABLES, raw_sql_allowed=True, scope_allowed=True)
