"""Bulk catalog data for the search benchmark: stores, products, variants, category tree.

    python bench/catalog_gen.py generate [--products 100000] [--stores 1000] [--seed 2026]
    python bench/catalog_gen.py urls --out FILE [--count 200] [--seed 2026]
    python bench/catalog_gen.py probe FILE [--json out.json]
    python bench/catalog_gen.py pgdb URL [--fingerprint FP | --set-fingerprint FP]

Runs inside the app (`create_app()`), against whatever `DATABASE_URL` names; the database
must have been made with `flask db upgrade` (the full-text index lives in the migration:
a generated tsvector column + GIN on PostgreSQL, the FTS5 table `product_fts` filled by
triggers on SQLite). Rows go in with SQLAlchemy Core `insert()` executemany in batches, in
one transaction, with explicit ids (PostgreSQL sequences are moved past them at the end).

- `generate`: ~30 categories on 2 levels (reused by slug when present), N stores each with
  an owner (role seller+customer, one fixed password hash), N products (~97 % active,
  created over the last 2 years, realistic Indonesian names and 20-60 word descriptions,
  `search_name`/`search_body` normalised like the services do), ~3 variants each
  (options, SKU unique per store, price > 0, stock >= 0), and the product caches search
  relies on (price_min/max over active variants, stock_total, sold_count, rating).
  Deterministic for a given seed and scale. Refuses to run twice on the same database
  (bench stores already there) unless `--skip-if-present` (then it only checks the count).
  Ends with VACUUM (ANALYZE) on PostgreSQL; on SQLite with the FTS 'optimize' command,
  ANALYZE and PRAGMA optimize.
- `urls`: ~200 search URLs for wrk (`bench/search.lua`), built from the real category slugs
  and words of real product names: keyword + category + price range + sort for most, plus
  keyword-only and filter-only ones. Deterministic for a given seed and database.
- `probe`: runs each URL's search in-process (the route's own parameter parsing and
  `product_search`) and prints the result counts and the query time per URL: a check that
  the URLs find something, and the database's share of a request without HTTP or queueing.
  Then the whole page through the test client (routing, all queries, templates): the
  service time of one request, which bounds what N sync workers can serve (N / mean).
- `pgdb`: make sure the PostgreSQL database of URL exists (created through the `postgres`
  maintenance database). Exit 2 when the server does not answer. With `--fingerprint`, a
  database whose comment differs (data made by another schema, generator or scale) is
  dropped and created again, so the caller regenerates; `--set-fingerprint` records the
  fingerprint once generation succeeded. Only databases named `racik_bench*` are ever dropped.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BENCH_EMAIL_DOMAIN = "bench.racik.test"
BATCH = 5000

# --- vocabulary -------------------------------------------------------------------------------

BRANDS = ["Glowé", "Nusantara Skin", "Sari Ayu", "Kirana", "Bumi Herbal", "Lumière", "Ratu Jelita",
          "Daun Hijau", "Sekar", "Puspa", "Aruna", "Kembang", "Mentari", "Jiwa Alam", "Pelangi",
          "Kulit Sehat", "Rona", "Dara", "Tirta", "Ayu Lestari", "Cahaya", "Senja", "Zahra",
          "Nirmala", "Wangi Desa", "Bali Botanica", "Java Glow", "Sumatra Naturals"]
BEAUTY_ING = ["Vitamin C 20%", "Niacinamide 10%", "Hyaluronic Acid", "Centella Asiatica",
              "Retinol 0.5%", "Teh Hijau", "Lidah Buaya", "Kunyit", "Beras", "Madu", "Ceramide",
              "Salicylic Acid 2%", "Bakuchiol", "Alpha Arbutin 2%", "Kolagen", "Mugwort",
              "Propolis", "Peptide", "Tea Tree", "Mawar", "Bengkoang", "Kopi", "Temulawak",
              "Squalane", "Panthenol", "Snail Mucin", "Licorice", "Jeruk Nipis"]
BEAUTY_CLAIM = ["Brightening", "Acne Care", "Hydrating", "Anti Aging", "Pencerah", "Calming",
                "Oil Control", "Glow", "Barrier Repair", "untuk Kulit Sensitif", "Melembapkan",
                "Mencerahkan", "Soothing", "Pore Care", "Dark Spot", "Travel Size"]
BODY_ING = ["Susu Kambing", "Zaitun", "Bengkoang", "Kopi", "Cokelat", "Sereh", "Lavender",
            "Kelapa", "Beras", "Shea Butter", "Melati", "Vanilla", "Lemon", "Kayu Manis"]
BODY_CLAIM = ["Pencerah", "Wangi Tahan Lama", "Kulit Lembut", "untuk Kulit Kering",
              "Antibakteri", "Menyegarkan", "Halal", "Keluarga"]
HAIR_ING = ["Lidah Buaya", "Kemiri", "Ginseng", "Urang Aring", "Argan Oil", "Seledri", "Mint",
            "Kelapa", "Keratin", "Biotin", "Teh Hijau", "Jahe", "Lidah Mertua"]
HAIR_CLAIM = ["Anti Ketombe", "Anti Rontok", "Menebalkan Rambut", "untuk Rambut Berminyak",
              "Lembut Berkilau", "Hijab Fresh", "Perawatan Warna", "Rambut Kering"]
MAKEUP_ING = ["Matte", "Satin", "Glossy", "Transferproof", "Waterproof", "Long Lasting",
              "Velvet", "Dewy", "Natural", "Ringan"]
MAKEUP_CLAIM = ["Tahan 12 Jam", "Halal", "Untuk Kulit Sawo Matang", "Edisi Raya", "Mini",
                "Shade Baru"]
SUPP_ING = ["Rasa Jeruk", "Rasa Stroberi", "Madu", "Jahe Merah", "Kurma", "Habbatussauda",
            "Kelor", "Temulawak", "Sambiloto", "Meniran", "Lemon", "Delima"]
SUPP_CLAIM = ["Daya Tahan Tubuh", "Kulit Cerah", "Energi", "Halal BPOM", "Keluarga",
              "Tanpa Gula", "Isi Ulang"]
PERFUME_ING = ["Vanilla", "Melati", "Oud", "Sandalwood", "Citrus", "Mawar", "Musk", "Kopi",
               "Teh Putih", "Pandan", "Cendana", "Amber", "Bergamot"]
PERFUME_CLAIM = ["Tahan Lama", "Unisex", "Fresh", "Manis", "Elegan", "Edisi Terbatas"]
FASHION_ING = ["Katun", "Linen", "Rayon", "Voal", "Ceruty", "Batik", "Tenun", "Jersey",
               "Denim", "Crinkle", "Satin", "Wolfis"]
FASHION_CLAIM = ["Oversize", "Lengan Panjang", "Motif Bunga", "Polos", "Premium", "Basic",
                 "Kekinian", "Wudhu Friendly", "Adem", "Slim Fit"]
BOOK_ING = ["Senja di Ujung Jalan", "Rahasia Dapur Nenek", "Kulit Sehat Alami",
            "Meracik Jamu Sendiri", "Petualangan Si Kancil", "Rumah di Tepi Sawah",
            "Hujan Bulan Juni", "Memulai Usaha Skincare", "Resep Sehat Sehari-hari",
            "Dongeng Nusantara", "Kopi dan Kenangan", "Kebun Kecil di Kota"]
BOOK_CLAIM = ["Edisi Revisi", "Cetakan Kedua", "Bertanda Tangan", "Bergambar",
              "Seri 1", "Seri 2"]

SIZES_ML = ["15 ml", "20 ml", "30 ml", "50 ml", "100 ml"]
SIZES_BODY = ["100 ml", "250 ml", "400 ml", "500 ml", "1 liter"]
SIZES_G = ["10 g", "30 g", "50 g", "100 g", "200 g"]
SHADES = ["Nude", "Rose", "Merah Bata", "Coral", "Mauve", "Natural", "Ivory", "Beige", "Sand",
          "Cokelat"]
CAPSULES = ["10 kapsul", "30 kapsul", "60 kapsul", "100 kapsul", "120 kapsul"]
BOTTLES = ["250 ml", "500 ml", "1 liter", "Paket 3 botol", "Paket 6 botol"]
PERFUME_SIZES = ["10 ml", "30 ml", "50 ml", "75 ml", "100 ml"]
CLOTH_SIZES = ["S", "M", "L", "XL", "XXL"]
COLOURS = ["Hitam", "Putih", "Navy", "Mocca", "Sage", "Dusty Pink", "Maroon", "Abu-abu",
           "Cokelat Susu", "Army"]
FORMATS = ["Paperback", "Hardcover", "E-book", "Paket + Pembatas Buku", "Edisi Kolektor"]

KINDS = {  # kind: (ingredients, claims, sentence pool key)
    "face": (BEAUTY_ING, BEAUTY_CLAIM, "beauty"),
    "body": (BODY_ING, BODY_CLAIM, "beauty"),
    "hair": (HAIR_ING, HAIR_CLAIM, "beauty"),
    "makeup": (MAKEUP_ING, MAKEUP_CLAIM, "beauty"),
    "supp": (SUPP_ING, SUPP_CLAIM, "supp"),
    "perfume": (PERFUME_ING, PERFUME_CLAIM, "beauty"),
    "fashion": (FASHION_ING, FASHION_CLAIM, "fashion"),
    "book": (BOOK_ING, BOOK_CLAIM, "book"),
}

# (name, name_en, slug, kind, [(leaf name, name_en, slug, types, option group, values,
#   (price low, price high), weight)])
TREE = [
    ("Perawatan Wajah", "Skincare", "perawatan-wajah", "face", [
        ("Serum", "Serum", "serum", ["Serum", "Ampoule", "Essence"], "Ukuran", SIZES_ML,
         (45_000, 350_000), 9),
        ("Toner", "Toner", "toner", ["Toner", "Hydrating Toner", "Exfoliating Toner"],
         "Ukuran", SIZES_BODY, (30_000, 220_000), 6),
        ("Pelembap", "Moisturizer", "pelembap", ["Pelembap", "Moisturizer", "Krim Wajah",
         "Gel Pelembap"], "Ukuran", SIZES_G, (35_000, 300_000), 7),
        ("Tabir Surya", "Sunscreen", "tabir-surya", ["Sunscreen SPF 50 PA++++",
         "Tabir Surya SPF 30", "Sunscreen Gel SPF 50"], "Ukuran", SIZES_ML, (35_000, 180_000), 6),
        ("Pembersih Wajah", "Cleanser", "pembersih-wajah", ["Sabun Cuci Muka", "Facial Wash",
         "Cleansing Balm", "Micellar Water"], "Ukuran", SIZES_BODY, (20_000, 160_000), 6),
        ("Masker Wajah", "Face mask", "masker-wajah", ["Masker Wajah", "Sheet Mask",
         "Clay Mask", "Sleeping Mask"], "Isi", ["1 lembar", "5 lembar", "10 lembar", "50 g",
         "100 g"], (10_000, 150_000), 4),
    ]),
    ("Perawatan Tubuh", "Body care", "perawatan-tubuh", "body", [
        ("Sabun Mandi", "Body wash", "sabun-mandi", ["Sabun Mandi", "Body Wash",
         "Sabun Batang"], "Ukuran", SIZES_BODY, (12_000, 120_000), 5),
        ("Lotion Tubuh", "Body lotion", "lotion-tubuh", ["Body Lotion", "Lotion Tubuh",
         "Body Butter"], "Ukuran", SIZES_BODY, (20_000, 180_000), 5),
        ("Lulur & Scrub", "Body scrub", "lulur-scrub", ["Body Scrub", "Lulur", "Lulur Tradisional"],
         "Ukuran", SIZES_G, (15_000, 140_000), 3),
        ("Deodoran", "Deodorant", "deodoran", ["Deodoran Roll On", "Deodoran Spray",
         "Deodoran Stick"], "Ukuran", SIZES_ML, (15_000, 90_000), 2),
    ]),
    ("Perawatan Rambut", "Hair care", "perawatan-rambut", "hair", [
        ("Sampo", "Shampoo", "sampo", ["Sampo", "Shampoo", "Sampo Bayi"], "Ukuran", SIZES_BODY,
         (15_000, 160_000), 5),
        ("Kondisioner", "Conditioner", "kondisioner", ["Kondisioner", "Conditioner"], "Ukuran",
         SIZES_BODY, (18_000, 170_000), 3),
        ("Minyak & Serum Rambut", "Hair oil", "minyak-rambut", ["Minyak Rambut", "Hair Tonic",
         "Hair Serum"], "Ukuran", SIZES_ML, (15_000, 150_000), 3),
        ("Masker Rambut", "Hair mask", "masker-rambut", ["Masker Rambut", "Hair Mask",
         "Creambath"], "Ukuran", SIZES_G, (20_000, 150_000), 2),
    ]),
    ("Makeup", "Makeup", "makeup", "makeup", [
        ("Lipstik", "Lipstick", "lipstik", ["Lipstik", "Lip Cream", "Lip Tint"], "Warna", SHADES,
         (25_000, 250_000), 4),
        ("Bedak & Cushion", "Powder", "bedak", ["Bedak Padat", "Loose Powder", "Cushion"],
         "Warna", SHADES, (30_000, 300_000), 3),
        ("Mata", "Eyes", "makeup-mata", ["Maskara", "Eyeliner", "Pensil Alis", "Eyeshadow"],
         "Warna", SHADES, (25_000, 220_000), 2),
    ]),
    ("Suplemen & Jamu", "Supplements", "suplemen-jamu", "supp", [
        ("Vitamin", "Vitamins", "vitamin", ["Vitamin C 1000 mg", "Multivitamin",
         "Vitamin D3 1000 IU", "Zinc"], "Isi", CAPSULES, (30_000, 350_000), 4),
        ("Jamu", "Herbal drinks", "jamu", ["Jamu Kunyit Asam", "Jamu Beras Kencur",
         "Jamu Temulawak", "Wedang Jahe"], "Isi", BOTTLES, (10_000, 150_000), 4),
        ("Kolagen", "Collagen", "kolagen", ["Kolagen Minuman", "Collagen Drink",
         "Kolagen Bubuk"], "Isi", BOTTLES, (60_000, 500_000), 2),
    ]),
    ("Parfum", "Fragrance", "parfum", "perfume", [
        ("Parfum Wanita", "Women's perfume", "parfum-wanita", ["Eau de Parfum",
         "Parfum Roll On", "Extrait de Parfum"], "Ukuran", PERFUME_SIZES, (35_000, 900_000), 3),
        ("Parfum Pria", "Men's perfume", "parfum-pria", ["Eau de Toilette", "Eau de Parfum",
         "Cologne"], "Ukuran", PERFUME_SIZES, (35_000, 900_000), 2),
        ("Body Mist", "Body mist", "body-mist", ["Body Mist", "Hair & Body Mist"], "Ukuran",
         PERFUME_SIZES, (20_000, 120_000), 2),
    ]),
    ("Fashion Muslim", "Fashion", "fashion", "fashion", [
        ("Atasan", "Tops", "atasan", ["Kemeja", "Blus", "Kaos", "Tunik"], "Ukuran", CLOTH_SIZES,
         (45_000, 400_000), 4),
        ("Bawahan", "Bottoms", "bawahan", ["Celana Kulot", "Rok Plisket", "Celana Jeans",
         "Rok Span"], "Ukuran", CLOTH_SIZES, (50_000, 350_000), 3),
        ("Hijab", "Hijab", "hijab", ["Hijab Segi Empat", "Pashmina", "Bergo", "Hijab Instan"],
         "Warna", COLOURS, (20_000, 250_000), 4),
    ]),
    ("Buku", "Books", "buku", "book", [
        ("Novel", "Fiction", "novel", ["Novel"], "Format", FORMATS, (45_000, 180_000), 2),
        ("Buku Resep", "Cookbooks", "buku-resep", ["Buku Resep", "Buku Masak"], "Format",
         FORMATS, (50_000, 250_000), 1),
        ("Buku Anak", "Children's books", "buku-anak", ["Buku Cerita Anak", "Buku Aktivitas"],
         "Format", FORMATS, (25_000, 150_000), 1),
    ]),
]

SENTENCES = {
    "beauty": [
        "{type} dengan {ing} yang diformulasikan untuk {benefit}.",
        "Cocok untuk {target} dan aman dipakai setiap hari.",
        "Teksturnya {texture} dan cepat meresap tanpa rasa lengket.",
        "Sudah terdaftar BPOM dan bersertifikat halal.",
        "Gunakan pagi dan malam setelah membersihkan wajah dan tubuh.",
        "Diproduksi di {city} dengan bahan pilihan dari petani lokal.",
        "Kemasan {pack} praktis dibawa bepergian.",
        "Tanpa paraben, tanpa alkohol, dan tanpa pewangi tambahan.",
        "Hasil terlihat setelah {weeks} minggu pemakaian rutin.",
        "Aromanya lembut dengan sentuhan {scent} yang menenangkan.",
        "Sudah diuji secara dermatologis pada kulit orang Indonesia.",
        "Simpan di tempat sejuk dan terhindar dari sinar matahari langsung.",
    ],
    "supp": [
        "{type} dengan {ing} untuk {benefit}.",
        "Diminum satu kali sehari setelah makan.",
        "Sudah terdaftar BPOM dan bersertifikat halal MUI.",
        "Diracik dari resep turun-temurun keluarga di {city}.",
        "Tanpa pengawet dan tanpa pemanis buatan.",
        "Cocok untuk {target} yang aktif setiap hari.",
        "Kemasan {pack} menjaga kesegaran sampai tetes terakhir.",
        "Konsultasikan dengan dokter bila sedang hamil atau menyusui.",
    ],
    "fashion": [
        "{type} berbahan {ing} yang adem dan nyaman dipakai seharian.",
        "Jahitan rapi dikerjakan penjahit lokal di {city}.",
        "Cocok untuk kerja, kuliah, maupun acara keluarga.",
        "Bahan tidak menerawang, mudah disetrika, dan tidak mudah kusut.",
        "Tersedia dalam beberapa ukuran; lihat tabel ukuran sebelum membeli.",
        "Cuci dengan tangan atau mesin dengan putaran lembut.",
        "Model {claim} yang sedang banyak dicari tahun ini.",
        "Warna bisa sedikit berbeda karena pencahayaan foto.",
    ],
    "book": [
        "{type} karya penulis lokal yang hangat dan mudah dibaca.",
        "Kisahnya berlatar di {city} dan penuh kenangan masa kecil.",
        "Dicetak di kertas bookpaper yang ringan dan nyaman di mata.",
        "Cocok dijadikan hadiah untuk keluarga dan sahabat.",
        "Edisi ini dilengkapi ilustrasi dan catatan penulis.",
        "Jumlah halaman sekitar {pages} halaman dengan sampul doff.",
        "Buku original, bukan hasil cetak ulang tanpa izin.",
    ],
}
BENEFITS = ["mencerahkan kulit kusam", "menjaga kelembapan kulit", "meredakan jerawat",
            "menyamarkan noda hitam", "memperkuat skin barrier", "menjaga daya tahan tubuh",
            "mengurangi rambut rontok", "membuat kulit terasa lembut", "menyegarkan badan"]
TARGETS = ["semua jenis kulit", "kulit berminyak", "kulit kering", "kulit sensitif", "remaja",
           "ibu menyusui", "pria dan wanita", "seluruh keluarga"]
TEXTURES = ["ringan", "cair", "seperti gel", "lembut", "creamy"]
CITIES = ["Jakarta Selatan", "Bandung", "Surabaya", "Yogyakarta", "Semarang", "Medan",
          "Makassar", "Denpasar", "Malang", "Solo", "Bogor", "Depok", "Tangerang", "Bekasi",
          "Palembang", "Pekanbaru", "Padang", "Pontianak", "Balikpapan", "Manado"]
PACKS = ["botol pump", "tube", "jar kaca", "sachet", "botol spray", "pouch isi ulang"]
SCENTS = ["melati", "teh hijau", "mawar", "citrus", "vanilla", "sereh"]
STORE_FIRST = ["Toko", "Rumah", "Griya", "Pojok", "Warung", "Gerai", "Dapur", "Kedai", "Butik",
               "Galeri"]
STORE_SECOND = ["Cantik", "Sehat", "Ayu", "Herbal", "Glow", "Berkah", "Jelita", "Makmur",
                "Sejahtera", "Alami", "Harum", "Mulia", "Sentosa", "Lestari", "Indah"]
PEOPLE = ["Dewi", "Budi", "Sari", "Andi", "Rina", "Agus", "Putri", "Eko", "Wulan", "Rudi",
          "Intan", "Fajar", "Maya", "Hendra", "Nur", "Bayu", "Sinta", "Dimas", "Laras", "Yusuf"]
SURNAMES = ["Lestari", "Santoso", "Wijaya", "Pratama", "Hidayat", "Saputra", "Kusuma",
            "Nugroho", "Rahayu", "Siregar", "Harahap", "Simanjuntak", "Wibowo", "Utami"]


def create():
    if not os.environ.get("DATABASE_URL"):
        # The app's default is the developer's own instance/racik.db: never write there.
        raise SystemExit("set DATABASE_URL (this tool never uses the default database)")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    from app import create_app

    return create_app()


# --- generate ---------------------------------------------------------------------------------


def _round_price(value: float) -> int:
    step = 500 if value < 100_000 else 1000
    return max(step, round(value / step) * step)


def _description(rng: random.Random, pool: str, type_: str, ing: str, claim: str) -> str:
    sentences = SENTENCES[pool]
    target = rng.randint(20, 60)
    words: list[str] = []
    order = rng.sample(sentences, len(sentences))
    for template in order * 3:
        sentence = template.format(
            type=type_, ing=ing, claim=claim, benefit=rng.choice(BENEFITS),
            target=rng.choice(TARGETS), texture=rng.choice(TEXTURES), city=rng.choice(CITIES),
            pack=rng.choice(PACKS), weeks=rng.randint(2, 8), scent=rng.choice(SCENTS),
            pages=rng.randrange(80, 480, 8))
        extra = sentence.split()
        if words and len(words) + len(extra) > 60:
            continue
        words.extend(extra)
        if len(words) >= target:
            break
    return " ".join(words)


def _categories(conn, tables) -> list[dict]:
    """Create the tree's missing categories (by slug); return the product-bearing ones."""
    from sqlalchemy import func, insert, select

    categories = tables["categories"]
    rows = conn.execute(select(categories.c.id, categories.c.slug))
    existing = {row.slug: row.id for row in rows}
    next_id = (conn.execute(select(func.max(categories.c.id))).scalar() or 0) + 1
    out: list[dict] = []
    for position, (name, name_en, slug, kind, leaves) in enumerate(TREE):
        if slug not in existing:
            conn.execute(insert(categories), [{"id": next_id, "parent_id": None, "name": name,
                                               "name_en": name_en, "slug": slug,
                                               "position": position}])
            existing[slug], next_id = next_id, next_id + 1
        root_id = existing[slug]
        leaf_rows = []
        for leaf_position, (lname, lname_en, lslug, types, group, values, prices, weight) \
                in enumerate(leaves):
            if lslug not in existing:
                conn.execute(insert(categories), [{"id": next_id, "parent_id": root_id,
                                                   "name": lname, "name_en": lname_en,
                                                   "slug": lslug, "position": leaf_position}])
                existing[lslug], next_id = next_id, next_id + 1
            leaf_rows.append({"id": existing[lslug], "slug": lslug, "kind": kind,
                              "types": types, "group": group, "values": values,
                              "prices": prices, "weight": weight})
        out.extend(leaf_rows)
        # A few products sit on the root itself (sellers who did not pick a sub-category).
        out.append({**leaf_rows[0], "id": root_id, "slug": slug,
                    "types": [t for leaf in leaf_rows for t in leaf["types"]],
                    "weight": max(1, sum(leaf["weight"] for leaf in leaf_rows) // 10)})
    return out


def _tables():
    from app.accounts.models import Store, User, user_roles
    from app.catalog.models import Category, Product, Variant

    return {"users": User.__table__, "stores": Store.__table__, "user_roles": user_roles,
            "categories": Category.__table__, "products": Product.__table__,
            "variants": Variant.__table__}


def _insert(conn, table, rows: list[dict]) -> None:
    from sqlalchemy import insert

    for start in range(0, len(rows), BATCH):
        conn.execute(insert(table), rows[start:start + BATCH])


def generate(products: int, stores: int, seed: int, skip_if_present: bool) -> int:
    from sqlalchemy import func, select, text

    from app.accounts.models import Role
    from app.accounts.passwords import password_hash
    from app.accounts.services import slugify
    from app.catalog.search import search_normalize
    from app.extensions import db

    app = create()
    with app.app_context():
        engine = db.engine
        dialect = engine.dialect.name
        tables = _tables()
        t_users, t_stores, t_products = tables["users"], tables["stores"], tables["products"]
        with engine.connect() as conn:
            bench_users = conn.execute(select(func.count()).select_from(t_users).where(
                t_users.c.email.like(f"%@{BENCH_EMAIL_DOMAIN}"))).scalar()
            product_count = conn.execute(select(func.count()).select_from(t_products)).scalar()
        if bench_users:
            if skip_if_present and product_count == products:
                print(f"catalog already generated ({product_count:,} products): skipped")
                return 0
            print(f"this database already holds bench data ({bench_users} bench users, "
                  f"{product_count:,} products, wanted {products:,}); use a fresh one",
                  file=sys.stderr)
            return 1

        started = time.perf_counter()
        rng = random.Random(seed)
        now = datetime.now(UTC).replace(microsecond=0)
        hashed = password_hash("bench-password-2026")  # one hash for every bench seller
        with engine.begin() as conn:
            leaves = _categories(conn, tables)
            roles = {r.name: r.id for r in conn.execute(select(Role.__table__))}

            def next_id(table) -> int:
                return (conn.execute(select(func.max(table.c.id))).scalar() or 0) + 1

            user_id0, store_id0 = next_id(t_users), next_id(t_stores)
            product_id0, variant_id0 = next_id(t_products), next_id(tables["variants"])
            taken_slugs = {s for (s,) in conn.execute(select(t_stores.c.slug))}

            users, store_rows, links = [], [], []
            for n in range(stores):
                uid, sid = user_id0 + n, store_id0 + n
                person = f"{rng.choice(PEOPLE)} {rng.choice(SURNAMES)}"
                city = rng.choice(CITIES)
                created = now - timedelta(days=rng.uniform(730, 1100))
                users.append({"id": uid, "email": f"penjual{n + 1:05d}@{BENCH_EMAIL_DOMAIN}",
                              "password_hash": hashed, "name": person, "phone": "",
                              "locale": "id", "active": True, "created_at": created,
                              "last_login_at": None})
                name = f"{rng.choice(STORE_FIRST)} {rng.choice(STORE_SECOND)} {city}"
                slug, suffix = slugify(name), 2
                while slug in taken_slugs:
                    slug, suffix = f"{slugify(name)}-{suffix}", suffix + 1
                taken_slugs.add(slug)
                store_rows.append({"id": sid, "owner_id": uid, "name": name, "slug": slug,
                                   "location": city, "created_at": created,
                                   "description": f"{name}: produk pilihan dari {city}.",
                                   "low_stock_threshold": 10})
                links += [{"user_id": uid, "role_id": roles[r]}
                          for r in ("seller", "customer") if r in roles]
            _insert(conn, t_users, users)
            _insert(conn, t_stores, store_rows)
            if links:
                _insert(conn, tables["user_roles"], links)

            # Some stores are big: Pareto weights over stores, shuffled.
            store_weights = [1.0 / (i + 1) ** 0.8 for i in range(stores)]
            rng.shuffle(store_weights)
            store_ids = [store_id0 + n for n in range(stores)]
            leaf_weights = [leaf["weight"] for leaf in leaves]
            variant_id = variant_id0
            product_rows: list[dict] = []
            variant_rows: list[dict] = []
            n_variants = 0
            chosen_stores = rng.choices(store_ids, weights=store_weights, k=products)
            chosen_leaves = rng.choices(leaves, weights=leaf_weights, k=products)
            for n in range(products):
                pid = product_id0 + n
                leaf, store_id = chosen_leaves[n], chosen_stores[n]
                ings, claims, pool = KINDS[leaf["kind"]]
                type_, ing = rng.choice(leaf["types"]), rng.choice(ings)
                claim = rng.choice(claims) if rng.random() < 0.7 else ""
                brand = rng.choice(BRANDS) if rng.random() < 0.7 and leaf["kind"] != "book" else ""
                parts = [brand, type_, ing, claim]
                if leaf["kind"] == "book":
                    parts = [type_, ing, claim]
                name = " ".join(p for p in parts if p)[:150]
                description = _description(rng, pool, type_, ing, claim)
                k = rng.choices((1, 2, 3, 4, 5), weights=(10, 20, 38, 20, 12))[0]
                low, high = leaf["prices"]
                base = rng.uniform(low, high)
                values = sorted(rng.sample(range(len(leaf["values"])), k))
                active = rng.random() < 0.97
                created = now - timedelta(seconds=rng.uniform(0, 730 * 86400))
                prices, stocks = [], []
                group = leaf["group"]
                for position, index in enumerate(values):
                    value = leaf["values"][index]
                    options = {group: value} if k > 1 else {}
                    factor = 1 + 0.35 * index if group in ("Ukuran", "Isi") else 1.0
                    price = _round_price(base * factor * rng.uniform(0.95, 1.05))
                    stock = 0 if rng.random() < 0.12 else rng.randint(1, 400)
                    prices.append(price)
                    stocks.append(stock)
                    variant_rows.append({
                        "id": variant_id, "product_id": pid, "store_id": store_id,
                        "sku": f"SKU-{pid}-{position + 1}", "options": options,
                        "options_key": json.dumps(list(options.items()), ensure_ascii=False)
                        if options else "",
                        "price": price, "stock": stock, "position": position, "active": True,
                        "low_stock_alerted": False, "created_at": created})
                    variant_id += 1
                n_variants += k
                rated = rng.random() < 0.7
                sold = int(rng.paretovariate(1.2) * 3) - 3 if rng.random() < 0.85 else 0
                option_groups = ([{"name": group, "values": [leaf["values"][i] for i in values]}]
                                 if k > 1 else [])
                product_rows.append({
                    "id": pid, "store_id": store_id, "category_id": leaf["id"], "name": name,
                    "description": description,
                    "specifications": [{"label": "Merek", "value": brand or "Tanpa merek"},
                                       {"label": "Asal", "value": rng.choice(CITIES)}],
                    "option_groups": option_groups, "price": prices[0], "active": active,
                    "price_min": min(prices), "price_max": max(prices),
                    "stock_total": sum(stocks), "sold_count": min(sold, 50_000),
                    "rating_avg": Decimal(f"{rng.uniform(3.2, 5.0):.2f}") if rated
                    else Decimal("0"),
                    "rating_count": rng.randint(1, 900) if rated else 0,
                    "search_name": search_normalize(name),
                    "search_body": search_normalize(description),
                    "created_at": created, "updated_at": created})
                if len(product_rows) >= BATCH:
                    _insert(conn, t_products, product_rows)
                    _insert(conn, tables["variants"], variant_rows)
                    product_rows, variant_rows = [], []
                    if (n + 1) % 20_000 == 0:
                        print(f"  {n + 1:,} products, {n_variants:,} variants "
                              f"({time.perf_counter() - started:.0f} s)", flush=True)
            _insert(conn, t_products, product_rows)
            _insert(conn, tables["variants"], variant_rows)

            if dialect == "postgresql":
                for name in ("users", "stores", "categories", "products", "variants"):
                    table = tables[name]
                    conn.execute(select(func.setval(
                        func.pg_get_serial_sequence(name, "id"),
                        select(func.max(table.c.id)).scalar_subquery())))
        inserted = time.perf_counter() - started
        with engine.connect() as conn:
            if dialect == "postgresql":
                # VACUUM too: it sets the visibility map that autovacuum would have set on a
                # live database; without it no index-only scan is chosen (every count(*)
                # would read the heap) and the benchmark would measure a state that
                # production never stays in.
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(
                    text("VACUUM (ANALYZE)"))
            else:
                # The triggers filled product_fts row by row; merge its b-tree segments.
                conn.execute(text("INSERT INTO product_fts(product_fts) VALUES('optimize')"))
                conn.execute(text("ANALYZE"))
                conn.execute(text("PRAGMA optimize"))
                conn.commit()
        total = time.perf_counter() - started
        print(f"generated {stores:,} stores, {len(leaves)} product categories, "
              f"{products:,} products, {n_variants:,} variants on {dialect} "
              f"in {total:.1f} s (inserts {inserted:.1f} s, analyze {total - inserted:.1f} s)")
    return 0


# --- urls -------------------------------------------------------------------------------------


def build_urls(count: int, seed: int) -> list[str]:
    """Search URLs from real category slugs and words of real product names."""
    from urllib.parse import urlencode

    from sqlalchemy import func, select

    from app.catalog.models import Category, Product
    from app.catalog.search import search_normalize
    from app.extensions import db

    rng = random.Random(seed)
    categories = {c.id: c for c in db.session.scalars(select(Category).order_by(Category.id))}
    total = db.session.scalar(select(func.count(Product.id))) or 0
    if not total:
        raise SystemExit("no products: run `generate` first")
    # A deterministic sample of products: every k-th id.
    step = max(1, total // 2000)
    sample = db.session.execute(
        select(Product.name, Product.category_id, Product.price_min)
        .where(Product.active.is_(True), (Product.id % step) == 0)
        .order_by(Product.id).limit(2000)).all()
    stop = {"untuk", "dan", "di", "spf", "pa", "ml", "mg", "iu", "de", "the", "seri"}
    sorts = ["relevance", "newest", "price_asc", "price_desc", "popular", "rating"]

    def word_of(name: str) -> str:
        words = [w for w in search_normalize(name).split()
                 if len(w) > 2 and w not in stop and not w.isdigit()]
        return rng.choice(words)

    def price_range(price: int) -> dict:
        low = int(price * rng.uniform(0.3, 0.9)) // 1000 * 1000
        high = int(price * rng.uniform(1.3, 3.0)) // 1000 * 1000
        return {"harga_min": low, "harga_max": high}

    def category_slug(category_id: int) -> str:
        category = categories[category_id]
        if category.parent_id and rng.random() < 0.25:  # sometimes the parent (sub-tree)
            category = categories[category.parent_id]
        return category.slug

    urls: list[str] = []
    for n in range(count):
        name, category_id, price = rng.choice(sample)
        mix = n % 20
        if mix < 12:  # keyword + category + price range + sort
            args = {"q": word_of(name), "kategori": category_slug(category_id),
                    **price_range(price), "urut": rng.choice(sorts)}
            if mix == 0:
                args["tersedia"] = 1
            if mix == 1:
                args["rating"] = 4
            if mix == 2:
                args["hal"] = 2
        elif mix < 16:  # keyword only (one or two words), default sort = relevance
            args = {"q": word_of(name)}
            if mix >= 14:
                args["q"] += " " + word_of(name)
            if mix == 15:
                args["urut"] = rng.choice(sorts)
        else:  # filters only: category and/or price range, a sort
            args = {"kategori": category_slug(category_id), **price_range(price),
                    "urut": rng.choice(sorts[1:])}
            if mix == 19:
                del args["kategori"]
            if mix == 18:
                args["tersedia"] = 1
        urls.append("/produk?" + urlencode(args))
    return urls


def urls_command(out: Path, count: int, seed: int) -> int:
    app = create()
    with app.app_context():
        urls = build_urls(count, seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(urls) + "\n")
    print(f"{len(urls)} search URLs written to {out}")
    return 0


# --- probe ------------------------------------------------------------------------------------


def _page_items(result) -> list:
    """The rows of a search result (`Page.items`; `SearchPage.products` before the rename)."""
    items = getattr(result, "items", None)
    return list(items if items is not None else getattr(result, "products", []))


def probe(path: Path, json_out: Path | None) -> int:
    """Each URL's search in-process: result count and time of `product_search` alone."""
    from app.catalog.queries import product_search
    from app.catalog.routes import _search_params
    from app.extensions import db

    app = create()
    urls = [u for u in path.read_text().splitlines() if u.strip()]
    rows = []
    with app.app_context():
        dialect = db.engine.dialect.name
        for round_ in range(2):  # the first round warms caches; the second is measured
            for url in urls:
                with app.test_request_context(url):
                    params, _problems = _search_params()
                    began = time.perf_counter()
                    result = product_search(params)
                    elapsed = (time.perf_counter() - began) * 1000
                    db.session.rollback()
                if round_:
                    rows.append({"url": url, "total": result.total,
                                 "shown": len(_page_items(result)),
                                 "ms": round(elapsed, 2)})
        client = app.test_client()
        for round_ in range(2):
            for index, url in enumerate(urls):
                began = time.perf_counter()
                response = client.get(url)
                elapsed = (time.perf_counter() - began) * 1000
                if response.status_code != 200:
                    print(f"probe: {url} answered {response.status_code}", file=sys.stderr)
                    return 1
                if round_:
                    rows[index]["page_ms"] = round(elapsed, 2)
    times = sorted(r["ms"] for r in rows)
    page_times = sorted(r["page_ms"] for r in rows)
    empty = sum(1 for r in rows if r["total"] == 0)
    totals = sorted(r["total"] for r in rows)

    def pct(values: list[float], p: float) -> float:
        return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]

    print(f"probe ({dialect}): {len(rows)} URLs, {len(rows) - empty} with results, {empty} empty; "
          f"median total {statistics.median(totals):,.0f}")
    print(f"  product_search in-process: p50 {pct(times, 50):.1f} ms, "
          f"p90 {pct(times, 90):.1f} ms, p99 {pct(times, 99):.1f} ms, "
          f"max {times[-1]:.1f} ms, mean {statistics.mean(times):.1f} ms")
    print(f"  whole page (test client):  p50 {pct(page_times, 50):.1f} ms, "
          f"p90 {pct(page_times, 90):.1f} ms, p99 {pct(page_times, 99):.1f} ms, "
          f"max {page_times[-1]:.1f} ms, mean {statistics.mean(page_times):.1f} ms "
          f"(one sync worker: at most {1000 / statistics.mean(page_times):.0f} req/s)")
    for row in sorted(rows, key=lambda r: -r["ms"])[:5]:
        print(f"  slowest: {row['ms']:7.1f} ms  {row['total']:>6,} found  {row['url']}")
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps({"dialect": dialect, "urls": rows}, indent=1) + "\n")
    return 0


# --- pgdb -------------------------------------------------------------------------------------


def pgdb(url: str, fingerprint: str | None, set_fingerprint: str | None) -> int:
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    from app import normalize_database_url

    target = make_url(normalize_database_url(url))
    name = target.database
    if not name:
        print(f"no database name in {url}", file=sys.stderr)
        return 1
    params = {"host": target.host, "port": target.port, "user": target.username,
              "password": target.password, "connect_timeout": 3}
    params = {k: v for k, v in params.items() if v is not None}
    try:
        admin = psycopg.connect(dbname="postgres", autocommit=True, **params)
    except psycopg.Error as error:
        print(f"PostgreSQL at {target.host or 'localhost'}:{target.port or 5432} does not answer: "
              f"{str(error).strip().splitlines()[0]}", file=sys.stderr)
        return 2
    with admin:
        def comment() -> str | None:
            return admin.execute(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                "WHERE datname = %s", (name,)).fetchone()[0]

        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                               (name,)).fetchone() is not None
        if set_fingerprint is not None:
            admin.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(name), sql.Literal(set_fingerprint)))
            return 0
        if exists and fingerprint is not None and comment() != fingerprint:
            if not name.startswith("racik_bench"):
                print(f"refusing to drop {name!r}: only racik_bench* databases are recreated",
                      file=sys.stderr)
                return 1
            print(f"{name}: made by another schema/generator/scale: dropped, created again")
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
            exists = False
        if not exists:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"{name}: created")
        else:
            print(f"{name}: exists, same fingerprint: data kept")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="bulk-insert the catalog")
    gen.add_argument("--products", type=int, default=100_000)
    gen.add_argument("--stores", type=int, default=1000)
    gen.add_argument("--seed", type=int, default=2026)
    gen.add_argument("--skip-if-present", action="store_true",
                     help="exit 0 without changes when bench data with this product count exists")
    urls = sub.add_parser("urls", help="write search URLs for bench/search.lua")
    urls.add_argument("--out", type=Path, required=True)
    urls.add_argument("--count", type=int, default=200)
    urls.add_argument("--seed", type=int, default=2026)
    prb = sub.add_parser("probe", help="time each URL's search in-process")
    prb.add_argument("file", type=Path)
    prb.add_argument("--json", type=Path)
    pg = sub.add_parser("pgdb", help="create (or recreate) the PostgreSQL bench database")
    pg.add_argument("url")
    pg.add_argument("--fingerprint")
    pg.add_argument("--set-fingerprint")
    args = parser.parse_args(argv)
    if args.command == "pgdb":
        return pgdb(args.url, args.fingerprint, args.set_fingerprint)
    if args.command == "generate":
        return generate(args.products, args.stores, args.seed, args.skip_if_present)
    if args.command == "urls":
        return urls_command(args.out, args.count, args.seed)
    return probe(args.file, args.json)


if __name__ == "__main__":
    sys.exit(main())
