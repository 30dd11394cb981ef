"""Invoices: one per paid order, numbered without gaps, rendered to PDF, stored, emailed.

Invoices render and store what they are given: the domain that owns a sale builds its
`InvoiceDraft` (parties, lines, amounts, taxes) — orders for a paid order
(`app.orders.invoicing.order_invoice_issue`, the job `jobs.payments.invoice_issue`), maklon
for a paid milestone (`app.maklon.invoicing.milestone_invoice_issue`) — and registers its
`InvoiceKind` (how to draft an issued invoice again, how much of it went back). The owner
returns the existing invoice if the sale has one (a second run issues nothing, sends
nothing and takes no number); then `invoice_issue(draft, mail=...)`, in one transaction
(the job commits once):

1. -
2. takes the next number of the issuer (`"store:<id>"`) for the WIB year of the payment:
   the counter row is created if missing (a concurrent creation is tolerated), then
   `UPDATE invoice_counters SET last_number = last_number + 1 ... RETURNING last_number`,
   which holds the row lock (PostgreSQL) or the write lock (SQLite, `BEGIN IMMEDIATE`)
   until the job commits — so concurrent jobs queue at the counter and never share or skip
   a number;
3. inserts the `Invoice` row in the same savepoint as the number: a concurrent duplicate
   for the same order fails on the unique `order_id` and rolls its number back with it;
4. renders the PDF, stores it (`app.core.storage`; removed again if the job rolls back)
   with its SHA-256, and queues the email with the PDF attached (outbox).

Any failure after the number was taken rolls the whole job back: no gap, no file, no mail;
RQ retries it.

Numbers are `INV/<issuer code>/<year>/<sequence>`: `INV/TK12/2026/000001` for the store
with id 12, `INV/MAKLON/2026/000001` for the maklon company's milestone invoices. The code
makes every number unique on the platform (a unique constraint holds it) while each issuer
keeps its own gapless sequence per year under the counter lock above.

Payment status on the page. An invoice is issued once its payment settled, so the stored
PDF is stamped LUNAS (with the payment date); it is the original: emailed to the buyer,
its SHA-256 shown on the public verification page, never rewritten. When the money goes
back later (a refund done by a job or by an admin, or the gateway's refund notification:
`invoice_refund` reads only the payment state), the download serves a copy rendered from
the same row and snapshots, stamped DIKEMBALIKAN with the amount and date of the refund and
naming the original's SHA-256; the verification page says "Dikembalikan" and explains the
two files. That is what a bookkeeper expects: the document of the sale stays as it was
issued and can still be checked, and whoever downloads it now cannot mistake a refunded
sale for a paid one. A refund still pending leaves the invoice LUNAS (no money went back).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from flask_babel import force_locale
from sqlalchemy import ColumnElement, false, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from app.accounts.models import User
from app.core.clock import to_wib, utcnow
from app.core.company import company_identity
from app.core.http import public_url
from app.core.mail import mail_queue
from app.core.money import round_rupiah
from app.core.settings import setting_get
from app.core.storage import storage_put, storage_read
from app.extensions import db
from app.payments.invoice_pdf import InvoiceDocument, InvoiceStatus, Line, Party, invoice_pdf
from app.payments.models import Invoice, InvoiceCounter

log = logging.getLogger(__name__)

INVOICE_FOLDER = "invoices"  # storage folder (not public: served by the download route)
SETTING_PPN_RATE = "invoice.ppn_rate"  # settings, edited on /admin/pengaturan
SETTING_DPP_FRACTION = "invoice.dpp_fraction"
DEFAULT_PPN_RATE = 12  # percent (PMK 131/2024)
DEFAULT_DPP_FRACTION = "11/12"  # DPP "nilai lain" for goods that are not luxury goods


# Tax ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class InvoiceTax:
    """The PPN lines of an invoice (all zero for a seller who is not PKP)."""

    pkp: bool
    rate: Decimal  # percent, e.g. Decimal("12.00")
    fraction: str  # the DPP fraction as configured, e.g. "11/12"
    price: int  # the selling price before PPN (total - ppn)
    dpp: int
    ppn: int


_TAX_NUMBER = re.compile(r"\d{1,9}(?:\.\d{1,9})?|\d{1,9}/\d{1,9}")


def tax_number_parse(value: object) -> Fraction | None:
    """A PPN rate or DPP fraction as stored or typed, exactly: `12`, `11.5`, `11,5`,
    `11/12`, `0.9` (spaces ignored). None for anything else (negative, `1e3`, `1/0`).
    The settings page validates with this and `invoice_tax` reads with it."""
    text = str(value).replace(" ", "").replace(",", ".")
    if not _TAX_NUMBER.fullmatch(text):
        return None
    try:
        return Fraction(text)
    except ZeroDivisionError:
        return None


def ppn_rate_valid(rate: Fraction) -> bool:
    """A usable PPN rate in percent (0 is allowed here; the settings page asks for more)."""
    return 0 <= rate < 100


def dpp_fraction_valid(fraction: Fraction) -> bool:
    return 0 < fraction <= 1


def _fraction_setting(key: str, default: object) -> Fraction:
    value = setting_get(key, default)
    parsed = tax_number_parse(value)
    if parsed is None:
        raise ValueError(f"setting {key} is not a number or fraction: {value!r}")
    return parsed


def invoice_tax(total: int, *, pkp: bool) -> InvoiceTax:
    """The PPN contained in `total` (what the buyer paid) for a PKP seller, per PMK 131/2024:
    PPN = rate * DPP and DPP = fraction * the price before tax (defaults 12 % and 11/12,
    settings `invoice.ppn_rate` and `invoice.dpp_fraction`; effectively 11 %).

    Marketplace prices include PPN, so the lines are derived from the total, and they add
    up to it exactly:

        k     = rate * fraction                          (0.11 by default)
        ppn   = round_half_up(total * k / (1 + k))
        price = total - ppn                              (price + ppn == total, exactly)
        dpp   = round_half_up(price * fraction)

    so `ppn` equals rate * `dpp` to within one Rupiah of rounding. Example: total
    1.110.000 → ppn 110.000, price 1.000.000, dpp 916.667 (12 % * 916.667 = 110.000).
    The exact ratio is kept as integers (Fraction) and divided once in Decimal, then
    rounded half-up to whole Rupiah (`round_rupiah`).
    """
    if not pkp:
        return InvoiceTax(pkp=False, rate=Decimal("0.00"), fraction="", price=total, dpp=0,
                          ppn=0)
    rate = _fraction_setting(SETTING_PPN_RATE, DEFAULT_PPN_RATE)
    fraction = _fraction_setting(SETTING_DPP_FRACTION, DEFAULT_DPP_FRACTION)
    if not (ppn_rate_valid(rate) and dpp_fraction_valid(fraction)):
        raise ValueError(f"PPN settings out of range: rate {rate}%, DPP fraction {fraction}")
    k = rate / 100 * fraction
    ppn = round_rupiah(Decimal(total * k.numerator) / Decimal(k.denominator + k.numerator))
    price = total - ppn
    dpp = round_rupiah(Decimal(price * fraction.numerator) / Decimal(fraction.denominator))
    percent = (Decimal(rate.numerator) / Decimal(rate.denominator)).quantize(Decimal("0.01"))
    return InvoiceTax(pkp=True, rate=percent, fraction=str(fraction), price=price, dpp=dpp,
                      ppn=ppn)


# Numbers -----------------------------------------------------------------------------------
MAKLON_ISSUER = "maklon"
MAKLON_ISSUER_CODE = "MAKLON"


def store_issuer(store_id: int) -> str:
    """The counter key of a store's invoices."""
    return f"store:{store_id}"


