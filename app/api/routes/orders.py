"""Orders and reviews: the buyer's orders and their lifecycle, the seller's order
management and returns, verified reviews and the seller's reply.

    GET  /orders                                   the buyer's orders (?status=, paginated)
    GET  /orders/<number>                          one order: items, totals, history, actions
    POST /orders/<number>/cancel                   the buyer cancels (pending only)
    POST /orders/<number>/confirm                  the buyer confirms receipt (shipped only)
    POST /orders/<number>/return                   ask for a return (7 days after delivery)
    POST /orders/<number>/items/<item_id>/review   review one item of a delivered order
    GET  /seller/orders                            the store's orders (?status=, paginated)
    GET  /seller/orders/<number>                   one order of the store
    POST /seller/orders/<number>/advance           next step: processing, or shipped (resi)
    POST /seller/orders/<number>/cancel            the seller cancels a pending order (reason)
    POST /seller/returns/<return_id>/accept        accept the buyer's return request
    POST /seller/returns/<return_id>/reject        reject it (reason)
    GET  /seller/reviews                           the store's reviews (?unreplied=true)
    POST /seller/reviews/<review_id>/reply         the store's one reply to a review
    GET  /products/<product_id>/reviews            a product's reviews (public)

These mirror app/orders/routes/orders.py and reviews.py: the same queries (the owner is in
the query, so another buyer's or store's order is a 404), the same services
(`order_cancel`, `order_confirm`, `order_advance`, `return_request`, `return_accept`,
`return_reject`, `review_create`, `review_reply`) and their messages. A status change the
lifecycle refuses (or a stale one: a double click) is a 409 `illegal_transition`; a bad
field a 422 naming it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, get_args

from flask_login import current_user
from pydantic import Field
from sqlalchemy import select

from app.accounts.current import my_store
from app.accounts.models import Store
from app.api import bp
from app.api.error_codes import ApiErrorCode
from app.api.errors import ApiError
from app.api.routes.shipping import OrderShippingOut, order_shipping_out
from app.api.schemas import Input, Output, Page, PageQuery, StoreRef, trimmed
from app.api.spec import AUTH_PUBLIC, operation, page_of
from app.catalog.models import Product
from app.catalog.queries import product_visible
from app.core.security import owned_or_404
from app.extensions import db
from app.orders import lifecycle, returns
from app.orders.lifecycle import (
    NOTE_MAX,
    ORDER_STATUS_LABELS,
    SELLER_NEXT,
    TRACKING_NUMBER_MAX,
    OrderError,
    Side,
    TransitionError,
    order_advance,
    order_allowed,
    order_cancel,
)
from app.orders.models import (
    Order,
    OrderEvent,
    OrderItem,
    OrderStatus,
    PaymentStatus,
    ReturnRequest,
    ReturnStatus,
    Review,
)
from app.orders.queries import (
    buyer_order,
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
from app.orders.reviews import (
    MAX_COMMENT,
    MAX_REPLY,
    ReviewError,
    buyer_first_name,
    buyer_reviews_by_product,
    product_reviews_page,
    review_create,
    review_reply,
    store_reviews,
)

TAG = "Pesanan"
REVIEW_TAG = "Ulasan"

StatusName = OrderStatus
# The seller's next step names its target; the status the seller saw is the one before it.
SELLER_FROM = {to: from_status for from_status, to in SELLER_NEXT.items()}
SellerStep = Literal[OrderStatus.PROCESSING, OrderStatus.SHIPPED]  # the keys of SELLER_FROM
assert set(get_args(SellerStep)) == set(SELLER_FROM), "SellerStep is SELLER_NEXT's targets"


# --- request models ----------------------------------------------------------------------


class OrderListQuery(PageQuery):
    status: StatusName | None = Field(None, description="Only orders of this status.")


class SellerReviewQuery(PageQuery):
    unreplied: bool = Field(False, description="Only reviews without the store's reply.")


class BuyerCancelIn(Input):
    reason: Annotated[str, trimmed(NOTE_MAX)] = Field(
        "", description="Optional: why (the seller reads it).")


class ReturnIn(Input):
    reason: Annotated[str, trimmed(REASON_MAX, 1)] = Field(
        description="Why the order goes back (the seller "
                    "reads it).")


class AdvanceIn(Input):
    to: SellerStep = Field(
        description="The next step: `processing` (from pending, paid) or `shipped` (from "
                    "processing). Sent twice, the second is a 409.")
    tracking_number: Annotated[str, trimmed(TRACKING_NUMBER_MAX)] = Field(
        "", description="The courier's tracking number (resi), with `shipped`.")


class SellerCancelIn(Input):
    reason: Annotated[str, trimmed(NOTE_MAX)] = Field(
        "", description="Required: the buyer reads it.")
    from_status: StatusName | None = Field(
        None, description="The status the seller saw: a stale one is a 409.")


class ReturnRejectIn(Input):
    reason: Annotated[str, trimmed(REASON_MAX, 1)] = Field(
        description="Why the return is refused (the buyer "
                    "reads it).")


class ReviewIn(Input):
    rating: int = Field(ge=1, le=5, description="Stars, 1 to 5.")
    comment: Annotated[str, trimmed(MAX_COMMENT)] = ""


class ReplyIn(Input):
    reply: Annotated[str, trimmed(MAX_REPLY, 1)]


# --- response models ---------------------------------------------------------------------


class OrderItemOut(Output):
    """One line of an order: a snapshot taken at checkout."""

    id: int
    product_id: int | None = Field(description="None once the product is gone.")
    product_name: str
    options: dict[str, str]
    options_label: str
    sku: str
    unit_price: int
    quantity: int
    line_total: int


class BuyerItemOut(OrderItemOut):
    reviewed: bool = Field(description="The buyer has reviewed this product already.")
    can_review: bool = Field(description="The order is delivered and the product not yet "
                                         "reviewed.")


class ShippingAddressOut(Output):
    """The shipping address as it was at checkout."""

    recipient: str = ""
    phone: str = ""
    street: str = ""
    city: str = ""
    province: str = ""
    postal_code: str = ""


class EventOut(Output):
    """One status change: from where to where, by whom, when."""

    from_status: str | None = Field(description="None: the order was placed.")
    to_status: str
    to_status_label: str
    by: Literal["buyer", "seller", "system"]
    actor_name: str | None
    note: str
    created_at: datetime


class ReturnOut(Output):
    """A return request and the seller's decision."""

    id: int
    order_number: str
    status: ReturnStatus
    status_label: str
    reason: str
    reject_reason: str
    refund_amount: int
    created_at: datetime
    decided_at: datetime | None


