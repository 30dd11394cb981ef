"""Invoices: one per paid order, numbered without gaps, rendered to PDF, stored, emailed.

`invoice_issue(order_id)` is the job `jobs.payments.invoice_issue` (queue `invoices`),
queued by `payment_settled` for every order that became PAID. In one transaction (the job
commits once) it:

1. returns the existing invoice if the order has one (a second run issues nothing, sends
   nothing and takes no number);
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
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, insert, or_, select, update
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
from app.orders.checkout import PAYMENT_METHODS
from app.orders.models import Order, OrderStatus, PaymentStatus
from app.payments.invoice_pdf import InvoiceDocument, InvoiceStatus, Line, Party, invoice_pdf
from app.payments.models import Invoice, InvoiceCounter, Payment, PayStatus, Refund, RefundStatus
from app.shipping.view import order_shipping

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
    return db.session.scalars(select(Invoice).where(Invoice.order_id == order_id)).first()


def invoice_by_code(code: str) -> Invoice | None:
    """The invoice a verification code belongs to (case and spaces forgiven)."""
    cleaned = "".join(code.split()).replace("-", "").upper()
    if not cleaned or len(cleaned) > 40:
        return None
    return db.session.scalars(select(Invoice).where(
        Invoice.verification_code == cleaned)).first()


# Issuing -----------------------------------------------------------------------------------
def invoice_issue(order_id: int) -> dict[str, Any]:
    """Issue the invoice of a paid order (idempotent per order): number, row, PDF, email.
    Flushes; the job commits. Returns {"invoice_id", "number", "created"}; an unknown,
    unpaid or cancelled order gets no invoice ("created": False, "invoice_id": None)."""
    order = db.session.get(Order, order_id)
    if order is None:
        log.warning("invoice for unknown order %s", order_id)
        return {"invoice_id": None, "number": None, "created": False}
    existing = invoice_of_order(order.id)
    if existing is not None:
        return {"invoice_id": existing.id, "number": existing.number, "created": False}
    # A cancelled order of a paid checkout is refunded whole: nothing to invoice.
    if order.payment_status == PaymentStatus.UNPAID or order.status == OrderStatus.CANCELLED:
        log.info("order %s is not paid (%s, %s): no invoice", order.number,
                 order.payment_status, order.status)
        return {"invoice_id": None, "number": None, "created": False}

    payment = db.session.scalars(select(Payment).where(
        Payment.checkout_id == order.checkout_id)).first()
    paid_at = (payment.paid_at if payment is not None else None) or utcnow()
    year = to_wib(paid_at).year
    store = order.store
    tax = invoice_tax(order.total, pkp=store.pkp)
    issuer = store_issuer(store.id)
    try:
        with db.session.begin_nested():
            sequence = invoice_number_take(issuer=issuer, year=year)
            invoice = Invoice(
                order_id=order.id, issuer=issuer, year=year, sequence=sequence,
                number=invoice_number(issuer, year, sequence), subtotal=order.subtotal,
                shipping=order.shipping_cost, total=order.total, pkp=tax.pkp,
                ppn_rate=tax.rate, dpp_fraction=tax.fraction, dpp=tax.dpp, ppn=tax.ppn,
                payment_method=order.checkout.payment_method, paid_at=paid_at,
                verification_code=_verification_code(), created_at=utcnow())
            db.session.add(invoice)
            db.session.flush()
    except IntegrityError:
        # The same order is being issued by a concurrent job that won: our number went
        # back with the savepoint.
        existing = invoice_of_order(order.id)
        if existing is None:
            raise
        log.info("order %s: invoice issued concurrently as %s", order.number, existing.number)
        return {"invoice_id": existing.id, "number": existing.number, "created": False}

    buyer = order.buyer
    _invoice_file_and_mail(
        invoice, lambda: _document(invoice, order, tax), to=buyer, template="invoice",
        subject=_l("Invoice %(number)s untuk pesanan %(order)s", number=invoice.number,
                   order=order.number),
        order=order, store_name=store.name,
        link=public_url("orders.order_detail", number=order.number))
    log.info("invoice %s issued for order %s (%s bytes)", invoice.number, order.number,
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


def _document(invoice: Invoice, order: Order, tax: InvoiceTax,
              **status: Any) -> InvoiceDocument:
    """What the PDF prints, taken from the invoice row and the order's snapshots
    (`status`: the refund fields of a status copy)."""
    store, buyer = order.store, order.buyer
    company = company_identity()
    address = order.shipping_address or {}
    city_line = ", ".join(part for part in (address.get("city", ""),
                                            address.get("province", "")) if part)
    recipient = address.get("recipient", "")
    buyer_lines = [recipient if recipient != buyer.name else "", address.get("phone", ""),
                   address.get("street", ""),
                   " ".join(part for part in (city_line, address.get("postal_code", ""))
                            if part)]
    method = PAYMENT_METHODS.get(invoice.payment_method, invoice.payment_method)
    return InvoiceDocument(
        number=invoice.number, order_number=order.number, issued_at=invoice.created_at,
        paid_at=invoice.paid_at,
        seller=Party(name=store.name, address_lines=(store.address or store.location)
                     .splitlines(), npwp=store.npwp or ""),
        buyer=Party(name=buyer.name, address_lines=buyer_lines, npwp=buyer.npwp or ""),
        lines=[Line(product=item.product_name, options=item.options_label,
                    quantity=item.quantity, unit_price=item.unit_price,
                    line_total=item.line_total) for item in order.items],
        subtotal=invoice.subtotal, shipping=invoice.shipping, total=invoice.total,
        pkp=invoice.pkp, ppn_rate=tax.rate, dpp_fraction=tax.fraction, dpp=invoice.dpp,
        ppn=invoice.ppn, payment_method=str(method),
        verification_code=invoice.verification_code,
        verification_url=public_url("payments.invoice_verify",
                                    code=invoice.verification_code),
        platform_name=company.name, logo_image=_logo_image(company.logo),
        shipping_label=order_shipping(order, with_events=False).name, **status)


def _logo_image(key: str) -> bytes:
    """The stored logo's bytes, b"" when there is none (or its file is gone)."""
    if not key:
        return b""
    try:
        return storage_read(key)
    except FileNotFoundError:
        return b""


