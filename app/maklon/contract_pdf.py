"""The maklon contract PDF (reportlab, A4, DejaVu Sans embedded), like the invoice PDF.

`contract_pdf(doc)` lays out one contract from a `ContractDocument`: the parties, the
product, the quote's figures and breakdown, the payment schedule and the delivery date.
Unsigned (`signature` None) it is the draft the client reviews before pressing "Setuju";
signed it adds the signer, the time (WIB), the spec signature, the verification code and a
QR code of the public verification page. The caller stores the exact bytes and their
SHA-256 (what `/kontrak/verifikasi` checks an uploaded file against).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import gettext as _
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import SimpleDocTemplate, Spacer, Table, TableStyle

from app.core.money import format_rupiah
from app.core.pdf import FONT, pdf_fonts
from app.core.qr import QrFlowable
from app.core.templating import wib_datetime
from app.maklon.labels import SIGN_METHOD_LABELS
from app.payments.invoice_pdf import (
    _BASE,
    _HEAD,
    _RIGHT,
    _RIGHT_HEAD,
    _SMALL,
    _TITLE,
    INK,
    RULE,
    Party,
    _p,
    _party,
)


@dataclass(frozen=True)
class ContractSigned:
    signer_name: str
    signer_email: str
    signed_at: datetime
    signature: str
    verification_code: str
    verification_url: str
    auth_method: str


@dataclass(frozen=True)
class ContractDocument:
    request_number: str
    quote_version: int
    provider: Party
    client: Party
    product_lines: list[tuple[str, str]]  # (label, value)
    price_lines: list[tuple[str, int]]  # breakdown (label, amount)
    quantity: int
    unit_price: int
    total: int
    milestones: list[tuple[str, int, int, str]]  # (label, percent, amount, unlocks)
    delivery_date: date
    valid_until: date
    note: str = ""
    signed: ContractSigned | None = None
    terms: list[str] = field(default_factory=list)


def _terms() -> list[str]:
    return [
        _("Penyedia memproduksi barang sesuai spesifikasi di atas dan mengirimkannya paling "
          "lambat pada tanggal pengiriman yang tertera."),
        _("Klien membayar setiap termin sesuai jadwal; tahap produksi yang dibuka oleh "
          "suatu termin baru dimulai setelah termin itu lunas."),
        _("Formula dan data klien dijaga kerahasiaannya dan hanya dipakai untuk pesanan ini."),
        _("Perubahan atas kontrak ini hanya berlaku bila dibuat sebagai penawaran baru yang "
          "disetujui kedua pihak."),
    ]


def contract_pdf(doc: ContractDocument) -> bytes:
    """The PDF bytes of the contract (a draft when `doc.signed` is None). Raises
    PdfFontsMissing when DejaVu Sans is not installed."""
    pdf_fonts()
    buffer = io.BytesIO()
    title = _("Kontrak Maklon %(number)s", number=doc.request_number)
    page = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=16 * mm, rightMargin=16 * mm, topMargin=14 * mm,
        bottomMargin=14 * mm, title=title, author=doc.provider.name, subject=title,
        creator="Racik", initialFontName=FONT)
    width = A4[0] - 32 * mm
    story: list = []
    heading = _("Kontrak Maklon") if doc.signed else _("Draf Kontrak Maklon")
    story += [_p(heading, _TITLE),
              _p(_("Nomor %(number)s · penawaran v%(version)s",
                   number=doc.request_number, version=doc.quote_version), _HEAD),
              Spacer(1, 5 * mm)]
    parties = Table([[_party(_("Penyedia jasa"), doc.provider),
                      _party(_("Klien"), doc.client)]], colWidths=[width / 2, width / 2])
    parties.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                                 ("LEFTPADDING", (0, 0), (-1, -1), 0),
                                 ("LINEABOVE", (0, 0), (-1, 0), 0.5, RULE)]))
    story += [parties, Spacer(1, 5 * mm), _p(_("Produk"), _HEAD)]
    product = Table([[_p(label, _SMALL), _p(value)] for label, value in doc.product_lines],
                    colWidths=[45 * mm, width - 45 * mm])
    product.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    story += [product, Spacer(1, 4 * mm), _p(_("Harga"), _HEAD)]
    rows = [[_p(label), _p(format_rupiah(amount), _RIGHT)] for label, amount in doc.price_lines]
    rows.append([_p(_("%(qty)s unit x %(price)s", qty=doc.quantity,
                      price=format_rupiah(doc.unit_price))), _p("", _RIGHT)])
    rows.append([_p(_("Total"), _HEAD), _p(format_rupiah(doc.total), _RIGHT_HEAD)])
    prices = Table(rows, colWidths=[width - 40 * mm, 40 * mm])
    prices.setStyle(TableStyle([("LINEABOVE", (0, -1), (-1, -1), 0.8, INK),
                                ("LEFTPADDING", (0, 0), (0, -1), 0)]))
    story += [prices, Spacer(1, 4 * mm), _p(_("Jadwal pembayaran"), _HEAD)]
    rows = [[_p(_("Termin"), _HEAD), _p(_("Persen"), _RIGHT_HEAD), _p(_("Jumlah"), _RIGHT_HEAD),
             _p(_("Membuka tahap"), _HEAD)]]
    rows += [[_p(label), _p(f"{percent}%", _RIGHT), _p(format_rupiah(amount), _RIGHT),
              _p(unlocks)] for label, percent, amount, unlocks in doc.milestones]
    schedule = Table(rows, colWidths=[40 * mm, 20 * mm, 40 * mm, width - 100 * mm])
    schedule.setStyle(TableStyle([("LINEBELOW", (0, 0), (-1, 0), 0.8, INK),
                                  ("LEFTPADDING", (0, 0), (0, -1), 0)]))
    story += [schedule, Spacer(1, 4 * mm),
              _p(_("Tanggal pengiriman: %(date)s", date=doc.delivery_date.isoformat())),
              _p(_("Penawaran berlaku sampai: %(date)s", date=doc.valid_until.isoformat()),
                 _SMALL)]
    if doc.note:
        story += [Spacer(1, 2 * mm), _p(_("Catatan: %(note)s", note=doc.note))]
    story += [Spacer(1, 4 * mm), _p(_("Ketentuan"), _HEAD)]
    story += [_p(f"{n}. {text}") for n, text in enumerate(doc.terms or _terms(), start=1)]
    story.append(Spacer(1, 6 * mm))
    signed = doc.signed
    if signed is None:
        story.append(_p(_("Draf untuk ditinjau. Kontrak berlaku setelah klien menekan "
                          "\"Setuju\" dan memasukkan kata sandinya di Racik."), _SMALL))
    else:
        facts = [
            [_p(_("Ditandatangani oleh"), _SMALL),
             _p(f"{signed.signer_name} <{signed.signer_email}>")],
            [_p(_("Waktu"), _SMALL), _p(wib_datetime(signed.signed_at, "long"))],
            [_p(_("Konfirmasi dengan"), _SMALL),
             _p(str(SIGN_METHOD_LABELS.get(signed.auth_method, signed.auth_method)))],
            [_p(_("Tanda tangan (SHA-256)"), _SMALL), _p(signed.signature, _SMALL)],
            [_p(_("Kode verifikasi"), _SMALL), _p(signed.verification_code, _HEAD)],
        ]
        table = Table([[Table(facts, colWidths=[40 * mm, width - 76 * mm]),
                        QrFlowable(signed.verification_url, 32 * mm)]],
                      colWidths=[width - 34 * mm, 34 * mm])
        table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                                   ("LINEABOVE", (0, 0), (-1, 0), 0.5, RULE),
                                   ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
        story += [table, Spacer(1, 3 * mm),
                  _p(_("Keaslian kontrak ini dapat diperiksa di %(url)s dengan mengunggah "
                       "berkas ini dan kode verifikasinya.", url=signed.verification_url),
                     _SMALL)]
    page.build(story)
    return buffer.getvalue()


__all__ = ["_BASE", "ContractDocument", "ContractSigned", "Party", "contract_pdf"]
