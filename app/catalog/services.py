"""Catalog writes: products and their variants, photos, categories, store settings.

Services flush, never commit; the route commits once. Rules enforced here (the forms check
types and ranges first):

- a product has at least one variant; its option groups expand into one variant per
  combination (at most MAX_VARIANTS); a product without options has one default variant;
- a variant's SKU is unique within the store (generated, editable);
- a combination removed from the product keeps its variant row (orders point at it), marked
  inactive, its stock written off in the ledger;
- every stock change goes through `app.catalog.stock` (one ledger row each);
- a change of existing variants' prices is audited ("product.price": before/after per SKU).
"""

from __future__ import annotations

import itertools
import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from app.accounts.models import Store, User
from app.accounts.services import slugify
from app.audit.services import audit_record
from app.catalog.images import PhotoRejected, card_rendition, mini_rendition, photo_process
from app.catalog.models import Category, Product, ProductImage, Variant
from app.catalog.queries import categories_forget
from app.catalog.search import search_normalize
from app.catalog.stock import NEGATIVE_STOCK_MESSAGE, stock_change, stock_set
from app.core.db import rowcount
from app.core.storage import storage_delete, storage_put, storage_read
from app.extensions import db
from app.inventory.models import StockReason

log = logging.getLogger(__name__)

MAX_VARIANTS = 100
MAX_OPTION_GROUPS = 3
MAX_SPECIFICATIONS = 30
MAX_PRICE = 1_000_000_000_000  # Rp 1 triliun: anything above is a typo
SKU_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
PRICE_MESSAGE = _l("Harga harus lebih dari Rp 0.")
SKU_FORMAT_MESSAGE = _l("SKU hanya huruf, angka, titik, garis bawah, dan tanda hubung "
                        "(maks. 64).")


class CatalogError(Exception):
    """One or more rules refused the input: `errors` maps a form field to its messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(m for ms in errors.values() for m in ms))
        self.errors = errors

    @classmethod
    def one(cls, field_name: str, message: str) -> CatalogError:
        return cls({field_name: [message]})


@dataclass
class OptionGroup:
    name: str
    values: list[str]


@dataclass
class ProductData:
    name: str
    description: str
    category_id: int
    price: int
    specifications: list[tuple[str, str]] = field(default_factory=list)
    option_groups: list[OptionGroup] = field(default_factory=list)
    initial_stock: int = 0  # for variants created now
    sku: str = ""  # the default variant's SKU ("" = generate); only without options


@dataclass
class VariantChange:
    variant_id: int
    sku: str
    price: int
    stock: int
    expected_stock: int  # the stock shown in the form (optimistic check)
    weight_grams: int | None = None  # the packed weight (None: unchanged)


def options_key(options: dict[str, str]) -> str:
    return json.dumps(list(options.items()), ensure_ascii=False) if options else ""


def option_combinations(groups: list[OptionGroup]) -> list[dict[str, str]]:
    """[{}] without groups, else every combination in the groups' order."""
    if not groups:
        return [{}]
    names = [g.name for g in groups]
    return [dict(zip(names, values, strict=True))
            for values in itertools.product(*(g.values for g in groups))]


def _check_product(store: Store, data: ProductData, product: Product | None) -> None:
    errors: dict[str, list[str]] = {}

    def add(name: str, message) -> None:
        errors.setdefault(name, []).append(str(message))

    if db.session.get(Category, data.category_id) is None:
        add("category_id", _l("Pilih kategori yang ada."))
    if not 0 < data.price <= MAX_PRICE:
        add("price", PRICE_MESSAGE)
    if len(data.specifications) > MAX_SPECIFICATIONS:
        add("specifications", _l("Maksimal %(n)s baris spesifikasi.", n=MAX_SPECIFICATIONS))
    if len(data.option_groups) > MAX_OPTION_GROUPS:
        add("options", _l("Maksimal %(n)s kelompok opsi.", n=MAX_OPTION_GROUPS))
    for message in _option_group_problems(data.option_groups):
        add("options", message)
    if "options" not in errors:
        count = len(option_combinations(data.option_groups))
        if count > MAX_VARIANTS:
            add("options", _l("Kombinasi opsi menghasilkan %(n)s varian; maksimal %(max)s.",
                              n=count, max=MAX_VARIANTS))
    if data.initial_stock < 0:
        add("initial_stock", NEGATIVE_STOCK_MESSAGE)
    if data.sku:
        if data.option_groups:
            add("sku", _l("SKU untuk produk dengan opsi diatur per varian setelah disimpan."))
        elif problem := _sku_problem(store.id, data.sku,
                                     exclude_product=product.id if product else None):
            add("sku", problem)
    if errors:
        raise CatalogError(errors)


