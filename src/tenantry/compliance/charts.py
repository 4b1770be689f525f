"""Small server-rendered SVG charts (no script, nothing from outside): a sparkline for a
trend in a table row, and a line chart of a score's history. Accessible: each SVG has
``role="img"``, a ``<title>`` and ``<desc>`` (the values in words), so a screen reader
reads the trend and the page needs no picture to be understood.

Values are scores in basis points (0..10000) unless ``top`` says otherwise; None is a gap
(nothing applicable then). Pure functions, no domain knowledge: any page may reuse them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape

from markupsafe import Markup

_counter = 0


def _id(prefix: str) -> str:
    global _counter
    _counter += 1
    return f"{prefix}-{_counter}"


def percent(value: int | None, top: int = 10_000) -> str:
    """A basis-point score as people read it: ``72.5%``; ``n/a`` for None."""
    if value is None:
        return "n/a"
    shown = f"{100 * value / top:.1f}".removesuffix(".0")
    return f"{shown}%"


def _points(
    values: Sequence[int | None], width: float, height: float, top: int, pad: float
) -> list[tuple[float, float] | None]:
    n = len(values)
    step = (width - 2 * pad) / (n - 1) if n > 1 else 0.0
    out: list[tuple[float, float] | None] = []
    for i, v in enumerate(values):
        if v is None:
            out.append(None)
            continue
        x = pad + i * step if n > 1 else width / 2
        y = height - pad - (height - 2 * pad) * max(0, min(v, top)) / top
        out.append((round(x, 1), round(y, 1)))
    return out


def _paths(points: list[tuple[float, float] | None]) -> list[str]:
    """One polyline's points per unbroken run (a None breaks the line)."""
    runs: list[list[tuple[float, float]]] = [[]]
    for p in points:
        if p is None:
            runs.append([])
        else:
            runs[-1].append(p)
    return [" ".join(f"{x},{y}" for x, y in run) for run in runs if run]


def sparkline(
    values: Sequence[int | None],
    *,
    label: str,
    width: int = 96,
    height: int = 24,
    top: int = 10_000,
) -> Markup:
    """A tiny trend line; ``label`` names what it shows ("Baseline score trend")."""
    shown = ", ".join(percent(v, top) for v in values) or "no values yet"
    title_id, desc_id = _id("spark-title"), _id("spark-desc")
    parts = [
        f'<svg class="sparkline" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-labelledby="{title_id} {desc_id}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{title_id}">{escape(label)}</title>',
        f'<desc id="{desc_id}">{escape(shown)}</desc>',
    ]
    points = _points(values, width, height, top, 2)
    for run in _paths(points):
        parts.append(
            f'<polyline points="{run}" fill="none" stroke="currentColor" stroke-width="1.5" '
            'stroke-linejoin="round" stroke-linecap="round"/>'
        )
    last = next((p for p in reversed(points) if p is not None), None)
    if last is not None:
        parts.append(f'<circle cx="{last[0]}" cy="{last[1]}" r="2" fill="currentColor"/>')
    parts.append("</svg>")
    # Every text in it went through escape(); the rest are numbers and fixed markup.
    return Markup("".join(parts))  # noqa: S704


def line_chart(
    points: Sequence[tuple[datetime, int | None]],
    *,
    label: str,
    width: int = 640,
    height: int = 200,
    top: int = 10_000,
) -> Markup:
    """A score over time: gridlines at 0, 50 and 100%, a dot per stored value, the
    first and last dates under the axis. The points are evenly spaced (one per change),
    so a burst of changes in one day stays readable."""
    pad_left, pad = 44, 16
    title_id, desc_id = _id("chart-title"), _id("chart-desc")
    words = (
        "; ".join(f"{at:%Y-%m-%d %H:%M} UTC: {percent(v, top)}" for at, v in points)
        or "no values yet"
    )
    parts = [
        f'<svg class="line-chart" role="img" width="100%" '
        f'viewBox="0 0 {width} {height}" style="max-height: {height * 1.5:.0f}px" '
        f'aria-labelledby="{title_id} {desc_id}" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{title_id}">{escape(label)}</title>',
        f'<desc id="{desc_id}">{escape(words)}</desc>',
    ]
    inner_h = height - 2 * pad - 14
    for share in (0, 0.5, 1):
        y = round(pad + inner_h * (1 - share), 1)
        parts.append(
            f'<line x1="{pad_left}" y1="{y}" x2="{width - pad}" y2="{y}" '
            'stroke="currentColor" stroke-opacity="0.2"/>'
        )
        parts.append(
            f'<text x="{pad_left - 6}" y="{y + 4}" text-anchor="end" font-size="11" '
            f'fill="currentColor">{int(share * 100)}%</text>'
        )
    values = [v for _, v in points]
    n = len(values)
    step = (width - pad_left - pad) / (n - 1) if n > 1 else 0.0
    xy: list[tuple[float, float] | None] = []
    for i, v in enumerate(values):
        if v is None:
            xy.append(None)
            continue
        x = pad_left + i * step if n > 1 else (pad_left + width - pad) / 2
        y = pad + inner_h * (1 - max(0, min(v, top)) / top)
        xy.append((round(x, 1), round(y, 1)))
    for run in _paths(xy):
        parts.append(
            f'<polyline points="{run}" fill="none" stroke="currentColor" stroke-width="2" '
            'stroke-linejoin="round"/>'
        )
    for p in xy:
        if p is not None:
            parts.append(f'<circle cx="{p[0]}" cy="{p[1]}" r="3" fill="currentColor"/>')
    if points:
        base = height - 4
        parts.append(
            f'<text x="{pad_left}" y="{base}" font-size="11" fill="currentColor">'
            f"{points[0][0]:%Y-%m-%d}</text>"
        )
        if n > 1:
            parts.append(
                f'<text x="{width - pad}" y="{base}" text-anchor="end" font-size="11" '
                f'fill="currentColor">{points[-1][0]:%Y-%m-%d}</text>'
            )
    parts.append("</svg>")
    # Every text in it went through escape(); the rest are numbers and fixed markup.
    return Markup("".join(parts))  # noqa: S704
