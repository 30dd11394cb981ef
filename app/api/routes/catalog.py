"""Catalog, public: product search, a product's page, the category tree, store pages.

    GET /products                   search with the web search's filters and sorts (paginated)
    GET /products/{product_id}      a product: variants (price, stock), photos, store, rating
    GET /categories                 the category tree
    GET /stores/{slug}              a store's public profile and rating
    GET /stores/{slug}/products     the store's active products, newest first (paginated)

The same reads as the HTML pages (app/catalog/routes.py): `product_search` with
`SearchParams`, `product_public`, `category_tree`, `store_by_slug`, `store_rating`. An
archived product is a 404 except to its own seller, like the product page.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from flask import url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import Field, StringConstraints

from app.accounts.models import Store
from app.api import bp
from app.api.error_codes import ApiErrorCode
from app.api.errors import ApiError
from app.api.schemas import Output, Page, PageQuery, Rupiah, trimmed
from app.api.spec import AUTH_PUBLIC, operation, page_of
from app.catalog.models import Category, Product, ProductImage, Variant
from app.catalog.queries import (
    SORTS,
    CategoryNode,
    SearchParams,
    category_tree,
    product_public,
    product_search,
    product_visible,
    store_by_slug,
    store_rating,
)
from app.catalog.search_request import SearchRequest, search_request_normalize
from app.catalog.services import MAX_PRICE

TAG = "Produk"
SLUG = r"^[A-Za-z0-9_.\-]+$"
Slug = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100,
                                        pattern=SLUG)]
Price = Annotated[int, Field(ge=0, le=MAX_PRICE, description="Whole Rupiah.")]

Sort = Literal["relevance", "newest", "price_asc", "price_desc", "popular", "rating"]
assert set(Sort.__args__) == set(SORTS)  # type: ignore[attr-defined]


# --- response models -----------------------------------------------------------------------


class CatalogStoreRef(Output):
    """The store selling a product, with where it ships from."""

    id: int
    name: str
    slug: str
    location: str


class CategoryRef(Output):
    id: int
    slug: str
    name: str = Field(description="In the user's language.")


class PhotoOut(Output):
    """A product photo; the first is the cover."""

    id: int
    url: str
    thumb_url: str
    card_url: str  # the 240 px card rendition (the thumbnail for photos without one yet)
    width: int
    height: int


class SpecificationOut(Output):
    label: str
    value: str


class OptionGroupOut(Output):
    name: str
    values: list[str]


Availability = Literal["in_stock", "low", "out_of_stock"]


class VariantOut(Output):
    """A purchasable combination of the product's options."""

    id: int
    sku: str
    options: dict[str, str] = Field(description="Option group name -> value; {} for the "
                                    "default variant of a product without options.")
    label: str
    price: Rupiah
    stock: int
    availability: Availability = Field(
        description="`out_of_stock` at 0, `low` under the store's low-stock threshold (the "
                    "product page shows \"Sisa n\"), else `in_stock`.")


class ProductSummary(Output):
    """One product of a list (what a search result card shows)."""

    id: int
    name: str
    price_min: Rupiah
    price_max: Rupiah
    in_stock: bool
    rating: float = Field(description="Average of the reviews, 0 without any.")
    rating_count: int
    sold_count: int
    cover_url: str | None
    store: CatalogStoreRef
    created_at: datetime


class ProductFields(Output):
    """What the public and the seller's view of a product share (see `product_fields`)."""

    id: int
    name: str
    description: str
    active: bool = Field(description="False: archived (only its seller sees it).")
    category: CategoryRef
    specifications: list[SpecificationOut]
    option_groups: list[OptionGroupOut]
    price_min: Rupiah
    price_max: Rupiah
    stock_total: int
    rating: float
    rating_count: int
    sold_count: int
    store: CatalogStoreRef
    photos: list[PhotoOut]
    created_at: datetime


class ProductOut(ProductFields):
    """A product as its public page shows it."""

    variants: list[VariantOut] = Field(description="The active variants, in order.")