def _option_group_problems(groups: list[OptionGroup]) -> list[Any]:
    """What is wrong with the option groups: a missing or repeated name, no values,
    repeated values."""
    problems: list[Any] = []
    seen_groups: set[str] = set()
    for group in groups:
        key = group.name.casefold()
        if not group.name:
            problems.append(_l("Setiap kelompok opsi perlu nama (misalnya Warna)."))
        elif key in seen_groups:
            problems.append(_l("Nama kelompok opsi \"%(name)s\" dipakai dua kali.",
                               name=group.name))
        seen_groups.add(key)
        if not group.values:
            problems.append(_l("Kelompok \"%(name)s\" belum punya nilai; produk harus punya "
                               "minimal satu varian.", name=group.name or "?"))
        folded = [v.casefold() for v in group.values]
        duplicates = sorted({v for v in group.values if folded.count(v.casefold()) > 1})
        if duplicates:
            problems.append(_l("Nilai opsi ganda di \"%(name)s\": %(values)s.",
                               name=group.name, values=", ".join(duplicates)))
    return problems


def _sku_problem(store_id: int, sku: str, *, exclude_product: int | None = None,
                 exclude_variants: set[int] | None = None) -> str | None:
    """Why `sku` cannot be used in the store (its form, or another product has it)."""
    if not SKU_PATTERN.match(sku):
        return str(SKU_FORMAT_MESSAGE)
    if _sku_taken(store_id, sku, exclude_product=exclude_product,
                  exclude_variants=exclude_variants):
        return str(_l("SKU %(sku)s sudah dipakai produk lain di toko Anda.", sku=sku))
    return None


def _sku_taken(store_id: int, sku: str, *, exclude_product: int | None = None,
               exclude_variants: set[int] | None = None) -> bool:
    stmt = select(Variant.id).where(Variant.store_id == store_id,
                                    func.lower(Variant.sku) == sku.lower())
    if exclude_product is not None:
        stmt = stmt.where(Variant.product_id != exclude_product)
    if exclude_variants:
        stmt = stmt.where(Variant.id.not_in(exclude_variants))
    return db.session.execute(stmt.limit(1)).first() is not None


def _sku_generate(store: Store, product: Product, options: dict[str, str],
                  taken: set[str]) -> str:
    """`GN-00012-MER-M`: store initials, product number, the start of each option value."""
    initials = "".join(part[0] for part in store.slug.split("-") if part)[:3].upper() or "RCK"
    parts = [initials, f"{product.id:05d}"]
    parts += [(search_normalize(v).replace(" ", "")[:3] or "X").upper() for v in options.values()]
    base = "-".join(parts)[:60]
    candidate, suffix = base, 2
    while candidate.lower() in taken:
        candidate = f"{base}-{suffix}"
        suffix += 1
    taken.add(candidate.lower())
    return candidate


def _store_skus(store_id: int) -> set[str]:
    return {s.lower() for s in db.session.scalars(
        select(Variant.sku).where(Variant.store_id == store_id))}


def _apply_fields(product: Product, data: ProductData) -> None:
    product.name = data.name.strip()
    product.description = data.description.strip()
    product.category_id = data.category_id
    product.price = data.price
    product.specifications = [{"label": label, "value": value}
                              for label, value in data.specifications]
    product.option_groups = [{"name": g.name, "values": list(g.values)}
                             for g in data.option_groups]
    product.search_name = search_normalize(product.name)
    product.search_body = search_normalize(product.description)