class _OrderSummary(Output):
    number: str
    status: StatusName
    status_label: str
    payment_status: PaymentStatus
    item_count: int = Field(description="Units in the order.")
    subtotal: int
    shipping_cost: int
    total: int
    created_at: datetime
    updated_at: datetime


class BuyerOrderSummary(_OrderSummary):
    """One of the buyer's orders, as the list shows it."""

    store: StoreRef
    checkout_reference: str = Field(description="The checkout to pay (while unpaid).")
    items: list[OrderItemOut]


class _OrderDetail(Output):
    shipping_address: ShippingAddressOut
    note: str = Field(description="The buyer's note to the store.")
    tracking_number: str
    processing_at: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    cancelled_at: datetime | None
    returned_at: datetime | None
    history: list[EventOut]
    return_request: ReturnOut | None
    shipping: OrderShippingOut


class BuyerOrderOut(BuyerOrderSummary, _OrderDetail):
    """One of the buyer's orders with what the buyer may do with it now."""

    items: list[BuyerItemOut]
    awaiting_payment: bool
    can_cancel: bool
    can_confirm: bool
    can_return: bool
    return_deadline: datetime | None = Field(description="The last moment to ask for a "
                                                         "return (delivered orders).")


class SellerOrderSummary(_OrderSummary):
    """One of the store's orders, as the seller's list shows it."""

    buyer_name: str
    items: list[OrderItemOut]
    awaiting_payment: bool
    next_status: StatusName | None = Field(description="The seller's next step (`to` of "
                                                       "/advance), if any.")


