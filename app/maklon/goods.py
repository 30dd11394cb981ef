"""Finished goods into the client's store: one action, once per completed order.

    goods_move(request=req, variant_id=12, actor=user)   # stock + ledger "production"

The produced quantity (`request.quantity`) goes into one variant of one of the client's own
store's products through the shared stock ledger (`stock_change`, reason PRODUCTION,
reference the order number). "Once" is a conditional UPDATE on `goods_moved_at IS NULL`,
so two clicks (or two tabs) move the goods once. Services flush, never commit.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select, update

from app.accounts.models import RoleName, User
from app.audit.services import audit_record
from app.catalog.models import Product, Variant
from app.catalog.stock import StockError, stock_change
from app.core.clock import utcnow
from app.core.db import rowcount
from app.extensions import db
from app.inventory.models import StockReason
from app.maklon.models import MaklonRequest, RequestStatus


class GoodsError(Exception):
    """The move was refused; `status` is the HTTP answer (409 state, 422 input)."""

    def __init__(self, message: str, *, status: int = 422):
        super().__init__(message)
        self.message = message
        self.status = status


def goods_tab_visible(request: MaklonRequest, user: User) -> bool:
    """The "Hasil produksi" tab: a completed order seen by a client who owns a store."""
    return (request.status == RequestStatus.COMPLETED and user.has_role(RoleName.CLIENT)
            and user.store is not None)


def goods_variants(user: User) -> list[Variant]:
    """The variants the client may move goods into: their own store's active ones."""
    if user.store is None:
        return []
    return list(db.session.scalars(
        select(Variant).join(Variant.product)
        .where(Variant.store_id == user.store.id, Variant.active.is_(True))
        .order_by(Product.name, Variant.position, Variant.id)))


def goods_move(*, request: MaklonRequest, variant_id: int | None, actor: User) -> Variant:
    """Move the batch's quantity into `variant_id` of the actor's store. Raises GoodsError:
    409 when the order is not completed or the goods were moved already, 422 when the
    variant is not one of the actor's store's (or the stock would exceed its maximum)."""
    if request.status != RequestStatus.COMPLETED:
        raise GoodsError(_("Hasil produksi baru bisa dipindahkan setelah pesanan selesai."),
                         status=409)
    if request.goods_moved_at is not None:
        raise GoodsError(_("Hasil produksi pesanan ini sudah dipindahkan ke toko."),
                         status=409)
    store = actor.store
    variant = None
    if store is not None and variant_id is not None:
        variant = db.session.scalars(select(Variant).where(
            Variant.id == variant_id, Variant.store_id == store.id,
            Variant.active.is_(True))).first()
    if variant is None:
        raise GoodsError(_("Pilih varian produk dari toko Anda."))
    if request.quantity <= 0:
        raise GoodsError(_("Pesanan ini tidak punya jumlah produksi."), status=409)
    now = utcnow()
    claimed = rowcount(db.session.execute(
        update(MaklonRequest)
        .where(MaklonRequest.id == request.id, MaklonRequest.goods_moved_at.is_(None),
               MaklonRequest.status == RequestStatus.COMPLETED)
        .values(goods_moved_at=now, goods_variant_id=variant.id)
        .execution_options(synchronize_session=False)))
    if not claimed:
        raise GoodsError(_("Hasil produksi pesanan ini sudah dipindahkan ke toko."),
                         status=409)
    try:
        stock_change(variant=variant, delta=request.quantity, reason=StockReason.PRODUCTION,
                     actor=actor, reference=request.number)
    except StockError as error:
        raise GoodsError(error.message) from None
    audit_record("maklon.goods_moved", actor=actor, object_type="maklon_request",
                 object_id=request.number,
                 after={"variant": variant.sku, "quantity": request.quantity,
                        "stock": variant.stock}, note=request.product_name)
    db.session.flush()
    db.session.refresh(request)
    return variant


def goods_state(request: MaklonRequest) -> dict[str, Any]:
    """What the tab shows about a move already made."""
    variant = (db.session.get(Variant, request.goods_variant_id)
               if request.goods_variant_id else None)
    return {"moved_at": request.goods_moved_at, "variant": variant}
