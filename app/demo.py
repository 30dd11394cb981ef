"""Idempotent demo data for `make run` (never in production).

Each feature extends `demo_load` so a new user sees a living shop. Running it twice changes
nothing: rows are looked up by their natural keys before being created.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyotp
from flask import current_app

from app.accounts.demo import DEMO_PASSWORD
from app.accounts.models import RoleName, User
from app.accounts.passwords import password_hash
from app.accounts.services import role_get, store_create, user_by_email
from app.accounts.totp import SecretUnreadable, secret_decrypt, secret_encrypt
from app.core.clock import utcnow
from app.extensions import db

if TYPE_CHECKING:
    from app.accounts.models import Store
    from app.catalog.models import Product
    from app.orders.models import Order
    from app.payments.models import Payment

# The demo admin and staff use two-factor login (their roles must) with this documented
# secret: add it to an authenticator app, or print the current code with
# `flask users totp-code admin@racik.test`. Demo data only: never in production.
DEMO_TOTP_SECRET = "RACIKDEMOTOTPSECRETJAKARTA234567"  # noqa: S105 - documented demo secret
DEMO_TOTP_ACCOUNTS = ("admin@racik.test", "staff@racik.test")


@dataclass(frozen=True)
class DemoAccount:
    email: str
    name: str
    roles: tuple[str, ...]
    store: tuple[str, str] | None = None  # (name, location)


DEMO_ACCOUNTS = (
    DemoAccount("admin@racik.test", "Admin Racik", (RoleName.ADMIN,)),
    DemoAccount("staff@racik.test", "Sari Produksi",
                (RoleName.STAFF, RoleName.PRODUCTION_MANAGER)),
    DemoAccount("seller@racik.test", "Dewi Lestari", (RoleName.SELLER, RoleName.CUSTOMER),
                ("Glow Nusantara", "Bandung")),
    DemoAccount("seller2@racik.test", "Budi Santoso", (RoleName.SELLER, RoleName.CUSTOMER),
                ("Herbal Jaya", "Surabaya")),
    DemoAccount("client@racik.test", "Rina Wijaya", (RoleName.CLIENT, RoleName.SELLER,
                                                     RoleName.CUSTOMER),
                ("Rina Beauty", "Jakarta Selatan")),
    DemoAccount("buyer@racik.test", "Andi Pratama", (RoleName.CUSTOMER,)),
)


class DemoRefused(RuntimeError):
    pass


def demo_load() -> list[DemoAccount]:
    """Create the demo accounts (and their stores) that do not exist yet. Flushes only."""
    demo_accounts_load()
    _demo_catalog()
    from app.catalog.demo import demo_shop_load

    demo_shop_load()
    _demo_crm()
    _demo_orders()
    _demo_sales()
    from app.maklon.demo import demo_maklon

    demo_maklon()
    from app.shipping.demo import demo_shipping

    demo_shipping()  # last: couriers for every store, weights for every variant
    return list(DEMO_ACCOUNTS)


def demo_accounts_load() -> None:
    """The demo accounts alone (roles, stores, the admin's and staff's two-factor login),
    the first step of `demo_load`; what does not exist yet is created. Flushes only."""
    if not current_app.config.get("DEMO_DATA_ALLOWED"):
        raise DemoRefused("demo data is never created in production")
    for account in DEMO_ACCOUNTS:
        user = user_by_email(account.email)
        if user is None:
            user = User(email=account.email, name=account.name,
                        password_hash=password_hash(DEMO_PASSWORD))
            db.session.add(user)
            db.session.flush()
        for role in account.roles:
            if not user.has_role(role):
                user.roles.append(role_get(role))
        if account.store and user.store is None:
            store_create(owner=user, name=account.store[0], location=account.store[1])
        if account.email in DEMO_TOTP_ACCOUNTS:
            _demo_totp(user)
    db.session.flush()


def _demo_secret_of(user: User) -> str | None:
    try:
        return secret_decrypt(user.totp_secret) if user.totp_secret else None
    except SecretUnreadable:  # written under another SECRET_KEY
        return None


def _demo_totp(user: User) -> None:
    """Two-factor login on with DEMO_TOTP_SECRET (again, if SECRET_KEY changed)."""
    if user.totp_enabled_at is not None and _demo_secret_of(user) == DEMO_TOTP_SECRET:
        return
    user.totp_secret = secret_encrypt(DEMO_TOTP_SECRET)
    user.totp_enabled_at = user.totp_enabled_at or utcnow()


def demo_totp_code(email: str) -> str:
    """The current two-factor code of a demo admin/staff account (for `make run`). Raises
    DemoRefused in production, for any other account, or a secret that is not the demo's."""
    if not current_app.config.get("DEMO_DATA_ALLOWED"):
        raise DemoRefused("demo codes are never shown in production")
    user = user_by_email(email)
    if (email.strip().lower() not in DEMO_TOTP_ACCOUNTS or user is None
            or user.totp_enabled_at is None or _demo_secret_of(user) != DEMO_TOTP_SECRET):
        raise DemoRefused("only the demo accounts "
                          f"{', '.join(DEMO_TOTP_ACCOUNTS)} have a code to show")
    return pyotp.TOTP(DEMO_TOTP_SECRET).now()


