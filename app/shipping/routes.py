"""Shipping blueprint: a store's couriers and the admin's rate table. The checkout's courier
prices and the buyer's "refresh tracking" are order pages (app.orders.routes.shipping):
shipping sits below orders.

URL table:
    GET/POST  /seller/kurir                    the services the seller's store offers
    GET       /admin/ongkir                    the rate table (filter by service, origin)
    POST      /admin/ongkir/<id>               edit one row (htmx answers the row)
"""

from __future__ import annotations

from flask import Blueprint, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from app.accounts.current import my_store
from app.accounts.models import RoleName
from app.core.forms import NumberInputError, read_rupiah, read_whole_number
from app.core.http import is_htmx, render_page, see_other
from app.core.security import owned_or_404, role_required
from app.core.templating import NavItem, nav_on_register
from app.extensions import db
from app.shipping.couriers import SERVICES, ZONES
from app.shipping.models import ShippingRate
from app.shipping.services import (
    MAX_ETD_DAYS,
    MAX_PRICE_PER_KG,
    ShippingError,
    rate_update,
    store_couriers_set,
    store_services,
)
from app.shipping.view import etd_label, kg_label, order_shipping

bp = Blueprint("shipping", __name__)
# The admin's way to the rate table (a domain adds its own menu entry; core stays generic).
nav_on_register(bp, NavItem(_l("Tarif ongkir"), "shipping.admin_rates", frozenset({"admin"}),
                            group="admin", order=260))
bp.add_app_template_global(order_shipping, "order_shipping")
bp.add_app_template_filter(etd_label, "shipping_etd")
bp.add_app_template_filter(kg_label, "shipping_kg")


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


@bp.cli.command("seed")
def seed_command() -> None:
    """`flask shipping seed`: add the default rate table rows that are missing (an admin's
    edits are kept)."""
    import click

    from app.shipping.rates import rates_seed

    added = rates_seed()
    db.session.commit()
    click.echo(f"Shipping rate table: {added} default rows added.")