class SellerOrderOut(SellerOrderSummary, _OrderDetail):
    """One of the store's orders with what the seller may do with it now."""

    can_cancel: bool
    can_decide_return: bool


class ProductReviewOut(Output):
    """A verified buyer's review as the product page shows it (first name only)."""

    id: int
    rating: int
    comment: str
    buyer_first_name: str
    created_at: datetime
    reply: str = Field(description="The store's reply ('' without one).")
    replied_at: datetime | None


class ReviewOut(ProductReviewOut):
    """A review with its product and order."""

    product_id: int
    product_name: str
    order_number: str


# --- shaping -----------------------------------------------------------------------------


def _item(item: OrderItem) -> dict:
    return {"id": item.id, "product_id": item.product_id, "product_name": item.product_name,
            "options": dict(item.options or {}), "options_label": item.options_label,
            "sku": item.sku, "unit_price": item.unit_price, "quantity": item.quantity,
            "line_total": item.line_total}


def _summary(order: Order) -> dict:
    return {"number": order.number, "status": order.status,
            "status_label": str(ORDER_STATUS_LABELS[order.status]),
            "payment_status": order.payment_status, "item_count": order.item_count,
            "subtotal": order.subtotal, "shipping_cost": order.shipping_cost,
            "total": order.total, "created_at": order.created_at,
            "updated_at": order.updated_at,
            "items": [_item(item) for item in order.items]}


def _awaiting_payment(order: Order) -> bool:
    return order.status == OrderStatus.PENDING and order.payment_status != PaymentStatus.PAID


def _buyer_summary(order: Order) -> dict:
    store = order.store
    return {**_summary(order),
            "store": {"id": store.id, "name": store.name, "slug": store.slug},
            "checkout_reference": order.checkout.reference}


def _seller_summary(order: Order) -> dict:
    # Like the seller's page: no next-step button while the order awaits payment.
    awaiting = _awaiting_payment(order)
    return {**_summary(order), "buyer_name": order.buyer.name, "awaiting_payment": awaiting,
            "next_status": None if awaiting else SELLER_NEXT.get(order.status)}


def _event(order: Order, event: OrderEvent) -> EventOut:
    by: Literal["buyer", "seller", "system"] = (
        "system" if event.actor_id is None
        else "buyer" if event.actor_id == order.buyer_id else "seller")
    return EventOut(from_status=event.from_status, to_status=event.to_status,
                    to_status_label=str(ORDER_STATUS_LABELS.get(event.to_status,
                                                                event.to_status)),
                    by=by, actor_name=event.actor.name if event.actor else None,
                    note=event.note, created_at=event.created_at)


def _return(ret: ReturnRequest, number: str) -> ReturnOut:
    return ReturnOut(id=ret.id, order_number=number, status=ReturnStatus(ret.status),
                     status_label=str(RETURN_STATUS_LABELS[ret.status]), reason=ret.reason,
                     reject_reason=ret.reject_reason, refund_amount=ret.refund_amount,
                     created_at=ret.created_at, decided_at=ret.decided_at)


def _detail(order: Order, ret: ReturnRequest | None) -> dict:
    address = {key: str(value) for key, value in (order.shipping_address or {}).items()
               if key in ShippingAddressOut.model_fields and value is not None}
    return {"shipping_address": address, "note": order.note,
            "tracking_number": order.tracking_number,
            "processing_at": order.processing_at, "shipped_at": order.shipped_at,
            "delivered_at": order.delivered_at, "cancelled_at": order.cancelled_at,
            "returned_at": order.returned_at,
            "history": [_event(order, event) for event in order_history(order.id)],
            "return_request": _return(ret, order.number) if ret else None,
            "shipping": order_shipping_out(order)}


