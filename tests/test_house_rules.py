"""The house rules of src/tenantry (docs/ARCHITECTURE.md, "Rules a machine checks"), read
from the source as it is, with no database:

* no file over ``LINE_CAP`` lines: a newcomer can hold each one;
* pages and routes never import a repository; every query (a SQLAlchemy ``select``,
  ``insert``, ``update``, ``delete`` or ``session.get(Model, …)``) lives in a repository
  module (``repository.py`` or a ``repository/`` package), or in ``db/`` and the migrations;
* a platform table is queried only by its owner's repository (tenancy: tenants and links;
  identity: users and their credentials; access: grants, roles and groups);
* services take typed inputs, never ``dict[str, Any]``;
* a unit of work is widened only through ``access.widening.widen(…, why=…)``;
* every CSV is written by kit/csv.py (formula-safe);
* no import cycle between modules (function-level imports count; imports made only for
  type checking do not).

The import contracts in pyproject.toml (``lint-imports``) add the layers inside each
domain and the boundaries between domains.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import grimp
import pytest

import tenantry
from tenantry.db.base import Base, PlatformTable

SRC = Path(tenantry.__file__).resolve().parent
LINE_CAP = 450
QUERY_FREE = ("db", "migrations")
STATEMENTS = {"select", "insert", "update", "delete"}
STATEMENT_MODULES = {
    "sqlalchemy",
    "sqlalchemy.sql",
    "sqlalchemy.sql.expression",
    "sqlalchemy.dialects.postgresql",
    "sqlalchemy.dialects.sqlite",
}


def source_files() -> Iterator[Path]:
    yield from sorted(p for p in SRC.rglob("*.py") if "__pycache__" not in p.parts)


def _where(path: Path) -> str:
    return str(path.relative_to(SRC.parent.parent))


def _module(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _domain(module: str) -> str:
    """``tenantry.psa.tickets.pages.list`` → ``psa.tickets``; ``tenantry.access.x`` → ``access``."""
    parts = module.split(".")[1:]
    return ".".join(parts[:2]) if parts and parts[0] == "psa" else (parts[0] if parts else "")


def _is_repository(module: str) -> bool:
    return "repository" in module.split(".")


def _is_http(module: str) -> bool:
    parts = module.split(".")
    return "routes" in parts or "pages" in parts


def _trees() -> Iterator[tuple[Path, str, ast.Module]]:
    for path in source_files():
        yield path, _module(path), ast.parse(path.read_text(), str(path))


def _imported(tree: ast.Module, module: str) -> Iterator[tuple[int, str, str]]:
    """(line, module imported from, name bound) for every import in the file."""
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                yield node.lineno, base, alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, ""


# ---------------------------------------------------------------- files a newcomer can hold


def test_no_source_file_is_longer_than_the_cap() -> None:
    long = [
        f"{_where(p)}: {n} lines"
        for p in source_files()
        if (n := len(p.read_text().splitlines())) > LINE_CAP
    ]
    assert not long, f"split these along the jobs they do (cap {LINE_CAP}):\n" + "\n".join(long)


# ---------------------------------------------------------------- layers


def test_pages_and_routes_import_no_repository() -> None:
    found = []
    for path, module, tree in _trees():
        if not _is_http(module):
            continue
        for line, source, name in _imported(tree, module):
            if _is_repository(source) or name == "repository":
                found.append(f"{_where(path)}:{line}: imports {source}.{name}".rstrip("."))
    assert not found, "pages and routes call services, not repositories:\n" + "\n".join(found)


def _model_names(tree: ast.Module, module: str) -> dict[str, str]:
    """Names bound to mapped classes by imports: name → the model's module."""
    mapped = {m.class_.__name__: m.class_.__module__ for m in Base.registry.mappers}
    names = {}
    for _line, source, name in _imported(tree, module):
        if name in mapped and mapped[name] == source:
            names[name] = source
    return names


def _statement_names(tree: ast.Module, module: str) -> set[str]:
    return {
        name
        for _line, source, name in _imported(tree, module)
        if source in STATEMENT_MODULES and name in STATEMENTS
    }


def _queries(tree: ast.Module, module: str) -> Iterator[tuple[int, set[str]]]:
    """Each statement the file builds: (line, model names it names)."""
    statements = _statement_names(tree, module)
    models = _model_names(tree, module)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        builds = isinstance(func, ast.Name) and func.id in statements
        gets = (
            isinstance(func, ast.Attribute)
            and func.attr == "get"
            and bool(node.args)
            and isinstance(node.args[0], ast.Name)
            and node.args[0].id in models
        )
        if builds or gets:
            named = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in models}
            yield node.lineno, named


