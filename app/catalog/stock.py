"""A variant's stock writes. Every change of a variant's stock goes through `stock_change`
(or `stock_set`, built on it), which

1. changes the stock with one conditional UPDATE (`… WHERE stock + :delta >= 0`), so stock
   never goes negative and two concurrent changes never lose one another;
2. keeps the product's `stock_total` cache in step;
3. writes exactly one `StockMovement` ledger row;
4. sends the low-stock alert (email through the outbox + in-app notice) once per downward
   crossing of the store's threshold;
5. audits ("stock.adjust") what a person changes by hand: restocks and adjustments. Sales,
   cancels, returns and expiries are traced by the order and payment audit rows instead.

Services flush, never commit.

This module lives beside the variants it changes (it used to be app/inventory/services.py):
the ledger itself, `StockMovement` and `StockReason`, stays in app/inventory/models.py,
below catalog and maklon, which both write to it (maklon's raw materials through
app/maklon/materials.py). The seller's stock pages are app/catalog/stock_routes.py and
app/catalog/stock_queries.py.
"""

from __future__ import annotations

import logging

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from app.accounts.models import Store, User
from app.audit.services import audit_record
from app.catalog.models import Product, Variant
from app.core.db import rowcount
from app.core.http import app_path, public_url
from app.core.mail import mail_queue
from app.core.notices import N_, notice_kind, notice_send
from app.extensions import db
from app.inventory.models import StockMovement, StockReason

log = logging.getLogger(__name__)

LOW_STOCK_NOTICE = "low_stock"
notice_kind(LOW_STOCK_NOTICE,
            N_("Stok %(product)s %(variant)s tinggal %(stock)s (batas %(threshold)s)."))

MAX_STOCK = 10_000_000
AUDITED_REASONS = (StockReason.RESTOCK, StockReason.ADJUSTMENT)
NEGATIVE_STOCK_MESSAGE = _l("Stok tidak boleh negatif.")


def _max_stock_message() -> str:
    return str(_l("Stok maksimal %(max)s.", max=f"{MAX_STOCK:,}".replace(",", ".")))


class StockError(Exception):
    """The change was refused; `current` is the stock at the time of the refusal."""

    def __init__(self, message: str, current: int | None = None):
        super().__init__(message)
        self.message = message
        self.current = current


class StockConflict(StockError):
    """The stock changed since the user saw it (optimistic check of `stock_set`)."""