# (name, English name, children) — a realistic, small tree.
DEMO_CATEGORIES = (
    ("Perawatan Wajah", "Skincare", ("Serum", "Toner", "Pelembap", "Tabir Surya",
                                     "Pembersih Wajah", "Masker")),
    ("Perawatan Tubuh", "Body care", ("Sabun Mandi", "Losion Tubuh", "Lulur")),
    ("Perawatan Rambut", "Hair care", ("Sampo", "Kondisioner", "Minyak Rambut")),
    ("Kosmetik", "Make-up", ("Lipstik", "Bedak")),
    ("Suplemen", "Supplements", ("Vitamin", "Jamu dan Herbal")),
    ("Fashion", "Fashion", ("Atasan", "Hijab")),
    ("Buku", "Books", ()),
)
CHILD_NAMES_EN = {
    "Serum": "Serums", "Toner": "Toners", "Pelembap": "Moisturizers",
    "Tabir Surya": "Sunscreens", "Pembersih Wajah": "Cleansers", "Masker": "Masks",
    "Sabun Mandi": "Bar and body soap", "Losion Tubuh": "Body lotions", "Lulur": "Body scrubs",
    "Sampo": "Shampoos", "Kondisioner": "Conditioners", "Minyak Rambut": "Hair oils",
    "Lipstik": "Lipsticks", "Bedak": "Face powders", "Vitamin": "Vitamins",
    "Jamu dan Herbal": "Herbal (jamu)", "Atasan": "Tops", "Hijab": "Hijabs",
}


@dataclass(frozen=True)
class DemoProduct:
    store_owner: str
    category: str
    name: str
    price: int
    stock: int
    description: str
    options: tuple[tuple[str, tuple[str, ...]], ...] = ()
    specs: tuple[tuple[str, str], ...] = ()
    colour: tuple[int, int, int] = (15, 118, 110)


