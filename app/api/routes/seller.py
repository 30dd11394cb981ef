"""The seller's own products, variants and stock (role seller, own store only).

    GET  /seller/products                              own products (active or archived)
    POST /seller/products                              create a product with its variants
                                                       (honours Idempotency-Key)
    GET  /seller/products/{product_id}                 one own product, every variant
    PATCH /seller/products/{product_id}                details, specifications, option groups
    POST /seller/products/{product_id}/archive         hide from the shop
    POST /seller/products/{product_id}/restore         show again
    PUT  /seller/products/{product_id}/variants        SKU, price, stock of its variants
    PUT  /seller/variants/{variant_id}/stock           set one variant's stock (inline edit)

The same services as the HTML pages (app/catalog/routes.py, app/catalog/stock_routes.py):
`product_create`, `product_update`, `product_archive`, `product_restore`, `variants_update`
and `stock_set`. The product or variant is selected together with the seller's store id
(`owned_product`, `owned_variant`): another store's is a 404. A seller account without a
store gets 403, like the web (`my_store`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import Field

from app.accounts.current import my_store
from app.api import bp
from app.api.error_codes import ApiErrorCode
from app.api.errors import ApiError
from app.api.routes.catalog import (
    ProductFields,
    VariantOut,
    availability,
    media_url,
    product_fields,
)
from app.api.schemas import Id, Input, Output, Page, PageQuery, Rupiah, trimmed
from app.api.spec import operation, page_of
from app.catalog.forms import GROUP_NAME_MAX, OPTION_VALUE_MAX, SPEC_LABEL_MAX, SPEC_VALUE_MAX
from app.catalog.models import Product, Variant
from app.catalog.queries import owned_product, store_products, store_products_count
from app.catalog.services import (
    CatalogError,
    OptionGroup,
    ProductData,
    VariantChange,
    product_archive,
    product_create,
    product_restore,
    product_update,
    variants_update,
)
from app.catalog.stock import MAX_STOCK, StockConflict, StockError, stock_set
from app.catalog.stock_queries import owned_variant
from app.core.security import owned_or_404
from app.extensions import db
from app.inventory.models import StockReason

TAG = "Toko"
SELLER = ("seller",)
StockCount = Field(ge=0, le=MAX_STOCK)

# The service's form field names -> the API's body fields.
_FIELDS = {"options": "option_groups"}


# --- request models ------------------------------------------------------------------------


class SpecificationIn(Input):
    label: Annotated[str, trimmed(SPEC_LABEL_MAX, 1)]
    value: Annotated[str, trimmed(SPEC_VALUE_MAX, 1)]


class OptionGroupIn(Input):
    name: Annotated[str, trimmed(GROUP_NAME_MAX, 1)] = Field(description="E.g. Warna.")
    values: list[Annotated[str, trimmed(OPTION_VALUE_MAX, 1)]] = Field(max_length=200,
                                                    description="E.g. [\"Merah\", \"Biru\"].")


class ProductIn(Input):
    """A new product. Its option groups expand into one variant per combination (at most
    100); without option groups it has one default variant."""

    name: Annotated[str, trimmed(150, 1)]
    description: Annotated[str, trimmed(5000)] = ""
    category_id: Id
    price: Rupiah = Field(description="Whole Rupiah, more than 0: every new variant's price.")
    specifications: list[SpecificationIn] = Field(default_factory=list, max_length=100)
    option_groups: list[OptionGroupIn] = Field(default_factory=list, max_length=10)
    initial_stock: int = Field(0, ge=0, le=MAX_STOCK,
                               description="The stock of each variant created.")
    sku: Annotated[str, trimmed(64)] = Field(
        "", description="The default variant's SKU (only without option "
                        "groups); empty: generated.")


class ProductPatchIn(Input):
    """The fields to change; a missing (or null) field keeps its value. New option
    combinations get variants with stock 0; removed ones are kept, inactive, stock 0."""

    name: Annotated[str, trimmed(150, 1)] | None = None
    description: Annotated[str, trimmed(5000)] | None = None
    category_id: Id | None = None
    price: Rupiah | None = None
    specifications: list[SpecificationIn] | None = Field(None, max_length=100)
    option_groups: list[OptionGroupIn] | None = Field(None, max_length=10)


class VariantChangeIn(Input):
    id: Id
    sku: Annotated[str, trimmed(64, 1)] | None = Field(
        None, description="Unique in the store; missing: kept.")
    price: Rupiah | None = Field(None, description="More than 0; missing: kept.")
    stock: int | None = Field(None, ge=0, le=MAX_STOCK, description="Missing: kept.")
    weight_grams: int | None = Field(None, ge=1, le=50_000,
                                     description="Packed weight in grams (couriers price "
                                                 "by it); missing: kept.")
    expected_stock: int | None = Field(
        None, ge=0, le=MAX_STOCK,
        description="The stock the user saw: a different current stock is a 409.")


class VariantsIn(Input):
    """Changes to some or all of the product's variants, saved all or nothing."""

    variants: list[VariantChangeIn] = Field(min_length=1, max_length=500)


