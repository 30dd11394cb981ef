"""Catalog blueprint: public shop pages, the seller's products, admin categories.

URL table:
    GET       /produk                                   search and filter (active search)
    GET       /produk/<id>                              product page (variant picker: GET form)
    GET       /toko/<slug>                              public store page
    GET       /seller/produk                            the seller's products (active/archived)
    GET/POST  /seller/produk/baru                       create a product
    GET/POST  /seller/produk/<id>/ubah                  edit details, specifications, options
    POST      /seller/produk/<id>/varian                save variants (SKU, price, stock)
    POST      /seller/produk/<id>/arsipkan              archive
    POST      /seller/produk/<id>/aktifkan              restore from the archive
    POST      /seller/produk/<id>/foto                  upload photos
    POST      /seller/produk/<id>/foto/<pid>/hapus      delete a photo
    POST      /seller/produk/<id>/foto/<pid>/geser      move a photo earlier/later
    GET/POST  /seller/toko                              store settings
    GET/POST  /admin/kategori                           category tree + new category
    GET/POST  /admin/kategori/<id>                      edit a category
    POST      /admin/kategori/<id>/hapus                delete an empty category

A seller's product is selected together with the seller's store id (another store's
product is a 404, never a 403).
"""

from __future__ import annotations

import logging
from decimal import Decimal
from functools import lru_cache

from babel import Locale
from babel.numbers import format_compact_decimal as _babel_compact
from babel.numbers import format_decimal as _babel_decimal
from flask import Blueprint, abort, flash, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from app.accounts.current import my_store
from app.catalog.cache import CATALOG, page_cached, product_page_tags
from app.catalog.forms import (
    CategoryForm,
    PhotoForm,
    ProductForm,
    ProductRows,
    StoreSettingsForm,
    variant_changes,
)
from app.catalog.models import Category, Product
from app.catalog.product_page import product_page
from app.catalog.queries import (
    SearchParams,
    category_flat,
    owned_image,
    owned_product,
    product_search,
    store_by_slug,
    store_products,
    store_rating,
)
from app.catalog.search import search_terms
from app.catalog.search_request import SearchRequest, search_request_normalize
from app.catalog.services import (
    CatalogError,
    ProductData,
    category_create,
    category_delete,
    category_update,
    product_archive,
    product_create,
    product_photo_delete,
    product_photo_move,
    product_photos_add,
    product_restore,
    product_update,
    store_settings_update,
    variants_update,
)
from app.catalog.stock import StockError
from app.core.cache import is_shared_view, public_page
from app.core.forms import parse_int, parse_rupiah, required_data
from app.core.http import form_status, is_htmx, render_error, render_page, see_other
from app.core.security import owned_or_404, role_required
from app.core.templating import NavItem, nav_on_register
from app.extensions import db

log = logging.getLogger(__name__)


def format_compact_decimal(value: int, *, fraction_digits: int) -> str:
    return _compact(value, _locale(), fraction_digits)


def _locale() -> Locale:
    return get_locale() or Locale.parse("id")


# A search page formats ~70 counts and ratings through babel (~0.1 ms each, a tenth of a
# page's rendering); the values repeat across pages and shoppers, so each is formatted once
# per process and language.
@lru_cache(maxsize=8192)
def _compact(value: int, locale: Locale, fraction_digits: int) -> str:
    return _babel_compact(value, locale=locale, fraction_digits=fraction_digits)


@lru_cache(maxsize=1024)
def _one_decimal(value: Decimal, locale: Locale) -> str:
    return _babel_decimal(value, format="0.0", locale=locale)


bp = Blueprint("catalog", __name__)

SORT_LABELS = {
    "relevance": _l("Paling relevan"),
    "newest": _l("Terbaru"),
    "price_asc": _l("Harga terendah"),
    "price_desc": _l("Harga tertinggi"),
    "popular": _l("Terlaris"),
    "rating": _l("Rating tertinggi"),
}


# --- public -------------------------------------------------------------------------------


@bp.app_template_filter("compact")
def compact_count(value: int | None) -> str:
    """A count as shoppers read it: 950, "1,2 rb", "3,4 jt" (English "1.2K")."""
    return format_compact_decimal(int(value or 0), fraction_digits=1)


@bp.app_template_filter("rating1")
def rating_one_decimal(value) -> str:
    """A rating average with one decimal in the visitor's language ("4,5" / "4.5")."""
    return _one_decimal(Decimal(value or 0).quantize(Decimal("0.1")), _locale())


