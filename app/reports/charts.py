"""Server-rendered inline SVG charts: no JavaScript, no inline styles (the CSP forbids
them; colours come from classes in app.css, with SVG presentation attributes as the
fallback). Every chart carries <title> and <desc> and `role="img"`, and the page shows the
same numbers in a table.

    bar_chart(points, chart_id="trend-7", title=..., desc=...)  -> Markup
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup

WIDTH = 600
HEIGHT = 200
PAD_TOP = 12
PAD_BOTTOM = 24
PAD_SIDE = 4


def _nice_max(value: int) -> int:
    """A round axis maximum at or above `value` (1, 2, 2.5 or 5 times a power of ten)."""
    if value <= 0:
        return 1
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        candidate = int(step * magnitude)
        if candidate >= value:
            return candidate
    return 10 * magnitude


def bar_chart(points: Sequence[tuple[str, int, str]], *, chart_id: str, title: str,
              desc: str, label_every: int = 1) -> Markup:
    """A bar chart of `points` = [(axis label, value, tooltip)], one bar per point (a zero
    is a bar of height 0, so the count of bars is the count of points). Every
    `label_every`-th axis label is printed (30 days do not fit a tablet otherwise)."""
    count = max(len(points), 1)
    top = _nice_max(max((value for _, value, _ in points), default=0))
    plot_height = HEIGHT - PAD_TOP - PAD_BOTTOM
    slot = (WIDTH - 2 * PAD_SIDE) / count
    bar_width = max(slot * 0.7, 1.0)
    baseline = HEIGHT - PAD_BOTTOM
    parts = [
        Markup('<svg class="chart" viewBox="0 0 {w} {h}" role="img" '
               'aria-labelledby="{id}-title {id}-desc" xmlns="http://www.w3.org/2000/svg">'
               '<title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>'
               '<line class="chart-axis" x1="{pad}" y1="{base}" x2="{right}" y2="{base}" '
               'stroke="#9aa5b1" stroke-width="1"/>').format(
            w=WIDTH, h=HEIGHT, id=chart_id, title=title, desc=desc, pad=PAD_SIDE,
            base=baseline, right=WIDTH - PAD_SIDE),
    ]
    for index, (label, value, tooltip) in enumerate(points):
        height = round(plot_height * max(value, 0) / top, 2)
        x = round(PAD_SIDE + index * slot + (slot - bar_width) / 2, 2)
        y = round(baseline - height, 2)
        parts.append(Markup(
            '<rect class="chart-bar" x="{}" y="{}" width="{}" height="{}" fill="#0f766e">'
            '<title>{}</title></rect>').format(x, y, round(bar_width, 2), height, tooltip))
        if index % label_every == 0 or index == len(points) - 1:
            center = round(PAD_SIDE + index * slot + slot / 2, 2)
            parts.append(Markup(
                '<text class="chart-label" x="{}" y="{}" text-anchor="middle" font-size="11" '
                'fill="#52606d">{}</text>').format(center, HEIGHT - 6, label))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)