DEMO_PRODUCTS = (
    DemoProduct("seller@racik.test", "Serum", "Serum Vitamin C 10% Brightening", 129_000, 40,
                "Serum pencerah dengan vitamin C stabil dan niacinamide untuk kulit kusam.",
                (("Ukuran", ("20 ml", "30 ml")),), (("BPOM", "NA18230100123"),
                                                     ("Masa simpan", "24 bulan")),
                (240, 160, 40)),
    DemoProduct("seller@racik.test", "Toner", "Toner Air Mawar Segar", 59_000, 8,
                "Toner tanpa alkohol dari air mawar asli untuk menyegarkan wajah.",
                specs=(("Isi", "100 ml"),), colour=(220, 90, 120)),
    DemoProduct("seller@racik.test", "Tabir Surya", "Sunscreen Gel SPF 50 PA++++", 89_000, 25,
                "Tabir surya ringan, tidak lengket, cocok untuk iklim tropis.",
                specs=(("Isi", "50 ml"), ("SPF", "50")), colour=(250, 200, 60)),
    DemoProduct("seller@racik.test", "Pelembap", "Pelembap Aloe Vera Gel", 45_000, 0,
                "Gel lidah buaya untuk melembapkan kulit wajah dan tubuh.",
                colour=(90, 170, 90)),
    DemoProduct("seller2@racik.test", "Jamu dan Herbal", "Jamu Kunyit Asam Botol", 18_000, 60,
                "Minuman jamu tradisional kunyit asam, tanpa pengawet.",
                (("Isi", ("250 ml", "500 ml")),), colour=(230, 150, 30)),
    DemoProduct("seller2@racik.test", "Minyak Rambut", "Minyak Kemiri Penumbuh Rambut", 35_000,
                15, "Minyak kemiri murni untuk rambut lebih tebal dan hitam.",
                colour=(120, 80, 40)),
    DemoProduct("seller2@racik.test", "Sabun Mandi", "Sabun Sereh Wangi Handmade", 22_000, 5,
                "Sabun batang buatan tangan dengan minyak sereh wangi.",
                colour=(150, 190, 70)),
    DemoProduct("client@racik.test", "Lipstik", "Lipstik Matte Tahan Lama", 75_000, 12,
                "Lipstik matte ringan yang tahan hingga 12 jam.",
                (("Warna", ("Merah Bata", "Nude", "Mauve")),), colour=(180, 40, 60)),
    DemoProduct("client@racik.test", "Sampo", "Sampo Lidah Buaya Anti Ketombe", 42_000, 30,
                "Sampo lembut dengan lidah buaya dan zinc untuk kulit kepala sehat.",
                (("Ukuran", ("170 ml", "340 ml")),), colour=(60, 150, 160)),
)


def _demo_catalog() -> None:
    """Categories and a handful of products (with a generated photo each), idempotently."""
    from sqlalchemy import select

    from app.catalog.demo import CATEGORY_STYLE
    from app.catalog.demo_photos import demo_photo
    from app.catalog.models import Category, Product
    from app.catalog.services import (
        OptionGroup,
        ProductData,
        category_create,
        product_create,
        product_photos_add,
    )

    by_name: dict[str, Category] = {c.name: c for c in db.session.scalars(select(Category))}
    for position, (name, name_en, children) in enumerate(DEMO_CATEGORIES):
        if name not in by_name:
            by_name[name] = category_create(name=name, name_en=name_en, parent_id=None,
                                            position=position)
        for child_position, child in enumerate(children):
            if child not in by_name:
                by_name[child] = category_create(
                    name=child, name_en=CHILD_NAMES_EN.get(child, child),
                    parent_id=by_name[name].id, position=child_position)
    for item in DEMO_PRODUCTS:
        owner = user_by_email(item.store_owner)
        if owner is None or owner.store is None:
            continue
        exists = db.session.scalars(select(Product.id).where(
            Product.store_id == owner.store.id, Product.name == item.name)).first()
        if exists:
            continue
        product = product_create(store=owner.store, actor=owner, data=ProductData(
            name=item.name, description=item.description,
            category_id=by_name[item.category].id, price=item.price,
            specifications=list(item.specs), initial_stock=item.stock,
            option_groups=[OptionGroup(name=n, values=list(v)) for n, v in item.options],
        ))
        shapes = CATEGORY_STYLE[item.category][0]
        photos = [demo_photo(shapes[0], item.colour, item.name, seed=len(item.name))]
        if item is DEMO_PRODUCTS[0]:  # the gallery's example: three photos
            photos += [demo_photo(shapes[-1], item.colour, owner.store.name, seed=1),
                       demo_photo(shapes[0], (60, 120, 200), item.name, seed=2)]
        product_photos_add(product=product, files=photos)


