"""Bulk order history for the order-list benchmark: 1,000,000 orders of 50,000 buyers in
200 stores over two years.

    python bench/orders_gen.py generate [--orders 1000000] [--buyers 50000] [--stores 200]
                                        [--products-per-store 10] [--seed 2026]
                                        [--skip-if-present]
    python bench/orders_gen.py users [--buyers 12] [--sellers 8] --out FILE
    python bench/orders_gen.py counts

Runs inside the app (`create_app()`) against whatever `DATABASE_URL` names (it refuses to
run without one), into a database made by `flask db upgrade`.

- `generate`: the stores, their owners and products come from `bench/catalog_gen.py`
  (`--stores` stores, `--products-per-store` products each, ~3 variants a product; owners
  `penjualNNNNN@bench.racik.test`), then `--buyers` customers (`pembeliNNNNN@bench.racik.test`,
  all with the password `bench-password-2026`, one argon2 hash), then the orders:
  checkouts at sorted random times over the last 730 days (so ids grow with time, as in
  production), each with 1 order (85 %), 2 (12 %) or 3 (3 %) orders of different stores;
  buyers and stores picked with Zipf-like weights (buyer of rank r ~ r^-0.5: the busiest
  buyer has ~2,000 orders, the median one ~15; store of rank r ~ r^-0.8: the biggest has
  ~100,000 orders, the smallest ~1,500). Each order: 1-3 items (60/28/12 %) of its store's
  variants, quantity 1-3, snapshot name/options/SKU/price; a status that depends on its age
  (older than 10 days: 83 % delivered, 12 % cancelled, 5 % returned; newer ones pending,
  processing, shipped...), the matching `*_at` timestamps, payment status and one
  `OrderEvent` per transition (created, then each step), numbers `RCK-<WIB date>-<id:06d>`
  and `CO-<WIB date>-<id:06d>`. Rows go in per chunk of 20,000 checkouts: `COPY ... FROM
  STDIN` on PostgreSQL, the sqlite3 driver's `executemany` on SQLite, all in one
  transaction. Ends with `VACUUM (ANALYZE)` (PostgreSQL) or `ANALYZE` + `PRAGMA optimize`.
  Deterministic for a given seed and scale.
- `users`: picks the accounts the load script logs in as, and prints them as JSON lines
  `{"kind": "buyer"|"buyer_deep"|"seller"|"seller_deep", "email": ..., "orders": n}`:
  buyers spread over the distribution, the busiest ones for the deep page, sellers spread
  over the store sizes (for the deep page: over the stores with `--deep-min` orders).
- `counts`: rows per table (a check after generation).
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

BENCH_EMAIL_DOMAIN = "bench.racik.test"
PASSWORD = "bench-password-2026"  # noqa: S105 - the bench accounts' password
CHUNK = 20_000  # checkouts per write
DAY = 86_400
WIB = timedelta(hours=7)

CITIES = [("Jakarta Selatan", "DKI Jakarta", "12"), ("Bandung", "Jawa Barat", "40"),
          ("Surabaya", "Jawa Timur", "60"), ("Yogyakarta", "DI Yogyakarta", "55"),
          ("Semarang", "Jawa Tengah", "50"), ("Medan", "Sumatera Utara", "20"),
          ("Makassar", "Sulawesi Selatan", "90"), ("Denpasar", "Bali", "80"),
          ("Malang", "Jawa Timur", "65"), ("Palembang", "Sumatera Selatan", "30")]
STREETS = ["Jl. Merdeka", "Jl. Sudirman", "Jl. Diponegoro", "Jl. Gatot Subroto", "Jl. Pemuda",
           "Jl. Ahmad Yani", "Jl. Kartini", "Jl. Pahlawan", "Gg. Melati", "Jl. Cendana"]
PEOPLE = ["Dewi", "Budi", "Sari", "Andi", "Rina", "Agus", "Putri", "Eko", "Wulan", "Rudi",
          "Intan", "Fajar", "Maya", "Hendra", "Nur", "Bayu", "Sinta", "Dimas", "Laras", "Yusuf"]
SURNAMES = ["Lestari", "Santoso", "Wijaya", "Pratama", "Hidayat", "Saputra", "Kusuma",
            "Nugroho", "Rahayu", "Siregar", "Harahap", "Simanjuntak", "Wibowo", "Utami"]
PAYMENTS = ["va_bca", "va_bni", "va_bri", "va_mandiri", "gopay", "ovo", "dana", "shopeepay",
            "qris"]
NOTES = ["", "", "", "", "Tolong dibungkus rapi ya", "Kirim secepatnya",
         "Mohon cek tanggal kedaluwarsa", "Hadiah, jangan sertakan nota"]

ORDER_COLUMNS = ("id", "number", "checkout_id", "store_id", "buyer_id", "status",
                 "payment_status", "subtotal", "shipping_cost", "total", "item_count",
                 "shipping_address", "note", "tracking_number", "created_at", "updated_at",
                 "processing_at", "shipped_at", "delivered_at", "cancelled_at", "returned_at")
CHECKOUT_COLUMNS = ("id", "reference", "buyer_id", "idempotency_key", "payment_method",
                    "payment_status", "subtotal", "shipping_total", "total", "created_at")
ITEM_COLUMNS = ("id", "order_id", "variant_id", "product_id", "product_name", "options", "sku",
                "unit_price", "quantity", "line_total")
EVENT_COLUMNS = ("id", "order_id", "from_status", "to_status", "actor_id", "note",
                 "created_at")


def create():
    if not os.environ.get("DATABASE_URL"):
        # The app's default is the developer's own instance/racik.db: never write there.
        raise SystemExit("set DATABASE_URL (this tool never uses the default database)")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    from app import create_app

    return create_app()


# --- the life of one order --------------------------------------------------------------------


def _life(rng: random.Random, age_days: float) -> list[tuple[str, float]]:
    """The statuses an order went through with their offsets in seconds from its creation,
    first ("pending", 0). Older orders are finished; recent ones still in progress."""
    steps = [("pending", 0.0)]
    r = rng.random()
    if age_days > 10:
        plan = ("delivered" if r < 0.83 else "cancelled" if r < 0.95 else "returned")
    elif age_days > 3:
        plan = ("delivered" if r < 0.55 else "shipped" if r < 0.85 else "cancelled")
    elif age_days > 1:
        plan = ("shipped" if r < 0.5 else "processing" if r < 0.85 else
                "pending" if r < 0.93 else "cancelled")
    else:
        plan = ("pending" if r < 0.55 else "processing" if r < 0.85 else
                "shipped" if r < 0.95 else "cancelled")
    if plan == "pending":
        return steps
    if plan == "cancelled":
        if rng.random() < 0.6:  # the buyer cancelled before the seller accepted
            return [*steps, ("cancelled", rng.uniform(600, 0.8 * DAY))]
        t = rng.uniform(1800, 0.5 * DAY)
        return [*steps, ("processing", t), ("cancelled", t + rng.uniform(600, DAY))]
    t = rng.uniform(1800, 0.8 * DAY)
    steps.append(("processing", t))
    if plan == "processing":
        return steps
    t += rng.uniform(0.2 * DAY, 1.5 * DAY)
    steps.append(("shipped", t))
    if plan == "shipped":
        return steps
    t += rng.uniform(1 * DAY, 4 * DAY)
    steps.append(("delivered", t))
    if plan == "returned":
        steps.append(("returned", t + rng.uniform(1 * DAY, 6 * DAY)))
    return steps


PAYMENT_OF = {"pending": "unpaid", "processing": "paid", "shipped": "paid",
              "delivered": "paid", "returned": "refunded"}


# --- generate ---------------------------------------------------------------------------------


def _zipf_cum(n: int, exponent: float, rng: random.Random) -> list[float]:
    weights = [1.0 / (i + 1) ** exponent for i in range(n)]
    rng.shuffle(weights)
    return list(itertools.accumulate(weights))


class _Writer:
    """Writes row tuples to one table: COPY on PostgreSQL, executemany on SQLite."""

    def __init__(self, raw, dialect: str):
        self.raw, self.dialect = raw, dialect

    def value(self, value):
        if self.dialect == "sqlite":
            if isinstance(value, datetime):
                return f"{value:%Y-%m-%d %H:%M:%S}.{value.microsecond:06d}"
            if isinstance(value, bool):
                return int(value)
        return value

    def write(self, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        if not rows:
            return
        if self.dialect == "postgresql":
            with self.raw.cursor() as cursor, cursor.copy(
                    f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" * len(columns))
            conv = self.value
            self.raw.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",  # noqa: S608
                ([conv(v) for v in row] for row in rows))


def _catalog(stores: int, products_per_store: int, seed: int) -> None:
    import catalog_gen

    status = catalog_gen.generate(products=stores * products_per_store, stores=stores,
                                  seed=seed, skip_if_present=False)
    if status:
        raise SystemExit(status)


def generate(orders: int, buyers: int, stores: int, products_per_store: int, seed: int,
             skip_if_present: bool) -> int:
    from sqlalchemy import func, insert, select, text, update

    from app.accounts.models import Role, Store, User, user_roles
    from app.accounts.passwords import password_hash
    from app.catalog.models import Product, Variant
    from app.extensions import db
    from app.orders.models import Checkout, Order, OrderEvent, OrderItem

    app = create()
    with app.app_context():
        engine = db.engine
        with engine.connect() as conn:
            present = conn.execute(select(func.count()).select_from(Order.__table__)).scalar()
        if present:
            if skip_if_present and present == orders:
                print(f"orders already generated ({present:,}): skipped")
                return 0
            print(f"this database already holds {present:,} orders (wanted {orders:,}); "
                  "use a fresh one", file=sys.stderr)
            return 1

    started = time.perf_counter()
    _catalog(stores, products_per_store, seed)
    catalog_s = time.perf_counter() - started

    app = create()
    with app.app_context():
        engine = db.engine
        dialect = engine.dialect.name
        rng = random.Random(seed + 1)
        now = datetime.now(UTC).replace(microsecond=0)
        now_ts = now.timestamp()
        hashed = password_hash(PASSWORD)
        t_users, t_stores = User.__table__, Store.__table__
        counts = {"checkouts": 0, "orders": 0, "order_items": 0, "order_events": 0}
        with engine.begin() as conn:
            roles = {r.name: r.id for r in conn.execute(select(Role.__table__))}
            # The stores of catalog_gen: a flat shipping cost each, owners as event actors.
            store_rows = conn.execute(select(t_stores.c.id, t_stores.c.owner_id).join(
                t_users, t_users.c.id == t_stores.c.owner_id).where(
                t_users.c.email.like(f"penjual%@{BENCH_EMAIL_DOMAIN}"))
                .order_by(t_stores.c.id)).all()
            owner_of = {row.id: row.owner_id for row in store_rows}
            shipping_of = {}
            for row in store_rows:
                shipping_of[row.id] = 9_000 + (row.id % 6) * 3_000
                conn.execute(update(Store.__table__).where(Store.__table__.c.id == row.id)
                             .values(shipping_cost=shipping_of[row.id]))
            variants_of: dict[int, list[tuple]] = {sid: [] for sid in owner_of}
            for v in conn.execute(
                    select(Variant.__table__.c.id, Variant.__table__.c.product_id,
                           Variant.__table__.c.store_id, Variant.__table__.c.sku,
                           Variant.__table__.c.options, Variant.__table__.c.price,
                           Product.__table__.c.name)
                    .join(Product.__table__, Product.__table__.c.id
                          == Variant.__table__.c.product_id)
                    .order_by(Variant.__table__.c.id)):
                if v.store_id in variants_of:
                    options = v.options if isinstance(v.options, dict) else json.loads(
                        v.options or "{}")
                    variants_of[v.store_id].append(
                        (v.id, v.product_id, v.name, json.dumps(options, ensure_ascii=False),
                         v.sku, v.price))
            store_ids = [sid for sid in owner_of if variants_of[sid]]

            # Buyers: customers with a fixed hash.
            uid0 = (conn.execute(select(func.max(t_users.c.id))).scalar() or 0) + 1
            buyer_ids, addresses, rows, links = [], {}, [], []
            for n in range(buyers):
                uid = uid0 + n
                name = f"{rng.choice(PEOPLE)} {rng.choice(SURNAMES)}"
                city, province, postal = rng.choice(CITIES)
                rows.append({"id": uid, "email": f"pembeli{n + 1:05d}@{BENCH_EMAIL_DOMAIN}",
                             "password_hash": hashed, "name": name, "phone": "",
                             "locale": "id", "active": True,
                             "created_at": now - timedelta(days=rng.uniform(735, 1500)),
                             "last_login_at": None})
                if "customer" in roles:
                    links.append({"user_id": uid, "role_id": roles["customer"]})
                addresses[uid] = json.dumps({
                    "recipient": name, "phone": f"08{rng.randrange(10**9, 10**10)}",
                    "street": f"{rng.choice(STREETS)} No. {rng.randint(1, 200)}",
                    "city": city, "province": province,
                    "postal_code": f"{postal}{rng.randrange(100, 999)}"})
                buyer_ids.append(uid)
            for start in range(0, len(rows), 5000):
                conn.execute(insert(t_users), rows[start:start + 5000])
            for start in range(0, len(links), 5000):
                conn.execute(insert(user_roles), links[start:start + 5000])
            print(f"  {buyers:,} buyers ({time.perf_counter() - started:.0f} s)", flush=True)

            def next_id(table) -> int:
                return (conn.execute(select(func.max(table.c.id))).scalar() or 0) + 1

            checkout_id = next_id(Checkout.__table__) - 1
            order_id = next_id(Order.__table__) - 1
            item_id = next_id(OrderItem.__table__) - 1
            event_id = next_id(OrderEvent.__table__) - 1

            raw = conn.connection.driver_connection
            writer = _Writer(raw, dialect)
            buyer_cum = _zipf_cum(len(buyer_ids), 0.5, rng)
            store_cum = _zipf_cum(len(store_ids), 0.8, rng)
            buyer_total, store_total = buyer_cum[-1], store_cum[-1]
            r = rng.random
            # Orders per checkout first (1: 85 %, 2: 12 %, 3: 3 %), exactly N in all; then
            # as many sorted times over the two years.
            sizes: list[int] = []
            left = orders
            while left > 0:
                k = min(left, 1 if r() < 0.85 else 2 if r() < 0.8 else 3)
                sizes.append(k)
                left -= k
            times = sorted(now_ts - rng.uniform(0, 730 * DAY) for _ in sizes)
            checkouts_rows, order_rows, item_rows, event_rows = [], [], [], []

            def flush() -> None:
                writer.write("checkouts", CHECKOUT_COLUMNS, checkouts_rows)
                writer.write("orders", ORDER_COLUMNS, order_rows)
                writer.write("order_items", ITEM_COLUMNS, item_rows)
                writer.write("order_events", EVENT_COLUMNS, event_rows)
                counts["checkouts"] += len(checkouts_rows)
                counts["orders"] += len(order_rows)
                counts["order_items"] += len(item_rows)
                counts["order_events"] += len(event_rows)
                for bucket in (checkouts_rows, order_rows, item_rows, event_rows):
                    bucket.clear()

            made = 0
            for index, (ts, k) in enumerate(zip(times, sizes, strict=True)):
                buyer = buyer_ids[min(bisect.bisect(buyer_cum, r() * buyer_total),
                                      len(buyer_ids) - 1)]
                chosen: list[int] = []
                while len(chosen) < k:
                    sid = store_ids[min(bisect.bisect(store_cum, r() * store_total),
                                        len(store_ids) - 1)]
                    if sid not in chosen:
                        chosen.append(sid)
                created = datetime.fromtimestamp(ts, UTC)
                stamp = f"{created + WIB:%Y%m%d}"
                age_days = (now_ts - ts) / DAY
                checkout_id += 1
                subtotal_all = shipping_all = 0
                paid_any = False
                for sid in chosen:
                    order_id += 1
                    made += 1
                    pool = variants_of[sid]
                    lines = 1 if r() < 0.6 else 2 if r() < 0.7 else 3
                    subtotal = units = 0
                    for variant in rng.sample(pool, min(lines, len(pool))):
                        item_id += 1
                        qty = 1 if r() < 0.7 else 2 if r() < 0.7 else 3
                        vid, pid, pname, options, sku, price = variant
                        item_rows.append((item_id, order_id, vid, pid, pname, options, sku,
                                          price, qty, price * qty))
                        subtotal += price * qty
                        units += qty
                    steps = _life(rng, age_days)
                    status = steps[-1][0]
                    at = {name: datetime.fromtimestamp(min(ts + offset, now_ts), UTC)
                          for name, offset in steps[1:]}
                    if status == "cancelled":
                        payment = "refunded" if "processing" in at else "unpaid"
                    elif status == "pending":
                        payment = "unpaid" if r() < 0.6 else "paid"
                    else:
                        payment = PAYMENT_OF[status]
                    paid_any = paid_any or payment != "unpaid"
                    shipping = shipping_of[sid]
                    owner = owner_of[sid]
                    tracking = (f"JNE{rng.randrange(10**11, 10**12)}"
                                if "shipped" in at else "")
                    order_rows.append((
                        order_id, f"RCK-{stamp}-{order_id:06d}", checkout_id, sid, buyer,
                        status, payment, subtotal, shipping, subtotal + shipping, units,
                        addresses[buyer], NOTES[int(r() * len(NOTES))], tracking, created,
                        at.get(status, created), at.get("processing"), at.get("shipped"),
                        at.get("delivered"), at.get("cancelled"), at.get("returned")))
                    previous = None
                    for name, _offset in steps:
                        event_id += 1
                        when = at.get(name, created)
                        actor = (buyer if name in ("pending", "returned")
                                 or (name == "cancelled" and previous == "pending")
                                 else None if name == "delivered" else owner)
                        event_rows.append((event_id, order_id, previous, name, actor, "",
                                           when))
                        previous = name
                    subtotal_all += subtotal
                    shipping_all += shipping
                checkouts_rows.append((
                    checkout_id, f"CO-{stamp}-{checkout_id:06d}", buyer,
                    f"{rng.getrandbits(128):032x}", PAYMENTS[int(r() * len(PAYMENTS))],
                    "paid" if paid_any else "unpaid", subtotal_all, shipping_all,
                    subtotal_all + shipping_all, created))
                if len(checkouts_rows) >= CHUNK:
                    flush()
                    if (index + 1) % (CHUNK * 10) == 0:
                        print(f"  {made:,} orders ({time.perf_counter() - started:.0f} s)",
                              flush=True)
            flush()
            if dialect == "postgresql":
                for table in (t_users, Checkout.__table__, Order.__table__,
                              OrderItem.__table__, OrderEvent.__table__):
                    conn.execute(select(func.setval(
                        func.pg_get_serial_sequence(table.name, "id"),
                        select(func.max(table.c.id)).scalar_subquery())))
        inserted = time.perf_counter() - started
        with engine.connect() as conn:
            if dialect == "postgresql":
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(
                    text("VACUUM (ANALYZE)"))
            else:
                conn.execute(text("ANALYZE"))
                conn.execute(text("PRAGMA optimize"))
                conn.commit()
        total = time.perf_counter() - started
        sizes = ", ".join(f"{n:,} {name}" for name, n in counts.items())
        print(f"generated {len(store_ids)} stores, {buyers:,} buyers, {sizes} on {dialect} "
              f"in {total:.0f} s (catalog {catalog_s:.0f} s, orders {inserted - catalog_s:.0f} s, "
              f"vacuum/analyze {total - inserted:.0f} s)")
    return 0


# --- users ------------------------------------------------------------------------------------


def pick_users(buyers: int, sellers: int, deep_min: int) -> list[dict]:
    """Accounts to log in as: buyers spread over the order-count distribution, the busiest
    ones for the deep page, and store owners over the store sizes."""
    from sqlalchemy import func, select

    from app.accounts.models import Store, User
    from app.extensions import db
    from app.orders.models import Order

    per_buyer = db.session.execute(
        select(User.email, func.count(Order.id).label("n"))
        .join(Order, Order.buyer_id == User.id).group_by(User.email)
        .order_by(func.count(Order.id).desc(), User.email)).all()
    per_store = db.session.execute(
        select(User.email, func.count(Order.id).label("n"))
        .join(Store, Store.owner_id == User.id).join(Order, Order.store_id == Store.id)
        .group_by(User.email).order_by(func.count(Order.id).desc(), User.email)).all()
    out: list[dict] = []

    def spread(rows, count: int) -> list:
        if len(rows) <= count:
            return list(rows)
        step = (len(rows) - 1) / max(count - 1, 1)
        return [rows[round(i * step)] for i in range(count)]

    deep = [row for row in per_buyer if row.n >= deep_min][:buyers]
    if len(deep) < buyers:  # a small data set: the busiest buyers anyway
        print(f"only {len(deep)} buyers have {deep_min}+ orders: the deep page of the others "
              "may be empty", file=sys.stderr)
        deep = list(per_buyer[:buyers])
    out += [{"kind": "buyer_deep", "email": row.email, "orders": row.n} for row in deep]
    # Ordinary buyers: from the middle of the distribution up (not those with 1 order).
    middle = [row for row in per_buyer if row.n >= 5]
    out += [{"kind": "buyer", "email": row.email, "orders": row.n}
            for row in spread(middle, buyers)]
    out += [{"kind": "seller", "email": row.email, "orders": row.n}
            for row in spread(per_store, sellers)]
    # Stores with a page 20 (at 1M orders: all of them).
    big = [row for row in per_store if row.n >= deep_min] or list(per_store[:sellers])
    out += [{"kind": "seller_deep", "email": row.email, "orders": row.n}
            for row in spread(big, sellers)]
    return out


def users_command(buyers: int, sellers: int, deep_min: int, out: Path | None) -> int:
    app = create()
    with app.app_context():
        rows = pick_users(buyers, sellers, deep_min)
    text = "\n".join(json.dumps(row) for row in rows) + "\n"
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        print(f"{len(rows)} accounts written to {out}")
    else:
        sys.stdout.write(text)
    return 0


def counts_command() -> int:
    from sqlalchemy import func, select

    from app.extensions import db
    from app.orders.models import Checkout, Order, OrderEvent, OrderItem

    app = create()
    with app.app_context():
        for model in (Checkout, Order, OrderItem, OrderEvent):
            n = db.session.scalar(select(func.count()).select_from(model))
            print(f"{model.__tablename__:>14}: {n:,}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="bulk-insert stores, buyers and orders")
    gen.add_argument("--orders", type=int, default=1_000_000)
    gen.add_argument("--buyers", type=int, default=50_000)
    gen.add_argument("--stores", type=int, default=200)
    gen.add_argument("--products-per-store", type=int, default=10)
    gen.add_argument("--seed", type=int, default=2026)
    gen.add_argument("--skip-if-present", action="store_true",
                     help="exit 0 without changes when this many orders exist")
    usr = sub.add_parser("users", help="pick the accounts the load logs in as")
    usr.add_argument("--buyers", type=int, default=12)
    usr.add_argument("--sellers", type=int, default=8)
    usr.add_argument("--deep-min", type=int, default=500,
                     help="orders a buyer needs for the deep-page row")
    usr.add_argument("--out", type=Path)
    sub.add_parser("counts", help="rows per order table")
    args = parser.parse_args(argv)
    if args.command == "generate":
        return generate(args.orders, args.buyers, args.stores, args.products_per_store,
                        args.seed, args.skip_if_present)
    if args.command == "users":
        return users_command(args.buyers, args.sellers, args.deep_min, args.out)
    return counts_command()


if __name__ == "__main__":
    sys.exit(main())
