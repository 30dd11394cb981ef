"""The fonts of every PDF the app makes (invoices, contracts, reports): DejaVu Sans.

reportlab's built-in Helvetica is not embedded and covers only WinAnsi: an "Ş", "ğ" or
"ư" of an Indonesian (or any) name prints as a black box. DejaVu Sans covers them all and
is embedded (subset) as TrueType, so the PDF prints the same everywhere. Debian ships it
as `fonts-dejavu-core` (installed by the Makefile and the Dockerfile); `PDF_FONT_DIR`
(environment) points elsewhere.

    pdf_fonts()  # registers FONT and FONT_BOLD once; PdfFontsMissing when absent

A PDF module calls `pdf_fonts()` before it builds and names FONT / FONT_BOLD in its
styles. There is no fallback to Helvetica: a missing font is a deployment error, raised
with what to install (and checked at start-up in production, see `app/__init__.py`).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Literal

from reportlab import rl_config
from reportlab.graphics.shapes import STATE_DEFAULTS
from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus.tables import CellStyle

FONT = "DejaVuSans"
FONT_BOLD = "DejaVuSans-Bold"
DEFAULT_FONT_DIR = "/usr/share/fonts/truetype/dejavu"
_FILES = {FONT: "DejaVuSans.ttf", FONT_BOLD: "DejaVuSans-Bold.ttf"}
_lock = threading.Lock()
_registered = False


class PdfFontsMissing(RuntimeError):
    """The TrueType fonts the PDFs embed are not installed."""


def pdf_font_dir() -> Path:
    return Path(os.environ.get("PDF_FONT_DIR") or DEFAULT_FONT_DIR)


def pdf_font_files() -> dict[str, Path]:
    """The font files by reportlab name; PdfFontsMissing names the missing ones."""
    folder = pdf_font_dir()
    files = {name: folder / filename for name, filename in _FILES.items()}
    missing = [str(path) for path in files.values() if not path.is_file()]
    if missing:
        raise PdfFontsMissing(
            "The PDF fonts are missing: " + ", ".join(missing) + ". Install Debian's "
            "fonts-dejavu-core (apt-get install fonts-dejavu-core) or set PDF_FONT_DIR to a "
            "folder holding DejaVuSans.ttf and DejaVuSans-Bold.ttf.")
    return files


def pdf_fonts() -> None:
    """Register DejaVu Sans and DejaVu Sans Bold with reportlab (once per process), with
    the bold mapping so `<b>` in a Paragraph uses DejaVu Sans Bold. Raises
    PdfFontsMissing when the files are not installed."""
    global _registered
    if _registered:
        return
    with _lock:
        if _registered:
            return
        files = pdf_font_files()
        for name, path in files.items():
            pdfmetrics.registerFont(TTFont(name, str(path)))
        faces: tuple[tuple[Literal[0, 1], Literal[0, 1], str], ...] = (
            (0, 0, FONT), (1, 0, FONT_BOLD), (0, 1, FONT), (1, 1, FONT_BOLD))
        for bold, italic, name in faces:
            addMapping(FONT, bold, italic, name)
        # reportlab's own defaults name Helvetica: a canvas selects it first, every table
        # cell selects it, a drawing (the QR code) too. Each of those lands in the PDF as
        # an unembedded font, even with no text in it; DejaVu Sans is the default here.
        rl_config.canvas_basefontname = FONT
        CellStyle.fontname = FONT
        STATE_DEFAULTS["fontName"] = FONT
        _registered = True
