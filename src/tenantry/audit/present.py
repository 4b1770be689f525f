"""An event's changes as people read them, whichever shape the event was written in.

Events are written as ``{"field": [old, new]}`` (``audit.changes``). Older events hold
plain values (``{"field": value}``) or ``{"field": {"from": old, "to": new}}``; they are
part of the chain and never rewritten, so every reader goes through here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_LINE = 160
NOTHING = "—"


def _text(value: Any) -> str:
    return NOTHING if value is None else str(value)


def change_line(name: str, value: Any) -> str | None:
    """One field's change as ``name: old → new`` (None when old and new are equal)."""
    if isinstance(value, list) and len(value) == 2:
        old, new = value
    elif isinstance(value, dict) and set(value) == {"from", "to"}:
        old, new = value["from"], value["to"]
    elif isinstance(value, dict):
        return f"{name}: " + ", ".join(f"{k} {v}" for k, v in value.items() if v)
    else:
        return f"{name}: {_text(value)}"
    if old == new:
        return None  # recorded for completeness, but nothing changed
    return f"{name}: {_text(old)} → {_text(new)}"


def change_lines(stored: Mapping[str, Any], width: int = MAX_LINE) -> list[str]:
    """Every changed field, one line each, cut to ``width`` for a table cell."""
    lines = [line for k, v in stored.items() if (line := change_line(k, v)) is not None]
    return [line if len(line) <= width else line[: width - 3] + "…" for line in lines]


def change_text(stored: Mapping[str, Any]) -> str:
    """All of them on one line, in full (the CSV export's readable column)."""
    lines = [line for k, v in stored.items() if (line := change_line(k, v)) is not None]
    return "; ".join(lines)