def _search_params() -> tuple[SearchParams, list[str]]:
    """Read the filters from the query string (`search_request_normalize` applies the
    rules the API shares); bad values are ignored with a message."""
    args = request.args
    price_problems: list[str] = []
    prices: dict[str, int | None] = {}
    for name in ("harga_min", "harga_max"):
        raw = args.get(name) or ""
        prices[name] = None
        if raw.strip():
            prices[name] = parse_rupiah(raw)
            if prices[name] is None:
                price_problems.append(_("Harga \"%(value)s\" tidak valid; tulis angka Rupiah, "
                                        "misalnya 50000.", value=raw[:20]))
    normalized = search_request_normalize(SearchRequest(
        q=args.get("q") or "", category=args.get("kategori") or "",
        price_min=prices["harga_min"], price_max=prices["harga_max"],
        store=args.get("toko") or "", in_stock=args.get("tersedia") in ("1", "on", "true"),
        rating=parse_int(args.get("rating")), sort=args.get("urut") or "",
        page=parse_int(args.get("hal"))))
    problems: list[str] = []
    if "category" in normalized.unknown:
        problems.append(_("Kategori tidak ditemukan; filter kategori diabaikan."))
    problems.extend(price_problems)
    if normalized.prices_swapped:
        problems.append(_("Harga minimum lebih besar dari maksimum; keduanya ditukar."))
    if "store" in normalized.unknown:
        problems.append(_("Toko tidak ditemukan; filter toko diabaikan."))
    return normalized.params, problems


@bp.route("/produk")
@public_page
def search():
    if is_shared_view():  # the same page for every anonymous visitor: from the cache
        return page_cached(_search_page, tags=[CATALOG])
    return _search_page()


def _search_page():
    params, problems = _search_params()
    results = product_search(params)
    # Past COUNT_CAP matches "Paling relevan" is the best-sellers order (product_search):
    # the page says so rather than pretend it ranked them all.
    by_popularity = (not results.exact and params.sort == "relevance"
                     and bool(search_terms(params.q)))
    return render_page("catalog/search.html", "catalog/_results.html",
                       params=params, results=results, problems=problems,
                       categories=category_flat(), sort_labels=SORT_LABELS,
                       by_popularity=by_popularity)


@bp.route("/produk/<int:product_id>")
@public_page
def product(product_id: int):
    if is_shared_view():
        store_id = db.session.scalar(select(Product.store_id).where(Product.id == product_id))
        if store_id is None:
            abort(404)
        return page_cached(lambda: product_page(product_id),
                           tags=product_page_tags(product_id, store_id))
    return product_page(product_id)


@bp.route("/toko/<slug>")
@public_page
def store(slug: str):
    if is_shared_view():
        return page_cached(lambda: _store_page(slug), tags=[CATALOG])
    return _store_page(slug)


def _store_page(slug: str):
    shop = store_by_slug(slug)
    if shop is None:
        abort(404)
    page = parse_int(request.args.get("hal"))
    params = SearchParams(store=shop, sort="newest",
                          page=page if page is not None and page >= 1 else 1)
    results = product_search(params)
    rating, rating_count = store_rating(shop.id)
    return render_page("catalog/store.html", "catalog/_results.html", shop=shop,
                       results=results, params=params, rating=rating,
                       rating_count=rating_count, problems=[])


# --- seller: products ---------------------------------------------------------------------



def _my_product(product_id: int) -> Product:
    return owned_or_404(owned_product(my_store().id, product_id))


def _show_errors(form: ProductForm, rows: ProductRows, error: CatalogError) -> None:
    for name, messages in error.errors.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, *messages]
        else:
            rows.errors.setdefault(name, []).extend(messages)


def _product_data(form: ProductForm, rows: ProductRows) -> ProductData | None:
    specs = rows.specifications()
    groups = rows.option_groups()
    if not form.validate() or rows.errors:
        return None
    return ProductData(
        name=required_data(form.name), description=form.description.data or "",
        category_id=form.category_id.data, price=required_data(form.price),
        specifications=specs, option_groups=groups,
        initial_stock=form.initial_stock.data or 0, sku=form.sku.data or "",
    )


def _product_save(form: ProductForm, rows: ProductRows, save, *, stock_field: str):
    """Parse the submitted form and call `save(data)`; the saved product (committed), or
    None with the refusal shown at its fields (nothing written)."""
    data = _product_data(form, rows)
    if data is None:
        return None
    try:
        item = save(data)
    except (CatalogError, StockError) as error:
        db.session.rollback()
        _show_errors(form, rows, error if isinstance(error, CatalogError)
                     else CatalogError.one(stock_field, error.message))
        return None
    db.session.commit()
    return item


def _edit_page(item: Product, *, status: int = 200, form: ProductForm | None = None,
               rows: ProductRows | None = None, photo_form: PhotoForm | None = None,
               variant_errors: dict | None = None, submitted=None):
    """The product's edit page: details, variants and photos, one of them possibly with
    the messages of a refused submit (the others as stored)."""
    if form is None:
        form = ProductForm(obj=item)
        form.price.data = item.price
    return render_page("catalog/product_form.html", "catalog/_product_form.html",
                       http_status=status, form=form,
                       rows=rows if rows is not None else ProductRows.from_product(item),
                       product=item, photo_form=photo_form or PhotoForm(),
                       variant_errors=variant_errors or {}, submitted=submitted)