def issuer_code(issuer: str) -> str:
    """The issuer's code printed in its numbers: `TK12` for the store with id 12 (the id
    never changes, unlike a store's name or slug), `MAKLON` for the maklon company (not
    `MK`, which reads like a maklon request's number `MK-2026-000008`). Raises ValueError
    for an unknown issuer key."""
    if issuer == MAKLON_ISSUER:
        return MAKLON_ISSUER_CODE
    kind, _, ident = issuer.partition(":")
    if kind == "store" and ident.isdigit():
        return f"TK{int(ident)}"
    raise ValueError(f"unknown invoice issuer {issuer!r}")


def invoice_number(issuer: str, year: int, sequence: int) -> str:
    """`INV/TK12/2026/000001`: unique on the platform (the issuer's code), gapless per
    issuer and year (the sequence). The database holds it unique too."""
    return f"INV/{issuer_code(issuer)}/{year}/{sequence:06d}"


def invoice_filename(invoice: Invoice) -> str:
    """`INV-TK12-2026-000123.pdf`: the invoice's own number, slashes made dashes."""
    return invoice.number.replace("/", "-") + ".pdf"


def invoice_number_take(*, issuer: str, year: int) -> int:
    """The next number of `issuer` in `year`. Holds the counter's row lock (SQLite: the
    write lock) until the transaction ends, so the caller must commit the invoice that uses
    it in the same transaction — or roll both back. Flushes."""
    bump = (update(InvoiceCounter)
            .where(InvoiceCounter.issuer == issuer, InvoiceCounter.year == year)
            .values(last_number=InvoiceCounter.last_number + 1)
            .returning(InvoiceCounter.last_number)
            .execution_options(synchronize_session=False))
    number = db.session.execute(bump).scalar_one_or_none()
    if number is None:  # the issuer's first invoice of the year
        try:
            with db.session.begin_nested():
                db.session.execute(insert(InvoiceCounter).values(
                    issuer=issuer, year=year, last_number=0))
        except IntegrityError:
            pass  # a concurrent job created the row first; it is there now
        number = db.session.execute(bump).scalar_one()
    return number


