"""Catalog reads: the category tree, product search, store pages, the variant picker."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask import g, has_app_context
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Select,
    func,
    literal,
    literal_column,
    select,
    text,
)
from sqlalchemy.orm import joinedload, selectinload

from app.accounts.models import Store
from app.catalog.models import Category, Product, ProductImage, Variant
from app.catalog.search import keyword_filter, search_terms
from app.core.pagination import Page
from app.extensions import db

PER_PAGE = 24
COUNT_CAP = 1000
SORTS = ("relevance", "newest", "price_asc", "price_desc", "popular", "rating")


@dataclass
class CategoryNode:
    category: Category
    depth: int
    children: list[CategoryNode] = field(default_factory=list)


def categories_all() -> list[Category]:
    """Every category in display order, read once per request (the filters, the tree and
    the sub-category expansion all need it; the category services clear the copy)."""
    if has_app_context() and "catalog_categories" in g:
        return g.catalog_categories
    categories = list(db.session.scalars(
        select(Category).order_by(Category.position, Category.name)))
    if has_app_context():
        g.catalog_categories = categories
    return categories


def categories_forget() -> None:
    """Drop this request's copy of the categories (after a category changed)."""
    if has_app_context():
        g.pop("catalog_categories", None)


def category_tree() -> list[CategoryNode]:
    """Roots in order, each with its children (any depth), flattened depth-first by
    `category_flat`."""
    categories = categories_all()
    nodes = {c.id: CategoryNode(c, 0) for c in categories}
    roots: list[CategoryNode] = []
    for category in categories:
        node = nodes[category.id]
        parent = nodes.get(category.parent_id) if category.parent_id else None
        (parent.children if parent else roots).append(node)

    def set_depth(items: list[CategoryNode], depth: int) -> None:
        for item in items:
            item.depth = depth
            set_depth(item.children, depth + 1)

    set_depth(roots, 0)
    return roots


def category_flat() -> list[CategoryNode]:
    """The tree depth-first, for indented select boxes and admin lists."""
    out: list[CategoryNode] = []

    def walk(items: list[CategoryNode]) -> None:
        for item in items:
            out.append(item)
            walk(item.children)

    walk(category_tree())
    return out


def category_with_descendants(category_id: int) -> list[int]:
    children: dict[int | None, list[int]] = {}
    for category in categories_all():
        children.setdefault(category.parent_id, []).append(category.id)
    found, stack = [], [category_id]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children.get(current, []))
    return found


@dataclass
class SearchParams:
    q: str = ""
    category: Category | None = None
    price_min: int | None = None
    price_max: int | None = None
    store: Store | None = None
    in_stock: bool = False
    rating_min: int | None = None
    sort: str = "newest"
    page: int = 1


def _search_conditions(params: SearchParams, *, walk_sort: str | None = None) -> list:
    """The filters' WHERE terms. `walk_sort` (SQLite, more than COUNT_CAP matches): the
    category and price terms are written `+products.col` where that sort's index cannot
    serve them, so SQLite walks the sort's index and stops after the page instead of
    reading every match through ix_products_category_price and sorting them all (a unary
    `+` keeps a column's value and hides its indexes). A price sort keeps the price range
    indexable: ix_products_price serves both."""
    def col(column: Any, type_: Any) -> Any:
        return literal_column(f"+products.{column.key}", type_) if walk_sort else column

    price = Product.price_min if walk_sort in ("price_asc", "price_desc") else col(
        Product.price_min, BigInteger())
    conditions: list[ColumnElement[bool]] = [Product.active.is_(True)]
    if params.category is not None:
        ids = category_with_descendants(params.category.id)
        category = col(Product.category_id, Integer())
        conditions.append(category.in_(ids) if len(ids) > 1 else category == ids[0])
    if params.price_min is not None:
        conditions.append(price >= params.price_min)
    if params.price_max is not None:
        conditions.append(price <= params.price_max)
    if params.store is not None:
        conditions.append(Product.store_id == params.store.id)
    if params.in_stock:
        conditions.append(Product.stock_total > 0)
    if params.rating_min is not None:
        conditions.append(Product.rating_avg >= Decimal(params.rating_min))
    return conditions


