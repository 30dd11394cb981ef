"""Shipping blueprint: the checkout's courier prices (htmx), a store's couriers, the
admin's rate table and the buyer's "refresh tracking".

URL table:
    POST      /checkout/ongkir                 the checkout's shipping and totals (htmx)
    GET/POST  /seller/kurir                    the services the seller's store offers
    GET       /admin/ongkir                    the rate table (filter by service, origin)
    POST      /admin/ongkir/<id>               edit one row (htmx answers the row)
    POST      /pesanan/<number>/lacak          ask the courier's manifest again (a job)
"""

from __future__ import annotations

from flask import Blueprint, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from app.accounts.addresses import addresses_of
from app.accounts.current import my_store
from app.accounts.models import RoleName
from app.core.forms import NumberInputError, parse_int, read_rupiah, read_whole_number
from app.core.http import is_htmx, render_page, see_other
from app.core.security import owned_or_404, role_required
from app.core.templating import NavItem, nav_on_register
from app.extensions import db
from app.orders.cart import cart_view
from app.orders.models import Order
from app.shipping.checkout import courier_choices, plan_for_page
from app.shipping.couriers import SERVICES, ZONES
from app.shipping.models import ShippingRate
from app.shipping.services import (
    MAX_ETD_DAYS,
    MAX_PRICE_PER_KG,
    ShippingError,
    rate_update,
    shipment_of,
    shipment_shipped,
    store_couriers_set,
    store_services,
    tracking_due,
)
from app.shipping.view import etd_label, kg_label, order_shipping

bp = Blueprint("shipping", __name__)
# The admin's way to the rate table (a domain adds its own menu entry; core stays generic).
nav_on_register(bp, NavItem(_l("Tarif ongkir"), "shipping.admin_rates", frozenset({"admin"}),
                            group="admin", order=260))
bp.add_app_template_global(order_shipping, "order_shipping")
bp.add_app_template_filter(etd_label, "shipping_etd")
bp.add_app_template_filter(kg_label, "shipping_kg")


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


@bp.route("/seller/kurir", methods=["GET", "POST"])
@role_required(RoleName.SELLER)
def store_couriers():
    shop = my_store()
    if request.method == "POST":
        wanted = request.form.getlist("services")
        try:
            store_couriers_set(store=shop, services=wanted, actor=current_user)
        except ShippingError as error:
            db.session.rollback()
            return render_page("shipping/store_couriers.html", None, 422, shop=shop,
                               services=SERVICES, offered=[s for s in wanted if s in SERVICES],
                               error=error.message)
        db.session.commit()
        flash(_("Kurir toko disimpan."), "success")
        return see_other(url_for("shipping.store_couriers"))
    return render_page("shipping/store_couriers.html", shop=shop, services=SERVICES,
                       offered=store_services(shop.id), error=None)


def _rates_filter() -> dict[str, str]:
    service = request.args.get("layanan", "")
    origin = request.args.get("asal", "")
    return {"layanan": service if service in SERVICES else "jne:REG",
            "asal": origin if origin in ZONES else "JABODETABEK"}


def _rates_page(http_status: int = 200, *, errors: dict[int, str] | None = None,
                typed: dict[int, dict[str, str]] | None = None):
    args = _rates_filter()
    rows = db.session.scalars(select(ShippingRate).where(
        ShippingRate.service == args["layanan"], ShippingRate.origin_zone == args["asal"])
        .order_by(ShippingRate.dest_zone)).all()
    return render_page("shipping/admin_rates.html", None, http_status, rows=rows,
                       args=args, services=SERVICES, zones=ZONES, errors=errors or {},
                       typed=typed or {}, max_etd=MAX_ETD_DAYS)


@bp.route("/admin/ongkir")
@role_required(RoleName.ADMIN)
def admin_rates():
    return _rates_page()


@bp.route("/admin/ongkir/<int:rate_id>", methods=["POST"])
@role_required(RoleName.ADMIN)
def admin_rate_update(rate_id: int):
    """Save one row. Bad input: 422 with the row's message (the row for htmx, else the
    page), nothing saved."""
    rate = owned_or_404(select(ShippingRate).where(ShippingRate.id == rate_id))
    form = request.form
    typed = {k: form.get(k, "") for k in ("price_per_kg", "etd_min", "etd_max")}
    try:
        try:
            price = read_rupiah(typed["price_per_kg"], minimum=1, maximum=MAX_PRICE_PER_KG)
            low = read_whole_number(typed["etd_min"], maximum=MAX_ETD_DAYS)
            high = read_whole_number(typed["etd_max"], maximum=MAX_ETD_DAYS)
        except NumberInputError as error:
            raise ShippingError(error.message, code="rate_invalid") from None
        rate_update(rate=rate, price_per_kg=price, etd_min=low, etd_max=high,
                    active=bool(form.get("active")), actor=current_user)
    except ShippingError as error:
        db.session.rollback()
        if is_htmx():
            return render_page("shipping/_rate_row.html", None, 422, rate=rate,
                               errors={rate.id: error.message}, typed={rate.id: typed},
                               zones=ZONES, max_etd=MAX_ETD_DAYS, args=_rates_filter())
        return _rates_page(422, errors={rate.id: error.message}, typed={rate.id: typed})
    db.session.commit()
    if is_htmx():
        return render_page("shipping/_rate_row.html", rate=rate, errors={}, typed={},
                           zones=ZONES, max_etd=MAX_ETD_DAYS, args=_rates_filter(),
                           saved=True)
    flash(_("Tarif disimpan."), "success")
    return see_other(url_for("shipping.admin_rates", layanan=rate.service,
                             asal=rate.origin_zone) + f"#rate-{rate.id}")


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




@bp.cli.command("seed")
def seed_command() -> None:
    """`flask shipping seed`: add the default rate table rows that are missing (an admin's
    edits are kept)."""
    import click

    from app.shipping.rates import rates_seed

    added = rates_seed()
    db.session.commit()
    click.echo(f"Shipping rate table: {added} default rows added.")