def _variants_sync(product: Product, store: Store, data: ProductData, actor: User,
                   *, creating: bool) -> None:
    """Make the product's variants match its option combinations."""
    wanted = option_combinations(data.option_groups)
    by_key = {v.options_key: v for v in product.variants}
    wanted_keys = {options_key(o) for o in wanted}
    taken = _store_skus(store.id)
    for gone in list(product.variants):
        if gone.options_key not in wanted_keys and gone.active:
            gone.active = False
            if gone.stock > 0:
                stock_set(variant=gone, new_stock=0, actor=actor,
                          reference=str(_l("kombinasi opsi dihapus")))
    fresh: list[Variant] = []
    for position, options in enumerate(wanted):
        key = options_key(options)
        variant = by_key.get(key)
        if variant is None:
            if not options and data.sku:
                sku = data.sku
                taken.add(sku.lower())
            else:
                sku = _sku_generate(store, product, options, taken)
            variant = Variant(store_id=store.id, sku=sku, options=options, options_key=key,
                              price=product.price, stock=0, position=position)
            product.variants.append(variant)
            fresh.append(variant)
        else:
            variant.active = True
            variant.position = position
            variant.options = options  # the group order may have changed
            if not options and not data.option_groups and not creating:
                variant.price = product.price  # one variant: the product price is its price
    _flush_or_sku_error()
    if data.initial_stock > 0:
        for variant in fresh:
            stock_change(variant=variant, delta=data.initial_stock, reason=StockReason.RESTOCK,
                         actor=actor, reference=str(_l("stok awal")))


def _flush_or_sku_error() -> None:
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise CatalogError.one("sku", str(_l(
            "SKU bentrok dengan varian lain yang baru saja disimpan. Coba lagi."))) from None


def product_caches_refresh(product: Product) -> None:
    """Recompute the search caches (price range, stock total) from the variants."""
    active = [v for v in product.variants if v.active]
    prices = [v.price for v in active] or [product.price]
    product.price_min, product.price_max = min(prices), max(prices)
    product.stock_total = sum(v.stock for v in product.variants)


def product_create(*, store: Store, data: ProductData, actor: User) -> Product:
    """Create a product with its variants. Raises CatalogError (field -> messages)."""
    _check_product(store, data, None)
    product = Product(store_id=store.id, variants=[], images=[])
    _apply_fields(product, data)
    db.session.add(product)
    db.session.flush()
    _variants_sync(product, store, data, actor, creating=True)
    product_caches_refresh(product)
    db.session.flush()
    log.info("product %s created in store %s by user %s", product.id, store.id, actor.id)
    return product


def product_update(*, product: Product, data: ProductData, actor: User) -> Product:
    """Change a product's details and option groups (variants follow)."""
    store = db.session.get_one(Store, product.store_id)
    _check_product(store, data, product)
    prices = _prices(product)
    _apply_fields(product, data)
    _variants_sync(product, store, data, actor, creating=False)
    product_caches_refresh(product)
    _audit_prices(product, prices, actor)
    db.session.flush()
    log.info("product %s updated by user %s", product.id, actor.id)
    return product


def variants_update(*, product: Product, changes: list[VariantChange], actor: User) -> None:
    """Save SKU, price and stock of the product's variants, all or nothing.

    Raises CatalogError with fields `sku-<id>`, `price-<id>`, `stock-<id>`; a stock that
    changed since the form was shown raises StockConflict (from app.catalog.stock).
    """
    variants = {v.id: v for v in product.variants}
    relevant = [c for c in changes if c.variant_id in variants]  # others: not this product's
    ids = {c.variant_id for c in relevant}
    errors: dict[str, list[str]] = {}
    seen_skus: set[str] = set()
    for change in relevant:
        problem: str | None
        if change.sku.lower() in seen_skus and SKU_PATTERN.match(change.sku):
            problem = str(_l("SKU %(sku)s dipakai dua kali.", sku=change.sku))
        else:
            problem = _sku_problem(product.store_id, change.sku, exclude_variants=ids)
        seen_skus.add(change.sku.lower())
        if problem:
            errors[f"sku-{change.variant_id}"] = [problem]
        if not 0 < change.price <= MAX_PRICE:
            errors[f"price-{change.variant_id}"] = [str(PRICE_MESSAGE)]
        if change.stock < 0:
            errors[f"stock-{change.variant_id}"] = [str(NEGATIVE_STOCK_MESSAGE)]
    if errors:
        raise CatalogError(errors)
    prices = _prices(product)
    # Two steps so that swapping SKUs between variants never trips the unique index.
    for change in relevant:
        if variants[change.variant_id].sku != change.sku:
            variants[change.variant_id].sku = f"~{change.variant_id}"
    _flush_or_sku_error()
    for change in relevant:
        variant = variants[change.variant_id]
        variant.sku = change.sku
        variant.price = change.price
        if change.weight_grams is not None:
            variant.weight_grams = change.weight_grams
        stock_set(variant=variant, new_stock=change.stock, expected=change.expected_stock,
                  actor=actor, reference=str(_l("ubah varian")))
    _flush_or_sku_error()
    if len(product.active_variants) == 1 and not product.option_groups:
        product.price = product.active_variants[0].price
    product_caches_refresh(product)
    _audit_prices(product, prices, actor)
    db.session.flush()


