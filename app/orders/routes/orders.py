"""Order pages: the buyer's orders and their lifecycle actions, the seller's order
management, returns, and the live status block.

URL table:
    GET   /pesanan                               the buyer's orders (?status=, ?hal=)
    GET   /pesanan/<number>                      one order: items, address, history, actions
    GET   /pesanan/<number>/status               the live status block (htmx polls it; 286
                                                 once final; 304 when unchanged)
    POST  /pesanan/<number>/batal                the buyer cancels (pending only)
    POST  /pesanan/<number>/diterima             the buyer confirms receipt (shipped only)
    GET/POST /pesanan/<number>/retur             ask for a return (7 days after delivery)
    GET   /seller/pesanan                        the store's orders (?status=, ?hal=)
    GET   /seller/pesanan/<number>               one order of the store, with actions
    POST  /seller/pesanan/<number>/lanjut        next step (`dari` = the status shown;
                                                 `tracking_number` when shipping)
    POST  /seller/pesanan/<number>/batal         the seller cancels a pending order (reason)
    GET   /seller/pesanan/<number>/slip          printable packing slip
    POST  /seller/pesanan/<number>/retur/terima  accept the return
    POST  /seller/pesanan/<number>/retur/tolak   reject the return (reason)

Another buyer's or store's order is a 404 (ownership is in the query). An illegal status
change is a 409 with a message, a missing or bad field a 422 with the form again.
"""

from __future__ import annotations

from flask import abort, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.accounts.current import my_store
from app.accounts.models import Store
from app.core.forms import parse_int
from app.core.http import is_htmx, render_error, render_page, see_other
from app.core.polling import poll_answer, poll_etag
from app.core.security import owned_or_404, role_required
from app.extensions import db
from app.orders import lifecycle, returns
from app.orders.lifecycle import (
    ORDER_STATUS_LABELS,
    SELLER_NEXT,
    SELLER_NEXT_LABELS,
    TRACKING_NUMBER_MAX,
    OrderError,
    Side,
    TransitionError,
    order_advance,
    order_cancel,
)
from app.orders.models import Order, OrderStatus, ReturnStatus
from app.orders.queries import (
    buyer_order,
    buyer_order_state,
    buyer_orders_page,
    order_history,
    seller_orders_page,
    store_order,
)
from app.orders.returns import (
    REASON_MAX,
    RETURN_STATUS_LABELS,
    order_return,
    return_deadline,
    return_open,
)
from app.orders.routes import bp
from app.payments.invoices import invoice_of_order
from app.payments.refunds import refunds_of_order


@bp.app_context_processor
def _order_labels() -> dict:
    return {
        "order_status_labels": ORDER_STATUS_LABELS,
        "return_status_labels": RETURN_STATUS_LABELS,
        "seller_next_labels": SELLER_NEXT_LABELS,
        "order_final_statuses": OrderStatus.FINAL,
    }


def _list_args() -> dict:
    """The list state (status filter, page) carried through actions and redirects."""
    args: dict = {}
    status = request.values.get("status")
    if status in OrderStatus.ALL:
        args["status"] = status
    page = parse_int(request.values.get("hal"))
    if page and page > 1:
        args["hal"] = page
    return args


# --- the buyer -----------------------------------------------------------------------------

def _my_order(number: str) -> Order:
    return owned_or_404(buyer_order(current_user.id, number))


def _buyer_detail(order: Order, http_status: int = 200):
    ret = order_return(order.id)
    return render_page("orders/detail.html", http_status=http_status, order=order,
                       history=order_history(order.id), ret=ret,
                       invoice=invoice_of_order(order.id), refunds=refunds_of_order(order.id),
                       can_return=ret is None and return_open(order),
                       deadline=return_deadline(order))


@bp.route("/pesanan")
@role_required("customer")
def my_orders():
    args = _list_args()
    orders = buyer_orders_page(buyer_id=current_user.id, status=args.get("status"),
                               page=args.get("hal", 1))
    return render_page("orders/my_orders.html", "orders/_my_orders.html", orders=orders,
                       list_args=args, statuses=OrderStatus.ALL)


@bp.route("/pesanan/<number>")
@role_required("customer")
def order_detail(number: str):
    return _buyer_detail(_my_order(number))


