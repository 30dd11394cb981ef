"""Server-rendered inline SVG charts: no JavaScript, no inline styles (the CSP forbids
them; colours come from classes in app.css, with SVG presentation attributes as the
fallback). Every chart carries <title> and <desc> and `role="img"`, and the page shows the
same numbers in a table.

    bar_chart(points, chart_id="trend-7", title=..., desc=..., value_label=...)  -> Markup
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from markupsafe import Markup

# A narrow drawing (scaled to the column: 300px wide on a 360px phone, at most 480px,
# app/static/css/ui-floor.css) with text large enough to stay about 11px or more on the phone.
WIDTH = 400
HEIGHT = 240
PAD_TOP = 14
PAD_BOTTOM = 26
PAD_LEFT = 60  # the value axis labels
PAD_RIGHT = 6
FONT = 16
GRID_LINES = 4  # value lines above the baseline: 1/4, 1/2, 3/4 and the top


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


def _plain(value: int) -> str:
    return f"{value:,}".replace(",", ".")


def bar_chart(points: Sequence[tuple[str, int, str]], *, chart_id: str, title: str,
              desc: str, label_every: int = 1,
              value_label: Callable[[int], str] = _plain) -> Markup:
    """A bar chart of `points` = [(axis label, value, tooltip)], one bar per point (a zero
    is a bar of height 0, so the count of bars is the count of points), over horizontal
    gridlines with their values on the left (`value_label` writes them: "1,5 jt").
    Every `label_every`-th axis label is printed (30 days do not fit a phone otherwise)."""
    count = max(len(points), 1)
    top = _nice_max(max((value for _, value, _ in points), default=0))
    plot_height = HEIGHT - PAD_TOP - PAD_BOTTOM
    slot = (WIDTH - PAD_LEFT - PAD_RIGHT) / count
    bar_width = max(slot * 0.7, 1.0)
    baseline = HEIGHT - PAD_BOTTOM
    parts = [
        Markup('<svg class="chart" viewBox="0 0 {w} {h}" role="img" '
               'aria-labelledby="{id}-title {id}-desc" xmlns="http://www.w3.org/2000/svg">'
               '<title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>'
               ).format(w=WIDTH, h=HEIGHT, id=chart_id, title=title, desc=desc),
    ]
    # Gridlines and their values (the baseline is the axis itself, labelled 0).
    for step in range(GRID_LINES + 1):
        value = top * step / GRID_LINES
        y = round(baseline - plot_height * step / GRID_LINES, 2)
        css = "chart-axis" if step == 0 else "chart-grid"
        colour = "#9aa5b1" if step == 0 else "#e4e7eb"
        parts.append(Markup(
            '<line class="{}" x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="1"/>'
            '<text class="chart-value" x="{}" y="{}" text-anchor="end" font-size="{}" '
            'fill="#52606d">{}</text>').format(
            css, PAD_LEFT, y, WIDTH - PAD_RIGHT, y, colour, PAD_LEFT - 6,
            round(y + FONT / 3, 2), FONT, value_label(round(value))))
    for index, (label, value, tooltip) in enumerate(points):
        height = round(plot_height * max(value, 0) / top, 2)
        x = round(PAD_LEFT + index * slot + (slot - bar_width) / 2, 2)
        y = round(baseline - height, 2)
        parts.append(Markup(
            '<rect class="chart-bar" x="{}" y="{}" width="{}" height="{}" fill="#0f766e">'
            '<title>{}</title></rect>').format(x, y, round(bar_width, 2), height, tooltip))
        if index % label_every == 0 or index == len(points) - 1:
            center = round(PAD_LEFT + index * slot + slot / 2, 2)
            parts.append(Markup(
                '<text class="chart-label" x="{}" y="{}" text-anchor="middle" font-size="{}" '
                'fill="#52606d">{}</text>').format(center, HEIGHT - 6, FONT, label))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)