DEMO_COMPANIES = (
    # name, business type, city, contact name, position, phone, email
    ("PT Ayu Cantik Indonesia", "skincare", "Jakarta Selatan", "Maya Kusuma", "Pemilik merek",
     "+62 812 1111 2222", "maya@ayucantik.test"),
    ("CV Herbal Sehat Nusantara", "suplemen", "Surabaya", "Hendra Wijaya", "Direktur",
     "+62 813 3333 4444", "hendra@herbalsehat.test"),
    ("Glow Lab Bandung", "kosmetik", "Bandung", "Citra Lestari", "Manajer produk",
     "+62 815 5555 6666", "citra@glowlab.test"),
    ("Rumah Sabun Bali", "sabun & perawatan tubuh", "Denpasar", "Made Arta", "Pemilik",
     "+62 817 7777 8888", "made@rumahsabun.test"),
)
# title, company index, status, value (Rp), source
DEMO_LEADS = (
    ("Serum vitamin C 5.000 pcs", 0, "new", 150_000_000, "website_form"),
    ("Kapsul temulawak 10.000 botol", 1, "contacted", 320_000_000, "exhibition"),
    ("Lip cream 12 warna", 2, "qualified", 210_000_000, "referral"),
    ("Sabun cair lavender 3.000 pcs", 3, "proposal", 75_000_000, "marketplace_seller"),
    ("Toner niacinamide", 0, "won", 95_000_000, "referral"),
    ("Masker wajah sachet", 2, "lost", 40_000_000, "other"),
)
# title, due in days from today (negative: overdue), priority
DEMO_TASKS = (
    ("Telepon Maya soal sampel serum", -2, "high"),
    ("Kirim katalog kemasan ke Hendra", -1, "normal"),
    ("Siapkan proposal sabun cair", 0, "high"),
    ("Jadwalkan kunjungan pabrik Glow Lab", 3, "normal"),
)


def _demo_crm() -> None:
    """A small CRM: companies with contacts, a lead in every stage, tasks (some overdue)
    for the demo staff member, whose position is sales. Looked up by name first."""
    from datetime import timedelta

    from sqlalchemy import select

    from app.accounts.models import Company, StaffPosition
    from app.crm.models import Contact, Lead, LeadStatus, Task
    from app.crm.services import wib_today

    staff = user_by_email("staff@racik.test")
    if staff is None:
        return
    if staff.position is None:
        staff.position = StaffPosition.SALES
    companies = []
    for name, business_type, city, contact_name, position, phone, email in DEMO_COMPANIES:
        company = db.session.scalars(select(Company).where(Company.name == name)).first()
        if company is None:
            company = Company(name=name, business_type=business_type, city=city)
            db.session.add(company)
            db.session.flush()
            db.session.add(Contact(company_id=company.id, name=contact_name, position=position,
                                   phone=phone, whatsapp=phone, email=email))
        companies.append(company)
    for title, index, status, value, source in DEMO_LEADS:
        if db.session.scalars(select(Lead).where(Lead.title == title)).first() is not None:
            continue
        company = companies[index]
        db.session.add(Lead(
            title=title, company_id=company.id, company_name=company.name, status=status,
            estimated_value=value, source=source, owner_id=staff.id,
            lost_reason="Harga kemasan di atas anggaran" if status == LeadStatus.LOST else "",
        ))
        if status == LeadStatus.WON:
            company.is_client = True
    today = wib_today()
    for title, days, priority in DEMO_TASKS:
        if db.session.scalars(select(Task).where(Task.title == title)).first() is not None:
            continue
        db.session.add(Task(title=title, due_date=today + timedelta(days=days),
                            priority=priority, assignee_id=staff.id, created_by_id=staff.id,
                            company_id=companies[0].id if days < 0 else None))
    db.session.flush()