@bp.route("/seller/produk")
@role_required("seller")
def seller_products():
    archived = request.args.get("arsip") == "1"
    return render_page("catalog/seller_products.html",
                       products=store_products(my_store().id, archived=archived),
                       archived=archived)


@bp.route("/seller/produk/baru", methods=["GET", "POST"])
@role_required("seller")
def product_new():
    shop = my_store()
    form = ProductForm()
    rows = ProductRows.from_form(request.form) if request.method == "POST" else ProductRows()
    status = 200
    if request.method == "POST" and not rows.apply(request.form.get("action", "")):
        item = _product_save(
            form, rows, lambda data: product_create(store=shop, data=data, actor=current_user),
            stock_field="initial_stock")
        if item is not None:
            flash(_("Produk \"%(name)s\" disimpan.", name=item.name), "success")
            return see_other(url_for("catalog.product_edit", product_id=item.id))
        status = 422
    return render_page("catalog/product_form.html", "catalog/_product_form.html",
                       http_status=status, form=form, rows=rows, product=None)


@bp.route("/seller/produk/<int:product_id>/ubah", methods=["GET", "POST"])
@role_required("seller")
def product_edit(product_id: int):
    item = _my_product(product_id)
    if request.method == "GET":
        return _edit_page(item)
    form = ProductForm()
    rows = ProductRows.from_form(request.form)
    if rows.apply(request.form.get("action", "")):
        return _edit_page(item, form=form, rows=rows)

    def save(data: ProductData) -> Product:
        data.initial_stock, data.sku = 0, ""
        return product_update(product=item, data=data, actor=current_user)

    if _product_save(form, rows, save, stock_field="options") is not None:
        flash(_("Perubahan produk disimpan."), "success")
        return see_other(url_for("catalog.product_edit", product_id=item.id))
    return _edit_page(item, status=422, form=form, rows=rows)  # rollback expired it: fresh


@bp.route("/seller/produk/<int:product_id>/varian", methods=["POST"])
@role_required("seller")
def variants_save(product_id: int):
    item = _my_product(product_id)
    changes, errors = variant_changes(request.form)
    if not errors:
        try:
            variants_update(product=item, changes=changes, actor=current_user)
            db.session.commit()
            if is_htmx():
                return render_page("catalog/_variants.html", product=item, variant_errors={},
                                   submitted=None, saved=True)
            flash(_("Varian disimpan."), "success")
            return see_other(url_for("catalog.product_edit", product_id=item.id))
        except CatalogError as error:
            errors = error.errors
        except StockError as error:
            errors = {"variants": [error.message]}
        db.session.rollback()
        item = _my_product(product_id)
    if is_htmx():
        return render_page("catalog/_variants.html", http_status=422, product=item,
                           variant_errors=errors, submitted=request.form)
    return _edit_page(item, status=422, variant_errors=errors, submitted=request.form)


@bp.route("/seller/produk/<int:product_id>/arsipkan", methods=["POST"])
@role_required("seller")
def product_archive_route(product_id: int):
    item = _my_product(product_id)
    product_archive(product=item, actor=current_user)
    db.session.commit()
    flash(_("Produk \"%(name)s\" diarsipkan dan tidak tampil di toko.", name=item.name),
          "success")
    return see_other(url_for("catalog.seller_products"))


@bp.route("/seller/produk/<int:product_id>/aktifkan", methods=["POST"])
@role_required("seller")
def product_restore_route(product_id: int):
    item = _my_product(product_id)
    product_restore(product=item, actor=current_user)
    db.session.commit()
    flash(_("Produk \"%(name)s\" tampil lagi di toko.", name=item.name), "success")
    return see_other(url_for("catalog.seller_products"))


# --- seller: photos -----------------------------------------------------------------------


def _photos_response(item: Product, form: PhotoForm, status: int = 200, uploaded: int = 0):
    if is_htmx():
        return render_page("catalog/_photos.html", http_status=status, product=item,
                           photo_form=form, uploaded=uploaded)
    if status == 200:
        if uploaded:
            flash(ngettext("%(num)s foto ditambahkan.", "%(num)s foto ditambahkan.",
                           uploaded), "success")
        return see_other(url_for("catalog.product_edit", product_id=item.id) + "#foto")
    return _edit_page(item, status=status, photo_form=form)