def _verification_code() -> str:
    """16 characters of base32 (80 random bits): unguessable, easy to type from paper."""
    return base64.b32encode(secrets.token_bytes(10)).decode()


# Queries -----------------------------------------------------------------------------------
def invoice_of_order(order_id: int) -> Invoice | None:
    """The invoice of an order, or None (not paid yet, or the job has not run yet)."""
    return invoice_of_sale(order_id=order_id)


def invoice_by_code(code: str) -> Invoice | None:
    """The invoice a verification code belongs to (case and spaces forgiven)."""
    cleaned = "".join(code.split()).replace("-", "").upper()
    if not cleaned or len(cleaned) > 40:
        return None
    return db.session.scalars(select(Invoice).where(
        Invoice.verification_code == cleaned)).first()


# Drafts: what the domain that owns the sale hands over ----------------------------------
@dataclass(frozen=True)
class InvoiceDraft:
    """One sale to invoice, built by the domain that owns it (orders: a paid order,
    `app.orders.invoicing`; maklon: a paid milestone, `app.maklon.invoicing`): who sells
    and who buys, the lines, the amounts and their tax. Invoices numbers, renders, stores
    and mails what it is given."""

    sale: dict[str, int]  # the Invoice column naming the sale and its id: {"order_id": 7}
    sale_number: str  # printed as the order's number: RCK-..., MK-...
    issuer: str  # the counter key: store_issuer(id) or MAKLON_ISSUER
    seller: Party
    buyer: Party
    lines: list[Line]
    subtotal: int
    shipping: int
    total: int
    tax: InvoiceTax
    payment_method: str  # gateways.base METHODS key ("" when unknown)
    payment_method_label: str  # as printed: "Virtual Account BCA"
    paid_at: datetime
    # More for the PDF: shipping_label, issued_by_platform_company.
    printed: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class InvoiceMail:
    """Who gets the new invoice by email, with which template, subject and context."""

    to: User
    template: str
    subject: Callable[[Invoice], Any]  # the invoice's number is known only once issued
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class InvoiceKind:
    """A kind of sale that has invoices, registered by its domain: the Invoice column that
    names it, how to rebuild the draft of an issued invoice (for the refunded copy), how
    much of it went back, who issued it (the public verification page) and which of its
    invoices a user may download (a condition on Invoice, None: none of them)."""

    column: str
    draft_of: Callable[[Invoice], InvoiceDraft]
    refund_of: Callable[[Invoice], InvoiceRefund | None]
    issuer_of: Callable[[Invoice], Party]
    readable_by: Callable[[User], ColumnElement[bool] | None]


_KINDS: dict[str, InvoiceKind] = {}


