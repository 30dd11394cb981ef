"""Checkout routes: the checkout page with "Bayar", and the payment page of what a
checkout created (instructions per payment method, countdown, live status).

The page carries an idempotency key (a hidden field made when the page is shown): pressing
"Bayar" twice, in two tabs, or again after a timeout places one checkout; the repeat is
sent to the first one's page.
"""

from __future__ import annotations

import logging

from flask import current_app, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.accounts.addresses import address_default, address_owned, addresses_of
from app.accounts.models import RoleName
from app.core.forms import parse_int
from app.core.http import render_page, see_other
from app.core.security import owned_or_404, role_required
from app.extensions import db
from app.orders.cart import cart_view
from app.orders.checkout import (
    CheckoutError,
    checkout_place,
    new_idempotency_key,
)
from app.orders.models import Checkout, Order
from app.orders.routes import bp
from app.payments.method_choice import PAYMENT_METHODS, first_available, method_groups
from app.payments.pay_page import pay_view
from app.payments.services import PAY_STATUS_LABELS, payment_charge_committed, payment_of_checkout
from app.shipping.checkout import courier_choices, plan_for_page

log = logging.getLogger(__name__)
NOTE_MAX = 300


def _checkout_page(http_status: int = 200, *, error: CheckoutError | None = None,
                   chosen: dict | None = None):
    addresses = addresses_of(current_user.id)
    default = address_default(current_user.id)
    chosen = chosen or {
        "address_id": default.id if default else None,
        "payment_method": "",
        "idempotency_key": new_idempotency_key(),
        "notes": {},
        "couriers": {},
    }
    cart = cart_view(current_user.id)
    plan = plan_for_page(cart, addresses, chosen)
    # Grouped, with the retail outlets disabled above the cashier's limit (payments/
    # _method_choice.html); the first one available is chosen until the buyer chooses.
    groups = method_groups(PAYMENT_METHODS, amount=cart.subtotal + plan.total)
    if not chosen["payment_method"]:
        chosen["payment_method"] = first_available(groups)
    return render_page("orders/checkout.html", None, http_status,
                       cart=cart, addresses=addresses, methods=PAYMENT_METHODS,
                       method_groups=groups, chosen=chosen, error=error, plan=plan)


@bp.route("/checkout", methods=["GET", "POST"])
@role_required(RoleName.CUSTOMER)
def checkout():
    if request.method == "GET":
        return _checkout_page()
    form = request.form
    notes = {}
    for key, value in form.items():
        store_id = parse_int(key.removeprefix("note-")) if key.startswith("note-") else None
        if store_id is not None and value.strip():
            notes[store_id] = value.strip()[:NOTE_MAX]
    address_id = parse_int(form.get("address_id"))
    payment_method = form.get("payment_method", "")
    idempotency_key = form.get("idempotency_key", "")
    couriers = courier_choices(form)
    chosen = {"address_id": address_id, "payment_method": payment_method,
              "idempotency_key": idempotency_key, "notes": notes, "couriers": couriers}
    if form.get("reprice"):  # without JavaScript: the courier or address changed
        return _checkout_page(chosen=chosen)
    try:
        result = checkout_place(
            buyer=current_user,
            address=address_owned(user=current_user, address_id=address_id),
            payment_method=payment_method, idempotency_key=idempotency_key, notes=notes,
            couriers=couriers)
    except CheckoutError as error:
        db.session.rollback()
        if error.short:
            log.info("checkout refused for user %s: %s lines short", current_user.id,
                     len(error.short))
        return _checkout_page(422, error=error, chosen=chosen)
    # The gateway is asked outside the checkout's transaction; a failure is recorded and
    # the payment page offers to try again.
    payment_charge_committed(payment_of_checkout(result.checkout.id))
    if result.replayed:
        log.info("checkout %s submitted again: answered with the first",
                 result.checkout.reference)
    return see_other(url_for("orders.checkout_detail", reference=result.checkout.reference))


@bp.route("/checkout/<reference>")
@role_required(RoleName.CUSTOMER)
def checkout_detail(reference: str):
    """The payment page: what the checkout created, how to pay it (per method), the
    countdown and the self-polling status block (`payments.pay_status`)."""
    placed = owned_or_404(
        select(Checkout).where(Checkout.reference == reference,
                               Checkout.buyer_id == current_user.id)
        .options(selectinload(Checkout.orders).selectinload(Order.items),
                 selectinload(Checkout.orders).selectinload(Order.store))
    )
    payment = payment_of_checkout(placed.id)
    return render_page("orders/checkout_done.html", checkout=placed, payment=payment,
                       view=pay_view(payment) if payment is not None else None,
                       pay_status_labels=PAY_STATUS_LABELS,
                       sandbox_enabled=current_app.config["PAYMENT_SANDBOX_ENABLED"]
                       and payment is not None and payment.gateway == "sandbox",
                       method_label=PAYMENT_METHODS.get(placed.payment_method,
                                                        placed.payment_method))
