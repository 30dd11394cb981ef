"""The invoice of a paid order: orders builds its draft (the store sells, the buyer buys,
the order's item snapshots are the lines, PPN when the store is PKP) and app.payments.invoices
numbers, renders, stores and mails it.

    order_invoice_issue(order_id)     the job `jobs.payments.invoice_issue` (queue
                                      `invoices`), queued by `checkout_settled` for every
                                      order that became PAID; idempotent per order
    order_invoice_draft(order, tax)   what the PDF prints (also for the refunded copy)
    order_invoice_refund(invoice)     how much of it went back (the DIKEMBALIKAN copy)

`invoicing_connect()` registers the kind with invoices (with the orders blueprint).
"""

from __future__ import annotations

import logging
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, func, or_, select

from app.accounts.models import Store, User
from app.core.clock import utcnow
from app.core.http import public_url
from app.extensions import db
from app.orders.models import Order, OrderStatus, PaymentStatus
from app.payments.invoice_pdf import Line, Party
from app.payments.invoices import (
    InvoiceDraft,
    InvoiceMail,
    InvoiceRefund,
    InvoiceTax,
    invoice_issue,
    invoice_kind_register,
    invoice_of_order,
    invoice_row_tax,
    invoice_tax,
    store_issuer,
)
from app.payments.method_choice import PAYMENT_METHODS
from app.payments.models import Invoice, PayStatus, Refund, RefundStatus
from app.payments.services import payment_of_checkout
from app.shipping.view import order_shipping

log = logging.getLogger(__name__)

NOT_ISSUED: dict[str, Any] = {"invoice_id": None, "number": None, "created": False}


def order_invoice_issue(order_id: int) -> dict[str, Any]:
    """Issue the invoice of a paid order (idempotent per order): number, row, PDF, email.
    Flushes; the job commits. Returns {"invoice_id", "number", "created"}; an unknown,
    unpaid or cancelled order gets no invoice ("created": False, "invoice_id": None)."""
    order = db.session.get(Order, order_id)
    if order is None:
        log.warning("invoice for unknown order %s", order_id)
        return dict(NOT_ISSUED)
    existing = invoice_of_order(order.id)
    if existing is not None:
        return {"invoice_id": existing.id, "number": existing.number, "created": False}
    # A cancelled order of a paid checkout is refunded whole: nothing to invoice.
    if order.payment_status == PaymentStatus.UNPAID or order.status == OrderStatus.CANCELLED:
        log.info("order %s is not paid (%s, %s): no invoice", order.number,
                 order.payment_status, order.status)
        return dict(NOT_ISSUED)
    payment = payment_of_checkout(order.checkout_id)
    paid_at = (payment.paid_at if payment is not None else None) or utcnow()
    draft = order_invoice_draft(order, invoice_tax(order.total, pkp=order.store.pkp),
                                payment_method=order.checkout.payment_method, paid_at=paid_at)
    mail = InvoiceMail(
        to=order.buyer, template="invoice",
        subject=lambda invoice: _l("Invoice %(number)s untuk pesanan %(order)s",
                                   number=invoice.number, order=order.number),
        context={"order": order, "store_name": order.store.name,
                 "link": public_url("orders.order_detail", number=order.number)})
    return invoice_issue(draft, mail=mail)


def order_invoice_draft(order: Order, tax: InvoiceTax, *, payment_method: str,
                        paid_at) -> InvoiceDraft:
    """What the invoice of `order` prints, from the order's snapshots: the store (its
    address and NPWP) sells, the buyer (the shipping address) buys."""
    store, buyer = order.store, order.buyer
    address = order.shipping_address or {}
    city_line = ", ".join(part for part in (address.get("city", ""),
                                            address.get("province", "")) if part)
    recipient = address.get("recipient", "")
    buyer_lines = [recipient if recipient != buyer.name else "", address.get("phone", ""),
                   address.get("street", ""),
                   " ".join(part for part in (city_line, address.get("postal_code", ""))
                            if part)]
    return InvoiceDraft(
        sale={"order_id": order.id}, sale_number=order.number,
        issuer=store_issuer(store.id),
        seller=Party(name=store.name, address_lines=(store.address or store.location)
                     .splitlines(), npwp=store.npwp or ""),
        buyer=Party(name=buyer.name, address_lines=buyer_lines, npwp=buyer.npwp or ""),
        lines=[Line(product=item.product_name, options=item.options_label,
                    quantity=item.quantity, unit_price=item.unit_price,
                    line_total=item.line_total) for item in order.items],
        subtotal=order.subtotal, shipping=order.shipping_cost, total=order.total, tax=tax,
        payment_method=payment_method,
        payment_method_label=str(PAYMENT_METHODS.get(payment_method, payment_method)),
        paid_at=paid_at,
        printed={"shipping_label": order_shipping(order, with_events=False).name})


def _order_of(invoice: Invoice) -> Order:
    """The order of an invoice of this kind: the kind is registered on `order_id`, so only
    invoices that have one (an FK, RESTRICT) come here."""
    assert invoice.order is not None, invoice.id
    return invoice.order


def _draft_of(invoice: Invoice) -> InvoiceDraft:
    return order_invoice_draft(_order_of(invoice), invoice_row_tax(invoice),
                               payment_method=invoice.payment_method, paid_at=invoice.paid_at)


def order_invoice_refund(invoice: Invoice) -> InvoiceRefund | None:
    """An order's done refunds, or its payment REFUNDED / the order's payment status
    refunded (all of it, when no refund row of ours says how much)."""
    order = _order_of(invoice)
    amount, at = db.session.execute(
        select(func.coalesce(func.sum(Refund.amount), 0), func.max(Refund.done_at))
        .where(Refund.order_id == order.id, Refund.status == RefundStatus.DONE)).one()
    payment = payment_of_checkout(order.checkout_id)
    whole = (order.payment_status == PaymentStatus.REFUNDED
             or (payment is not None and payment.status == PayStatus.REFUNDED))
    if not amount and not whole:
        return None
    if not amount:  # refunded by the gateway without a refund row of ours: all of it
        amount, at = invoice.total, payment.updated_at if payment is not None else None
    return InvoiceRefund(amount=min(int(amount), invoice.total), at=at)


def _issuer_of(invoice: Invoice) -> Party:
    store = _order_of(invoice).store
    return Party(name=store.name, address_lines=[], npwp=store.npwp or "")


def _readable_by(user: User) -> ColumnElement[bool]:
    """An order's invoice: its buyer and the owner of the store that sold it."""
    of_orders = (select(Order.id).join(Store, Store.id == Order.store_id)
                 .where(or_(Order.buyer_id == user.id, Store.owner_id == user.id)))
    return Invoice.order_id.in_(of_orders)


def invoicing_connect() -> None:
    """Register orders' invoices with app.payments.invoices (idempotent)."""
    invoice_kind_register("order_id", draft_of=_draft_of, refund_of=order_invoice_refund,
                          issuer_of=_issuer_of, readable_by=_readable_by)
