"""QR codes drawn on the server (no JavaScript, no outside service): as inline SVG for the
QRIS payment page and the two-factor enrolment page, and as a reportlab flowable for the
verification code of the invoice and contract PDFs.

The module matrix comes from reportlab's QR encoder (`reportlab.graphics.barcode.qrencoder`,
the same one its `QrCodeWidget` draws from); each row's runs of dark modules become one
rectangle: one SVG path on a white square with the 4-module quiet zone scanners need, or
one filled PDF path. (`QrCodeWidget` drew every dark module as a graphics shape of its
own: ~600 shapes through reportlab's renderer, two thirds of an invoice's rendering time.)

    qr_svg(payment.qr_string, label="QRIS Rp 150.000")  # Markup("<svg ...>...</svg>")
    QrFlowable(invoice.verification_url, 28 * mm)       # in a Table cell of the PDF
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from markupsafe import Markup
from reportlab.graphics.barcode import qrencoder
from reportlab.platypus import Flowable

QUIET_ZONE = 4  # modules of white around the code (ISO/IEC 18004)
# QRIS (EMVCo merchant-presented mode) codes are printed at level M.
ERROR_LEVEL = "M"


def qr_matrix(text: str, level: str = ERROR_LEVEL) -> list[list[bool]]:
    """The QR code's modules for `text`, row by row (True = dark)."""
    code = qrencoder.QRCode(None, getattr(qrencoder.QRErrorCorrectLevel, level))
    code.addData(text)
    code.make()
    return [[bool(module) for module in row] for row in code.modules]


def qr_runs(matrix: list[list[bool]]) -> Iterator[tuple[int, int, int]]:
    """The dark runs of each row, top row first: (column, row, width) in modules."""
    for y, row in enumerate(matrix):
        x = 0
        for dark, run in itertools.groupby(row):
            width = len(list(run))
            if dark:
                yield x, y, width
            x += width


def qr_path(matrix: list[list[bool]], offset: int = QUIET_ZONE) -> str:
    """SVG path data drawing the dark runs of each row as 1-module-high rectangles."""
    return "".join(f"M{x + offset} {y + offset}h{width}v1h-{width}z"
                   for x, y, width in qr_runs(matrix))


class QrFlowable(Flowable):
    """The QR code of `text` as a `size`-point square in a PDF, no quiet zone (the page
    around it is white): the dark runs as one filled path, drawn straight onto the canvas.
    Level L, as reportlab's `QrCodeWidget` (the same code it drew)."""

    def __init__(self, text: str, size: float, level: str = "L") -> None:
        super().__init__()
        self.matrix = qr_matrix(text, level)
        self.width = self.height = size  # Flowable.wrap answers these

    def draw(self) -> None:
        size = self.width
        module = size / len(self.matrix)
        canvas = self.canv
        canvas.saveState()
        canvas.setFillColorRGB(0, 0, 0)
        path = canvas.beginPath()
        for x, y, width in qr_runs(self.matrix):
            # PDF's y axis points up: the matrix's first row is the top one.
            path.rect(x * module, size - (y + 1) * module, width * module, module)
        canvas.drawPath(path, stroke=0, fill=1)
        canvas.restoreState()


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