@bp.route("/seller/produk/<int:product_id>/foto", methods=["POST"])
@role_required("seller")
def photos_upload(product_id: int):
    item = _my_product(product_id)
    form = PhotoForm()
    if not form.validate():
        return _photos_response(item, form, 422)
    files = [f.read() for f in request.files.getlist("photos") if f and f.filename]
    try:
        added = product_photos_add(product=item, files=files)
        db.session.commit()
    except CatalogError as error:
        db.session.rollback()
        item = _my_product(product_id)
        form.photos.errors = list(error.errors.get("photos", []))
        return _photos_response(item, form, 422)
    return _photos_response(item, PhotoForm(), uploaded=len(added))


@bp.route("/seller/produk/<int:product_id>/foto/<int:image_id>/hapus", methods=["POST"])
@role_required("seller")
def photo_delete(product_id: int, image_id: int):
    image = owned_or_404(owned_image(my_store().id, product_id, image_id))
    item = image.product
    product_photo_delete(product=item, image=image)
    db.session.commit()
    return _photos_response(item, PhotoForm())


@bp.route("/seller/produk/<int:product_id>/foto/<int:image_id>/geser", methods=["POST"])
@role_required("seller")
def photo_move(product_id: int, image_id: int):
    image = owned_or_404(owned_image(my_store().id, product_id, image_id))
    item = image.product
    offset = -1 if request.form.get("arah") == "naik" else 1
    product_photo_move(product=item, image=image, offset=offset)
    db.session.commit()
    return _photos_response(item, PhotoForm())


# --- seller: store settings ---------------------------------------------------------------


@bp.route("/seller/toko", methods=["GET", "POST"])
@role_required("seller")
def store_settings():
    shop = my_store()
    form = StoreSettingsForm(obj=shop)
    if form.validate_on_submit():
        store_settings_update(store=shop, name=required_data(form.name),
                              location=required_data(form.location),
                              description=form.description.data or "",
                              low_stock_threshold=required_data(form.low_stock_threshold),
                              shipping_cost=form.shipping_cost.data or 0,
                              address=form.address.data or "", npwp=form.npwp.data or "",
                              pkp=bool(form.pkp.data),
                              weekly_report=bool(form.weekly_report.data))
        db.session.commit()
        flash(_("Pengaturan toko disimpan."), "success")
        return see_other(url_for("catalog.store_settings"))
    return render_page("catalog/store_settings.html", http_status=form_status(), form=form,
                       shop=shop)


# --- admin: categories --------------------------------------------------------------------


def _category_save(form: CategoryForm, save, done_message: str):
    """Validate, call `save(**fields)`, commit: the redirect, or None when refused."""
    if not form.validate_on_submit():
        return None
    try:
        save(name=form.name.data, name_en=form.name_en.data or "",
             parent_id=form.parent_id.data or None, position=form.position.data or 0)
    except CatalogError as error:
        db.session.rollback()
        form.parent_id.errors = [*form.parent_id.errors, *error.errors.get("parent_id", [])]
        return None
    db.session.commit()
    flash(done_message, "success")
    return see_other(url_for("catalog.categories"))


@bp.route("/admin/kategori", methods=["GET", "POST"])
@role_required("admin")
def categories():
    form = CategoryForm()
    done = _category_save(form, category_create, _("Kategori ditambahkan."))
    if done is not None:
        return done
    return render_page("catalog/categories.html", http_status=form_status(), form=form,
                       nodes=category_flat())


@bp.route("/admin/kategori/<int:category_id>", methods=["GET", "POST"])
@role_required("admin")
def category_edit(category_id: int):
    category = owned_or_404(select(Category).where(Category.id == category_id))
    form = CategoryForm(obj=category)
    if request.method == "GET":
        form.parent_id.data = category.parent_id or 0

    def save(**fields):
        category_update(category=category, **fields)

    done = _category_save(form, save, _("Kategori disimpan."))
    if done is not None:
        return done
    return render_page("catalog/category_edit.html", http_status=form_status(), form=form,
                       category=category)


@bp.route("/admin/kategori/<int:category_id>/hapus", methods=["POST"])
@role_required("admin")
def category_delete_route(category_id: int):
    category = owned_or_404(select(Category).where(Category.id == category_id))
    try:
        category_delete(category=category)
    except CatalogError as error:
        db.session.rollback()
        return render_error(409, error.errors["category"][0])
    db.session.commit()
    flash(_("Kategori dihapus."), "success")
    return see_other(url_for("catalog.categories"))


# This blueprint's entries in the header (app.core.templating: domains register their
# menu items and badges; `order` is the place in the header).
nav_on_register(
    bp,
    NavItem(_l("Produk saya"), "catalog.seller_products", frozenset({"seller"}), group="store",
            order=40),
    NavItem(_l("Kategori"), "catalog.categories", frozenset({"admin"}), group="admin",
            order=200),
)