WALK_ROWS_PER_HIT = 40  # the walk's budget: rows of the sort order read per wanted hit
WALK_MAX_ROWS = 20_000


def _walk_with_budget(params: SearchParams, sort: str, terms: list, key_columns: tuple,
                      read: Any, wanted: int) -> list[Product]:
    """PostgreSQL, more than COUNT_CAP keyword matches: the first `wanted` hits' page
    among the first WALK_ROWS_PER_HIT x `wanted` rows of the sort order (the filters
    applied, the keyword not). Those rows come from the sort's index, stop at the budget,
    and only they are tested for the keyword. Exact whenever the page comes back full: the
    matches among a prefix of the order are a prefix of all matches in that order. A short
    page means the budget ran out (a word in 0.3 % of a million products still has 3,000
    matches, "broad" by the count); the caller then sorts all the matches instead of
    walking on (that walk read 290 rows per hit: 259 ms at 1M)."""
    budget = min(WALK_ROWS_PER_HIT * min(wanted, COUNT_CAP), WALK_MAX_ROWS)
    walked = (select(*key_columns).where(*_search_conditions(params))
              .order_by(*_sort_order(sort, None, Product)).limit(budget).subquery("walked"))
    keyword, _rank, _join = keyword_filter("postgresql", terms, Product.id, broad=True)
    return read(select(Product).join(walked, walked.c.id == Product.id).where(keyword)
                .order_by(*_sort_order(sort, None, walked.c)))


def _count_capped(counted: Select, *, keyword: bool) -> int:
    """How many rows `counted` finds, stopping at COUNT_CAP + 1.

    `keyword` (PostgreSQL with a keyword): the count reads the GIN index's bitmap and
    rechecks at most COUNT_CAP + 1 rows. Left alone, the planner picks a sequential scan
    "that stops after 1,001 matches", which for a word in 5 % of the products reads and
    tests 20,000 rows (50 ms and more on two busy cores); the bitmap costs a few ms at any
    selectivity. `set_config(..., true)` lasts for this transaction only and is put back
    (to PostgreSQL's default, on) right after the count.
    """
    stmt = select(func.count()).select_from(counted.limit(COUNT_CAP + 1).subquery())
    if not keyword:
        return db.session.scalar(stmt) or 0
    db.session.execute(text("SELECT set_config('enable_seqscan', 'off', true)"))
    try:
        return db.session.scalar(stmt) or 0
    finally:
        db.session.execute(text("SELECT set_config('enable_seqscan', 'on', true)"))


def _sort_order(sort: str, rank: Any, columns: Any) -> list:
    """ORDER BY of a sort over `columns` (the Product class, or a subquery's `.c` with the
    same names); id breaks ties. Relevance without a rank is the popularity order."""
    c = columns
    popularity = [c.sold_count.desc(), c.id.desc()]  # ix_products_sold
    return {
        "relevance": popularity if rank is None else [rank, c.id.desc()],
        "newest": [c.created_at.desc(), c.id.desc()],
        "price_asc": [c.price_min.asc(), c.id.asc()],
        "price_desc": [c.price_min.desc(), c.id.desc()],
        "popular": popularity,
        "rating": [c.rating_avg.desc(), c.rating_count.desc(), c.id.desc()],
    }[sort]