def stock_change(*, variant: Variant, delta: int, reason: str, actor: User | None,
                 reference: str = "") -> StockMovement:
    """Add `delta` (may be negative) to the variant's stock. Raises StockError when the
    result would be negative or absurdly large."""
    if reason not in StockReason.ALL:
        raise ValueError(f"unknown stock reason {reason!r}")
    if delta == 0:
        raise StockError(str(_l("Jumlah perubahan stok tidak boleh nol.")))
    # Lock the product row before the variant row, always: the stock_total UPDATE below
    # locks it too, and concurrent checkouts of several variants would otherwise lock
    # (variant, product) pairs in crossing orders and deadlock on PostgreSQL. Checkout
    # changes its lines in (product id, variant id) order. FOR NO KEY UPDATE (the lock an
    # UPDATE of non-key columns takes), not FOR UPDATE: the latter conflicts with the KEY
    # SHARE locks that inserting rows referencing the product (order items) take, which
    # deadlocks two checkouts of the same products. SQLite has one writer at a time and no
    # FOR UPDATE (SQLAlchemy leaves the clause out there).
    db.session.execute(select(Product.id).where(Product.id == variant.product_id)
                       .with_for_update(key_share=True))
    new_stock = db.session.execute(
        update(Variant)
        .where(Variant.id == variant.id, Variant.stock + delta >= 0,
               Variant.stock + delta <= MAX_STOCK)
        .values(stock=Variant.stock + delta)
        .returning(Variant.stock)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if new_stock is None:
        current = db.session.scalar(select(Variant.stock).where(Variant.id == variant.id))
        if current is not None and current + delta > MAX_STOCK:
            raise StockError(_max_stock_message(), current)
        raise StockError(
            str(_l("Stok tidak boleh negatif: stok tersedia %(stock)s.", stock=current)),
            current,
        )
    set_committed_value(variant, "stock", new_stock)
    db.session.execute(
        update(Product).where(Product.id == variant.product_id)
        .values(stock_total=Product.stock_total + delta)
        .execution_options(synchronize_session=False)
    )
    product = variant.product
    if product is not None and "stock_total" in product.__dict__:
        set_committed_value(product, "stock_total", product.stock_total + delta)
    movement = StockMovement(variant_id=variant.id, delta=delta, stock_after=new_stock,
                             reason=reason, reference=reference[:120],
                             user_id=actor.id if actor else None)
    db.session.add(movement)
    if actor is not None and reason in AUDITED_REASONS:
        audit_record("stock.adjust", actor=actor, object_type="variant", object_id=variant.sku,
                     before={"stock": new_stock - delta},
                     after={"stock": new_stock, "delta": delta, "reason": reason},
                     note=reference)
    _low_stock_check(variant, old_stock=new_stock - delta, new_stock=new_stock)
    db.session.flush()
    log.info("stock %+d on variant %s (%s) -> %s", delta, variant.id, reason, new_stock)
    return movement


def stock_set(*, variant: Variant, new_stock: int, actor: User | None,
              expected: int | None = None, reason: str = StockReason.ADJUSTMENT,
              reference: str = "") -> StockMovement | None:
    """Set the stock to `new_stock` as one ledger movement of the difference.

    With `expected` (the stock the user was looking at) the change applies only if the
    stock is still that value, else StockConflict; without it, the current value is read
    and the difference applied atomically. Returns None when nothing changes.
    """
    if new_stock < 0:
        raise StockError(str(NEGATIVE_STOCK_MESSAGE))
    if new_stock > MAX_STOCK:
        raise StockError(_max_stock_message())
    current = db.session.scalar(select(Variant.stock).where(Variant.id == variant.id))
    if current is None:
        raise StockError(str(_l("Varian tidak ditemukan.")))
    if expected is not None and current != expected:
        set_committed_value(variant, "stock", current)
        raise StockConflict(
            str(_l("Stok sudah berubah menjadi %(stock)s sejak halaman dibuka. Periksa lalu "
                   "simpan lagi.", stock=current)),
            current,
        )
    if new_stock == current:
        return None
    # The conditional UPDATE in stock_change keeps this atomic: it cannot go negative,
    # and a concurrent change shows up as a different stock_after in the ledger.
    return stock_change(variant=variant, delta=new_stock - current, reason=reason,
                        actor=actor, reference=reference)


def _low_stock_check(variant: Variant, *, old_stock: int, new_stock: int) -> None:
    if not variant.active:
        return  # a removed option combination whose stock is written off: nothing to restock
    store = db.session.get_one(Store, variant.store_id)
    threshold = store.low_stock_threshold
    if new_stock >= threshold:
        if variant.low_stock_alerted:
            db.session.execute(update(Variant).where(Variant.id == variant.id)
                               .values(low_stock_alerted=False)
                               .execution_options(synchronize_session=False))
            set_committed_value(variant, "low_stock_alerted", False)
        return
    if old_stock < threshold:
        return  # already under: not a crossing
    # Claim the alert with a conditional UPDATE: two concurrent sales send one email.
    claimed = rowcount(db.session.execute(
        update(Variant).where(Variant.id == variant.id, Variant.low_stock_alerted.is_(False))
        .values(low_stock_alerted=True).execution_options(synchronize_session=False)
    ))
    set_committed_value(variant, "low_stock_alerted", True)
    if not claimed:
        return
    product = db.session.get_one(Product, variant.product_id)
    owner = store.owner
    params = {"product": product.name, "variant": variant.label or "",
              "stock": new_stock, "threshold": threshold}
    notice_send(user_id=owner.id, kind=LOW_STOCK_NOTICE, params=params,
                link=app_path("inventory.index", rendah=1))
    mail_queue(to=owner.email, template="low_stock", locale=owner.locale,
               subject=_l("Stok menipis: %(product)s", product=product.name),
               name=owner.name, store=store, product=product, variant=variant,
               stock=new_stock, threshold=threshold,
               link=public_url("inventory.index", rendah=1))
    log.info("low-stock alert for variant %s (stock %s < %s)", variant.id, new_stock,
             threshold)