class StockIn(Input):
    stock: int = Field(ge=0, le=MAX_STOCK, description="The new stock (never negative).")
    expected_stock: int | None = Field(
        None, ge=0, le=MAX_STOCK,
        description="The stock the user saw: a different current stock is a 409.")


class SellerProductsQuery(PageQuery):
    archived: bool = Field(False, description="The archived products instead of the "
                                              "active ones.")


# --- response models -----------------------------------------------------------------------


class SellerVariantOut(VariantOut):
    """One of the seller's variants (inactive: its option combination was removed)."""

    product_id: int
    active: bool
    weight_grams: int = Field(description="Packed weight in grams (couriers price by it).")


class SellerProductSummary(Output):
    """One of the seller's products in a list."""

    id: int
    name: str
    active: bool
    price_min: Rupiah
    price_max: Rupiah
    stock_total: int
    sold_count: int
    variant_count: int = Field(description="Active variants.")
    cover_url: str | None
    created_at: datetime
    updated_at: datetime


class SellerProductOut(ProductFields):
    """One of the seller's products with every variant."""

    price: Rupiah = Field(description="The price new variants get.")
    variants: list[SellerVariantOut]
    updated_at: datetime


# --- shaping ---------------------------------------------------------------------------------


def seller_variant_out(variant: Variant, threshold: int) -> SellerVariantOut:
    return SellerVariantOut(id=variant.id, product_id=variant.product_id, sku=variant.sku,
                            options=dict(variant.options), label=variant.label,
                            price=variant.price, stock=variant.stock,
                            availability=availability(variant, threshold),
                            active=variant.active, weight_grams=variant.weight_grams)


def seller_product_out(product: Product) -> SellerProductOut:
    db.session.refresh(product)  # the caches and variants as written (UPDATEs bypass the ORM)
    threshold = product.store.low_stock_threshold
    return SellerProductOut(**product_fields(product), price=product.price,
                            variants=[seller_variant_out(v, threshold)
                                      for v in product.variants],
                            updated_at=product.updated_at)


def _summary(product: Product) -> SellerProductSummary:
    return SellerProductSummary(
        id=product.id, name=product.name, active=product.active,
        price_min=product.price_min, price_max=product.price_max,
        stock_total=product.stock_total, sold_count=product.sold_count,
        variant_count=len(product.active_variants),
        cover_url=media_url(product.cover_key) if product.cover_key else None,
        created_at=product.created_at, updated_at=product.updated_at)


def _my_product(product_id: int) -> Product:
    return owned_or_404(owned_product(my_store().id, product_id))


def _catalog_refused(error: CatalogError, rename=None) -> ApiError:
    """The service's refusal as a 422 naming the body fields."""
    fields: dict[str, str] = {}
    for name, messages in error.errors.items():
        key = rename(name) if rename else _FIELDS.get(name, name)
        fields.setdefault(key, " ".join(messages))
    return ApiError(422, ApiErrorCode.VALIDATION_FAILED, str(error) or None, fields=fields)