def product_search(params: SearchParams, per_page: int = PER_PAGE) -> Page[Product]:
    """One page of active products matching the filters, in a stable order (id breaks
    ties), plus how many match. Keyword matching uses the full-text index.

    The count stops at COUNT_CAP + 1 ("lebih dari 1.000 produk"): counting 40,000 matches
    of a broad word costs more than the page itself. That capped count also decides how
    the page is read:

    - at most COUNT_CAP matches (a narrow keyword): "relevance" ranks them all (ts_rank /
      bm25 over at most 1,000 rows);
    - more (a broad keyword): "relevance" is the popularity order (units sold,
      `ix_products_sold`) and every sort walks its own index (popularity, price, newest,
      rating), testing the keyword per row and stopping after the page — early
      termination instead of ranking or sorting every match (`keyword_filter(broad=True)`;
      on PostgreSQL a bounded walk, `_walk_with_budget`). Only the first COUNT_CAP matches
      are listed ("lebih dari 1.000": refine the search); later pages are empty.
    """
    terms = search_terms(params.q)
    dialect = db.session.get_bind().dialect.name
    sort = params.sort if params.sort in SORTS else "newest"
    if sort == "relevance" and not terms:
        sort = "newest"

    def matching(*columns, broad: bool = False) -> tuple[Select, Any]:
        stmt, rank = select(*columns).select_from(Product), None
        walk = sort if broad and dialect == "sqlite" and params.store is None else None
        where = _search_conditions(params, walk_sort=walk)
        if terms:
            keyword, rank, join = keyword_filter(dialect, terms, Product.id, broad=broad)
            if join is not None:
                stmt = stmt.join(join[0], join[1])
            where.append(keyword)
        return stmt.where(*where), rank

    counted, _ = matching(literal(1))
    found = _count_capped(counted, keyword=bool(terms) and dialect == "postgresql")
    broad = found > COUNT_CAP
    page = max(1, params.page)
    offset = (page - 1) * per_page
    key_columns = (Product.id, Product.created_at, Product.price_min, Product.sold_count,
                   Product.rating_avg, Product.rating_count)

    def read(stmt: Select) -> list[Product]:
        return list(db.session.scalars(stmt.options(joinedload(Product.store))
                                       .limit(per_page).offset(offset)))

    def sorted_matches(limit: int | None, *, ranked: bool = True) -> list[Product]:
        # Read the matches through the filters' best index (the GIN / FTS5 index for a
        # keyword, a bitmap of the filter indexes) and sort only them. OFFSET 0 is a
        # planner fence: without it PostgreSQL may walk the sort index and test every
        # row for a match that is rare (3,500 rows for 24 found).
        keys, rank = matching(*key_columns)
        rank = rank if ranked else None  # past COUNT_CAP relevance is popularity
        if rank is not None:
            keys = keys.add_columns(rank.label("rank"))
        found_rows = keys.limit(limit).offset(0).subquery("found")
        order = _sort_order(sort, found_rows.c.rank if rank is not None else None,
                            found_rows.c)
        # Sorted and cut to this page's end before the products and stores are joined:
        # only per_page rows are looked up, not every match.
        head = (select(found_rows).order_by(*order).limit(offset + per_page)
                .subquery("head"))
        return read(select(Product).join(head, head.c.id == Product.id).order_by(
            *_sort_order(sort, head.c.rank if rank is not None else None, head.c)))

    if not found or (broad and offset >= COUNT_CAP):
        # Past COUNT_CAP matches only the first COUNT_CAP are listed ("Lebih dari 1.000":
        # refine the search): page 10,000 of a word in 400,000 products would otherwise
        # sort them all (27 s at 1M products).
        products: list[Product] = []
    elif not broad:
        products = sorted_matches(COUNT_CAP + 1)
    elif terms and dialect == "postgresql":
        products = _walk_with_budget(params, sort, terms, key_columns, read, offset + per_page)
        if len(products) < per_page:  # the budget ran out: the keyword is rarer than it
            products = sorted_matches(None, ranked=False)  # looked: sort all matches
    else:
        listing, rank = matching(Product, broad=True)
        products = read(listing.order_by(*_sort_order(sort, rank, Product)))
    if broad:
        products = products[:max(0, COUNT_CAP - offset)]
    return Page(items=products, total=min(found, COUNT_CAP), page=page, per_page=per_page,
                exact=not broad)


def store_by_slug(slug: str) -> Store | None:
    if "\x00" in slug:  # PostgreSQL refuses NUL in text; no slug contains one
        return None
    return db.session.execute(select(Store).where(Store.slug == slug)).scalar_one_or_none()