def buyer_order_out(order: Order) -> BuyerOrderOut:
    ret = order_return(order.id)
    reviewed = buyer_reviews_by_product(order.buyer_id,
                                        [item.product_id for item in order.items])
    items = [{**_item(item), "reviewed": item.product_id in reviewed,
              "can_review": (order.status == OrderStatus.DELIVERED
                             and item.product_id is not None
                             and item.product_id not in reviewed)}
             for item in order.items]
    return BuyerOrderOut.model_validate({
        **_buyer_summary(order), **_detail(order, ret), "items": items,
        "awaiting_payment": _awaiting_payment(order),
        "can_cancel": order_allowed(order, OrderStatus.CANCELLED, Side.BUYER),
        "can_confirm": order_allowed(order, OrderStatus.DELIVERED, Side.BUYER),
        "can_return": ret is None and return_open(order),
        "return_deadline": return_deadline(order)})


def seller_order_out(order: Order) -> SellerOrderOut:
    ret = order_return(order.id)
    return SellerOrderOut.model_validate({
        **_seller_summary(order), **_detail(order, ret),
        "can_cancel": order_allowed(order, OrderStatus.CANCELLED, Side.SELLER),
        "can_decide_return": ret is not None and ret.status == ReturnStatus.REQUESTED})


def _product_review(review: Review) -> dict:
    return {"id": review.id, "rating": review.rating, "comment": review.comment,
            "buyer_first_name": buyer_first_name(review.buyer.name),
            "created_at": review.created_at, "reply": review.reply,
            "replied_at": review.replied_at}


def review_out(review: Review) -> ReviewOut:
    return ReviewOut.model_validate({
        **_product_review(review), "product_id": review.product_id,
        "product_name": review.product.name, "order_number": review.order.number})


def _refused(error: OrderError, field: str | None = None) -> ApiError:
    """A lifecycle refusal (409 `illegal_transition`) or a bad field (422 naming
    `field`, or the service's own field name)."""
    if isinstance(error, TransitionError):
        return ApiError(409, ApiErrorCode.ILLEGAL_TRANSITION, error.message)
    return ApiError(422, ApiErrorCode.VALIDATION_FAILED, error.message,
                    fields={field or error.field or "body": error.message})


# --- the buyer ---------------------------------------------------------------------------


def _my_order(number: str) -> Order:
    return owned_or_404(buyer_order(current_user.id, number))


@operation(bp, "/orders", "GET", tag=TAG, summary="The buyer's orders",
           query=OrderListQuery, response=Page[BuyerOrderSummary], roles=("customer",))
def my_orders(query: OrderListQuery):
    """Newest first; `status` filters like the web list's tabs."""
    orders = buyer_orders_page(buyer_id=current_user.id, status=query.status,
                               page=query.page, per_page=query.per_page)
    return page_of([_buyer_summary(order) for order in orders.items], orders.total, query,
                   BuyerOrderSummary)


@operation(bp, "/orders/<number>", "GET", tag=TAG, summary="One of the buyer's orders",
           response=BuyerOrderOut, roles=("customer",))
def order_detail(number: str):
    """404 for an unknown order or another buyer's."""
    return buyer_order_out(_my_order(number))


@operation(bp, "/orders/<number>/cancel", "POST", tag=TAG, summary="Cancel a pending order",
           body=BuyerCancelIn, response=BuyerOrderOut, roles=("customer",), errors=(409,))
def order_cancel_buyer(number: str, body: BuyerCancelIn):
    """The stock goes back. 404 for another buyer's order; 409 `illegal_transition` once
    the order is past pending."""
    order = _my_order(number)
    try:
        order_cancel(order=order, actor=current_user, side=Side.BUYER, reason=body.reason)
    except OrderError as error:
        raise _refused(error, "reason") from None
    db.session.commit()
    return buyer_order_out(order)


@operation(bp, "/orders/<number>/confirm", "POST", tag=TAG,
           summary="Confirm receipt of a shipped order", response=BuyerOrderOut,
           roles=("customer",), errors=(409,))
def order_confirm(number: str):
    """The order becomes delivered. 404 for another buyer's order; 409
    `illegal_transition` unless it is shipped."""
    order = _my_order(number)
    try:
        lifecycle.order_confirm(order=order, actor=current_user)
    except OrderError as error:
        raise _refused(error) from None
    db.session.commit()
    return buyer_order_out(order)


