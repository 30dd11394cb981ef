"""The invoice PDF (reportlab, A4, DejaVu Sans embedded: `app.core.pdf`).

`invoice_pdf(...)` lays out one invoice from what `app.payments.invoices` computed and
stored on the `Invoice` row; it computes no money itself, so the PDF always shows the
figures the database holds. Labels are in the buyer's language (the caller wraps the call
in `force_locale`). The title is always "Invoice": an invoice of a PKP seller shows the PPN
lines, but it is not the tax invoice the DJP system issues, and says nothing that could be
read as one.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from flask_babel import format_decimal
from flask_babel import gettext as _
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import (
    Flowable,
    Image,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from app.core.money import format_rupiah
from app.core.pdf import FONT, FONT_BOLD, pdf_fonts
from app.core.qr import QrFlowable
from app.core.templating import wib_datetime

log = logging.getLogger(__name__)

INK = colors.HexColor("#1f2933")
MUTED = colors.HexColor("#616e7c")
RULE = colors.HexColor("#cbd2d9")
ACCENT = colors.HexColor("#0f766e")
PAID_INK = colors.HexColor("#15803d")
REFUNDED_INK = colors.HexColor("#b91c1c")

_BASE = ParagraphStyle("base", fontName=FONT, fontSize=9, leading=12, textColor=INK,
                       bulletFontName=FONT)
_SMALL = ParagraphStyle("small", parent=_BASE, fontSize=8, leading=10, textColor=MUTED)
_HEAD = ParagraphStyle("head", parent=_BASE, fontName=FONT_BOLD)
_TITLE = ParagraphStyle("title", parent=_BASE, fontName=FONT_BOLD, fontSize=22,
                        leading=26, textColor=ACCENT)
_RIGHT = ParagraphStyle("right", parent=_BASE, alignment=TA_RIGHT)
_RIGHT_HEAD = ParagraphStyle("right_head", parent=_HEAD, alignment=TA_RIGHT)


@dataclass(frozen=True)
class Party:
    """A seller or buyer as printed: name, address lines and NPWP (may be empty)."""

    name: str
    address_lines: list[str]
    npwp: str = ""


@dataclass(frozen=True)
class Line:
    product: str
    options: str
    quantity: int
    unit_price: int
    line_total: int


@dataclass(frozen=True)
class InvoiceDocument:
    """Everything printed on one invoice (amounts as stored on the Invoice row)."""

    number: str
    order_number: str
    issued_at: datetime  # UTC; shown in WIB
    paid_at: datetime | None
    seller: Party
    buyer: Party
    lines: list[Line]
    subtotal: int
    shipping: int
    total: int
    pkp: bool
    ppn_rate: object  # Decimal percent
    dpp_fraction: str  # as configured, e.g. "11/12"
    dpp: int
    ppn: int
    payment_method: str
    verification_code: str
    verification_url: str
    # The company that runs the marketplace (settings `company.*`): a footer line, and its
    # logo (the stored image's bytes) small in the header. The seller stays the issuer.
    platform_name: str = ""
    logo_image: bytes = b""
    # A maklon milestone's invoice: the company itself is the issuer ("Penyedia jasa"),
    # so the footer names it as the issuer rather than as the platform.
    issued_by_platform_company: bool = False
    # Payment status stamped on the page: PAID ("LUNAS", the issued original) or REFUNDED
    # ("DIKEMBALIKAN", a copy rendered on download; see `app.payments.invoices`).
    status: str = "paid"
    # The courier and service the buyer chose at checkout ("JNE REG"); "" for a store's
    # flat cost (app.shipping).
    shipping_label: str = ""
    refunded_amount: int = 0
    refunded_at: datetime | None = None  # UTC, of the last refund
    original_sha256: str = ""  # on a status copy: the SHA-256 of the archived original


class InvoiceStatus:
    PAID = "paid"
    REFUNDED = "refunded"


def verification_code_display(code: str) -> str:
    """The code in groups of four (`ABCD EFGH IJKL MNOP`): easier to read and type; the
    verification page ignores the spaces."""
    return " ".join(code[i:i + 4] for i in range(0, len(code), 4))


class OneLine(Flowable):
    """One line of text that never wraps: drawn at `size` points, or smaller when that
    would not fit `width` (a Paragraph would break a long code over two lines)."""

    def __init__(self, text: str, *, width: float, font: str = FONT, size: float = 8,
                 color=MUTED, align: str = "right") -> None:
        super().__init__()
        self.text, self.font, self.color, self.align = text, font, color, align
        natural = stringWidth(text, font, size)
        self.size = size if natural <= width else size * width / natural * 0.98
        self.width, self.height = width, self.size * 1.25

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        canvas = self.canv
        canvas.setFont(self.font, self.size)
        canvas.setFillColor(self.color)
        baseline = self.height - self.size
        if self.align == "right":
            canvas.drawRightString(self.width, baseline, self.text)
        else:
            canvas.drawString(0, baseline, self.text)


def npwp_display(npwp: str) -> str:
    """A 15-digit NPWP in its usual dotted form (01.234.567.8-901.000); 16 digits as is."""
    if len(npwp) == 15 and npwp.isdigit():
        return f"{npwp[:2]}.{npwp[2:5]}.{npwp[5:8]}.{npwp[8]}-{npwp[9:12]}.{npwp[12:]}"
    return npwp


def _p(text: str, style: ParagraphStyle = _BASE) -> Paragraph:
    """A paragraph of plain text: reportlab parses markup, so user text is escaped."""
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def _party(heading: str, party: Party) -> list:
    cells = [_p(heading, _SMALL), _p(party.name, _HEAD)]
    cells += [_p(line) for line in party.address_lines if line]
    if party.npwp:
        cells.append(_p(_("NPWP: %(npwp)s", npwp=npwp_display(party.npwp))))
    return cells


def _logo(data: bytes, max_width: float = 40 * mm,
          max_height: float = 12 * mm) -> Image | None:
    """The platform's logo scaled to fit the box, aspect kept; None when it cannot be read
    (a broken logo must not stop an invoice)."""
    try:
        logo = Image(io.BytesIO(data), width=max_width, height=max_height,
                     kind="proportional")
    except OSError:
        log.warning("invoice logo (%s bytes) could not be read; left out", len(data))
        return None
    logo.hAlign = "LEFT"
    return logo


def _stamp(doc: InvoiceDocument) -> Table:
    """The payment status as a framed stamp: LUNAS with the payment date, or DIKEMBALIKAN
    with the amount and date of the refund."""
    if doc.status == InvoiceStatus.REFUNDED:
        word, ink = _("DIKEMBALIKAN"), REFUNDED_INK
        detail = format_rupiah(doc.refunded_amount)
        if doc.refunded_amount < doc.total:  # part of it (an accepted return)
            detail = _("%(amount)s dari %(total)s", amount=detail,
                       total=format_rupiah(doc.total))
        if doc.refunded_at:
            detail = f"{detail} · {wib_datetime(doc.refunded_at)}"
    else:
        word, ink = _("LUNAS"), PAID_INK
        detail = wib_datetime(doc.paid_at) if doc.paid_at else ""
    big = ParagraphStyle("stamp", parent=_HEAD, fontSize=16, leading=20, textColor=ink,
                         alignment=TA_RIGHT)
    small = ParagraphStyle("stamp_detail", parent=_SMALL, textColor=ink, alignment=TA_RIGHT)
    stamp = Table([[_p(word, big)], [_p(detail, small)]])
    stamp.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 1.5, ink),
                               ("TOPPADDING", (0, 0), (-1, -1), 3),
                               ("BOTTOMPADDING", (0, 0), (-1, -1), 3)]))
    stamp.hAlign = "RIGHT"
    return stamp


def invoice_pdf(doc: InvoiceDocument) -> bytes:
    """The PDF bytes of one invoice. Raises PdfFontsMissing when DejaVu is not installed."""
    pdf_fonts()
    buffer = io.BytesIO()
    page = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=16 * mm, rightMargin=16 * mm, topMargin=14 * mm,
        bottomMargin=14 * mm, title=f"Invoice {doc.number}", author=doc.seller.name,
        subject=f"Invoice {doc.number}", creator="Racik",
        initialFontName=FONT)
    width = A4[0] - 32 * mm
    story: list = []

    title = _p("Invoice", _TITLE)
    logo = _logo(doc.logo_image) if doc.logo_image else None
    # The code under the QR code: one line in a column wider than the code (50 mm), the
    # font shrunk if a code of wide letters would still not fit.
    code_width = 50 * mm
    heading: list[list[Any]] = [
        [[logo, Spacer(1, 2 * mm), title] if logo else title,
         QrFlowable(doc.verification_url, 28 * mm)],
        [_p(doc.number, _HEAD),
         OneLine(verification_code_display(doc.verification_code), width=code_width)],
    ]
    head = Table(heading, colWidths=[width - code_width, code_width])
    head.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                              ("SPAN", (1, 0), (1, 0)), ("ALIGN", (1, 0), (1, -1), "RIGHT"),
                              ("LEFTPADDING", (0, 0), (-1, -1), 0),
                              ("RIGHTPADDING", (1, 0), (1, -1), 0)]))
    story += [head, Spacer(1, 4 * mm)]

    meta = [
        [_p(_("Tanggal invoice"), _SMALL), _p(wib_datetime(doc.issued_at))],
        [_p(_("Nomor pesanan"), _SMALL), _p(doc.order_number)],
        [_p(_("Metode pembayaran"), _SMALL), _p(doc.payment_method)],
        [_p(_("Tanggal dibayar"), _SMALL),
         _p(wib_datetime(doc.paid_at) if doc.paid_at else "-")],
    ]
    stamp_width = 58 * mm
    meta_table = Table(meta, colWidths=[38 * mm, width - 38 * mm - stamp_width])
    meta_table.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0),
                                    ("TOPPADDING", (0, 0), (-1, -1), 1),
                                    ("BOTTOMPADDING", (0, 0), (-1, -1), 1)]))
    meta_row = Table([[meta_table, _stamp(doc)]], colWidths=[width - stamp_width, stamp_width])
    meta_row.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                                  ("LEFTPADDING", (0, 0), (-1, -1), 0),
                                  ("RIGHTPADDING", (0, 0), (-1, -1), 0)]))
    story += [meta_row, Spacer(1, 5 * mm)]

    seller_heading = _("Penyedia jasa") if doc.issued_by_platform_company else _("Penjual")
    parties = Table([[_party(seller_heading, doc.seller), _party(_("Pembeli"), doc.buyer)]],
                    colWidths=[width / 2, width / 2])
    parties.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                                 ("LEFTPADDING", (0, 0), (-1, -1), 0),
                                 ("LINEABOVE", (0, 0), (-1, 0), 0.5, RULE),
                                 ("TOPPADDING", (0, 0), (-1, -1), 6)]))
    story += [parties, Spacer(1, 6 * mm)]

    rows: list[list[Paragraph | list[Paragraph]]] = [
        [_p(_("Produk"), _HEAD), _p(_("Jumlah"), _RIGHT_HEAD),
         _p(_("Harga satuan"), _RIGHT_HEAD), _p(_("Total"), _RIGHT_HEAD)]]
    for line in doc.lines:
        product = [_p(line.product)] + ([_p(line.options, _SMALL)] if line.options else [])
        rows.append([product, _p(str(line.quantity), _RIGHT),
                     _p(format_rupiah(line.unit_price), _RIGHT),
                     _p(format_rupiah(line.line_total), _RIGHT)])
    items = Table(rows, colWidths=[width - 86 * mm, 18 * mm, 34 * mm, 34 * mm], repeatRows=1)
    items.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("LINEBELOW", (0, 0), (-1, 0), 0.8, INK),
                               ("LINEBELOW", (0, 1), (-1, -1), 0.3, RULE),
                               ("LEFTPADDING", (0, 0), (0, -1), 0)]))
    story += [items, Spacer(1, 4 * mm)]

    shipping_label = (_("Ongkos kirim (%(courier)s)", courier=doc.shipping_label)
                      if doc.shipping_label else _("Ongkos kirim"))
    totals = [(_("Subtotal"), doc.subtotal), (shipping_label, doc.shipping)]
    if doc.pkp:
        rate = format_decimal(doc.ppn_rate)
        totals += [
            (_("Harga jual sebelum PPN"), doc.total - doc.ppn),
            (_("DPP (%(fraction)s × harga jual sebelum PPN)", fraction=doc.dpp_fraction),
             doc.dpp),
            (_("PPN %(rate)s%% × DPP", rate=rate), doc.ppn),
        ]
    total_label = _("Total (termasuk PPN)") if doc.pkp else _("Total")
    total_rows = [[_p(label, _RIGHT), _p(format_rupiah(amount), _RIGHT)]
                  for label, amount in totals]
    total_rows.append([_p(total_label, _RIGHT_HEAD), _p(format_rupiah(doc.total), _RIGHT_HEAD)])
    totals_table = Table(total_rows, colWidths=[width - 34 * mm, 34 * mm])
    totals_table.setStyle(TableStyle([("LINEABOVE", (0, -1), (-1, -1), 0.8, INK),
                                      ("TOPPADDING", (0, 0), (-1, -1), 2),
                                      ("BOTTOMPADDING", (0, 0), (-1, -1), 2)]))
    story += [totals_table, Spacer(1, 10 * mm)]

    if doc.status == InvoiceStatus.REFUNDED and doc.original_sha256:
        story.append(_p(_("Salinan dengan status pembayaran terkini. Invoice asli tetap "
                          "diarsipkan tanpa perubahan (SHA-256 %(sha)s).",
                          sha=doc.original_sha256), _SMALL))
    story.append(_p(_("Keaslian invoice ini dapat diperiksa di %(url)s (kode verifikasi "
                      "%(code)s).", url=doc.verification_url, code=doc.verification_code),
                    _SMALL))
    if doc.issued_by_platform_company:
        story.append(_p(_("Diterbitkan oleh %(name)s", name=doc.seller.name), _SMALL))
    elif doc.platform_name:
        story.append(_p(_("Diterbitkan melalui %(name)s", name=doc.platform_name), _SMALL))
    page.build(story)
    return buffer.getvalue()
