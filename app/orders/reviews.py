"""Verified reviews and the seller's reply.

After an order is DELIVERED its buyer may review each product of it once (one review per
buyer and product, whichever order it came from): a rating 1-5 and an optional comment.
The product's rating caches (`rating_total`, `rating_count`, `rating_avg`) move in the same
transaction. The review's store may answer it once.

Writes (`review_create`, `review_reply`) flush, never commit; they raise `ReviewError`:
with a `field` for bad input (the route answers 422 with the message at that field),
without one for a refusal of the action itself (not delivered, already reviewed or
replied: 409). Reads follow: a product's reviews, the seller's reviews, what a buyer has
already reviewed, and the navigation badge.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, joinedload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from app.accounts.models import Store, User
from app.catalog.models import Product
from app.core.clock import utcnow
from app.core.db import rowcount
from app.core.http import app_path
from app.core.notices import N_, notice_kind, notice_send
from app.core.pagination import Page
from app.extensions import db
from app.orders.models import Order, OrderItem, OrderStatus, Review

log = logging.getLogger(__name__)

RATINGS = (5, 4, 3, 2, 1)
MAX_COMMENT = 2000
MAX_REPLY = 2000
REVIEWS_PER_PAGE = 10

REVIEW_NEW_NOTICE = "review_new"
REVIEW_REPLY_NOTICE = "review_reply"
notice_kind(REVIEW_NEW_NOTICE, N_("Ulasan baru ★%(rating)s untuk %(product)s dari %(buyer)s."))
notice_kind(REVIEW_REPLY_NOTICE, N_("%(store)s membalas ulasan Anda untuk %(product)s."))

ALREADY_REVIEWED = _l("Anda sudah mengulas produk ini. Setiap produk hanya dapat diulas "
                      "sekali.")
ALREADY_REPLIED = _l("Ulasan ini sudah dibalas. Balasan hanya dapat dikirim sekali.")


class ReviewError(Exception):
    """A review or reply was refused. `field` names the form field for bad input (422);
    empty, the action itself is not allowed now (409)."""

    def __init__(self, message: object, field: str = ""):
        super().__init__(str(message))
        self.message = str(message)
        self.field = field

    @property
    def status(self) -> int:
        return 422 if self.field else 409


# --- writes -------------------------------------------------------------------------------


def review_check(*, buyer: User, order: Order, item: OrderItem) -> None:
    """Raise ReviewError (409) unless `buyer` may review `item` of `order` now: the order is
    theirs and DELIVERED, the item is part of it, its product still exists and the buyer
    has not reviewed that product yet (from this or any other order)."""
    if order.buyer_id != buyer.id or item.order_id != order.id:
        raise ReviewError(_l("Pesanan tidak ditemukan."))
    if order.status != OrderStatus.DELIVERED:
        if order.status == OrderStatus.RETURNED:
            raise ReviewError(_l("Pesanan yang dikembalikan tidak dapat diulas."))
        raise ReviewError(_l("Ulasan dapat ditulis setelah pesanan diterima."))
    if item.product_id is None:
        raise ReviewError(_l("Produk ini sudah tidak tersedia untuk diulas."))
    reviewed = db.session.scalar(select(Review.id).where(
        Review.buyer_id == buyer.id, Review.product_id == item.product_id))
    if reviewed is not None:
        raise ReviewError(ALREADY_REVIEWED)


def _clean_rating(rating: object) -> int:
    if isinstance(rating, bool) or not isinstance(rating, int) or rating not in RATINGS:
        raise ReviewError(_l("Pilih rating 1 sampai 5 bintang."), "rating")
    return rating


def _clean_text(text: str | None, *, field: str, limit: int, required: bool) -> str:
    value = (text or "").strip()
    if required and not value:
        raise ReviewError(_l("Wajib diisi."), field)
    if len(value) > limit:
        raise ReviewError(_l("Maksimal %(max)d karakter.", max=limit), field)
    return value


def review_create(*, buyer: User, order: Order, item: OrderItem, rating: object,
                  comment: str | None) -> Review:
    """Write the buyer's review of `item`'s product and move the product's rating caches.

    Raises ReviewError: 409 (no field) when the order is not the buyer's or not DELIVERED,
    or the product was already reviewed (also when a concurrent double submit wins the
    unique constraint first); 422 (field `rating` / `comment`) for a rating that is not an
    integer 1-5 or a comment over 2000 characters. Nothing is written when it raises.
    """
    review_check(buyer=buyer, order=order, item=item)
    rating = _clean_rating(rating)
    comment = _clean_text(comment, field="comment", limit=MAX_COMMENT, required=False)
    review = Review(product_id=item.product_id, store_id=order.store_id, order_id=order.id,
                    buyer_id=buyer.id, rating=rating, comment=comment)
    try:
        # A double submit (two tabs, a double click) that passed the check above together:
        # the unique constraint decides, the loser gets the same message as a late one.
        with db.session.begin_nested():
            db.session.add(review)
    except IntegrityError:
        log.info("review of product %s by buyer %s refused: a concurrent one won",
                 item.product_id, buyer.id)
        raise ReviewError(ALREADY_REVIEWED) from None
    assert item.product_id is not None  # review_check refused an item whose product is gone
    product = _rating_add(item.product_id, rating)
    store = db.session.get_one(Store, order.store_id)
    # Names are cut so the stored message fits notices.message (300 characters).
    notice_send(user_id=store.owner_id, kind=REVIEW_NEW_NOTICE,
                params={"rating": rating, "product": product.name,
                        "buyer": buyer_first_name(buyer.name)[:60]},
                link=app_path("orders.seller_reviews", belum=1) + f"#review-{review.id}")
    db.session.flush()
    log.info("review %s: buyer %s rated product %s with %s", review.id, buyer.id,
             item.product_id, rating)
    return review


def _rating_add(product_id: int, rating: int) -> Product:
    """Add one rating to the product's caches. The counters move in one UPDATE (never a
    read-modify-write, so concurrent reviews never lose one); the average is then written
    from the values that UPDATE returned, under the row lock it holds until the commit
    (PostgreSQL; SQLite has one writer at a time)."""
    total, count = db.session.execute(
        update(Product).where(Product.id == product_id)
        .values(rating_total=Product.rating_total + rating,
                rating_count=Product.rating_count + 1)
        .returning(Product.rating_total, Product.rating_count)
        .execution_options(synchronize_session=False)
    ).one()
    average = rating_average(total, count)
    db.session.execute(
        update(Product).where(Product.id == product_id).values(rating_avg=average)
        .execution_options(synchronize_session=False)
    )
    product = db.session.identity_map.get(identity_key(Product, product_id))
    if product is None:
        return db.session.get_one(Product, product_id)
    for name, value in (("rating_total", total), ("rating_count", count),
                        ("rating_avg", average)):
        set_committed_value(product, name, value)
    return product


def rating_average(total: int, count: int) -> Decimal:
    """total / count to two decimals, half up (the column is Numeric(3, 2))."""
    if not count:
        return Decimal("0.00")
    return (Decimal(total) / Decimal(count)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def review_reply(*, seller_store: Store, review: Review, reply: str | None) -> Review:
    """Write the store's one public reply to `review` and tell the buyer.

    Raises ReviewError: 409 when the review is not the store's or already has a reply
    (two replies sent at once: exactly one wins); 422 (field `reply`) when the reply is
    empty or over 2000 characters.
    """
    if review.store_id != seller_store.id:
        raise ReviewError(_l("Ulasan tidak ditemukan."))
    if review.replied_at is not None:
        raise ReviewError(ALREADY_REPLIED)
    text = _clean_text(reply, field="reply", limit=MAX_REPLY, required=True)
    now = utcnow()
    claimed = rowcount(db.session.execute(
        update(Review).where(Review.id == review.id, Review.replied_at.is_(None))
        .values(reply=text, replied_at=now)
        .execution_options(synchronize_session=False)
    ))
    if not claimed:
        raise ReviewError(ALREADY_REPLIED)
    set_committed_value(review, "reply", text)
    set_committed_value(review, "replied_at", now)
    product_name = db.session.scalar(select(Product.name).where(Product.id == review.product_id))
    notice_send(user_id=review.buyer_id, kind=REVIEW_REPLY_NOTICE,
                params={"store": seller_store.name[:80], "product": product_name or ""},
                link=app_path("catalog.product", product_id=review.product_id) + "#ulasan")
    db.session.flush()
    log.info("review %s replied by store %s", review.id, seller_store.id)
    return review


# --- reads --------------------------------------------------------------------------------


def buyer_first_name(name: str | None) -> str:
    """The first word of a name: reviews show no more of the buyer (privacy)."""
    words = (name or "").split()
    return words[0] if words else ""


def _page_number(page: int | None) -> int:
    return page if page is not None and 1 <= page <= 100_000 else 1


def product_reviews_page(product_id: int, page: int | None = 1,
                         per_page: int = REVIEWS_PER_PAGE) -> Page[Review]:
    """A product's reviews, newest first, 10 per page (unless `per_page` says otherwise),
    with the buyer loaded (the template shows the first name only)."""
    page = _page_number(page)
    total = db.session.scalar(
        select(func.count(Review.id)).where(Review.product_id == product_id)) or 0
    items = list(db.session.scalars(
        select(Review).join(Review.buyer).options(contains_eager(Review.buyer))
        .where(Review.product_id == product_id)
        .order_by(Review.created_at.desc(), Review.id.desc())
        .limit(per_page).offset((page - 1) * per_page)
    )) if total else []
    return Page(items=items, total=total, page=page, per_page=per_page)


@dataclass(frozen=True)
class RatingBar:
    stars: int
    count: int
    total: int  # all ratings of the product (the bar's maximum)


def rating_distribution(product_id: int) -> list[RatingBar]:
    """How many reviews gave 5, 4, 3, 2 and 1 stars (5 first); [] without reviews."""
    counts = dict(db.session.execute(
        select(Review.rating, func.count(Review.id)).where(Review.product_id == product_id)
        .group_by(Review.rating)
    ).all())
    total = sum(counts.values())
    if not total:
        return []
    return [RatingBar(stars=stars, count=counts.get(stars, 0), total=total)
            for stars in RATINGS]


def buyer_reviews_by_product(buyer_id: int, product_ids: Iterable[int | None]) -> dict[int, Review]:
    """The buyer's reviews of these products, by product id (one query)."""
    ids = {pid for pid in product_ids if pid is not None}
    if not ids:
        return {}
    return {review.product_id: review for review in db.session.scalars(
        select(Review).where(Review.buyer_id == buyer_id, Review.product_id.in_(ids)))}


