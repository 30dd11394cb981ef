"""QR codes as inline SVG, drawn on the server (no JavaScript, no outside service):
the QRIS payment page and the two-factor enrolment page.

The module matrix comes from reportlab's QR encoder (`reportlab.graphics.barcode.qrencoder`,
the same one its `QrCodeWidget` draws from); each row's runs of dark modules become one SVG
path, on a white square with the 4-module quiet zone scanners need.

    qr_svg(payment.qr_string, label="QRIS Rp 150.000")  # Markup("<svg ...>...</svg>")
"""

from __future__ import annotations

import itertools

from markupsafe import Markup
from reportlab.graphics.barcode import qrencoder

QUIET_ZONE = 4  # modules of white around the code (ISO/IEC 18004)
# QRIS (EMVCo merchant-presented mode) codes are printed at level M.
ERROR_LEVEL = "M"


def qr_matrix(text: str, level: str = ERROR_LEVEL) -> list[list[bool]]:
    """The QR code's modules for `text`, row by row (True = dark)."""
    code = qrencoder.QRCode(None, getattr(qrencoder.QRErrorCorrectLevel, level))
    code.addData(text)
    code.make()
    return [[bool(module) for module in row] for row in code.modules]


def qr_path(matrix: list[list[bool]], offset: int = QUIET_ZONE) -> str:
    """SVG path data drawing the dark runs of each row as 1-module-high rectangles."""
    parts = []
    for y, row in enumerate(matrix):
        x = 0
        for dark, run in itertools.groupby(row):
            width = len(list(run))
            if dark:
                parts.append(f"M{x + offset} {y + offset}h{width}v1h-{width}z")
            x += width
    return "".join(parts)


def qr_svg(text: str, *, label: str, size_px: int = 264, test_id: str = "qr-code") -> Markup:
    """An accessible inline `<svg>` of the QR code for `text`; `label` is its text
    alternative (read by screen readers, shown as a tooltip)."""
    matrix = qr_matrix(text)
    side = len(matrix) + 2 * QUIET_ZONE
    return Markup(
        '<svg xmlns="http://www.w3.org/2000/svg" class="qr-code" role="img" '
        'viewBox="0 0 {side} {side}" width="{px}" height="{px}" '
        'shape-rendering="crispEdges" aria-label="{label}" data-testid="{test_id}">'
        "<title>{label}</title>"
        '<rect width="{side}" height="{side}" fill="#fff"/>'
        '<path fill="#000" d="{path}"/></svg>'
    ).format(side=side, px=size_px, label=label, test_id=test_id,
             path=qr_path(matrix))