def category_by_slug(slug: str) -> Category | None:
    return next((c for c in categories_all() if c.slug == slug), None)


def store_rating(store_id: int) -> tuple[Decimal, int]:
    """(average, number of ratings) over the store's active products' reviews."""
    total, count = db.session.execute(
        select(func.sum(Product.rating_avg * Product.rating_count), func.sum(Product.rating_count))
        .where(Product.store_id == store_id, Product.active.is_(True))
    ).one()
    if not count:
        return Decimal("0"), 0
    return (Decimal(total) / count).quantize(Decimal("0.1")), int(count)


def product_public(product_id: int) -> Product | None:
    return db.session.execute(
        select(Product).where(Product.id == product_id)
        .options(selectinload(Product.variants), selectinload(Product.images),
                 selectinload(Product.store), selectinload(Product.category))
    ).scalar_one_or_none()


def is_own_product(product: Product, user: Any) -> bool:
    return bool(user.is_authenticated and user.store is not None
                and product.store_id == user.store.id)


def product_visible(product: Product | None, user: Any) -> bool:
    """An archived product is seen only by its own seller (the product page, its reviews,
    and the API's)."""
    return product is not None and (product.active or is_own_product(product, user))


def owned_product(store_id: int, product_id: int) -> Select:
    """The statement for `owned_or_404`: the product only if it belongs to the store."""
    return select(Product).where(Product.id == product_id, Product.store_id == store_id)


def owned_image(store_id: int, product_id: int, image_id: int) -> Select:
    return (select(ProductImage).join(Product)
            .where(ProductImage.id == image_id, ProductImage.product_id == product_id,
                   Product.store_id == store_id))


def store_products(store_id: int, *, archived: bool = False, limit: int | None = None,
                   offset: int = 0) -> list[Product]:
    """The store's active (or archived) products, newest first; `limit`/`offset`: a page."""
    return list(db.session.scalars(
        select(Product).where(Product.store_id == store_id, Product.active.is_(not archived))
        .options(selectinload(Product.images), selectinload(Product.variants))
        .order_by(Product.created_at.desc(), Product.id.desc())
        .limit(limit).offset(offset)
    ))


def store_products_count(store_id: int, *, archived: bool = False) -> int:
    return db.session.scalar(select(func.count(Product.id)).where(
        Product.store_id == store_id, Product.active.is_(not archived))) or 0


def variant_pick(product: Product, chosen: dict[str, str]) -> Variant | None:
    """The active variant whose options match `chosen` (all groups chosen), else None.
    A product without options always answers its default variant."""
    active = product.active_variants
    if not product.option_groups:
        return active[0] if active else None
    for variant in active:
        if all(chosen.get(name) == value for name, value in variant.options.items()):
            return variant
    return None


# --- the storefront home -------------------------------------------------------------------

HOME_SHELF = 8  # products per shelf (popular, new): two rows of four on a laptop
HOME_STORES = 6


@dataclass(frozen=True)
class StoreBrief:
    """What a card says about a store (the same attribute names as `Store`)."""

    name: str
    slug: str
    location: str
    low_stock_threshold: int  # "Sisa N" under it (catalog/_stock.html)


@dataclass(frozen=True)
class ProductBrief:
    """A product as a card shows it: plain data (no session, picklable for a cache), with
    the same attribute names as `Product` so `catalog/_card.html` renders either."""

    id: int
    name: str
    price_min: int
    price_max: int
    cover_key: str
    rating_avg: Decimal
    rating_count: int
    sold_count: int
    stock_total: int
    store: StoreBrief
    cover_card_key: str = ""  # the cover's 240 px card rendition ("" = none yet)
    cover_mini_key: str = ""  # ... and its 128 px mini rendition


@dataclass(frozen=True)
class CategoryBrief:
    slug: str
    name: str
    name_en: str
    children: tuple[CategoryBrief, ...] = ()

    def label(self, locale: str) -> str:
        return self.name_en if locale == "en" and self.name_en else self.name


