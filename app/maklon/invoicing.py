"""The invoice of a paid maklon milestone: maklon builds its draft (the maklon company
from the settings sells, the client's company with its NPWP buys, one line "Termin DP 30% -
<product> (<number>)") and app.payments.invoices numbers, renders, stores and mails it.

    milestone_invoice_issue(milestone_id)   the job `jobs.payments.milestone_invoice_issue`
                                            (queue `invoices`), queued when a milestone is
                                            paid; idempotent per milestone

`invoicing_connect()` registers the kind with invoices (with the maklon blueprint).
"""

from __future__ import annotations

import logging
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, or_, select

from app.accounts.models import RoleName, User
from app.core.clock import utcnow
from app.core.company import company_identity
from app.core.http import public_url
from app.extensions import db
from app.maklon.milestones import INVOICE_LINE_NAMES
from app.maklon.models import MaklonRequest, MilestonePayment, MilestoneStatus
from app.payments.invoice_pdf import Line, Party
from app.payments.invoices import (
    MAKLON_ISSUER,
    InvoiceDraft,
    InvoiceMail,
    InvoiceRefund,
    InvoiceTax,
    invoice_issue,
    invoice_kind_register,
    invoice_of_milestone,
    invoice_row_tax,
    invoice_tax,
)
from app.payments.method_choice import PAYMENT_METHODS
from app.payments.models import Invoice, Payment, PayStatus

log = logging.getLogger(__name__)


def milestone_invoice_issue(milestone_id: int) -> dict[str, Any]:
    """Issue the invoice of a paid maklon milestone (idempotent per milestone): issuer
    "maklon", gapless number per year under the counter lock, PDF stored, emailed to the
    client. Flushes; the job commits."""
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
        Payment.milestone_id == milestone.id, Payment.status == PayStatus.PAID)
        .order_by(Payment.id.desc())).first()
    paid_at = milestone.paid_at or (payment.paid_at if payment else None) or utcnow()
    draft = milestone_invoice_draft(
        milestone, invoice_tax(milestone.amount, pkp=company_identity().pkp),
        payment_method=payment.method if payment else "", paid_at=paid_at)
    client = request.client
    mail = InvoiceMail(
        to=client, template="maklon_milestone_invoice",
        subject=lambda invoice: _l("Invoice %(number)s untuk %(order)s",
                                   number=invoice.number, order=request.number),
        context={"request": request, "line_name": milestone_line(milestone),
                 "link": public_url("maklon.milestones", number=request.number)})
    return invoice_issue(draft, mail=mail)


def milestone_line(milestone: MilestonePayment) -> str:
    """"Termin DP 30% - <product> (<request number>)": the one line of its invoice."""
    request = milestone.request
    return (f"{INVOICE_LINE_NAMES[milestone.kind]} {milestone.percent}% - "
            f"{request.product_name} ({request.number})")


def milestone_invoice_draft(milestone: MilestonePayment, tax: InvoiceTax, *,
                            payment_method: str, paid_at) -> InvoiceDraft:
    """What a milestone's invoice prints: the maklon company's legal identity (settings
    `company.*`: name, address, NPWP) as the issuer, the client's company as the buyer."""
    request = milestone.request
    company = company_identity()
    buyer_company = request.company
    return InvoiceDraft(
        sale={"milestone_id": milestone.id}, sale_number=request.number,
        issuer=MAKLON_ISSUER,
        seller=Party(name=company.name, address_lines=company.address.splitlines(),
                     npwp=company.npwp),
        buyer=Party(name=buyer_company.name,
                    address_lines=(buyer_company.address or "").splitlines(),
                    npwp=buyer_company.npwp or ""),
        lines=[Line(product=milestone_line(milestone), options="", quantity=1,
                    unit_price=milestone.amount, line_total=milestone.amount)],
        subtotal=milestone.amount, shipping=0, total=milestone.amount, tax=tax,
        payment_method=payment_method,
        payment_method_label=str(PAYMENT_METHODS.get(payment_method, payment_method)),
        paid_at=paid_at, printed={"issued_by_platform_company": True})


def _draft_of(invoice: Invoice) -> InvoiceDraft:
    # the kind is registered on `milestone_id`: only invoices with one (FK, RESTRICT) come
    milestone = db.session.get_one(MilestonePayment, invoice.milestone_id)
    return milestone_invoice_draft(milestone, invoice_row_tax(invoice),
                                   payment_method=invoice.payment_method,
                                   paid_at=invoice.paid_at)


def milestone_invoice_refund(invoice: Invoice) -> InvoiceRefund | None:
    """A milestone's payment REFUNDED or with a refunded amount."""
    payment = db.session.scalars(
        select(Payment).where(Payment.milestone_id == invoice.milestone_id,
                              or_(Payment.status == PayStatus.REFUNDED,
                                  Payment.refunded_amount > 0))
        .order_by(Payment.id.desc())).first()
    if payment is None:
        return None
    amount = payment.refunded_amount or invoice.total
    return InvoiceRefund(amount=min(amount, invoice.total), at=payment.updated_at)


def _issuer_of(_invoice: Invoice) -> Party:
    """The maklon company (settings `company.*`) issues every milestone invoice."""
    company = company_identity()
    return Party(name=company.name, address_lines=[], npwp=company.npwp)


def _readable_by(user: User) -> ColumnElement[bool] | None:
    """A milestone's invoice: the clients of the ordering company."""
    if not user.has_role(RoleName.CLIENT) or user.company_id is None:
        return None
    return Invoice.milestone_id.in_(
        select(MilestonePayment.id)
        .join(MaklonRequest, MaklonRequest.id == MilestonePayment.request_id)
        .where(MaklonRequest.company_id == user.company_id))


def invoicing_connect() -> None:
    """Register maklon's milestone invoices with app.payments.invoices (idempotent)."""
    invoice_kind_register("milestone_id", draft_of=_draft_of,
                          refund_of=milestone_invoice_refund, issuer_of=_issuer_of,
                          readable_by=_readable_by)