def store_reviews(store_id: int, *, unreplied: bool = False,
                  page: int | None = 1, per_page: int = REVIEWS_PER_PAGE) -> Page[Review]:
    """The store's reviews for the seller, newest first (only those without a reply when
    `unreplied`), with the product, the buyer and the order loaded."""
    page = _page_number(page)
    conditions = [Review.store_id == store_id]
    if unreplied:
        conditions.append(Review.replied_at.is_(None))
    total = db.session.scalar(select(func.count(Review.id)).where(*conditions)) or 0
    items = list(db.session.scalars(
        select(Review).where(*conditions)
        .options(joinedload(Review.buyer), joinedload(Review.product), joinedload(Review.order))
        .order_by(Review.created_at.desc(), Review.id.desc())
        .limit(per_page).offset((page - 1) * per_page)
    )) if total else []
    return Page(items=items, total=total, page=page, per_page=per_page)


def unreplied_reviews_count(store_id: int) -> int:
    return db.session.scalar(select(func.count(Review.id)).where(
        Review.store_id == store_id, Review.replied_at.is_(None))) or 0


def unreplied_reviews_badge(user: User) -> int:
    """The navigation badge: the user's store's reviews still without a reply."""
    store = user.store
    return unreplied_reviews_count(store.id) if store is not None else 0


def reviews_on_product_pages(app) -> None:
    """The catalog's product page shows reviews, and a written review clears its cached
    page: orders registers both with the catalog (which imports nothing of orders)."""
    from app.catalog.cache import product_rows_register
    from app.catalog.product_page import ProductReviews, product_reviews_register

    product_reviews_register(app, ProductReviews(
        page=lambda product_id: product_reviews_page(product_id),
        distribution=lambda product_id: rating_distribution(product_id)))
    product_rows_register(Review, lambda review: review.product_id)
