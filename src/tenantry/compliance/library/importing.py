"""Reading a framework from a file, before anything is written: an OSCAL catalog (JSON,
validated with compliance-trestle's OSCAL models) or a CSV (id, title, description,
group). A bad file is refused as a whole with errors that name the line (CSV) or the
JSON path (OSCAL, ``catalog.groups[0].controls[3].id``)."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from typing import Any

from tenantry.compliance.library.schemas import (
    MAX_REQUIREMENT_TITLE,
    MAX_REQUIREMENTS,
    ParsedFramework,
    ParsedRequirement,
    clean_description,
    clean_key,
    clean_ref,
    clean_title,
    clean_version,
)
from tenantry.errors import TenantryError, ValidationFailed

# The default of TENANTRY_MAX_IMPORT_BYTES; the routes pass the configured one.
MAX_IMPORT_BYTES = 5 * 1024 * 1024
CSV_COLUMNS = ("id", "title", "description", "group")
# At most this many problems are listed; the first ones are what a person fixes first.
MAX_LISTED = 20
_PARAM = re.compile(r"\{\{\s*insert:\s*param,\s*([^}\s]+)\s*\}\}")
_SLUG = re.compile(r"[^a-z0-9]+")


class ImportFailed(TenantryError):
    """The file cannot be imported; ``errors`` lists where and why (nothing was written)."""

    status = 422
    type_slug = "validation"
    title = "Invalid input"

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        listed = problems[:MAX_LISTED]
        first = listed[0]["message"] if listed else "cannot be imported"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"file: {first}{more}", errors=listed)


def _at_line(line: int, message: str) -> dict[str, Any]:
    return {"field": "file", "line": line, "message": f"line {line}: {message}"}


def _at_path(path: str, message: str) -> dict[str, Any]:
    return {"field": "file", "path": path, "message": f"{path}: {message}"}


def _text(data: bytes, max_bytes: int) -> str:
    if not data:
        raise ValidationFailed("file", "is empty; choose a file to import")
    if len(data) > max_bytes:
        raise ValidationFailed("file", f"is larger than {max_bytes / 2**20:g} MiB")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationFailed("file", "is not UTF-8 text") from exc


def slug_of(title: str) -> str:
    return _SLUG.sub("-", title.lower()).strip("-")[:100].strip("-") or "imported"


def _check_count(requirements: Iterable[ParsedRequirement]) -> None:
    if sum(1 for _ in requirements) > MAX_REQUIREMENTS:
        raise ValidationFailed("file", f"holds more than {MAX_REQUIREMENTS} requirements")


# ---------------------------------------------------------------- CSV


def parse_csv(
    data: bytes, *, key: str, title: str, version: str, max_bytes: int = MAX_IMPORT_BYTES
) -> ParsedFramework:
    """Columns id, title (required), description, group (optional) with a header line.
    A group's heading comes before its requirements; rows without a group come first."""
    clean = (clean_key(key), clean_version(version or "1"), clean_title(title))
    text = _text(data, max_bytes)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except (StopIteration, csv.Error) as exc:
        raise ValidationFailed("file", "line 1: a header line is needed") from exc
    missing = [c for c in ("id", "title") if c not in header]
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if missing or unknown:
        said = [f"missing column {', '.join(missing)}"] if missing else []
        said += [f"unknown column {', '.join(unknown)}"] if unknown else []
        raise ImportFailed([_at_line(1, "; ".join(said) + f" (columns: {', '.join(CSV_COLUMNS)})")])
    at = {name: header.index(name) for name in header}
    problems: list[dict[str, Any]] = []
    rows: list[tuple[str | None, ParsedRequirement]] = []
    seen: dict[str, int] = {}
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(_at_line(reader.line_num, f"cannot be read as CSV ({exc})"))
            break
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(header):
            problems.append(_at_line(line, f"has {len(cells)} cells, the header {len(header)}"))
            continue

        def cell(name: str, cells: list[str] = cells) -> str:
            i = at.get(name)
            return cells[i] if i is not None and i < len(cells) else ""

        try:
            ref = clean_ref(cell("id"), "id")
            row = ParsedRequirement(
                ref=ref,
                title=clean_title(cell("title"), "title", MAX_REQUIREMENT_TITLE),
                description=clean_description(cell("description")),
                parent_ref=None,
                assessable=True,
            )
            group = " ".join(cell("group").split())[:MAX_REQUIREMENT_TITLE] or None
        except ValidationFailed as exc:
            problems.append(_at_line(line, f"{exc.field} {exc.message}"))
            continue
        if ref in seen:
            problems.append(_at_line(line, f"id {ref} is already used on line {seen[ref]}"))
            continue
        seen[ref] = line
        rows.append((group, row))
    if not rows and not problems:
        problems.append(_at_line(2, "the file has a header but no requirements"))
    if problems:
        raise ImportFailed(problems)
    return ParsedFramework(
        key=clean[0],
        version=clean[1],
        title=clean[2],
        description="",
        source="csv",
        requirements=_grouped(rows, seen),
    )


def _grouped(
    rows: list[tuple[str | None, ParsedRequirement]], seen: dict[str, int]
) -> tuple[ParsedRequirement, ...]:
    order: list[ParsedRequirement] = [r for g, r in rows if g is None]
    groups: dict[str, list[ParsedRequirement]] = {}
    for g, r in rows:
        if g is not None:
            groups.setdefault(g, []).append(r)
    for n, (name, members) in enumerate(groups.items(), start=1):
        ref = f"GROUP-{n:02d}"
        while ref in seen:
            ref += "g"
        order.append(ParsedRequirement(ref, name, "", None, False))
        order += [ParsedRequirement(r.ref, r.title, r.description, ref, True) for r in members]
    _check_count(order)
    return tuple(order)


