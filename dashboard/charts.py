"""Server-side SVG charts: no JavaScript, no CDN, readable without colour.

Each chart is a self-contained ``<svg role="img">`` with a title, a value
axis, a label under every point and the exact value in each mark's tooltip;
pages show the same numbers in a table next to it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 24, 40


@dataclass(frozen=True)
class Point:
    label: str
    value: float | None  # None: no data for this point (drawn as a gap)


def nice_max(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten that is at least ``value``: a readable axis top."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * magnitude * (1 + 1e-9):
            return float(step * magnitude)
    return float(10 * magnitude)


def chart(
    *,
    title: str,
    points: Sequence[Point],
    kind: str = "bar",
    fmt: Callable[[float], str] = lambda v: f"{v:g}",
    colour: str = "#0b5cad",
    max_value: float | None = None,
) -> SafeString:
    """A bar or line chart of the points, as SVG markup safe to put in a page."""
    values = [p.value for p in points if p.value is not None]
    top = max_value if max_value is not None else nice_max(max(values, default=0.0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(points), 1)

    def y(value: float) -> float:
        return TOP + plot_h - (min(value, top) / top) * plot_h if top else TOP + plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}" stroke="#5b6270"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="#5b6270"/>',
    ]
    for fraction in (0.5, 1.0) if values else ():
        gy = y(top * fraction)
        parts.append(
            f'<line x1="{LEFT}" y1="{gy:.1f}" x2="{WIDTH - RIGHT}" y2="{gy:.1f}" stroke="#d9dce1" '
            f'stroke-dasharray="3 3"/><text x="{LEFT - 6}" y="{gy + 4:.1f}" text-anchor="end" '
            f'font-size="11" fill="#5b6270">{escape(fmt(top * fraction))}</text>'
        )
    parts.append(
        f'<text x="{LEFT - 6}" y="{TOP + plot_h + 4}" text-anchor="end" font-size="11" fill="#5b6270">'
        f"{escape(fmt(0))}</text>"
    )
    line: list[str] = []
    label_every = max(1, len(points) // 15)
    for index, point in enumerate(points):
        cx = LEFT + step * index + step / 2
        if index % label_every == 0:
            parts.append(
                f'<text x="{cx:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" font-size="11" '
                f'fill="#1b1d21">{escape(point.label)}</text>'
            )
        if point.value is None:
            if line:
                parts.append(_polyline(line, colour))
                line = []
            continue
        tip = f"<title>{escape(point.label)}: {escape(fmt(point.value))}</title>"
        if kind == "bar":
            bar_w = max(step * 0.7, 1.0)
            top_y = y(point.value)
            parts.append(
                f'<rect class="mark" x="{cx - bar_w / 2:.1f}" y="{top_y:.1f}" width="{bar_w:.1f}" '
                f'height="{TOP + plot_h - top_y:.1f}" fill="{colour}">{tip}</rect>'
            )
        else:
            line.append(f"{cx:.1f},{y(point.value):.1f}")
            parts.append(
                f'<circle class="mark" cx="{cx:.1f}" cy="{y(point.value):.1f}" r="3.5" '
                f'fill="{colour}">{tip}</circle>'
            )
    if line:
        parts.append(_polyline(line, colour))
    if not values:
        parts.append(
            f'<text x="{LEFT + plot_w / 2}" y="{TOP + plot_h / 2}" text-anchor="middle" font-size="13" '
            'fill="#5b6270">No data yet</text>'
        )
    parts.append("</svg>")
    # Every piece of text above went through escape(); numbers are formatted here.
    return mark_safe("".join(parts))  # noqa: S308


def _polyline(points: list[str], colour: str) -> str:
    return f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" stroke-width="2"/>'
