"""The seller's inventory page reads: the store's variants table and a variant's ledger
(it used to be app/inventory/queries.py; the ledger model is app/inventory/models.py)."""

from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.orm import contains_eager

from app.catalog.models import Product, Variant
from app.core.pagination import Page
from app.extensions import db
from app.inventory.models import StockMovement

INVENTORY_PER_PAGE = 50


def inventory_page(*, store_id: int, threshold: int, low_only: bool, sort: str,
                   page: int) -> Page[Variant]:
    """Active variants of the store's products (archived included: stock still counts)."""
    conditions = [Variant.store_id == store_id, Variant.active.is_(True)]
    if low_only:
        conditions.append(Variant.stock < threshold)
    order = {
        "stok": [Variant.stock.asc(), Variant.id.asc()],
        "-stok": [Variant.stock.desc(), Variant.id.asc()],
    }.get(sort, [Product.name.asc(), Variant.position.asc(), Variant.id.asc()])
    total = db.session.scalar(select(func.count(Variant.id)).where(*conditions)) or 0
    variants = list(db.session.scalars(
        select(Variant).join(Variant.product).options(contains_eager(Variant.product))
        .where(*conditions).order_by(*order)
        .limit(INVENTORY_PER_PAGE).offset((page - 1) * INVENTORY_PER_PAGE)
    ))
    return Page(items=variants, total=total, page=page, per_page=INVENTORY_PER_PAGE)


def owned_variant(store_id: int, variant_id: int) -> Select:
    """The statement for `owned_or_404`: the variant only if it belongs to the store."""
    return select(Variant).where(Variant.id == variant_id, Variant.store_id == store_id)


def variant_movements(variant_id: int, limit: int = 100) -> list[StockMovement]:
    return list(db.session.scalars(
        select(StockMovement).where(StockMovement.variant_id == variant_id)
        .order_by(StockMovement.created_at.desc(), StockMovement.id.desc()).limit(limit)
    ))