def invoice_kind_register(column: str, *, draft_of: Callable[[Invoice], InvoiceDraft],
                          refund_of: Callable[[Invoice], InvoiceRefund | None],
                          issuer_of: Callable[[Invoice], Party],
                          readable_by: Callable[[User], ColumnElement[bool] | None]) -> None:
    """Register (again: replace) the invoice kind of the sales named by `column`. Raises
    ValueError for a column Invoice does not have."""
    if column not in Invoice.__table__.columns:
        raise ValueError(f"Invoice has no column {column!r}")
    _KINDS[column] = InvoiceKind(column=column, draft_of=draft_of, refund_of=refund_of,
                                 issuer_of=issuer_of, readable_by=readable_by)


def invoice_issuer(invoice: Invoice) -> Party | None:
    """Who issued `invoice` (name, NPWP), as its kind says; None for no registered kind."""
    kind = _kind_of(invoice)
    return kind.issuer_of(invoice) if kind is not None else None


def invoices_readable_by(user: User) -> ColumnElement[bool]:
    """The invoices `user` may download besides an admin: the buyer's and the seller's
    (orders), the ordering company's clients' (maklon), as each kind says."""
    allowed = [condition for kind in _KINDS.values()
               if (condition := kind.readable_by(user)) is not None]
    return or_(*allowed) if allowed else false()


def invoice_kinds() -> tuple[InvoiceKind, ...]:
    return tuple(_KINDS.values())


def _kind_of(invoice: Invoice) -> InvoiceKind | None:
    for kind in _KINDS.values():
        if getattr(invoice, kind.column) is not None:
            return kind
    return None


def invoice_of_sale(**sale: int) -> Invoice | None:
    """The invoice of one sale (`order_id=...` or `milestone_id=...`), or None."""
    return db.session.scalars(select(Invoice).filter_by(**sale)).first()


# Issuing -----------------------------------------------------------------------------------
def invoice_issue(draft: InvoiceDraft, *, mail: InvoiceMail) -> dict[str, Any]:
    """Issue the invoice of `draft` once per sale: a gapless number of the issuer for the
    WIB year of the payment (under the counter lock), the row, the PDF stored with its
    SHA-256, the email with the PDF attached (after commit). Flushes; the job commits.
    Returns {"invoice_id", "number", "created"} (created False: issued concurrently)."""
    year = to_wib(draft.paid_at).year
    tax = draft.tax
    try:
        with db.session.begin_nested():
            sequence = invoice_number_take(issuer=draft.issuer, year=year)
            invoice = Invoice(
                **draft.sale, issuer=draft.issuer, year=year, sequence=sequence,
                number=invoice_number(draft.issuer, year, sequence), subtotal=draft.subtotal,
                shipping=draft.shipping, total=draft.total, pkp=tax.pkp, ppn_rate=tax.rate,
                dpp_fraction=tax.fraction, dpp=tax.dpp, ppn=tax.ppn,
                payment_method=draft.payment_method, paid_at=draft.paid_at,
                verification_code=_verification_code(), created_at=utcnow())
            db.session.add(invoice)
            db.session.flush()
    except IntegrityError:
        # The same sale is being issued by a concurrent job that won: our number went
        # back with the savepoint.
        existing = invoice_of_sale(**draft.sale)
        if existing is None:
            raise
        log.info("%s: invoice issued concurrently as %s", draft.sale_number, existing.number)
        return {"invoice_id": existing.id, "number": existing.number, "created": False}
    _invoice_file_and_mail(invoice, lambda: _document(invoice, draft), to=mail.to,
                           template=mail.template, subject=mail.subject(invoice),
                           **mail.context)
    log.info("invoice %s issued for %s (%s bytes)", invoice.number, draft.sale_number,
             invoice.size)
    return {"invoice_id": invoice.id, "number": invoice.number, "created": True}