class CategoryTreeNode(Output):
    id: int
    slug: str
    name: str = Field(description="In the user's language.")
    name_id: str = Field(description="The Indonesian name.")
    name_en: str
    depth: int
    children: list[CategoryTreeNode]


class CategoryTreeOut(Output):
    """The category tree: roots in display order, each with its children."""

    items: list[CategoryTreeNode]


class StoreOut(Output):
    """A store's public profile."""

    id: int
    name: str
    slug: str
    location: str
    description: str
    rating: float = Field(description="Over the store's active products' reviews.")
    rating_count: int
    created_at: datetime


# --- shaping ---------------------------------------------------------------------------------


def _locale() -> str:
    return str(get_locale() or "id")


def _rating(value: Decimal | None) -> float:
    return float(value or 0)


def media_url(key: str) -> str:
    return url_for("core.media", key=key, _external=True)


def store_ref(store: Store) -> CatalogStoreRef:
    return CatalogStoreRef(id=store.id, name=store.name, slug=store.slug, location=store.location)


def category_ref(category: Category) -> CategoryRef:
    return CategoryRef(id=category.id, slug=category.slug, name=category.label(_locale()))


def photo_out(image: ProductImage) -> PhotoOut:
    return PhotoOut(id=image.id, url=media_url(image.display_key),
                    thumb_url=media_url(image.thumb_key),
                    card_url=media_url(image.card_key or image.thumb_key), width=image.width,
                    height=image.height)


def availability(variant: Variant, threshold: int) -> Availability:
    """The product page's badge: "Habis" at 0, "Sisa n" under the threshold."""
    if variant.stock <= 0:
        return "out_of_stock"
    return "low" if variant.stock < threshold else "in_stock"


def variant_out(variant: Variant, threshold: int) -> VariantOut:
    return VariantOut(id=variant.id, sku=variant.sku, options=dict(variant.options),
                      label=variant.label, price=variant.price, stock=variant.stock,
                      availability=availability(variant, threshold))


def product_summary(product: Product) -> ProductSummary:
    return ProductSummary(
        id=product.id, name=product.name, price_min=product.price_min,
        price_max=product.price_max, in_stock=product.stock_total > 0,
        rating=_rating(product.rating_avg), rating_count=product.rating_count,
        sold_count=product.sold_count,
        cover_url=media_url(product.cover_key) if product.cover_key else None,
        store=store_ref(product.store), created_at=product.created_at)


def product_fields(product: Product) -> dict:
    """The fields a public and a seller's view of a product share."""
    return dict(
        id=product.id, name=product.name, description=product.description,
        active=product.active, category=category_ref(product.category),
        specifications=[SpecificationOut(label=s["label"], value=s["value"])
                        for s in product.specifications],
        option_groups=[OptionGroupOut(name=g["name"], values=list(g["values"]))
                       for g in product.option_groups],
        price_min=product.price_min, price_max=product.price_max,
        stock_total=product.stock_total, rating=_rating(product.rating_avg),
        rating_count=product.rating_count, sold_count=product.sold_count,
        store=store_ref(product.store), photos=[photo_out(i) for i in product.images],
        created_at=product.created_at)


def _tree(nodes: list[CategoryNode]) -> list[CategoryTreeNode]:
    locale = _locale()
    return [CategoryTreeNode(id=n.category.id, slug=n.category.slug,
                             name=n.category.label(locale), name_id=n.category.name,
                             name_en=n.category.name_en, depth=n.depth,
                             children=_tree(n.children))
            for n in nodes]


# --- queries ---------------------------------------------------------------------------------


class ProductSearchQuery(PageQuery):
    q: Annotated[str, trimmed(100)] = Field(
        "", description="Keywords (full text, spelling variants).")
    category: Slug | None = Field(None, description="A category slug; its sub-categories count.")
    price_min: Price | None = Field(None, description="Lowest price, Rupiah.")
    price_max: Price | None = Field(None, description="Highest price, Rupiah.")
    store: Slug | None = Field(None, description="A store's slug.")
    in_stock: bool = Field(False, description="Only products with stock.")
    rating: int | None = Field(None, ge=1, le=5, description="Minimum average rating.")
    sort: Sort | None = Field(None, description="Default: `relevance` with keywords, "
                                                "else `newest`.")