@operation(bp, "/orders/<number>/return", "POST", tag=TAG,
           summary="Ask for a return of a delivered order", body=ReturnIn, response=ReturnOut,
           status=201, roles=("customer",), errors=(409,))
def return_request(number: str, body: ReturnIn):
    """Within 7 days of delivery, once per order. 404 for another buyer's order; 409
    `illegal_transition` when not delivered, too late or asked already; 422 for the
    reason."""
    order = _my_order(number)
    try:
        ret = returns.return_request(order=order, buyer=current_user, reason=body.reason)
    except OrderError as error:
        raise _refused(error, "reason") from None
    db.session.commit()
    return _return(ret, order.number), 201


@operation(bp, "/orders/<number>/items/<id:item_id>/review", "POST", tag=REVIEW_TAG,
           summary="Review one item of a delivered order", body=ReviewIn, response=ReviewOut,
           status=201, roles=("customer",), errors=(409,))
def review_new(number: str, item_id: int, body: ReviewIn):
    """One review per product and buyer, after delivery. 404 for another buyer's order or
    an item not in it; 409 `review_not_allowed` (not delivered, reviewed already); 422
    for the rating or comment."""
    order = _my_order(number)
    item = owned_or_404(select(OrderItem).where(OrderItem.id == item_id,
                                                OrderItem.order_id == order.id))
    try:
        review = review_create(buyer=current_user, order=order, item=item,
                               rating=body.rating, comment=body.comment)
    except ReviewError as error:
        if error.status == 409:
            raise ApiError(409, ApiErrorCode.REVIEW_NOT_ALLOWED, error.message) from None
        raise ApiError(422, ApiErrorCode.VALIDATION_FAILED, error.message,
                       fields={error.field: error.message}) from None
    db.session.commit()
    return review_out(review), 201


# --- the seller --------------------------------------------------------------------------


def _store_order(number: str) -> Order:
    return owned_or_404(store_order(my_store().id, number))


@operation(bp, "/seller/orders", "GET", tag=TAG, summary="The store's orders",
           query=OrderListQuery, response=Page[SellerOrderSummary], roles=("seller",))
def seller_orders(query: OrderListQuery):
    """Newest first; `status` filters like the web list's tabs."""
    orders = seller_orders_page(store_id=my_store().id, status=query.status,
                                page=query.page, per_page=query.per_page)
    return page_of([_seller_summary(order) for order in orders.items], orders.total, query,
                   SellerOrderSummary)


@operation(bp, "/seller/orders/<number>", "GET", tag=TAG, summary="One of the store's orders",
           response=SellerOrderOut, roles=("seller",))
def seller_order(number: str):
    """404 for an unknown order or another store's."""
    return seller_order_out(_store_order(number))


@operation(bp, "/seller/orders/<number>/advance", "POST", tag=TAG,
           summary="The next step: process or ship an order", body=AdvanceIn,
           response=SellerOrderOut, roles=("seller",), errors=(409,))
def seller_advance(number: str, body: AdvanceIn):
    """`to` names the step the seller chose, so a repeat (double click, two devices) is a
    409 `illegal_transition` instead of a second step. 404 for another store's order; 409
    for an unpaid order; 422 for the tracking number."""
    order = _store_order(number)
    try:
        order_advance(order=order, actor=current_user, from_status=SELLER_FROM[body.to],
                      tracking_number=body.tracking_number)
    except OrderError as error:
        raise _refused(error, "tracking_number") from None
    db.session.commit()
    return seller_order_out(order)


@operation(bp, "/seller/orders/<number>/cancel", "POST", tag=TAG,
           summary="Cancel a pending order (with a reason)", body=SellerCancelIn,
           response=SellerOrderOut, roles=("seller",), errors=(409,))
def seller_cancel(number: str, body: SellerCancelIn):
    """The stock goes back and the buyer reads the reason. 404 for another store's order;
    409 `illegal_transition` once past pending (or a stale `from_status`); 422 without a
    reason."""
    order = _store_order(number)
    try:
        order_cancel(order=order, actor=current_user, side=Side.SELLER, reason=body.reason,
                     from_status=body.from_status)
    except OrderError as error:
        raise _refused(error, "reason") from None
    db.session.commit()
    return seller_order_out(order)