def _invoice_file_and_mail(invoice: Invoice, document: Callable[[], InvoiceDocument], *,
                           to: User, template: str, subject: Any, **context: Any) -> None:
    """Render `document()` in the recipient's language, store the PDF with its SHA-256 on
    `invoice`, and queue the email with the PDF attached (after commit). Flushes."""
    with force_locale(to.locale or "id"):
        pdf = invoice_pdf(document())
    invoice.file_key = storage_put(pdf, folder=INVOICE_FOLDER, suffix=".pdf")
    invoice.sha256 = hashlib.sha256(pdf).hexdigest()
    invoice.size = len(pdf)
    mail_queue(
        to=to.email, template=template, locale=to.locale, subject=subject,
        attachments=[{"key": invoice.file_key, "filename": invoice_filename(invoice),
                      "content_type": "application/pdf"}],
        name=to.name, invoice=invoice,
        verify_link=public_url("payments.invoice_verify", code=invoice.verification_code),
        **context)
    db.session.flush()


def _document(invoice: Invoice, draft: InvoiceDraft, **status: Any) -> InvoiceDocument:
    """What the PDF prints: the invoice row (number, amounts, tax as stored) and the
    draft (parties, lines, the sale's number); `status`: the refund fields of a copy."""
    company = company_identity()
    return InvoiceDocument(
        number=invoice.number, order_number=draft.sale_number, issued_at=invoice.created_at,
        paid_at=invoice.paid_at, seller=draft.seller, buyer=draft.buyer, lines=draft.lines,
        subtotal=invoice.subtotal, shipping=invoice.shipping, total=invoice.total,
        pkp=invoice.pkp, ppn_rate=draft.tax.rate, dpp_fraction=draft.tax.fraction,
        dpp=invoice.dpp, ppn=invoice.ppn, payment_method=draft.payment_method_label,
        verification_code=invoice.verification_code,
        verification_url=public_url("payments.invoice_verify",
                                    code=invoice.verification_code),
        platform_name=company.name, logo_image=_logo_image(company.logo),
        **draft.printed, **status)


def _logo_image(key: str) -> bytes:
    """The stored logo's bytes, b"" when there is none (or its file is gone)."""
    if not key:
        return b""
    try:
        return storage_read(key)
    except FileNotFoundError:
        return b""


def invoice_of_milestone(milestone_id: int) -> Invoice | None:
    return invoice_of_sale(milestone_id=milestone_id)


# Payment status after issue ----------------------------------------------------------------
@dataclass(frozen=True)
class InvoiceRefund:
    """Money of an invoice that went back: how much (up to its total) and when."""

    amount: int
    at: datetime | None


def invoice_refund(invoice: Invoice) -> InvoiceRefund | None:
    """The refund of what `invoice` bills, or None while it stays paid: asked of the
    sale's kind (an order's done refunds or its payment refunded; a milestone's payment
    refunded). Read from the payment state only (whoever set it: a refund job, an admin
    paying out by hand, the gateway's refund notification). A refund still pending is not
    money back yet: the invoice stays LUNAS."""
    kind = _kind_of(invoice)
    return kind.refund_of(invoice) if kind is not None else None


def invoice_row_tax(invoice: Invoice) -> InvoiceTax:
    """The tax lines as stored on the row (the DPP fraction of the day it was issued; rows
    from before it was stored read the current setting)."""
    fraction = invoice.dpp_fraction
    if invoice.pkp and not fraction:
        fraction = str(_fraction_setting(SETTING_DPP_FRACTION, DEFAULT_DPP_FRACTION))
    return InvoiceTax(pkp=invoice.pkp, rate=Decimal(invoice.ppn_rate or 0),
                      fraction=fraction if invoice.pkp else "",
                      price=invoice.total - invoice.ppn, dpp=invoice.dpp, ppn=invoice.ppn)


def invoice_refunded_copy(invoice: Invoice) -> bytes | None:
    """The PDF to hand out for `invoice` when its money went back: the same invoice (the
    row and the sale's snapshots, as its kind drafts it again), stamped DIKEMBALIKAN with
    the amount and date, naming the archived original's SHA-256. None while it is paid:
    the stored original (LUNAS) is then the download. Rendered in the current request's
    language; nothing is stored."""
    kind = _kind_of(invoice)
    refund = kind.refund_of(invoice) if kind is not None else None
    if refund is None:
        return None
    status = {"status": InvoiceStatus.REFUNDED, "refunded_amount": refund.amount,
              "refunded_at": refund.at, "original_sha256": invoice.sha256}
    return invoice_pdf(_document(invoice, kind.draft_of(invoice), **status))
