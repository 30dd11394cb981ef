"""Product photos for the demo shop, drawn by code (Pillow): no image files to license.

`demo_photo(shape, colour, label, seed)` draws one product on a soft background: a bottle,
jar, tube, pump bottle, dropper bottle, box, sachet, bar of soap, lipstick, compact, a
folded top, a hijab or a book, in the product's colour, with a label carrying its text.
The result is a PNG; the demo hands it to `product_photos_add` like any upload (so it is
re-encoded and stored by the same code as a seller's photo).
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from typing import NamedTuple

from PIL import Image, ImageDraw, ImageFont

SIZE = 520  # drawn at this size
OUTPUT = 440  # and saved at this one (the photo shown at ~440 px: light pages)
SHAPES = ("bottle", "jar", "tube", "pump", "dropper", "box", "sachet", "bar", "lipstick",
          "compact", "top", "hijab", "book")

Colour = tuple[int, int, int]


def _mix(colour: Colour, other: Colour, amount: float) -> Colour:
    return tuple(round(a + (b - a) * amount) for a, b in zip(colour, other, strict=True))  # type: ignore[return-value]


def _ink_on(colour: Colour) -> Colour:
    """Dark text on a light colour, white on a dark one."""
    r, g, b = colour
    return (30, 34, 40) if (r * 299 + g * 587 + b * 114) / 1000 > 150 else (255, 255, 255)


def _label(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], text: str,
           fill: Colour, *, radius: int = 8) -> None:
    draw.rounded_rectangle(box, radius=radius, fill=fill)
    ink = _ink_on(fill)
    font = ImageFont.load_default(size=17)
    words = text.split()
    lines: list[str] = []
    for word in words:  # wrap at ~10 characters a line, at most three lines
        if lines and len(lines[-1]) + 1 + len(word) <= 10:
            lines[-1] += " " + word
        else:
            lines.append(word[:10])
    lines = lines[:3]
    x0, y0, x1, y1 = box
    height = len(lines) * 20
    y = (y0 + y1) // 2 - height // 2
    for line in lines:
        width = draw.textlength(line, font=font)
        draw.text(((x0 + x1) / 2 - width / 2, y), line, fill=ink, font=font)
        y += 20


def _shadow(draw: ImageDraw.ImageDraw, cx: int, bottom: int, width: int, bg: Colour) -> None:
    draw.ellipse((cx - width // 2, bottom - 10, cx + width // 2, bottom + 12),
                 fill=_mix(bg, (0, 0, 0), 0.12))


class _Pen(NamedTuple):
    """Where and with which colours a product shape is drawn."""

    cx: int
    floor: int
    colour: Colour
    light: Colour
    dark: Colour
    cap: Colour
    white: Colour
    label: str


def _draw_bottle(draw: ImageDraw.ImageDraw, pen: _Pen) -> None:
    cx, floor, colour, light, cap, white, label = (
        pen.cx, pen.floor, pen.colour, pen.light, pen.cap, pen.white, pen.label)
    draw.rounded_rectangle((cx - 70, 170, cx + 70, floor), radius=36, fill=colour)
    draw.rectangle((cx - 28, 120, cx + 28, 172), fill=light)
    draw.rounded_rectangle((cx - 34, 80, cx + 34, 124), radius=6, fill=cap)
    _label(draw, (cx - 56, 260, cx + 56, 360), label, white)


def _draw_jar(draw: ImageDraw.ImageDraw, pen: _Pen) -> None:
    cx, floor, colour, cap, white, label = (
        pen.cx, pen.floor, pen.colour, pen.cap, pen.white, pen.label)
    draw.rounded_rectangle((cx - 110, 250, cx + 110, floor), radius=28, fill=colour)
    draw.rounded_rectangle((cx - 118, 205, cx + 118, 258), radius=10, fill=cap)
    _label(draw, (cx - 86, 290, cx + 86, 370), label, white)


def _draw_tube(draw: ImageDraw.ImageDraw, pen: _Pen) -> None:
    cx, floor, colour, dark, cap, white, label = (
        pen.cx, pen.floor, pen.colour, pen.dark, pen.cap, pen.white, pen.label)
    draw.polygon(((cx - 80, 120), (cx + 80, 120), (cx + 56, floor - 56), (cx - 56, floor - 56)),
                 fill=colour)
    draw.rectangle((cx - 84, 108, cx + 84, 126), fill=dark)
    draw.rounded_rectangle((cx - 40, floor - 60, cx + 40, floor), radius=8, fill=cap)
    _label(draw, (cx - 58, 200, cx + 58, 300), label, white)


def _draw_pump(draw: ImageDraw.ImageDraw, pen: _Pen) -> None:
    cx, floor, colour, cap, white, label = (
        pen.cx, pen.floor, pen.colour, pen.cap, pen.white, pen.label)
    draw.rounded_rectangle((cx - 78, 200, cx + 78, floor), radius=22, fill=colour)
    draw.rectangle((cx - 14, 120, cx + 14, 202), fill=cap)
    draw.rounded_rectangle((cx - 14, 104, cx + 70, 126), radius=6, fill=cap)
    draw.rounded_rectangle((cx - 36, 180, cx + 36, 204), radius=6, fill=cap)
    _label(draw, (cx - 62, 280, cx + 62, 380), label, white)


def _draw_dropper(draw: ImageDraw.ImageDraw, pen: _Pen) -> None:
    cx, floor, colour, cap, white, label = (
        pen.cx, pen.floor, pen.colour, pen.cap, pen.white, pen.label)
    draw.rounded_rectangle((cx - 62, 240, cx + 62, floor), radius=18, fill=colour)
    draw.rectangle((cx - 26, 208, cx + 26, 242), fill=(40, 40, 44))
    draw.ellipse((cx - 24, 110, cx + 24, 214), fill=cap)
    _label(draw, (cx - 50, 300, cx + 50, 380), label, white)


def _draw_box(draw: ImageDraw.ImageDraw, pen: _Pen) -> None:
    cx, floor, colour, light, dark, white, label = (
        pen.cx, pen.floor, pen.colour, pen.light, pen.dark, pen.white, pen.label)
    draw.polygon(((cx - 100, 190), (cx + 60, 190), (cx + 100, 160), (cx - 60, 160)), fill=light)
    draw.polygon(((cx + 60, 190), (cx + 100, 160), (cx + 100, floor - 30), (cx + 60, floor)),
                 fill=dark)
    draw.rectangle((cx - 100, 190, cx + 60, floor), fill=colour)
    _label(draw, (cx - 86, 260, cx + 46, 350), label, white)


def _draw_sachet(draw: ImageDraw.ImageDraw, pen: _Pen) -> None:
    cx, floor, colour, light, white, label = (
        pen.cx, pen.floor, pen.colour, pen.light, pen.white, pen.label)
    draw.rounded_rectangle((cx - 90, 140, cx + 90, floor), radius=10, fill=colour)
    for x in range(cx - 90, cx + 90, 12):  # the serrated sealed edges
        draw.polygon(((x, 140), (x + 6, 130), (x + 12, 140)), fill=colour)
        draw.polygon(((x, floor), (x + 6, floor + 10), (x + 12, floor)), fill=colour)
    draw.rectangle((cx - 90, 160, cx + 90, 172), fill=light)
    _label(draw, (cx - 70, 250, cx + 70, 350), label, white)


def _draw_bar(draw: ImageDraw.ImageDraw, pen: _Pen) -> None:
    cx, floor, colour, light, label = pen.cx, pen.floor, pen.colour, pen.light, pen.label
    draw.rounded_rectangle((cx - 130, 300, cx + 130, floor), radius=40, fill=colour)
    draw.rounded_rectangle((cx - 100, 320, cx + 100, floor - 20), radius=30, fill=light)
    _label(draw, (cx - 80, 340, cx + 80, floor - 40), label, colour, radius=20)


def _draw_lipstick(draw: ImageDraw.ImageDraw, pen: _Pen) -> None:
    cx, floor, colour, white, label = pen.cx, pen.floor, pen.colour, pen.white, pen.label
    draw.rounded_rectangle((cx - 40, 280, cx + 40, floor), radius=6, fill=(40, 40, 44))
    draw.rectangle((cx - 32, 220, cx + 32, 282), fill=(196, 160, 80))
    draw.polygon(((cx - 26, 222), (cx + 26, 222), (cx + 26, 140), (cx - 26, 170)), fill=colour)
    draw.rounded_rectangle((cx + 70, 250, cx + 150, floor), radius=6, fill=(40, 40, 44))
    _label(draw, (cx - 150, 120, cx - 60, 200), label, white)


def _draw_compact(draw: ImageDraw.ImageDraw, pen: _Pen) -> None:
    cx, floor, colour, light, dark, white, label = (
        pen.cx, pen.floor, pen.colour, pen.light, pen.dark, pen.white, pen.label)
    draw.ellipse((cx - 130, 250, cx + 130, floor + 10), fill=dark)
    draw.ellipse((cx - 120, 240, cx + 120, floor - 4), fill=colour)
    draw.ellipse((cx - 80, 270, cx + 80, floor - 34), fill=light)
    _label(draw, (cx - 90, 130, cx + 90, 200), label, white)


def _draw_top(draw: ImageDraw.ImageDraw, pen: _Pen) -> None:
    cx, floor, colour, dark, white, label = (
        pen.cx, pen.floor, pen.colour, pen.dark, pen.white, pen.label)
    draw.polygon(((cx - 150, 200), (cx - 60, 160), (cx + 60, 160), (cx + 150, 200),
                  (cx + 120, 260), (cx + 90, 245), (cx + 90, floor), (cx - 90, floor),
                  (cx - 90, 245), (cx - 120, 260)), fill=colour)
    draw.arc((cx - 40, 130, cx + 40, 200), 0, 180, fill=dark, width=8)
    _label(draw, (cx - 60, 300, cx + 60, 370), label, white)


def _draw_hijab(draw: ImageDraw.ImageDraw, pen: _Pen) -> None:
    cx, floor, colour, light, dark, white, label = (
        pen.cx, pen.floor, pen.colour, pen.light, pen.dark, pen.white, pen.label)
    draw.polygon(((cx - 140, floor), (cx, 140), (cx + 140, floor)), fill=colour)
    draw.polygon(((cx - 100, floor), (cx, 210), (cx + 100, floor)), fill=light)
    for offset in range(-90, 100, 30):
        draw.line((cx + offset, floor - 4, cx + offset // 2, 260), fill=dark, width=3)
    _label(draw, (cx - 60, floor - 80, cx + 60, floor - 20), label, white)


def _draw_book(draw: ImageDraw.ImageDraw, pen: _Pen) -> None:
    cx, floor, colour, light, dark, white, label = (
        pen.cx, pen.floor, pen.colour, pen.light, pen.dark, pen.white, pen.label)
    draw.rectangle((cx - 100, 120, cx + 100, floor), fill=colour)
    draw.rectangle((cx - 100, 120, cx - 84, floor), fill=dark)
    draw.rectangle((cx + 100, 130, cx + 110, floor - 6), fill=(240, 236, 226))
    _label(draw, (cx - 70, 180, cx + 90, 300), label, white)
    draw.rectangle((cx - 60, 330, cx + 80, 338), fill=light)


# Each shape the demo products come in; anything else is drawn as a book.
_SHAPES: dict[str, Callable[[ImageDraw.ImageDraw, _Pen], None]] = {
    "bottle": _draw_bottle,
    "jar": _draw_jar,
    "tube": _draw_tube,
    "pump": _draw_pump,
    "dropper": _draw_dropper,
    "box": _draw_box,
    "sachet": _draw_sachet,
    "bar": _draw_bar,
    "lipstick": _draw_lipstick,
    "compact": _draw_compact,
    "top": _draw_top,
    "hijab": _draw_hijab,
}


def demo_photo(shape: str, colour: Colour, label: str, seed: int = 0) -> bytes:
    """One product picture as PNG bytes (OUTPUT x OUTPUT)."""
    rng = random.Random(seed)  # noqa: S311 - a picture's layout, not a secret
    bg = _mix(colour, (255, 255, 255), 0.86 + rng.random() * 0.08)
    image = Image.new("RGB", (SIZE, SIZE), bg)
    draw = ImageDraw.Draw(image)
    # A surface the product stands on, and a few soft dots (a "scene", not a flat fill).
    draw.rectangle((0, SIZE * 0.72, SIZE, SIZE), fill=_mix(bg, (255, 255, 255), 0.5))
    for _ in range(5):
        r = rng.randint(14, 40)
        x, y = rng.randint(0, SIZE), rng.randint(0, int(SIZE * 0.6))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=_mix(bg, colour, 0.18))
    dark = _mix(colour, (0, 0, 0), 0.35)
    light = _mix(colour, (255, 255, 255), 0.35)
    white = (250, 250, 250)
    cap = rng.choice(((40, 40, 44), (230, 230, 232), (196, 160, 80), dark))
    cx, floor = SIZE // 2, int(SIZE * 0.8)
    _shadow(draw, cx, floor, 220, bg)
    _SHAPES.get(shape, _draw_book)(draw, _Pen(cx, floor, colour, light, dark, cap, white, label))
    buffer = io.BytesIO()
    image.resize((OUTPUT, OUTPUT), Image.Resampling.BILINEAR).save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()
