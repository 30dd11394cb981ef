"""What the catalog caches, and the invalidations that keep it right.

Cached (app/core/cache.py, `cached` with tags): whole anonymous pages (`page_cached`),
the same for every visitor: a product page under `product:<id>`, `store:<store id>`,
`categories` and `products`; the search page and its htmx result fragment per query (so
with the category tree and the store cards they show) and the store page under `catalog`.

Invalidation does not rely on every service remembering to call it: the session's flushes
are watched, so any write of a product, variant, photo, category, store or review (price,
stock, photo, variant, review, store settings, category edits, publish/unpublish) names
its tags, and so are the catalog's bulk UPDATEs (stock and sold counts, the rating cache):
their `WHERE id = …` names the row; one whose row cannot be told bumps `products`, which
every product page carries. The tags change when the transaction commits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, cast

from flask import session
from sqlalchemy import event, select
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.sql.elements import BinaryExpression, BindParameter
from sqlalchemy.sql.operators import eq

from app.catalog.models import Category, Product, ProductImage, Variant
from app.core.cache import RENDER_GENERATION, invalidate, page_entry, page_key

CATALOG = "catalog"  # anything a list of products shows (search, store pages, home)
CATEGORIES = "categories"
PRODUCTS = "products"  # every product page (a write whose product is unknown)
PAGE_TIMEOUT = 300


def product_tag(product_id: int) -> str:
    return f"product:{product_id}"


def store_tag(store_id: int) -> str:
    return f"store:{store_id}"


def product_page_tags(product_id: int, store_id: int) -> list[str]:
    return [product_tag(product_id), store_tag(store_id), CATEGORIES, PRODUCTS]


def page_cached(render: Callable[[], tuple[str, int] | str], tags: Iterable[str]):
    """The current anonymous page from the cache, or `render()` stored under `tags` (only
    a 200 is stored: a 404 or an error page is rendered every time)."""
    marker: dict[str, object] = {}

    def compute():
        answer = render()
        body, status = answer if isinstance(answer, tuple) else (answer, 200)
        # A page that wrote to the session (a CSRF token, a flash) belongs to one visitor.
        if status != 200 or session.modified or session:
            marker["answer"] = answer
            raise _NotCacheable
        return body

    try:
        # Keyed by the render generation: a deploy never serves the previous code's page.
        return page_entry(f"page:{RENDER_GENERATION}:{page_key()}", compute, tags=tags,
                          timeout=PAGE_TIMEOUT), 200
    except _NotCacheable:
        return marker["answer"]


class _NotCacheable(Exception):
    pass


# --- invalidation -------------------------------------------------------------------------

# Rows of other domains that a product page shows (reviews): the owning domain registers
# the model and how to tell its product (`product_rows_register`), so the catalog knows no
# orders and a write of such a row still clears the page.
_PRODUCT_ROWS: dict[type, Callable[[Any], int | None]] = {}


def product_rows_register(model: type, product_id_of: Callable[[Any], int | None]) -> None:
    """A write of a `model` row clears the product page `product_id_of(row)` names (and
    the lists; every product page when it names none). Registering again replaces."""
    _PRODUCT_ROWS[model] = product_id_of



def _tags_of(obj: object, sess: Session) -> set[str]:
    if isinstance(obj, Product):
        tags = {CATALOG}
        if obj.id is not None:
            tags.add(product_tag(obj.id))
        if obj.store_id is not None:
            tags.add(store_tag(obj.store_id))
        return tags
    if isinstance(obj, (Variant, ProductImage)):
        tags = {CATALOG}
        if obj.product_id is not None:
            tags.add(product_tag(obj.product_id))
        else:
            tags.add(PRODUCTS)
        return tags
    if isinstance(obj, Category):
        return {CATALOG, CATEGORIES}
    from app.accounts.models import Store

    if isinstance(obj, Store):
        return {CATALOG, store_tag(obj.id)} if obj.id is not None else {CATALOG}
    for model, product_id_of in _PRODUCT_ROWS.items():
        if isinstance(obj, model):
            product_id = product_id_of(obj)
            return {CATALOG, product_tag(product_id)} if product_id else {CATALOG, PRODUCTS}
    return set()


def _flushed_tags(sess: Session) -> set[str]:
    tags: set[str] = set()
    for obj in (*sess.new, *sess.dirty, *sess.deleted):
        if obj in sess.dirty and not sess.is_modified(obj, include_collections=False):
            continue
        tags |= _tags_of(obj, sess)
    return tags


@event.listens_for(Session, "before_flush")
def _before_flush(sess: Session, _context, _instances) -> None:
    tags = _flushed_tags(sess)
    if tags:
        invalidate(*tags)


@event.listens_for(Session, "after_flush")
def _after_flush(sess: Session, _context) -> None:
    # New rows have their ids only now.
    tags: set[str] = set()
    for obj in sess.new:
        tags |= _tags_of(obj, sess)
    if tags:
        invalidate(*tags)


def _ids_in_where(statement, column) -> list[object] | None:
    """The values of `column == :value` terms in an UPDATE/DELETE's WHERE, or None."""
    values = []
    for criterion in getattr(statement, "_where_criteria", ()):
        for term in _terms(criterion):
            if (isinstance(term, BinaryExpression) and term.operator is eq
                    and getattr(term.left, "key", None) == column.key
                    and getattr(term.left, "table", None) is column.table
                    and isinstance(term.right, BindParameter)):
                values.append(term.right.effective_value)
    return values or None


def _terms(criterion):
    clauses = getattr(criterion, "clauses", None)
    if clauses is not None and getattr(criterion, "operator", None) is not None:
        for clause in clauses:
            yield from _terms(clause)
    else:
        yield criterion


@event.listens_for(Session, "do_orm_execute")
def _bulk_writes(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete) or state.bind_mapper is None:
        return
    entity = state.bind_mapper.class_
    if entity not in (Product, Variant, ProductImage, Category):
        from app.accounts.models import Store

        if entity is not Store:
            return
    statement = state.statement
    tags = {CATALOG}
    if entity is Product:
        ids = _ids_in_where(statement, Product.__table__.c.id)
        tags |= {product_tag(cast(int, i)) for i in ids} if ids else {PRODUCTS}
    elif entity is Variant:
        ids = _ids_in_where(statement, Variant.__table__.c.id)
        if ids:
            product_ids = state.session.scalars(
                select(Variant.product_id).where(Variant.id.in_(ids))).all()
            tags |= {product_tag(i) for i in product_ids}
        else:
            tags.add(PRODUCTS)
    elif entity is Category:
        tags.add(CATEGORIES)
    else:
        tags |= {PRODUCTS, CATEGORIES}
    invalidate(*tags)
