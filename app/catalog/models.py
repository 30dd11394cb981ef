"""Catalog tables: the category tree, products, their variants and photos.

Every product has at least one `Variant` (the default variant when it has no options);
the variant carries the SKU, price and stock. `Product.price_min`, `price_max` and
`stock_total` are caches of its active variants, kept by the catalog services and the stock
writes (app/catalog/stock.py) so that search can filter and sort on one table.

Search columns: `search_name` / `search_body` hold the normalised (lower-case, accents
removed) name and description. The full-text index over them is dialect-specific and lives
only in the migration (`app/catalog/search.py` explains it).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import Store
from app.core.clock import UTCDateTime, utcnow
from app.extensions import Model


class Category(Model):
    """A node of the (small, admin-managed) category tree."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    # NO ACTION (not RESTRICT): checked at the end of a statement, so deleting a whole
    # subtree at once works; category_delete refuses a category that still has children.
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("categories.id"), nullable=True, index=True
    )
    name: Mapped[str] = mapped_column(String(80))  # Indonesian
    name_en: Mapped[str] = mapped_column(String(80), default="")
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    parent: Mapped[Category | None] = relationship(remote_side=[id])

    def label(self, locale: str) -> str:
        return self.name_en if locale == "en" and self.name_en else self.name


class Product(Model):
    __tablename__ = "products"
    __table_args__ = (
        Index("ix_products_listing", "active", "created_at", "id"),
        Index("ix_products_category_price", "active", "category_id", "price_min"),
        Index("ix_products_price", "active", "price_min", "id"),
        Index("ix_products_sold", "active", "sold_count", "id"),
        Index("ix_products_rating", "active", "rating_avg", "id"),
        Index("ix_products_store", "store_id", "active", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="RESTRICT"))
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(150))
    description: Mapped[str] = mapped_column(Text, default="")
    # [{"label": "Isi", "value": "30 ml"}, ...] in the seller's order
    specifications: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    # [{"name": "Warna", "values": ["Merah", "Biru"]}, ...]; [] for a single default variant
    option_groups: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    price: Mapped[int] = mapped_column(BigInteger)  # the default price for new variants
    active: Mapped[bool] = mapped_column(Boolean, default=True)  # False: archived
    price_min: Mapped[int] = mapped_column(BigInteger, default=0)
    price_max: Mapped[int] = mapped_column(BigInteger, default=0)
    stock_total: Mapped[int] = mapped_column(Integer, default=0)
    sold_count: Mapped[int] = mapped_column(Integer, default=0)  # units sold (popularity)
    rating_avg: Mapped[Decimal] = mapped_column(Numeric(3, 2), default=Decimal("0"))
    rating_count: Mapped[int] = mapped_column(Integer, default=0)
    # The sum of all ratings: rating_avg = rating_total / rating_count, kept exact under
    # concurrent reviews by incrementing both in one UPDATE.
    rating_total: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The first photo's thumbnail: search result cards need nothing else from the photos.
    cover_key: Mapped[str] = mapped_column(String(200), default="")
    # ... and its card rendition (240 px; "" for photos not yet backfilled: cards then fall
    # back to cover_key). `flask catalog renditions` fills both.
    cover_card_key: Mapped[str] = mapped_column(String(200), default="", server_default="")
    # ... and its 128 px mini rendition (56-64 px thumbnails; "" until backfilled).
    cover_mini_key: Mapped[str] = mapped_column(String(200), default="", server_default="")
    search_name: Mapped[str] = mapped_column(String(150), default="")
    search_body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    store: Mapped[Store] = relationship()
    category: Mapped[Category] = relationship()
    variants: Mapped[list[Variant]] = relationship(
        back_populates="product", order_by="Variant.position", cascade="all, delete-orphan"
    )
    images: Mapped[list[ProductImage]] = relationship(
        back_populates="product", order_by="ProductImage.position", cascade="all, delete-orphan"
    )

    @property
    def active_variants(self) -> list[Variant]:
        return [v for v in self.variants if v.active]


class Variant(Model):
    """One purchasable combination of a product's options, with its own SKU, price, stock."""

    __tablename__ = "variants"
    __table_args__ = (
        UniqueConstraint("store_id", "sku", name="uq_variants_store_sku"),
        UniqueConstraint("product_id", "options_key", name="uq_variants_product_options"),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        CheckConstraint("price > 0", name="price_positive"),
        Index("ix_variants_store_stock", "store_id", "stock"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"),
                                            index=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="RESTRICT"))
    sku: Mapped[str] = mapped_column(String(64))
    options: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    options_key: Mapped[str] = mapped_column(String(400), default="")  # "" = default variant
    price: Mapped[int] = mapped_column(BigInteger)
    stock: Mapped[int] = mapped_column(Integer, default=0)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # False once its option combination was removed from the product (kept for history).
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The packed weight in grams; couriers price by the started kilogram (app.shipping).
    weight_grams: Mapped[int] = mapped_column(Integer, default=250, server_default="250")
    # Set when a low-stock alert went out; cleared when stock is back at the threshold.
    low_stock_alerted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    product: Mapped[Product] = relationship(back_populates="variants")

    @property
    def label(self) -> str:
        return ", ".join(f"{k}: {v}" for k, v in self.options.items())


class ProductImage(Model):
    """A product photo: re-encoded display image, thumbnail and card rendition in storage."""

    __tablename__ = "product_images"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"),
                                            index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    display_key: Mapped[str] = mapped_column(String(200))
    thumb_key: Mapped[str] = mapped_column(String(200))
    # The 240 px card rendition ("" until `flask catalog renditions` made it for an old photo).
    card_key: Mapped[str] = mapped_column(String(200), default="", server_default="")
    # The 128 px mini rendition ("" until `flask catalog renditions` made it).
    mini_key: Mapped[str] = mapped_column(String(200), default="", server_default="")
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    product: Mapped[Product] = relationship(back_populates="images")