def search_params(query: ProductSearchQuery) -> SearchParams:
    """The web search's `SearchParams` for the API query, by the web's own normalisation
    (`search_request_normalize`). An unknown category or store is a 422 (the web ignores
    it with a message); min above max is swapped, like the web."""
    normalized = search_request_normalize(SearchRequest(
        q=query.q, category=query.category or "", price_min=query.price_min,
        price_max=query.price_max, store=query.store or "", in_stock=query.in_stock,
        rating=query.rating, sort=query.sort or "", page=query.page))
    fields: dict[str, str] = {}
    if "category" in normalized.unknown:
        fields["category"] = _("Kategori tidak ditemukan.")
    if "store" in normalized.unknown:
        fields["store"] = _("Toko tidak ditemukan.")
    if fields:
        raise ApiError(422, ApiErrorCode.VALIDATION_FAILED, fields=fields)
    return normalized.params


class StoreProductsQuery(PageQuery):
    pass


# --- operations ------------------------------------------------------------------------------


@operation(bp, "/products", "GET", tag=TAG, summary="Search products",
           query=ProductSearchQuery, response=Page[ProductSummary], auth=AUTH_PUBLIC)
def products_search(query: ProductSearchQuery):
    """The web search (`/produk`): the same filters and sorts, active products only. The
    total stops counting at 1,000 matches, like the web ("lebih dari 1.000"): then `total`
    is 1000 and `total_is_lower_bound` true (no `last` link; `next` while pages are full).
    Unknown `category` or `store`: 422."""
    results = product_search(search_params(query), per_page=query.per_page)
    return page_of([product_summary(p) for p in results.items], results.total, query,
                   ProductSummary, exact=results.exact)


def visible_product(product_id: int) -> Product:
    """The product for its public page: 404 when missing, or archived and not the
    caller's own (the web product page's rule)."""
    item = product_public(product_id)
    if item is None or not product_visible(item, current_user):
        raise ApiError(404)
    return item


@operation(bp, "/products/<id:product_id>", "GET", tag=TAG, summary="A product",
           response=ProductOut, auth=AUTH_PUBLIC)
def product_get(product_id: int):
    """404 for an unknown product, or an archived one (except to its own seller)."""
    item = visible_product(product_id)
    threshold = item.store.low_stock_threshold
    return ProductOut(**product_fields(item),
                      variants=[variant_out(v, threshold) for v in item.active_variants])


@operation(bp, "/categories", "GET", tag=TAG, summary="The category tree",
           response=CategoryTreeOut, auth=AUTH_PUBLIC)
def categories_list():
    return CategoryTreeOut(items=_tree(category_tree()))


def _store_or_404(slug: str) -> Store:
    shop = store_by_slug(slug) if len(slug) <= 140 else None
    if shop is None:
        raise ApiError(404)
    return shop


@operation(bp, "/stores/<slug>", "GET", tag=TAG, summary="A store's public profile",
           response=StoreOut, auth=AUTH_PUBLIC)
def store_get(slug: str):
    """404 for an unknown slug."""
    shop = _store_or_404(slug)
    rating, rating_count = store_rating(shop.id)
    return StoreOut(id=shop.id, name=shop.name, slug=shop.slug, location=shop.location,
                    description=shop.description, rating=_rating(rating),
                    rating_count=rating_count, created_at=shop.created_at)


@operation(bp, "/stores/<slug>/products", "GET", tag=TAG, summary="A store's products",
           query=StoreProductsQuery, response=Page[ProductSummary], auth=AUTH_PUBLIC)
def store_products_list(slug: str, query: StoreProductsQuery):
    """The store page's list: active products, newest first. 404 for an unknown slug."""
    shop = _store_or_404(slug)
    results = product_search(SearchParams(store=shop, sort="newest", page=query.page),
                             per_page=query.per_page)
    return page_of([product_summary(p) for p in results.items], results.total, query,
                   ProductSummary, exact=results.exact)
