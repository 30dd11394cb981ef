"""The order pages' shipping parts, on the orders blueprint (shipping sits below orders:
app.shipping knows no cart and no order).

URL table:
    POST      /checkout/ongkir                 the checkout's shipping and totals (htmx)
    POST      /pesanan/<number>/lacak          ask the courier's manifest again (a job)
"""

from __future__ import annotations

from flask import flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.accounts.addresses import addresses_of
from app.accounts.models import RoleName
from app.core.forms import parse_int
from app.core.http import is_htmx, render_page, see_other
from app.core.security import owned_or_404, role_required
from app.extensions import db
from app.orders.cart import cart_view
from app.orders.models import Order
from app.orders.routes import bp
from app.shipping.checkout import courier_choices, plan_for_page
from app.shipping.services import shipment_of, shipment_shipped, tracking_due


@bp.route("/checkout/ongkir", methods=["POST"])
@role_required(RoleName.CUSTOMER)
def checkout_rates():
    """The checkout's totals and every store's couriers for the address and couriers now
    selected in its form (priced here; nothing is written). Without htmx: the checkout."""
    if not is_htmx():
        return see_other(url_for("orders.checkout"))
    cart = cart_view(current_user.id)
    addresses = addresses_of(current_user.id)
    chosen = {"address_id": parse_int(request.form.get("address_id")),
              "couriers": courier_choices(request.form)}
    return render_page("shipping/_checkout_rates.html", cart=cart, error=None,
                       plan=plan_for_page(cart, addresses, chosen))


@bp.route("/pesanan/<number>/lacak", methods=["POST"])
@role_required(RoleName.CUSTOMER)
def order_track(number: str):
    """Ask the courier's manifest again (a background job, at most every half hour)."""
    order = owned_or_404(select(Order).where(Order.number == number,
                                             Order.buyer_id == current_user.id))
    shipment = shipment_of(order.id)
    if tracking_due(shipment, order.tracking_number):
        shipment_shipped(order_id=order.id, awb=order.tracking_number)
        db.session.commit()
        flash(_("Pelacakan diperbarui sebentar lagi. Muat ulang halaman ini."), "info")
    else:
        flash(_("Pelacakan baru saja diperbarui."), "info")
    return see_other(url_for("orders.order_detail", number=order.number) + "#pengiriman")