def _stock_refused(error: StockError, field: str) -> ApiError:
    if isinstance(error, StockConflict):
        return ApiError(409, ApiErrorCode.STOCK_CONFLICT, error.message,
                        fields={field: error.message})
    return ApiError(422, ApiErrorCode.VALIDATION_FAILED, error.message,
                    fields={field: error.message})


def _data(body: ProductIn | ProductPatchIn, product: Product | None = None) -> ProductData:
    """The service's ProductData: the body's fields over the product's current ones."""

    def pick(name: str, current):
        value = getattr(body, name, None)
        return current if value is None else value

    specs = pick("specifications", None)
    groups = pick("option_groups", None)
    return ProductData(
        name=pick("name", product.name if product else ""),
        description=pick("description", product.description if product else ""),
        category_id=pick("category_id", product.category_id if product else 0),
        price=pick("price", product.price if product else 0),
        specifications=([(s.label, s.value) for s in specs] if specs is not None
                        else [(s["label"], s["value"])
                              for s in (product.specifications if product else [])]),
        option_groups=([OptionGroup(name=g.name, values=list(g.values)) for g in groups]
                       if groups is not None
                       else [OptionGroup(name=g["name"], values=list(g["values"]))
                             for g in (product.option_groups if product else [])]),
        initial_stock=getattr(body, "initial_stock", 0) if product is None else 0,
        sku=getattr(body, "sku", "") if product is None else "",
    )


# --- operations ------------------------------------------------------------------------------


@operation(bp, "/seller/products", "GET", tag=TAG, summary="My products",
           query=SellerProductsQuery, response=Page[SellerProductSummary], roles=SELLER)
def seller_products_list(query: SellerProductsQuery):
    """Newest first; `archived=true` lists the archived ones. 403 without a store."""
    shop = my_store()
    total = store_products_count(shop.id, archived=query.archived)
    items = store_products(shop.id, archived=query.archived, limit=query.per_page,
                           offset=(query.page - 1) * query.per_page)
    return page_of([_summary(p) for p in items], total, query, SellerProductSummary)


@operation(bp, "/seller/products", "POST", tag=TAG, summary="Create a product",
           body=ProductIn, response=SellerProductOut, status=201, roles=SELLER,
           idempotent=True)
def seller_product_create(body: ProductIn):
    """422 naming the field the catalog rules refuse (category, price, options, SKU...);
    nothing is written then. 403 without a store. With `Idempotency-Key`, a repeat gets
    the first answer again instead of a second product."""
    shop = my_store()
    try:
        item = product_create(store=shop, data=_data(body), actor=current_user)
    except CatalogError as error:
        raise _catalog_refused(error) from None
    except StockError as error:
        raise _stock_refused(error, "initial_stock") from None
    db.session.commit()
    return seller_product_out(item), 201, {
        "Location": url_for("api.seller_product_get", product_id=item.id)}


@operation(bp, "/seller/products/<id:product_id>", "GET", tag=TAG, summary="One of my "
           "products", response=SellerProductOut, roles=SELLER)
def seller_product_get(product_id: int):
    """404 when the product is not the seller's store's."""
    return seller_product_out(_my_product(product_id))


@operation(bp, "/seller/products/<id:product_id>", "PATCH", tag=TAG, summary="Change a "
           "product's details and option groups", body=ProductPatchIn,
           response=SellerProductOut, roles=SELLER)
def seller_product_update(product_id: int, body: ProductPatchIn):
    """404 when not the seller's; 422 naming the field the catalog rules refuse."""
    item = _my_product(product_id)
    try:
        product_update(product=item, data=_data(body, item), actor=current_user)
    except CatalogError as error:
        raise _catalog_refused(error) from None
    except StockError as error:
        raise _stock_refused(error, "option_groups") from None
    db.session.commit()
    return seller_product_out(item)