def _demo_orders() -> None:
    """Shipping costs, an address for each buyer, and a few orders in every state for the
    demo buyer (one delivered and reviewed), once: skipped when the buyer has orders."""
    from sqlalchemy import select

    from app.accounts.addresses import AddressData, address_create, addresses_of
    from app.catalog.models import Product
    from app.orders.cart import cart_add
    from app.orders.checkout import checkout_place, new_idempotency_key
    from app.orders.lifecycle import order_advance, order_confirm
    from app.orders.models import Checkout
    from app.orders.reviews import review_create
    from app.payments.gateways.sandbox import sandbox_pay_now
    from app.payments.services import payment_charge

    for email, cost in (("seller@racik.test", 12_000), ("seller2@racik.test", 9_000),
                        ("client@racik.test", 15_000)):
        store = _demo_store(email)
        if store.shipping_cost == 0:
            store.shipping_cost = cost
    buyer = _demo_user("buyer@racik.test")
    for email, street, city, province, postal_code in (
            ("buyer@racik.test", "Jl. Malioboro No. 52, Sosromenduran", "Yogyakarta",
             "DI Yogyakarta", "55271"),
            ("seller@racik.test", "Jl. Braga No. 8, Sumur Bandung", "Bandung", "Jawa Barat",
             "40111"),
            ("seller2@racik.test", "Jl. Tunjungan No. 21, Genteng", "Surabaya", "Jawa Timur",
             "60275"),
            ("client@racik.test", "Jl. Kemang Raya No. 5, Mampang", "Jakarta Selatan",
             "DKI Jakarta", "12730")):
        user = _demo_user(email)
        if not addresses_of(user.id):
            address_create(user=user, data=AddressData(
                label="Rumah", recipient=user.name, phone="081234567890",
                street=street, city=city, province=province, postal_code=postal_code,
                make_default=True))
    if db.session.scalars(select(Checkout).where(Checkout.buyer_id == buyer.id)).first():
        return
    products = {p.name: p for p in db.session.scalars(select(Product))}

    def place(*names: str, paid: bool = True) -> list:
        for name in names:
            cart_add(user=buyer, variant_id=products[name].active_variants[0].id, quantity=1)
        checkout = checkout_place(buyer=buyer, address=addresses_of(buyer.id)[0],
                                  payment_method="va_bca",
                                  idempotency_key=new_idempotency_key()).checkout
        payment = _demo_payment(checkout.id)
        payment_charge(payment)
        if paid:  # through the sandbox gateway, as if the buyer had transferred the money
            sandbox_pay_now(payment.reference)
        db.session.refresh(checkout)
        return list(checkout.orders)

    delivered = place("Toner Air Mawar Segar", "Jamu Kunyit Asam Botol")
    for order in delivered:
        owner = order.store.owner
        order_advance(order=order, actor=owner, from_status="pending")
        order_advance(order=order, actor=owner, from_status="processing",
                      tracking_number="JNE0123456789")
        order_confirm(order=order, actor=buyer)
    review_create(buyer=buyer, order=delivered[0], item=delivered[0].items[0], rating=5,
                  comment="Wanginya lembut dan tidak lengket. Pengiriman cepat!")
    [shipped] = place("Sunscreen Gel SPF 50 PA++++")
    order_advance(order=shipped, actor=shipped.store.owner, from_status="pending")
    order_advance(order=shipped, actor=shipped.store.owner, from_status="processing",
                  tracking_number="SICEPAT0042")
    place("Serum Vitamin C 10% Brightening")  # paid, waiting for the seller
    # Waiting for the buyer's transfer (the payment page and the sandbox simulator).
    place("Lipstik Matte Tahan Lama", "Minyak Kemiri Penumbuh Rambut", paid=False)


def _demo_user(email: str) -> User:
    """A demo account that demo_load made. Raises DemoRefused when it is missing."""
    user = user_by_email(email)
    if user is None:
        raise DemoRefused(f"demo account {email} is missing")
    return user


def _demo_store(email: str) -> Store:
    """The store of a demo seller. Raises DemoRefused when it has none."""
    store = _demo_user(email).store
    if store is None:
        raise DemoRefused(f"demo seller {email} has no store")
    return store


def _demo_payment(checkout_id: int) -> Payment:
    """The payment a demo checkout just made."""
    from app.payments.services import payment_of_checkout

    payment = payment_of_checkout(checkout_id)
    if payment is None:
        raise DemoRefused(f"checkout {checkout_id} has no payment")
    return payment


