"""A score trend as a small inline SVG (no script, nothing fetched): the overview draws
one per row from the kept ``recent`` scores. Pure; the caller marks it safe."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup

WIDTH = 88
HEIGHT = 24
PAD = 2


def sparkline(
    scores: Sequence[float | None], *, width: int = WIDTH, height: int = HEIGHT
) -> Markup:
    """The scores (percent, oldest first; None: nothing applicable then) on a 0 to 100
    scale, the last point marked; labelled for screen readers with the first and last."""
    points = [s for s in scores if s is not None]
    if not points:
        return Markup('<span class="cov-nospark">no trend yet</span>')
    label = (
        f"Score trend over the last {len(points)} changes: {points[0]:.1f}% to {points[-1]:.1f}%"
        if len(points) > 1
        else f"One score so far: {points[0]:.1f}%"
    )
    inner_w, inner_h = width - 2 * PAD, height - 2 * PAD
    step = inner_w / (len(points) - 1) if len(points) > 1 else 0.0

    def xy(n: int, value: float) -> tuple[float, float]:
        clamped = min(100.0, max(0.0, value))
        x = PAD + (n * step if len(points) > 1 else inner_w)
        return round(x, 1), round(PAD + inner_h * (1 - clamped / 100), 1)

    coords = [xy(n, v) for n, v in enumerate(points)]
    last_x, last_y = coords[-1]
    line = (
        Markup(
            '<polyline fill="none" stroke="currentColor" stroke-width="1.5" '
            'stroke-linejoin="round" points="{}"/>'
        ).format(" ".join(f"{x},{y}" for x, y in coords))
        if len(coords) > 1
        else Markup("")
    )
    return Markup(
        '<svg class="cov-spark" role="img" aria-label="{label}" width="{w}" height="{h}" '
        'viewBox="0 0 {w} {h}" xmlns="http://www.w3.org/2000/svg"><title>{label}</title>'
        '<line x1="{pad}" y1="{base}" x2="{right}" y2="{base}" stroke="currentColor" '
        'stroke-opacity=".2"/>{line}<circle cx="{x}" cy="{y}" r="2" fill="currentColor"/></svg>'
    ).format(
        label=label,
        w=width,
        h=height,
        pad=PAD,
        base=height - PAD,
        right=width - PAD,
        line=line,
        x=last_x,
        y=last_y,
    )
