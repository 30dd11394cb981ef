"""The demo marketplace for `flask demo load`: more stores, 120 products, their photos, sales
and reviews, so the home page, search, filters, pagination and "Terjual" show what they do.

Called by `app.demo.demo_load` after the demo accounts and the hand-written products exist
(which then places the sales, `app.demo._demo_sales`: the catalog knows no orders).
Idempotent like the rest of the demo: sellers and shoppers by e-mail, products by (store,
name). Photos are drawn by `demo_photos` and go through `product_photos_add` like an
upload. Demo data only: never in production.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app.accounts.models import RoleName, User
from app.accounts.passwords import password_hash
from app.accounts.services import role_get, store_create, user_by_email
from app.catalog.demo_photos import demo_photo
from app.catalog.models import Category, Product
from app.catalog.services import OptionGroup, ProductData, product_create, product_photos_add
from app.extensions import db


@dataclass(frozen=True)
class DemoPerson:
    email: str
    name: str
    store: str = ""  # a seller's store name
    city: str = ""


# The stores beside the three of app.demo.DEMO_ACCOUNTS: one a city.
DEMO_SELLERS = (
    DemoPerson("seller3@racik.test", "Sekar Ayu", "Sekar Jamu Jogja", "Yogyakarta"),
    DemoPerson("seller4@racik.test", "Made Wirawan", "Bali Botanica", "Denpasar"),
    DemoPerson("seller5@racik.test", "Tiur Simanjuntak", "Toba Natural", "Medan"),
    DemoPerson("seller6@racik.test", "Andi Makkasau", "Daeng Beauty", "Makassar"),
    DemoPerson("seller7@racik.test", "Lestari Widodo", "Semarang Sehat", "Semarang"),
    DemoPerson("seller8@racik.test", "Nur Aini", "Nur Busana", "Surakarta"),
    DemoPerson("seller9@racik.test", "Yusuf Hakim", "Pustaka Cantik", "Malang"),
)
# Buyers whose delivered orders and reviews fill the shop ("verified buyers").
DEMO_SHOPPERS = (
    DemoPerson("pembeli1@racik.test", "Putri Anggraini", city="Jakarta Barat"),
    DemoPerson("pembeli2@racik.test", "Bagus Saputra", city="Bekasi"),
    DemoPerson("pembeli3@racik.test", "Intan Permata", city="Bogor"),
    DemoPerson("pembeli4@racik.test", "Rizky Ramadhan", city="Palembang"),
    DemoPerson("pembeli5@racik.test", "Fitri Handayani", city="Balikpapan"),
    DemoPerson("pembeli6@racik.test", "Dimas Prasetyo", city="Malang"),
)
# A reseller buying the best sellers by the carton: their counts reach "Terjual 1,2 rb".
DEMO_RESELLER = DemoPerson("reseller@racik.test", "Toko Kosmetik Berkah", city="Tangerang")

# category -> (shapes drawn for it, store e-mail, option group or None, size spec)
CATEGORY_STYLE: dict[str, tuple[tuple[str, ...], str, tuple[str, tuple[str, ...]] | None, str]] = {
    "Serum": (("dropper", "box"), "seller6@racik.test", ("Ukuran", ("15 ml", "30 ml")), "30 ml"),
    "Toner": (("bottle", "pump"), "seller7@racik.test", None, "150 ml"),
    "Pelembap": (("jar", "tube"), "seller7@racik.test", ("Ukuran", ("30 g", "50 g")), "50 g"),
    "Tabir Surya": (("tube", "pump"), "seller7@racik.test", None, "50 ml"),
    "Pembersih Wajah": (("tube", "pump"), "seller5@racik.test", None, "100 ml"),
    "Masker": (("sachet", "jar"), "seller4@racik.test", None, "20 g"),
    "Sabun Mandi": (("bar", "pump"), "seller4@racik.test", None, "100 g"),
    "Losion Tubuh": (("pump", "bottle"), "seller4@racik.test", ("Ukuran", ("200 ml", "400 ml")),
                     "200 ml"),
    "Lulur": (("jar", "sachet"), "seller3@racik.test", None, "250 g"),
    "Sampo": (("bottle", "pump"), "seller5@racik.test", ("Ukuran", ("180 ml", "400 ml")),
              "180 ml"),
    "Kondisioner": (("tube", "bottle"), "seller5@racik.test", None, "180 ml"),
    "Minyak Rambut": (("dropper", "bottle"), "seller4@racik.test", None, "60 ml"),
    "Lipstik": (("lipstick",), "seller6@racik.test",
                ("Warna", ("Merah Cabai", "Nude", "Coklat Susu")), "3,5 g"),
    "Bedak": (("compact", "box"), "seller6@racik.test", ("Warna", ("Natural", "Kuning Langsat")),
              "12 g"),
    "Vitamin": (("bottle", "box"), "seller3@racik.test", ("Isi", ("30 kapsul", "60 kapsul")),
                "30 kapsul"),
    "Jamu dan Herbal": (("bottle", "sachet"), "seller3@racik.test", None, "250 ml"),
    "Atasan": (("top",), "seller8@racik.test", ("Ukuran", ("S", "M", "L", "XL")), ""),
    "Hijab": (("hijab",), "seller8@racik.test", ("Warna", ("Hitam", "Sage", "Dusty Pink")), ""),
    "Buku": (("book",), "seller9@racik.test", None, ""),
}

# category -> six products (name, price in Rupiah); no name repeats an existing demo word
# that the browser tests search for by itself ("kunyit", "sunscreen").
DEMO_CATALOGUE: dict[str, tuple[tuple[str, int], ...]] = {
    "Serum": (("Serum Niacinamide 10% Pori Halus", 95_000), ("Serum Retinol 0,5% Malam", 139_000),
              ("Serum Hyaluronic Acid Lembap", 85_000), ("Serum Centella Penenang", 79_000),
              ("Serum Bakuchiol Anti Penuaan", 149_000), ("Serum Alpha Arbutin Cerah", 99_000)),
    "Toner": (("Toner Teh Hijau Segar", 55_000), ("Toner Eksfoliasi AHA BHA", 89_000),
              ("Toner Beras Jepang", 65_000), ("Toner Centella Bebas Alkohol", 72_000),
              ("Toner Lidah Buaya Dingin", 48_000), ("Toner Pepaya Pencerah", 52_000)),
    "Pelembap": (("Pelembap Ceramide Skin Barrier", 98_000), ("Gel Pelembap Semangka", 69_000),
                 ("Krim Malam Bengkoang", 58_000), ("Pelembap Oat Kulit Sensitif", 87_000),
                 ("Krim Siang Tomat Cerah", 62_000), ("Pelembap Minyak Zaitun", 54_000)),
    "Tabir Surya": (("Tabir Surya Anak SPF 30", 79_000), ("Tabir Surya Mineral SPF 35", 92_000),
                    ("Sun Serum SPF 50 Ringan", 99_000), ("Tabir Surya Tubuh SPF 30", 75_000),
                    ("Sun Stick SPF 50 Praktis", 105_000), ("Tabir Surya Berwarna SPF 40", 97_000)),
    "Pembersih Wajah": (("Sabun Cuci Muka Teh Hijau", 39_000), ("Gel Pembersih Salisilat", 59_000),
                        ("Cleansing Oil Kelapa Murni", 72_000), ("Micellar Water Mawar", 45_000),
                        ("Busa Pembersih Beras", 42_000), ("Cleansing Balm Kamomil", 85_000)),
    "Masker": (("Masker Lumpur Bali", 49_000), ("Masker Wajah Kopi Toraja", 35_000),
               ("Masker Tidur Madu Hutan", 69_000), ("Sheet Mask Lidah Buaya", 15_000),
               ("Masker Bengkoang Cerah", 29_000), ("Masker Kaolin Pori", 55_000)),
    "Sabun Mandi": (("Sabun Kopi Robusta", 25_000), ("Sabun Cair Lavender", 45_000),
                    ("Sabun Susu Kambing", 23_000), ("Sabun Arang Bambu", 27_000),
                    ("Sabun Cair Kenanga", 42_000), ("Sabun Madu Lemon", 24_000)),
    "Losion Tubuh": (("Losion Tubuh Sakura", 49_000), ("Losion Tubuh Shea Butter", 65_000),
                     ("Losion Tubuh Cendana", 58_000), ("Losion Tubuh Melati", 47_000),
                     ("Body Butter Kakao", 79_000), ("Losion Tubuh Anti Nyamuk Sereh", 39_000)),
    "Lulur": (("Lulur Mandi Bali Boreh", 45_000), ("Lulur Beras Kencur", 38_000),
              ("Lulur Kopi Gayo", 49_000), ("Lulur Mangir Jawa", 42_000),
              ("Lulur Susu Bengkoang", 39_000), ("Lulur Garam Laut Spa", 55_000)),
    "Sampo": (("Sampo Ginseng Rambut Rontok", 59_000), ("Sampo Lidah Buaya Segar", 44_000),
              ("Sampo Teh Hijau Rambut Berminyak", 47_000), ("Sampo Bayi Lembut", 39_000),
              ("Sampo Urang Aring Hitam", 42_000), ("Sampo Anti Ketombe Mint", 52_000)),
    "Kondisioner": (("Kondisioner Alpukat", 49_000), ("Kondisioner Minyak Argan", 69_000),
                    ("Kondisioner Keratin Halus", 65_000), ("Kondisioner Santan Kelapa", 45_000),
                    ("Masker Rambut Kemiri", 55_000), ("Kondisioner Tanpa Bilas", 59_000)),
    "Minyak Rambut": (("Minyak Rambut Urang Aring", 29_000), ("Hair Tonic Ginseng", 55_000),
                      ("Minyak Kelapa Murni Rambut", 32_000), ("Minyak Zaitun Rambut", 38_000),
                      ("Hair Serum Argan", 62_000), ("Minyak Rosemary Rambut", 69_000)),
    "Lipstik": (("Lip Cream Matte Seharian", 65_000), ("Lip Tint Buah Ceri", 49_000),
                ("Lip Balm Madu Alami", 29_000), ("Lipstik Satin Lembap", 79_000),
                ("Lip Gloss Bening", 45_000), ("Lip Serum Berwarna", 59_000)),
    "Bedak": (("Bedak Padat Tahan Minyak", 69_000), ("Bedak Tabur Beras", 35_000),
              ("Two Way Cake SPF 15", 89_000), ("Bedak Dingin Tradisional", 19_000),
              ("Loose Powder Translucent", 75_000), ("Cushion Ringan SPF 30", 119_000)),
    "Vitamin": (("Vitamin C 500 mg", 55_000), ("Kolagen Minum Stroberi", 149_000),
                ("Vitamin D3 1000 IU", 79_000), ("Zinc dan Vitamin E", 65_000),
                ("Madu Propolis Anak", 89_000), ("Habbatussauda Kapsul", 72_000)),
    "Jamu dan Herbal": (("Jamu Beras Kencur Botol", 16_000), ("Wedang Jahe Merah Sachet", 25_000),
                        ("Temulawak Instan", 28_000), ("Jamu Sirih Wangi", 18_000),
                        ("Teh Rosela Kering", 32_000), ("Sari Jahe Serai", 22_000)),
    "Atasan": (("Kemeja Batik Parang Pria", 189_000), ("Blus Linen Lengan Panjang", 159_000),
               ("Kaos Katun Bordir Bunga", 89_000), ("Tunik Rayon Motif Kawung", 145_000),
               ("Kemeja Lurik Solo", 175_000), ("Outer Tenun Ikat", 229_000)),
    "Hijab": (("Hijab Segi Empat Voal", 59_000), ("Pashmina Ceruti Baby Doll", 49_000),
              ("Hijab Instan Jersey", 69_000), ("Hijab Sport Adem", 55_000),
              ("Pashmina Plisket", 45_000), ("Hijab Motif Batik Sogan", 79_000)),
    "Buku": (("Meracik Skincare Sendiri", 98_000), ("Jamu Warisan Nusantara", 115_000),
             ("Memulai Merek Kosmetik Lokal", 125_000), ("Panduan BPOM untuk UMKM", 89_000),
             ("Aromaterapi Tanaman Tropis", 92_000), ("Jualan Online Laris Manis", 79_000)),
}

PALETTE = ((15, 118, 110), (220, 90, 120), (240, 160, 40), (90, 170, 90), (60, 120, 200),
           (150, 90, 180), (200, 70, 50), (120, 80, 40), (40, 160, 170), (230, 120, 150),
           (110, 140, 60), (70, 70, 90))
REVIEW_COMMENTS = (
    (5, "Sesuai deskripsi, pengiriman cepat. Pasti beli lagi!"),
    (5, "Kualitas bagus, kemasannya rapi dan aman."),
    (4, "Bagus, hanya pengirimannya agak lama."),
    (5, "Cocok di kulit saya, tidak bikin iritasi."),
    (4, "Wanginya enak, harga terjangkau."),
    (3, "Lumayan, tapi hasilnya belum terasa."),
    (5, "Penjual ramah dan responsif."),
    (4, "Produk original, sesuai foto."),
)
SALES_SEED = 20261207


def demo_shop_load() -> None:
    """Sellers, shoppers and the products of DEMO_CATALOGUE with their photos. Flushes.
    (The sales, which need the orders and payments, are app.demo's `_demo_sales`.)"""
    for person in (*DEMO_SELLERS, *DEMO_SHOPPERS, DEMO_RESELLER):
        _person(person)
    db.session.flush()
    _products()


def _person(person: DemoPerson) -> User:
    from app.accounts.demo import DEMO_PASSWORD

    user = user_by_email(person.email)
    if user is None:
        user = User(email=person.email, name=person.name,
                    password_hash=password_hash(DEMO_PASSWORD))
        db.session.add(user)
        db.session.flush()
    roles = (RoleName.SELLER, RoleName.CUSTOMER) if person.store else (RoleName.CUSTOMER,)
    for role in roles:
        if not user.has_role(role):
            user.roles.append(role_get(role))
    if person.store and user.store is None:
        store_create(owner=user, name=person.store, location=person.city)
    return user


def _stock_for(index: int) -> int:
    """Mostly well stocked; now and then low ("Sisa 3") or sold out ("Habis")."""
    if index % 17 == 5:
        return 0
    if index % 11 == 3:
        return 3
    return 40 + (index * 37) % 260


def _products() -> None:
    categories = {c.name: c for c in db.session.scalars(select(Category))}
    existing = {(store_id, name) for store_id, name in db.session.execute(
        select(Product.store_id, Product.name))}
    # Round the categories one product at a time, so "Produk terbaru" shows a mix.
    queue = [(position, category_name, name, price)
             for category_name, items in DEMO_CATALOGUE.items()
             for position, (name, price) in enumerate(items)]
    queue.sort(key=lambda entry: entry[0])
    for index, (position, category_name, name, price) in enumerate(queue, start=1):
        shapes, owner_email, options, size = CATEGORY_STYLE[category_name]
        owner = user_by_email(owner_email)
        category = categories.get(category_name)
        if owner is None or owner.store is None or category is None:
            continue
        if (owner.store.id, name) in existing:
            continue
        with_options = options is not None and position % 2 == 0
        specs = [("Isi", size)] if size else []
        if category.parent_id is not None and category_name not in ("Atasan", "Hijab"):
            specs.append(("BPOM", f"NA1823{index:07d}"))
            specs.append(("Masa simpan", "24 bulan"))
        specs.append(("Asal", owner.store.location))
        stock = _stock_for(index)
        # The reseller's favourites need the cartons in stock.
        if position == 0:
            stock = 3_000
        product = product_create(store=owner.store, actor=owner, data=ProductData(
            name=name, category_id=category.id, price=price,
            description=(f"{name} dari {owner.store.name}, {owner.store.location}. "
                         f"Dibuat dalam batch kecil oleh mitra maklon Racik dan dikirim "
                         f"dalam kemasan aman."),
            specifications=specs, initial_stock=stock,
            option_groups=[OptionGroup(name=options[0], values=list(options[1]))]
            if options is not None and with_options else [],
        ))
        colour = PALETTE[index % len(PALETTE)]
        label = name.split(" ", 1)[-1] if len(name) > 18 else name
        photos = [demo_photo(shapes[0], colour, label, seed=index)]
        if index % 4 == 0:  # a second and third photo for the gallery
            photos.append(demo_photo(shapes[-1], colour, owner.store.name, seed=index + 1000))
            photos.append(demo_photo(shapes[0], PALETTE[(index + 5) % len(PALETTE)], label,
                                     seed=index + 2000))
        product_photos_add(product=product, files=photos)