def _demo_buy(buyer: User, lines: list[tuple[Product, int]]) -> list[Order]:
    """`buyer` buys `lines` (those in stock) through cart, checkout and the sandbox
    payment; each store ships and the buyer confirms receipt. The delivered orders."""
    from app.accounts.addresses import AddressData, address_create, addresses_of
    from app.orders.cart import cart_add
    from app.orders.checkout import checkout_place, new_idempotency_key
    from app.orders.lifecycle import order_advance, order_confirm
    from app.payments.gateways.sandbox import sandbox_pay_now
    from app.payments.services import payment_charge

    if not addresses_of(buyer.id):
        address_create(user=buyer, data=AddressData(
            label="Rumah", recipient=buyer.name, phone="081298765432",
            street="Jl. Merdeka No. 10", city="Jakarta Barat", province="DKI Jakarta",
            postal_code="11110", make_default=True))
    for product, quantity in lines:
        variant = max(product.active_variants, key=lambda v: v.stock)
        if variant.stock >= quantity:
            cart_add(user=buyer, variant_id=variant.id, quantity=quantity)
    checkout = checkout_place(buyer=buyer, address=addresses_of(buyer.id)[0],
                              payment_method="va_bca",
                              idempotency_key=new_idempotency_key()).checkout
    payment = _demo_payment(checkout.id)
    payment_charge(payment)
    sandbox_pay_now(payment.reference)
    db.session.refresh(checkout)
    for order in checkout.orders:
        owner = order.store.owner
        order_advance(order=order, actor=owner, from_status="pending")
        order_advance(order=order, actor=owner, from_status="processing",
                      tracking_number=f"JNE{order.id:010d}")
        order_confirm(order=order, actor=buyer)
    return list(checkout.orders)


def _demo_sales() -> None:
    """Delivered orders of the demo shoppers of app.catalog.demo (and the reseller's
    cartons), most of them reviewed: through the real cart, checkout, sandbox payment and
    order lifecycle, so stock, the ledger, units sold and ratings agree as in production.
    Once: skipped when the first shopper has any order."""
    import random

    from sqlalchemy import select

    from app.catalog.demo import (
        DEMO_CATALOGUE,
        DEMO_RESELLER,
        DEMO_SHOPPERS,
        REVIEW_COMMENTS,
        SALES_SEED,
    )
    from app.catalog.models import Product
    from app.orders.models import Checkout
    from app.orders.reviews import review_create

    first = user_by_email(DEMO_SHOPPERS[0].email)
    if first is None or db.session.scalars(
            select(Checkout.id).where(Checkout.buyer_id == first.id)).first() is not None:
        return
    names = {name for items in DEMO_CATALOGUE.values() for name, _ in items}
    products = [p for p in db.session.scalars(
        select(Product).where(Product.active.is_(True)).order_by(Product.id))
        if p.name in names]
    if not products:
        return
    for email in {p.store.owner.email for p in products}:
        store = _demo_store(email)
        if store.shipping_cost == 0:
            store.shipping_cost = 10_000
    rng = random.Random(SALES_SEED)  # noqa: S311 - repeatable demo data, not a secret

    # Each shopper: one checkout of four products from each of two stores (two orders),
    # most of them reviewed. Few orders, many products: every order costs an invoice PDF.
    by_store: dict[int, list[Product]] = {}
    for product in products:
        if product.stock_total > 0:
            by_store.setdefault(product.store_id, []).append(product)
    for person in DEMO_SHOPPERS:
        buyer = _demo_user(person.email)
        stores = rng.sample(sorted(by_store), 2)
        picks = [p for store_id in stores for p in rng.sample(by_store[store_id], 4)]
        for order in _demo_buy(buyer, [(p, rng.randint(1, 3)) for p in picks]):
            for item in order.items:
                if rng.random() < 0.2:
                    continue
                rating, comment = rng.choice(REVIEW_COMMENTS)
                review_create(buyer=buyer, order=order, item=item, rating=rating,
                              comment=comment)
    # The reseller's cartons: one product reaches "Terjual 1,2 rb", another 999.
    reseller = _demo_user(DEMO_RESELLER.email)
    cartons = [p for p in products if p.stock_total >= 2_000][:2]
    if len(cartons) == 2:
        _demo_buy(reseller, [(cartons[0], 999), (cartons[1], 999)])
        _demo_buy(reseller, [(cartons[0], 250)])