# Maklon milestones -------------------------------------------------------------------------
def invoice_of_milestone(milestone_id: int) -> Invoice | None:
    return db.session.scalars(select(Invoice).where(
        Invoice.milestone_id == milestone_id)).first()


def milestone_invoice_issue(milestone_id: int) -> dict[str, Any]:
    """Issue the invoice of a paid maklon milestone (idempotent per milestone), like
    `invoice_issue`: issuer "maklon" (the platform company from the settings sells), the
    client's company (with its NPWP) buys, one line "Termin DP 30% - <product>
    (<number>)"; gapless number per year under the counter lock, PDF stored, emailed to
    the client. Flushes; the job commits."""
    from app.maklon.models import MilestonePayment, MilestoneStatus

    milestone = db.session.get(MilestonePayment, milestone_id)
    if milestone is None:
        log.warning("invoice for unknown milestone %s", milestone_id)
        return {"invoice_id": None, "number": None, "created": False}
    existing = invoice_of_milestone(milestone.id)
    if existing is not None:
        return {"invoice_id": existing.id, "number": existing.number, "created": False}
    if milestone.status != MilestoneStatus.PAID:
        return {"invoice_id": None, "number": None, "created": False}
    request = milestone.request
    payment = db.session.scalars(select(Payment).where(
        Payment.milestone_id == milestone.id, Payment.status == "paid")
        .order_by(Payment.id.desc())).first()
    paid_at = milestone.paid_at or (payment.paid_at if payment else None) or utcnow()
    year = to_wib(paid_at).year
    company = company_identity()
    tax = invoice_tax(milestone.amount, pkp=company.pkp)
    try:
        with db.session.begin_nested():
            sequence = invoice_number_take(issuer=MAKLON_ISSUER, year=year)
            invoice = Invoice(
                milestone_id=milestone.id, issuer=MAKLON_ISSUER, year=year,
                sequence=sequence, number=invoice_number(MAKLON_ISSUER, year, sequence),
                subtotal=milestone.amount, shipping=0, total=milestone.amount,
                pkp=tax.pkp, ppn_rate=tax.rate, dpp_fraction=tax.fraction, dpp=tax.dpp,
                ppn=tax.ppn, payment_method=payment.method if payment else "",
                paid_at=paid_at,
                verification_code=_verification_code(), created_at=utcnow())
            db.session.add(invoice)
            db.session.flush()
    except IntegrityError:
        existing = invoice_of_milestone(milestone.id)
        if existing is None:
            raise
        return {"invoice_id": existing.id, "number": existing.number, "created": False}

    client = request.client
    line_name = _milestone_line(milestone)
    _invoice_file_and_mail(
        invoice, lambda: _milestone_document(invoice, milestone, tax), to=client,
        template="maklon_milestone_invoice",
        subject=_l("Invoice %(number)s untuk %(order)s", number=invoice.number,
                   order=request.number),
        request=request, line_name=line_name,
        link=public_url("maklon.milestones", number=request.number))
    log.info("invoice %s issued for milestone %s of %s", invoice.number, milestone.kind,
             request.number)
    return {"invoice_id": invoice.id, "number": invoice.number, "created": True}