def _prices(product: Product) -> dict[int, int]:
    """The variants' prices by variant id (before a change, for the audit log)."""
    return {v.id: v.price for v in product.variants if v.id is not None}


def _audit_prices(product: Product, before: dict[int, int], actor: User) -> None:
    """One "product.price" row with the old and new price of each SKU whose price changed
    (none when no price changed; new variants have no old price)."""
    changed = [v for v in product.variants if v.id in before and v.price != before[v.id]]
    if not changed:
        return
    audit_record("product.price", actor=actor, object_type="product", object_id=product.id,
                 before={v.sku: before[v.id] for v in changed},
                 after={v.sku: v.price for v in changed}, note=product.name[:120])


def product_archive(*, product: Product, actor: User) -> None:
    product.active = False
    db.session.flush()
    log.info("product %s archived by user %s", product.id, actor.id)


def product_restore(*, product: Product, actor: User) -> None:
    product.active = True
    db.session.flush()
    log.info("product %s restored by user %s", product.id, actor.id)


# --- photos -------------------------------------------------------------------------------


def product_photos_add(*, product: Product, files: list[bytes]) -> list[ProductImage]:
    """Validate, re-encode and store photos; all or nothing. Raises CatalogError("photos").

    The room left is checked before the (slow) decoding for a quick answer, and again
    under a lock of the product row afterwards, so two uploads at once cannot both take
    the last free place (PostgreSQL; SQLite write transactions are exclusive already).
    """
    config = current_app.config
    if not files:
        raise CatalogError.one("photos", str(_l("Pilih minimal satu foto.")))
    _photo_room_check(product, len(files))
    processed = []
    errors: list[str] = []
    for number, data in enumerate(files, start=1):
        try:
            processed.append(photo_process(data, max_bytes=config["PHOTO_MAX_BYTES"],
                                           max_pixels=config["PHOTO_MAX_PIXELS"]))
        except PhotoRejected as rejected:
            errors.append(str(_l("Foto %(n)s: %(reason)s", n=number, reason=rejected.message)))
    if errors:
        raise CatalogError({"photos": errors})
    db.session.execute(select(Product.id).where(Product.id == product.id).with_for_update())
    db.session.expire(product, ["images"])
    _photo_room_check(product, len(files))
    added = []
    position = max((i.position for i in product.images), default=-1) + 1
    for photo in processed:
        image = ProductImage(
            display_key=storage_put(photo.display, folder="products", suffix=".webp"),
            thumb_key=storage_put(photo.thumb, folder="products", suffix=".webp"),
            card_key=storage_put(photo.card, folder="products", suffix=".webp"),
            mini_key=storage_put(photo.mini, folder="products", suffix=".webp"),
            width=photo.width, height=photo.height, position=position,
        )
        position += 1
        product.images.append(image)
        added.append(image)
    _cover_refresh(product)
    db.session.flush()
    return added


def _photo_room_check(product: Product, count: int) -> None:
    limit = current_app.config["PHOTOS_PER_PRODUCT"]
    room = limit - len(product.images)
    if count > room:
        raise CatalogError.one("photos", str(_l(
            "Maksimal %(max)s foto per produk; tersisa tempat untuk %(room)s.",
            max=limit, room=max(room, 0))))