@operation(bp, "/seller/products/<id:product_id>/archive", "POST", tag=TAG,
           summary="Archive a product (hidden from the shop)", response=SellerProductOut,
           roles=SELLER)
def seller_product_archive(product_id: int):
    """404 when not the seller's. Archiving an archived product changes nothing."""
    item = _my_product(product_id)
    product_archive(product=item, actor=current_user)
    db.session.commit()
    return seller_product_out(item)


@operation(bp, "/seller/products/<id:product_id>/restore", "POST", tag=TAG,
           summary="Restore an archived product", response=SellerProductOut, roles=SELLER)
def seller_product_restore(product_id: int):
    """404 when not the seller's. Restoring an active product changes nothing."""
    item = _my_product(product_id)
    product_restore(product=item, actor=current_user)
    db.session.commit()
    return seller_product_out(item)


@operation(bp, "/seller/products/<id:product_id>/variants", "PUT", tag=TAG,
           summary="Change the SKU, price and stock of a product's variants",
           body=VariantsIn, response=SellerProductOut, roles=SELLER, errors=(409,))
def seller_variants_update(product_id: int, body: VariantsIn):
    """All or nothing. 404 when the product is not the seller's; 422 naming
    `variants.<n>.<field>` (a variant of another product, a taken SKU, a price of 0...);
    409 `stock_conflict` when a stock differs from its `expected_stock`."""
    item = _my_product(product_id)
    variants = {v.id: v for v in item.variants}
    index: dict[int, int] = {}
    fields: dict[str, str] = {}
    changes: list[VariantChange] = []
    for number, change in enumerate(body.variants):
        variant = variants.get(change.id)
        if variant is None:
            fields[f"variants.{number}.id"] = _("Varian ini bukan milik produk ini.")
            continue
        if change.id in index:
            fields[f"variants.{number}.id"] = _("Varian ini disebut dua kali.")
            continue
        index[change.id] = number
        changes.append(VariantChange(
            variant_id=variant.id, sku=variant.sku if change.sku is None else change.sku,
            price=variant.price if change.price is None else change.price,
            stock=variant.stock if change.stock is None else change.stock,
            expected_stock=(change.expected_stock if change.expected_stock is not None
                            else variant.stock),
            weight_grams=change.weight_grams))
    if fields:
        raise ApiError(422, ApiErrorCode.VALIDATION_FAILED, fields=fields)

    def rename(name: str) -> str:
        kind, _sep, raw = name.partition("-")
        if raw.isdigit() and int(raw) in index:
            return f"variants.{index[int(raw)]}.{kind}"
        return "variants"

    try:
        variants_update(product=item, changes=changes, actor=current_user)
    except CatalogError as error:
        raise _catalog_refused(error, rename) from None
    except StockError as error:
        raise _stock_refused(error, "variants") from None
    db.session.commit()
    return seller_product_out(item)


@operation(bp, "/seller/variants/<id:variant_id>/stock", "PUT", tag=TAG,
           summary="Set a variant's stock", body=StockIn, response=SellerVariantOut,
           roles=SELLER, errors=(409,))
def seller_variant_stock(variant_id: int, body: StockIn):
    """The inventory page's inline edit: one ledger movement (an adjustment) of the
    difference. 404 when the variant is not the seller's; 409 `stock_conflict` when the
    stock is no longer `expected_stock`; 422 for a stock out of range."""
    shop = my_store()
    variant = owned_or_404(owned_variant(shop.id, variant_id))
    try:
        stock_set(variant=variant, new_stock=body.stock, expected=body.expected_stock,
                  actor=current_user, reason=StockReason.ADJUSTMENT,
                  reference=_("ubah lewat API"))
    except StockError as error:
        field = "expected_stock" if isinstance(error, StockConflict) else "stock"
        raise _stock_refused(error, field) from None
    db.session.commit()
    db.session.refresh(variant)
    return seller_variant_out(variant, shop.low_stock_threshold)