@bp.route("/pesanan/<number>/status")
@role_required("customer")
def order_status(number: str):
    """The live status block. Unchanged state: 304 on If-None-Match (two columns read).
    Final state (delivered, cancelled, returned): 286, so htmx stops polling."""
    state = buyer_order_state(current_user.id, number)
    if state is None:
        abort(404)
    status, updated_at = state

    def block() -> str:
        order = _my_order(number)
        return render_template("orders/_status.html", order=order,
                               history=order_history(order.id))

    return poll_answer(etag=poll_etag(number, status, updated_at),
                       final=status in OrderStatus.FINAL, render=block)


def _refused(error: OrderError):
    db.session.rollback()
    return render_error(409 if isinstance(error, TransitionError) else 422, error.message)


@bp.route("/pesanan/<number>/batal", methods=["POST"])
@role_required("customer")
def order_cancel_route(number: str):
    order = _my_order(number)
    try:
        order_cancel(order=order, actor=current_user, side=Side.BUYER,
                     reason=request.form.get("reason", ""))
    except OrderError as error:
        return _refused(error)
    db.session.commit()
    flash(_("Pesanan %(number)s dibatalkan.", number=order.number), "success")
    return see_other(url_for("orders.order_detail", number=order.number))


@bp.route("/pesanan/<number>/diterima", methods=["POST"])
@role_required("customer")
def order_confirm(number: str):
    order = _my_order(number)
    try:
        lifecycle.order_confirm(order=order, actor=current_user)
    except OrderError as error:
        return _refused(error)
    db.session.commit()
    flash(_("Terima kasih! Pesanan %(number)s selesai.", number=order.number), "success")
    return see_other(url_for("orders.order_detail", number=order.number))


@bp.route("/pesanan/<number>/retur", methods=["GET", "POST"])
@role_required("customer")
def return_request(number: str):
    order = _my_order(number)
    ret = order_return(order.id)
    error = None
    typed = ""
    if request.method == "POST":
        typed = request.form.get("reason", "")
        try:
            returns.return_request(order=order, buyer=current_user, reason=typed)
        except TransitionError as refused:
            return _refused(refused)
        except OrderError as invalid:
            db.session.rollback()
            error = invalid.message
        else:
            db.session.commit()
            flash(_("Permintaan retur terkirim. Penjual akan memutuskannya."), "success")
            return see_other(url_for("orders.order_detail", number=order.number))
    return render_page("orders/return_form.html", http_status=422 if error else 200,
                       order=order, ret=ret, can_return=ret is None and return_open(order),
                       deadline=return_deadline(order), error=error, typed=typed,
                       reason_max=REASON_MAX)


# --- the seller ----------------------------------------------------------------------------


def _store_order(number: str) -> tuple[Store, Order]:
    shop = my_store()
    return shop, owned_or_404(store_order(shop.id, number))


def _seller_list(shop: Store, *, http_status: int = 200,
                 row_error: tuple[int, str, str] | None = None):
    args = _list_args()
    orders = seller_orders_page(store_id=shop.id, status=args.get("status"),
                                page=args.get("hal", 1))
    return render_page("orders/seller_orders.html", "orders/_seller_orders.html",
                       http_status=http_status, shop=shop, orders=orders, list_args=args,
                       statuses=OrderStatus.ALL, row_error=row_error,
                       seller_next=SELLER_NEXT, tracking_max=TRACKING_NUMBER_MAX)


def _seller_detail(shop: Store, order: Order, *, http_status: int = 200,
                   errors: dict[str, str] | None = None, typed: dict[str, str] | None = None):
    ret = order_return(order.id)
    return render_page("orders/seller_order.html", http_status=http_status, shop=shop,
                       order=order, history=order_history(order.id), ret=ret,
                       invoice=invoice_of_order(order.id), refunds=refunds_of_order(order.id),
                       errors=errors or {}, typed=typed or {}, seller_next=SELLER_NEXT,
                       tracking_max=TRACKING_NUMBER_MAX, reason_max=REASON_MAX,
                       return_requested=ReturnStatus.REQUESTED)


def _seller_row(shop: Store, order: Order, *, http_status: int = 200,
                error: str | None = None, typed: str = ""):
    db.session.refresh(order)
    return render_page("orders/_seller_row.html", http_status=http_status, shop=shop,
                       order=order, list_args=_list_args(), error=error, typed=typed,
                       seller_next=SELLER_NEXT, tracking_max=TRACKING_NUMBER_MAX)