def test_every_query_lives_in_a_repository() -> None:
    found = []
    for path, module, tree in _trees():
        top = module.split(".")[1] if "." in module else ""
        if top in QUERY_FREE or _is_repository(module):
            continue
        found += [f"{_where(path)}:{line}" for line, _names in _queries(tree, module)]
    assert not found, "move these statements into the domain's repository:\n" + "\n".join(found)


def _platform_owner() -> dict[str, str]:
    """Platform model class name → the domain that owns its table."""
    return {
        m.class_.__name__: _domain(m.class_.__module__)
        for m in Base.registry.mappers
        if issubclass(m.class_, PlatformTable)
    }


def test_platform_tables_are_queried_by_their_owner_only() -> None:
    owners = _platform_owner()
    assert {"Tenant", "TenantLink", "User", "Grant"} <= owners.keys()
    found = []
    for path, module, tree in _trees():
        if not _is_repository(module):
            continue
        mine = _domain(module)
        for line, names in _queries(tree, module):
            foreign = sorted(n for n in names if n in owners and owners[n] != mine)
            if foreign:
                found.append(f"{_where(path)}:{line}: {', '.join(foreign)}")
    assert not found, "ask the owner's service for these:\n" + "\n".join(found)


# ---------------------------------------------------------------- typed inputs


def _is_dict_str_any(node: ast.expr | None) -> bool:
    return node is not None and ast.unparse(node).replace(" ", "") in {
        "dict[str,Any]",
        "Mapping[str,Any]",
    }


def test_services_take_typed_inputs() -> None:
    found = []
    for path, module, tree in _trees():
        if "service" not in module.split(".")[-1]:
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if node.name.startswith("_"):
                continue
            args = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
            found += [
                f"{_where(path)}:{node.lineno}: {node.name}({a.arg})"
                for a in args
                if _is_dict_str_any(a.annotation)
            ]
    assert not found, "take a schema or a dataclass instead:\n" + "\n".join(found)


# ---------------------------------------------------------------- widening


def test_widening_a_scope_states_why_and_goes_through_one_api() -> None:
    found = []
    for path, module, tree in _trees():
        top = module.split(".")[1] if "." in module else ""
        for node in ast.walk(tree):
            is_def = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            if is_def and node.name == "extend_scope":
                found.append(f"{_where(path)}:{node.lineno}: extend_scope is gone: widen()")
            if not isinstance(node, ast.Call):
                continue
            name = ast.unparse(node.func).split(".")[-1]
            if name == "widen_scope" and top != "db" and module != "tenantry.access.widening":
                found.append(f"{_where(path)}:{node.lineno}: widen_scope outside access.widening")
            if name == "widen" and not any(k.arg == "why" for k in node.keywords):
                found.append(f"{_where(path)}:{node.lineno}: widen() without why=")
    assert not found, "\n".join(found)


# ---------------------------------------------------------------- cycles


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append(
                        (child, iter(sorted(graph.find_modules_directly_imported_by(child))))
                    )
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycles() -> None:
    graph = grimp.build_graph("tenantry", exclude_type_checking_imports=True, cache_dir=None)
    # A package's __init__ importing its children is no cycle a reader trips on.
    for module in list(graph.modules):
        for child in graph.find_children(module):
            if graph.direct_import_exists(importer=module, imported=child):
                graph.remove_import(importer=module, imported=child)
    cycles = _cycles(graph)
    assert not cycles, "\n".join(" <-> ".join(c) for c in cycles)


@pytest.mark.parametrize(
    ("edges", "expected"),
    [
        ([("a", "b"), ("b", "c")], []),
        ([("a", "b"), ("b", "a"), ("b", "c")], [["a", "b"]]),
        ([("a", "b"), ("b", "c"), ("c", "a"), ("d", "d2")], [["a", "b", "c"]]),
    ],
)
def test_the_cycle_finder(edges: list[tuple[str, str]], expected: list[list[str]]) -> None:
    graph = grimp.ImportGraph()
    for importer, imported in edges:
        graph.add_import(importer=importer, imported=imported)
    assert _cycles(graph) == expected


def test_every_csv_is_written_by_the_one_formula_safe_writer() -> None:
    found = []
    for path, module, tree in _trees():
        if module == "tenantry.kit.csv":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = ast.unparse(node.func)
                if name.endswith(("csv.writer", "csv.DictWriter")):
                    found.append(f"{_where(path)}:{node.lineno}: {name}")
    assert not found, "write CSV with tenantry.kit.csv:\n" + "\n".join(found)