def _milestone_line(milestone: Any) -> str:
    """"Termin DP 30% - <product> (<request number>)": the one line of its invoice."""
    from app.maklon.milestones import INVOICE_LINE_NAMES

    request = milestone.request
    return (f"{INVOICE_LINE_NAMES[milestone.kind]} {milestone.percent}% - "
            f"{request.product_name} ({request.number})")


def _milestone_document(invoice: Invoice, milestone: Any, tax: InvoiceTax,
                        **status: Any) -> InvoiceDocument:
    """What a milestone's invoice prints: the maklon company's legal identity (settings
    `company.*`: name, address, NPWP) as the issuer, the client's company as the buyer."""
    request = milestone.request
    company = company_identity()
    buyer_company = request.company
    method = PAYMENT_METHODS.get(invoice.payment_method, invoice.payment_method)
    return InvoiceDocument(
        number=invoice.number, order_number=request.number, issued_at=invoice.created_at,
        paid_at=invoice.paid_at,
        seller=Party(name=company.name, address_lines=company.address.splitlines(),
                     npwp=company.npwp),
        buyer=Party(name=buyer_company.name,
                    address_lines=(buyer_company.address or "").splitlines(),
                    npwp=buyer_company.npwp or ""),
        lines=[Line(product=_milestone_line(milestone), options="", quantity=1,
                    unit_price=milestone.amount, line_total=milestone.amount)],
        subtotal=invoice.subtotal, shipping=0, total=invoice.total, pkp=invoice.pkp,
        ppn_rate=tax.rate, dpp_fraction=tax.fraction, dpp=invoice.dpp, ppn=invoice.ppn,
        payment_method=str(method), verification_code=invoice.verification_code,
        verification_url=public_url("payments.invoice_verify",
                                    code=invoice.verification_code),
        platform_name=company.name, logo_image=_logo_image(company.logo),
        issued_by_platform_company=True, **status)


# Payment status after issue ----------------------------------------------------------------
@dataclass(frozen=True)
class InvoiceRefund:
    """Money of an invoice that went back: how much (up to its total) and when."""

    amount: int
    at: datetime | None


def invoice_refund(invoice: Invoice) -> InvoiceRefund | None:
    """The refund of what `invoice` bills, or None while it stays paid. Read from the
    payment state only (whoever set it: a refund job, an admin paying out by hand, the
    gateway's refund notification): an order's done refunds, or its payment REFUNDED /
    the order's payment status refunded; a milestone's payment REFUNDED or with a refunded
    amount. A refund still pending is not money back yet: the invoice stays LUNAS."""
    if invoice.order_id is not None:
        order = invoice.order
        amount, at = db.session.execute(
            select(func.coalesce(func.sum(Refund.amount), 0), func.max(Refund.done_at))
            .where(Refund.order_id == order.id, Refund.status == RefundStatus.DONE)).one()
        payment = db.session.scalars(select(Payment).where(
            Payment.checkout_id == order.checkout_id)).first()
        whole = (order.payment_status == PaymentStatus.REFUNDED
                 or (payment is not None and payment.status == PayStatus.REFUNDED))
        if not amount and not whole:
            return None
        if not amount:  # refunded by the gateway without a refund row of ours: all of it
            amount, at = invoice.total, payment.updated_at if payment is not None else None
        return InvoiceRefund(amount=min(int(amount), invoice.total), at=at)
    if invoice.milestone_id is not None:
        payment = db.session.scalars(
            select(Payment).where(Payment.milestone_id == invoice.milestone_id,
                                  or_(Payment.status == PayStatus.REFUNDED,
                                      Payment.refunded_amount > 0))
            .order_by(Payment.id.desc())).first()
        if payment is None:
            return None
        amount = payment.refunded_amount or invoice.total
        return InvoiceRefund(amount=min(amount, invoice.total), at=payment.updated_at)
    return None


def _row_tax(invoice: Invoice) -> InvoiceTax:
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
    row and the order's snapshots), stamped DIKEMBALIKAN with the amount and date, naming
    the archived original's SHA-256. None while it is paid: the stored original (LUNAS) is
    then the download. Rendered in the current request's language; nothing is stored."""
    refund = invoice_refund(invoice)
    if refund is None:
        return None
    status = {"status": InvoiceStatus.REFUNDED, "refunded_amount": refund.amount,
              "refunded_at": refund.at, "original_sha256": invoice.sha256}
    tax = _row_tax(invoice)
    if invoice.order_id is not None:
        return invoice_pdf(_document(invoice, invoice.order, tax, **status))
    from app.maklon.models import MilestonePayment

    milestone = db.session.get(MilestonePayment, invoice.milestone_id)
    return invoice_pdf(_milestone_document(invoice, milestone, tax, **status))