@bp.route("/seller/pesanan")
@role_required("seller")
def seller_orders():
    return _seller_list(my_store())


@bp.route("/seller/pesanan/<number>")
@role_required("seller")
def seller_order(number: str):
    shop, order = _store_order(number)
    return _seller_detail(shop, order)


@bp.route("/seller/pesanan/<number>/lanjut", methods=["POST"])
@role_required("seller")
def seller_advance(number: str):
    """The next step. `dari` is the status the seller saw, so a double click (or two tabs)
    applies once and the second answers 409. From the list (`view=list`) htmx gets the row
    back, a plain POST goes back to the list with its filter; otherwise to the order."""
    shop, order = _store_order(number)
    from_list = request.form.get("view") == "list"
    from_status = request.form.get("dari", "")
    typed = request.form.get("tracking_number", "")
    try:
        if from_status not in OrderStatus.ALL:
            raise OrderError(_("Formulir tidak lengkap. Muat ulang halaman lalu coba lagi."))
        order_advance(order=order, actor=current_user, from_status=from_status,
                      tracking_number=typed)
    except TransitionError as error:
        return _refused(error)
    except OrderError as error:
        db.session.rollback()
        if from_list and is_htmx():
            return _seller_row(shop, order, http_status=422, error=error.message, typed=typed)
        if from_list:
            return _seller_list(shop, http_status=422,
                                row_error=(order.id, error.message, typed))
        return _seller_detail(shop, order, http_status=422,
                              errors={"tracking_number": error.message},
                              typed={"tracking_number": typed})
    db.session.commit()
    message = _("Pesanan %(number)s sekarang %(status)s.", number=order.number,
                status=ORDER_STATUS_LABELS[order.status])
    if from_list and is_htmx():
        return _seller_row(shop, order)
    flash(message, "success")
    if from_list:
        return see_other(url_for("orders.seller_orders", **_list_args())
                         + f"#order-{order.number}")
    return see_other(url_for("orders.seller_order", number=order.number))


@bp.route("/seller/pesanan/<number>/batal", methods=["POST"])
@role_required("seller")
def seller_cancel(number: str):
    shop, order = _store_order(number)
    typed = request.form.get("reason", "")
    try:
        order_cancel(order=order, actor=current_user, side=Side.SELLER, reason=typed,
                     from_status=request.form.get("dari") or None)
    except TransitionError as error:
        return _refused(error)
    except OrderError as error:
        db.session.rollback()
        return _seller_detail(shop, order, http_status=422, errors={"reason": error.message},
                              typed={"reason": typed})
    db.session.commit()
    flash(_("Pesanan %(number)s dibatalkan; stoknya sudah dikembalikan.",
            number=order.number), "success")
    return see_other(url_for("orders.seller_order", number=order.number))


@bp.route("/seller/pesanan/<number>/slip")
@role_required("seller")
def packing_slip(number: str):
    shop, order = _store_order(number)
    return render_page("orders/packing_slip.html", shop=shop, order=order)


def _store_return(number: str):
    shop, order = _store_order(number)
    ret = order_return(order.id)
    if ret is None:
        abort(404)
    return shop, order, ret


@bp.route("/seller/pesanan/<number>/retur/terima", methods=["POST"])
@role_required("seller")
def return_accept(number: str):
    _shop, order, ret = _store_return(number)
    try:
        returns.return_accept(request=ret, actor=current_user)
    except OrderError as error:
        return _refused(error)
    db.session.commit()
    flash(_("Retur diterima: stok dikembalikan dan pesanan %(number)s berstatus "
            "dikembalikan.", number=order.number), "success")
    return see_other(url_for("orders.seller_order", number=order.number))


@bp.route("/seller/pesanan/<number>/retur/tolak", methods=["POST"])
@role_required("seller")
def return_reject(number: str):
    shop, order, ret = _store_return(number)
    typed = request.form.get("reject_reason", "")
    try:
        returns.return_reject(request=ret, actor=current_user, reason=typed)
    except TransitionError as error:
        return _refused(error)
    except OrderError as error:
        db.session.rollback()
        return _seller_detail(shop, order, http_status=422,
                              errors={"reject_reason": error.message},
                              typed={"reject_reason": typed})
    db.session.commit()
    flash(_("Retur ditolak; pembeli sudah diberi tahu."), "success")
    return see_other(url_for("orders.seller_order", number=order.number))