def _store_return(return_id: int) -> ReturnRequest:
    return owned_or_404(select(ReturnRequest).where(ReturnRequest.id == return_id,
                                                    ReturnRequest.store_id == my_store().id))


def _order_number(ret: ReturnRequest) -> str:
    return db.session.scalar(select(Order.number).where(Order.id == ret.order_id))


@operation(bp, "/seller/returns/<id:return_id>/accept", "POST", tag=TAG,
           summary="Accept a return request", response=ReturnOut, roles=("seller",),
           errors=(409,))
def return_accept(return_id: int):
    """The order becomes returned, its stock goes back and a paid order is refunded. 404
    for another store's return; 409 `illegal_transition` once decided."""
    ret = _store_return(return_id)
    try:
        returns.return_accept(request=ret, actor=current_user)
    except OrderError as error:
        raise _refused(error) from None
    db.session.commit()
    return _return(ret, _order_number(ret))


@operation(bp, "/seller/returns/<id:return_id>/reject", "POST", tag=TAG,
           summary="Reject a return request (with a reason)", body=ReturnRejectIn,
           response=ReturnOut, roles=("seller",), errors=(409,))
def return_reject(return_id: int, body: ReturnRejectIn):
    """The buyer reads the reason. 404 for another store's return; 409
    `illegal_transition` once decided; 422 for the reason."""
    ret = _store_return(return_id)
    try:
        returns.return_reject(request=ret, actor=current_user, reason=body.reason)
    except OrderError as error:
        raise _refused(error, "reason") from None
    db.session.commit()
    return _return(ret, _order_number(ret))


# --- reviews -----------------------------------------------------------------------------


@operation(bp, "/products/<id:product_id>/reviews", "GET", tag=REVIEW_TAG,
           summary="A product's reviews", query=PageQuery, response=Page[ProductReviewOut],
           auth=AUTH_PUBLIC)
def product_reviews(product_id: int, query: PageQuery):
    """Newest first, the buyer's first name only. 404 for an unknown product, or an
    archived one to anybody but its seller (like the web page)."""
    product = db.session.get(Product, product_id)
    if product is None or not product_visible(product, current_user):
        raise ApiError(404)
    reviews = product_reviews_page(product.id, query.page, per_page=query.per_page)
    return page_of([_product_review(review) for review in reviews.items], reviews.total,
                   query, ProductReviewOut)


@operation(bp, "/seller/reviews", "GET", tag=REVIEW_TAG, summary="The store's reviews",
           query=SellerReviewQuery, response=Page[ReviewOut], roles=("seller",))
def seller_reviews(query: SellerReviewQuery):
    """Newest first; `unreplied=true`: only those still without a reply."""
    reviews = store_reviews(my_store().id, unreplied=query.unreplied, page=query.page,
                            per_page=query.per_page)
    return page_of([review_out(review) for review in reviews.items], reviews.total, query,
                   ReviewOut)


@operation(bp, "/seller/reviews/<id:review_id>/reply", "POST", tag=REVIEW_TAG,
           summary="Reply to a review (once)", body=ReplyIn, response=ReviewOut,
           roles=("seller",), errors=(409,))
def review_reply_route(review_id: int, body: ReplyIn):
    """The buyer is told. 404 for another store's review; 409 `already_replied`; 422 for
    the reply."""
    shop: Store = my_store()
    review = owned_or_404(select(Review).where(Review.id == review_id,
                                               Review.store_id == shop.id))
    try:
        review_reply(seller_store=shop, review=review, reply=body.reply)
    except ReviewError as error:
        if error.status == 409:
            raise ApiError(409, ApiErrorCode.ALREADY_REPLIED, error.message) from None
        raise ApiError(422, ApiErrorCode.VALIDATION_FAILED, error.message,
                       fields={error.field: error.message}) from None
    db.session.commit()
    return review_out(review)