@dataclass(frozen=True)
class StoreFeature:
    store: StoreBrief
    products: int
    rating_avg: Decimal
    rating_count: int
    cover_key: str  # the store's best-selling product's photo ("" when none)
    cover_card_key: str = ""  # ... and its card rendition
    cover_mini_key: str = ""  # ... and its mini rendition


@dataclass(frozen=True)
class StorefrontHome:
    categories: tuple[CategoryBrief, ...]
    popular: tuple[ProductBrief, ...]
    newest: tuple[ProductBrief, ...]
    stores: tuple[StoreFeature, ...]


def _brief(product: Product) -> ProductBrief:
    store = product.store
    return ProductBrief(
        id=product.id, name=product.name, price_min=product.price_min,
        price_max=product.price_max, cover_key=product.cover_key or "",
        rating_avg=Decimal(product.rating_avg or 0).quantize(Decimal("0.1")),
        rating_count=product.rating_count or 0, sold_count=product.sold_count or 0,
        stock_total=product.stock_total or 0, cover_card_key=product.cover_card_key or "",
        cover_mini_key=product.cover_mini_key or "",
        store=StoreBrief(name=store.name, slug=store.slug, location=store.location or "",
                         low_stock_threshold=store.low_stock_threshold))


def _shelf(order: list, limit: int) -> list[Product]:
    return list(db.session.scalars(
        select(Product).where(Product.active.is_(True)).order_by(*order)
        .options(joinedload(Product.store)).limit(limit)))


def storefront_home() -> StorefrontHome:
    """Everything the home page shows, as plain frozen data that is the same for every
    visitor (so a cache may keep it): the category tree's roots with their children, the
    best sellers, the newest products, and the stores behind the best sellers.

    Four indexed queries: the categories, the popular shelf (ix_products_sold, which also
    picks the featured stores), the newest shelf (ix_products_listing), and one grouped
    count over those stores' products (ix_products_store).
    """
    roots = category_tree()
    categories = tuple(
        CategoryBrief(slug=node.category.slug, name=node.category.name,
                      name_en=node.category.name_en,
                      children=tuple(CategoryBrief(slug=c.category.slug, name=c.category.name,
                                                   name_en=c.category.name_en)
                                     for c in node.children))
        for node in roots)
    # Three shelves' worth of best sellers: the first shelf is shown, and the stores that
    # sell them (in order of their best product) are the featured stores.
    ranked = _shelf([Product.sold_count.desc(), Product.id.desc()], HOME_SHELF * 3)
    popular = tuple(_brief(p) for p in ranked[:HOME_SHELF])
    newest = tuple(_brief(p) for p in _shelf(
        [Product.created_at.desc(), Product.id.desc()], HOME_SHELF))
    leaders: dict[int, Product] = {}
    for product in ranked:
        if product.store_id not in leaders and len(leaders) < HOME_STORES:
            leaders[product.store_id] = product
    stats: dict[int, tuple[int, int, int]] = {}
    if leaders:
        for store_id, count, total, ratings in db.session.execute(
                select(Product.store_id, func.count(Product.id),
                       func.coalesce(func.sum(Product.rating_total), 0),
                       func.coalesce(func.sum(Product.rating_count), 0))
                .where(Product.store_id.in_(leaders), Product.active.is_(True))
                .group_by(Product.store_id)):
            stats[store_id] = (int(count), int(total), int(ratings))
    stores = []
    for store_id, product in leaders.items():
        count, total, ratings = stats.get(store_id, (0, 0, 0))
        brief = _brief(product)
        stores.append(StoreFeature(
            store=brief.store, products=count, rating_count=ratings,
            rating_avg=(Decimal(total) / ratings).quantize(Decimal("0.1")) if ratings
            else Decimal("0"),
            cover_key=brief.cover_key, cover_card_key=brief.cover_card_key,
            cover_mini_key=brief.cover_mini_key))
    return StorefrontHome(categories=categories, popular=popular, newest=newest,
                          stores=tuple(stores))