def product_photo_delete(*, product: Product, image: ProductImage) -> None:
    product.images.remove(image)
    storage_delete(image.display_key)
    storage_delete(image.thumb_key)
    for rendition in (image.card_key, image.mini_key):
        if rendition:
            storage_delete(rendition)
    _renumber(product)
    _cover_refresh(product)
    db.session.flush()


def product_photo_move(*, product: Product, image: ProductImage, offset: int) -> None:
    """Move a photo one place earlier (-1) or later (+1); the first photo is the cover."""
    images = list(product.images)
    index = images.index(image)
    target = index + offset
    if 0 <= target < len(images):
        images[index], images[target] = images[target], images[index]
    for position, item in enumerate(images):
        item.position = position
    product.cover_key = images[0].thumb_key if images else ""
    product.cover_card_key = images[0].card_key if images else ""
    product.cover_mini_key = images[0].mini_key if images else ""
    db.session.flush()
    db.session.expire(product, ["images"])


def _cover_refresh(product: Product) -> None:
    ordered = sorted(product.images, key=lambda i: i.position)
    product.cover_key = ordered[0].thumb_key if ordered else ""
    product.cover_card_key = ordered[0].card_key if ordered else ""
    product.cover_mini_key = ordered[0].mini_key if ordered else ""


@dataclass(frozen=True)
class RenditionsResult:
    made: int  # renditions (card or mini) made now
    failed: int  # photos whose stored file could not be read or decoded (left as they are)
    covers: int  # products whose cover_card_key or cover_mini_key was set


# The renditions a stored photo may lack: (ProductImage column, Product cover column).
_RENDITIONS = (("card_key", "cover_card_key"), ("mini_key", "cover_mini_key"))


def _rendition_make(column: str, stored: bytes) -> bytes:
    return card_rendition(stored) if column == "card_key" else mini_rendition(stored)


def photo_renditions_backfill(*, batch: int = 100) -> RenditionsResult:
    """Make the card (240 px) and mini (128 px) renditions of every stored photo that lacks
    one (photos stored before that rendition existed), through the storage module (local
    disk or S3), committing every `batch` photos; then point each product's cover_card_key
    and cover_mini_key at its cover's renditions.

    Idempotent: a rendition that exists is never touched again, so a second run (or one
    after an interrupted run) does only what is left; two runs at once never overwrite
    each other's rendition (a key is set only where it is still empty). A photo whose
    stored file is missing or damaged is logged and skipped (its cards keep the
    thumbnail) and does not stop the run. Used by `flask catalog renditions`.
    """
    made = failed = 0
    skipped: set[int] = set()
    while True:
        query = (select(ProductImage)
                 .where((ProductImage.card_key == "") | (ProductImage.mini_key == ""))
                 .order_by(ProductImage.id).limit(batch))
        if skipped:
            query = query.where(ProductImage.id.not_in(skipped))
        images = db.session.scalars(query).all()
        if not images:
            break
        for image in images:
            missing = [column for column, _ in _RENDITIONS if not getattr(image, column)]
            try:
                stored = storage_read(image.display_key)
                made_now = [(column, _rendition_make(column, stored)) for column in missing]
            except (PhotoRejected, OSError, KeyError) as error:
                log.warning("no renditions for photo %s: %s", image.id, type(error).__name__)
                skipped.add(image.id)
                failed += 1
                continue
            for column, data in made_now:
                key = storage_put(data, folder="products", suffix=".webp")
                # Only where no other run (another host, a second command) got there
                # first: the loser's file is deleted at the commit, the winner's key stays.
                won = rowcount(db.session.execute(
                    update(ProductImage)
                    .where(ProductImage.id == image.id, getattr(ProductImage, column) == "")
                    .values({column: key})
                    .execution_options(synchronize_session=False)))
                if won:
                    made += 1
                else:
                    storage_delete(key)
        db.session.commit()
        db.session.expire_all()
    covers: set[int] = set()
    for column, cover_column in _RENDITIONS:
        rendition = getattr(ProductImage, column)
        cover = getattr(Product, cover_column)
        rows = db.session.execute(
            select(Product.id, rendition)
            .join(ProductImage, (ProductImage.product_id == Product.id)
                  & (ProductImage.thumb_key == Product.cover_key))
            .where(cover == "", Product.cover_key != "", rendition != "")).all()
        for product_id, key in rows:
            # Core UPDATE: a rendition is not an edit of the product (updated_at stays).
            db.session.execute(update(Product).where(Product.id == product_id)
                               .values({cover_column: key, "updated_at": Product.updated_at}))
            covers.add(product_id)
    db.session.commit()
    log.info("photo renditions: %s made, %s failed, %s covers", made, failed, len(covers))
    return RenditionsResult(made=made, failed=failed, covers=len(covers))