# ---------------------------------------------------------------- OSCAL


def _path(loc: Iterable[int | str]) -> str:
    """pydantic's location (with trestle's union variant names, ``Group1``) as a JSON
    path: ``catalog.groups[0].controls[3].id``."""
    out = "catalog"
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part[:1].isupper() or part.startswith("function-"):
            continue
        else:
            out += f".{part}"
    return out


def _friendly(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    if kind == "string_pattern_mismatch":
        return "is not a valid OSCAL token (letters, digits, '-', '_', '.'; no spaces)"
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not an OSCAL catalog field"
    return str(error.get("msg", "is not valid"))


def _oscal_problems(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # A union (trestle's group variants) reports one error per variant: keep the deepest
    # per place, so the field actually wrong is named rather than its container.
    by_path: dict[str, dict[str, Any]] = {}
    for error in sorted(errors, key=lambda e: -len(e.get("loc", ()))):
        path = _path(error.get("loc", ()))
        if any(p.startswith(path) and p != path for p in by_path):
            continue
        by_path.setdefault(path, error)
    return [_at_path(p, _friendly(e)) for p, e in by_path.items()]


def _prose(part: Any, params: dict[str, str]) -> list[str]:
    lines = []
    label = next((p.value for p in (part.props or []) if p.name == "label"), "")
    if part.prose:
        text = _PARAM.sub(lambda m: f"[{params.get(m.group(1), m.group(1))}]", part.prose)
        lines.append(f"{label} {text}".strip())
    for sub in part.parts or []:
        lines += _prose(sub, params)
    return lines


def _list(item: Any, name: str) -> list[Any]:
    """A list field of a trestle model; its union variants (``Group1``, ``Group2``) do not
    all declare every field."""
    return list(getattr(item, name, None) or [])


def _params(params: Iterable[Any] | None) -> dict[str, str]:
    return {p.id: (p.label or p.id) for p in params or []}


def _version(given: str, stated: str | None) -> str:
    if given.strip():
        return clean_version(given)
    try:
        return clean_version(stated or "1")
    except ValidationFailed:
        return slug_of(stated or "1")[:50]


def parse_oscal(
    data: bytes,
    *,
    key: str = "",
    title: str = "",
    version: str = "",
    max_bytes: int = MAX_IMPORT_BYTES,
) -> ParsedFramework:
    """Groups become group headings, controls (and their enhancements, under the control)
    requirements: ref = the control's ``label`` prop or its id, description = the prose of
    its statement part."""
    text = _text(data, max_bytes)
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFailed(
            [_at_line(exc.lineno, f"not valid JSON ({exc.msg}, column {exc.colno})")]
        ) from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("catalog"), dict):
        raise ImportFailed([_at_path("catalog", "is missing: an OSCAL catalog document")])
    # Imported here: trestle's models take a second to load, only imports need them.
    from pydantic import ValidationError
    from trestle.oscal.catalog import Catalog

    try:
        catalog = Catalog.model_validate(raw["catalog"])
    except ValidationError as exc:
        raise ImportFailed(_oscal_problems(list(exc.errors()))) from exc  # type: ignore[arg-type]

    out: list[ParsedRequirement] = []
    problems: list[dict[str, Any]] = []
    seen: dict[str, str] = {}

    def add(ref: str, where: str, item: ParsedRequirement) -> None:
        if ref in seen:
            problems.append(_at_path(where, f"{ref} is already used at {seen[ref]}"))
            return
        seen[ref] = where
        out.append(item)

    def control(c: Any, where: str, parent: str | None, inherited: dict[str, str]) -> None:
        params = {**inherited, **_params(c.params)}
        label = next((p.value for p in (c.props or []) if p.name == "label"), "")
        try:
            ref = clean_ref(label) if label else c.id
        except ValidationFailed:
            ref = c.id
        statement = [p for p in (c.parts or []) if p.name == "statement"]
        prose = "\n".join(line for p in statement for line in _prose(p, params))
        add(ref, f"{where}.id", ParsedRequirement(ref, c.title[:500], prose, parent, True))
        for i, sub in enumerate(c.controls or []):
            control(sub, f"{where}.controls[{i}]", ref, params)

    def group(g: Any, where: str, parent: str | None) -> None:
        ref = g.id or f"GROUP-{len(out) + 1:02d}"
        add(ref, f"{where}.id", ParsedRequirement(ref, g.title[:500], "", parent, False))
        for i, c in enumerate(_list(g, "controls")):
            control(c, f"{where}.controls[{i}]", ref, _params(_list(g, "params")))
        for i, sub in enumerate(_list(g, "groups")):
            group(sub, f"{where}.groups[{i}]", ref)

    for i, c in enumerate(_list(catalog, "controls")):
        control(c, f"catalog.controls[{i}]", None, _params(_list(catalog, "params")))
    for i, g in enumerate(_list(catalog, "groups")):
        group(g, f"catalog.groups[{i}]", None)
    if not any(r.assessable for r in out):
        problems.append(_at_path("catalog", "holds no controls to import"))
    if problems:
        raise ImportFailed(problems)
    _check_count(out)
    meta_title = catalog.metadata.title
    return ParsedFramework(
        key=clean_key(key) if key.strip() else slug_of(meta_title),
        version=_version(version, catalog.metadata.version),
        title=clean_title(title or meta_title),
        description=str(catalog.metadata.remarks or "")[:20_000],
        source="oscal",
        requirements=tuple(out),
    )