def _renumber(product: Product) -> None:
    for position, item in enumerate(product.images):
        item.position = position


# --- categories ---------------------------------------------------------------------------


def _category_slug(name: str, exclude_id: int | None = None) -> str:
    base = slugify(name)[:90] or "kategori"
    taken = set(db.session.scalars(select(Category.slug).where(
        Category.slug.like(f"{base}%"), Category.id != (exclude_id or 0))))
    slug, suffix = base, 2
    while slug in taken:
        slug = f"{base}-{suffix}"
        suffix += 1
    return slug


def _check_category(name: str, parent_id: int | None, category: Category | None) -> None:
    if parent_id is None:
        return
    parent = db.session.get(Category, parent_id)
    if parent is None:
        raise CatalogError.one("parent_id", str(_l("Induk kategori tidak ada.")))
    node: Category | None = parent
    while node is not None:  # a category cannot become its own descendant
        if category is not None and node.id == category.id:
            raise CatalogError.one("parent_id", str(_l(
                "Kategori tidak bisa menjadi sub-kategori dirinya sendiri.")))
        node = node.parent


def category_create(*, name: str, name_en: str, parent_id: int | None,
                    position: int = 0) -> Category:
    _check_category(name, parent_id, None)
    category = Category(name=name.strip(), name_en=name_en.strip(), parent_id=parent_id,
                        slug=_category_slug(name), position=position)
    db.session.add(category)
    db.session.flush()
    categories_forget()
    return category


def category_update(*, category: Category, name: str, name_en: str, parent_id: int | None,
                    position: int) -> None:
    _check_category(name, parent_id, category)
    if name.strip() != category.name:
        category.slug = _category_slug(name, exclude_id=category.id)
    category.name, category.name_en = name.strip(), name_en.strip()
    category.parent_id, category.position = parent_id, position
    db.session.flush()
    categories_forget()


def category_delete(*, category: Category) -> None:
    """Delete an empty category; refused (CatalogError) while it has products or children."""
    if db.session.scalar(select(func.count(Category.id)).where(
            Category.parent_id == category.id)):
        raise CatalogError.one("category", str(_l(
            "Kategori ini masih punya sub-kategori; pindahkan atau hapus dulu.")))
    if db.session.scalar(select(func.count(Product.id)).where(
            Product.category_id == category.id)):
        raise CatalogError.one("category", str(_l(
            "Kategori ini masih dipakai produk; pindahkan produknya dulu.")))
    db.session.delete(category)
    db.session.flush()
    categories_forget()


# --- store settings -----------------------------------------------------------------------


def store_settings_update(*, store: Store, name: str, location: str, description: str,
                          low_stock_threshold: int, shipping_cost: int,
                          address: str | None = None, npwp: str | None = None,
                          pkp: bool | None = None, weekly_report: bool | None = None
                          ) -> None:
    """The owner's store profile. The slug (the store's address) does not change. The
    invoice details (legal `address`, `npwp` digits, `pkp`) and the weekly sales report
    switch are left alone when None."""
    if weekly_report is not None:
        store.weekly_report = weekly_report
    if address is not None:
        store.address = address.strip()
    if npwp is not None:
        store.npwp = npwp
    if pkp is not None:
        store.pkp = pkp
    store.name = name.strip()
    store.location = location.strip()
    store.description = description.strip()
    store.low_stock_threshold = low_stock_threshold
    store.shipping_cost = shipping_cost
    db.session.flush()
