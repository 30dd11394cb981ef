"""The checkout race of issue #4: 200 buyers press "Bayar" at the same moment for the last
units of two stores' products, through HTTP against a real gunicorn server.

    python bench/checkout_race.py setup [--buyers 200] [--stock 20] [--seed 2026] --plan FILE
    python bench/checkout_race.py race --url http://127.0.0.1:PORT --plan FILE [--json OUT]
                                       [--login-concurrency 8] [--label NAME]

Both run inside the app (`create_app()`) against whatever `DATABASE_URL` names (the race
command needs it for the checks after the race: the same database the server uses).

- `setup` (direct database access through the services, like `bench/catalog_gen.py`): two
  sellers with a store each (`user_register`, flat shipping cost), one product each with a
  single variant of `--stock` units (`product_create`: the stock arrives as one "restock"
  ledger row), `--buyers` customers (`race-buyerNNN@bench.racik.test`, password
  `bench-password-2026`, one argon2 hash for all) each with a default address and a cart
  (`cart_add`) of 1-3 units of product A, of product B, or of both (a third each,
  deterministic for the seed). Writes the plan (accounts and their carts) to FILE.
- `race`: one thread per buyer. First, at most `--login-concurrency` at a time, each logs
  in (GET /masuk for the CSRF token, POST /masuk) and loads GET /checkout (CSRF token,
  idempotency key, the checked address and payment method). Then all wait at a barrier and
  POST /checkout at once. Printed: successes (303 to /checkout/<reference>), clean
  refusals (422; split into "Stok tidak cukup" = lost the race at the stock UPDATE and
  "tidak dapat dibeli" = the cart already showed the line short), other answers and 5xx
  (must be 0); checkouts per second; the time to sell out (first request sent to the last
  successful response, i.e. the last unit sold); p50/p90/p99/max latency of the POSTs.
  Then the database is checked: units sold <= stock; the stock never went below 0 (final
  stock and every ledger row's `stock_after`); the sale ledger rows sum to the stock change
  and to the units in order items; `stock_total`/`sold_count` caches; one checkout per
  successful buyer and as many orders as stores in its cart; refused buyers' carts intact,
  successful buyers' carts empty. Exit 1 when a check fails or any answer was a 5xx.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import sys
import threading
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from load_stats import pct

EMAIL_DOMAIN = "bench.racik.test"
PASSWORD = "bench-password-2026"  # noqa: S105 - the bench accounts' password

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_KEY = re.compile(r'name="idempotency_key"[^>]*value="([^"]*)"')
_RADIO = re.compile(r'<input type="radio" name="(address_id|payment_method)" value="([^"]*)"'
                    r'\s*(checked)?')


def create():
    if not os.environ.get("DATABASE_URL"):
        raise SystemExit("set DATABASE_URL (this tool never uses the default database)")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    from app import create_app

    return create_app()


# --- setup ------------------------------------------------------------------------------------


def setup(buyers: int, stock: int, seed: int, plan_path: Path) -> int:
    from sqlalchemy import func, select

    from app.accounts.models import Address, Role, RoleName, User
    from app.accounts.passwords import password_hash
    from app.accounts.services import StoreDetails, user_register
    from app.catalog.models import Category
    from app.catalog.services import ProductData, category_create, product_create
    from app.extensions import db
    from app.orders.cart import cart_add

    rng = random.Random(seed)
    app = create()
    with app.app_context():
        taken = db.session.scalar(select(func.count(User.id)).where(
            User.email.like(f"race-%@{EMAIL_DOMAIN}")))
        if taken:
            print("this database already holds race accounts; use a fresh one", file=sys.stderr)
            return 1
        started = time.perf_counter()
        category = db.session.scalars(select(Category).limit(1)).first() \
            or category_create(name="Perawatan Wajah", name_en="Skincare", parent_id=None)
        variants = []
        for n, (store_name, city, product, price) in enumerate([
                ("Toko Glow Bandung", "Bandung", "Serum Vitamin C 20% Brightening", 89_000),
                ("Rumah Herbal Solo", "Solo", "Jamu Kunyit Asam Botol 250 ml", 25_000)]):
            seller = user_register(name=f"Penjual Race {n + 1}",
                                   email=f"race-seller{n + 1}@{EMAIL_DOMAIN}",
                                   password=PASSWORD,
                                   store=StoreDetails(name=store_name, location=city))
            seller.store.shipping_cost = 10_000 + 5_000 * n
            item = product_create(store=seller.store, data=ProductData(
                name=product, description=f"{product} untuk uji balapan checkout.",
                category_id=category.id, price=price, initial_stock=stock), actor=seller)
            variants.append(item.variants[0])
        customer = db.session.scalars(select(Role).where(Role.name == RoleName.CUSTOMER)).one()
        hashed = password_hash(PASSWORD)
        plan: dict = {"stock": stock, "seed": seed,
                      "variants": [{"id": v.id, "product_id": v.product_id,
                                    "store_id": v.store_id} for v in variants],
                      "buyers": []}
        for n in range(buyers):
            user = User(name=f"Pembeli Race {n + 1}", email=f"race-buyer{n + 1:03d}@{EMAIL_DOMAIN}",
                        password_hash=hashed, roles=[customer])
            db.session.add(user)
            db.session.flush()
            db.session.add(Address(user_id=user.id, label="Rumah", recipient=user.name,
                                   phone="081234567890", street=f"Jl. Merdeka No. {n + 1}",
                                   city="Bandung", province="Jawa Barat", postal_code="40111",
                                   is_default=True))
            pick = rng.randrange(3)  # A, B, or both
            chosen = [variants[0]] if pick == 0 else [variants[1]] if pick == 1 else variants
            lines = []
            for variant in chosen:
                quantity = rng.randint(1, 3)
                cart_add(user=user, variant_id=variant.id, quantity=quantity)
                lines.append({"variant_id": variant.id, "store_id": variant.store_id,
                              "quantity": quantity})
            plan["buyers"].append({"email": user.email, "user_id": user.id, "lines": lines})
        db.session.commit()
        wanted = sum(line["quantity"] for b in plan["buyers"] for line in b["lines"])
        plan_path.parent.mkdir(parents=True, exist_ok=True)
        plan_path.write_text(json.dumps(plan, indent=1) + "\n")
        print(f"race set up on {db.engine.dialect.name}: 2 stores x 1 variant of {stock} units "
              f"({2 * stock} in all), {buyers} buyers wanting {wanted} units "
              f"({time.perf_counter() - started:.1f} s)")
    return 0


# --- HTTP client ------------------------------------------------------------------------------


class Browser:
    """One buyer's cookie jar over plain http.client (gunicorn's sync workers close every
    connection, so each request opens its own)."""

    def __init__(self, base: str, timeout: float = 300.0):
        parts = urlsplit(base)
        self.host, self.port = parts.hostname, parts.port or 80
        self.timeout = timeout
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None
                ) -> tuple[int, dict[str, str], str]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        headers = {"User-Agent": "racik-bench-checkout-race"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
            for raw in response.headers.get_all("Set-Cookie") or []:
                jar = SimpleCookie()
                jar.load(raw)
                for name, morsel in jar.items():
                    if morsel["max-age"] == "0" or morsel.value == "" or \
                            "1970" in (morsel["expires"] or ""):
                        self.cookies.pop(name, None)
                    else:
                        self.cookies[name] = morsel.value
            return response.status, {k.lower(): v for k, v in response.getheaders()}, text
        finally:
            conn.close()


def _csrf(html: str) -> str:
    match = _CSRF.search(html)
    if not match:
        raise RuntimeError("no csrf_token in the page")
    return match.group(1)


class Buyer(threading.Thread):
    def __init__(self, base: str, email: str, login_gate: threading.Semaphore,
                 barrier: threading.Barrier):
        super().__init__(daemon=True)
        self.browser = Browser(base)
        self.email = email
        self.login_gate = login_gate
        self.barrier = barrier
        self.form: dict[str, str] = {}
        self.error = ""
        self.status = 0
        self.location = ""
        self.body = ""
        self.sent = self.done = 0.0

    def prepare(self) -> None:
        b = self.browser
        status, _, html = b.request("GET", "/masuk")
        if status != 200:
            raise RuntimeError(f"GET /masuk answered {status}")
        status, _, _ = b.request("POST", "/masuk", {
            "csrf_token": _csrf(html), "email": self.email, "password": PASSWORD,
            "next": "/checkout"})
        if status not in (302, 303):
            raise RuntimeError(f"login answered {status}")
        status, _, html = b.request("GET", "/checkout")
        if status != 200:
            raise RuntimeError(f"GET /checkout answered {status}")
        key = _KEY.search(html)
        if key is None:
            raise RuntimeError("no idempotency_key on /checkout (empty cart?)")
        form = {"csrf_token": _csrf(html), "idempotency_key": key.group(1)}
        radios = _RADIO.findall(html)
        for field in ("address_id", "payment_method"):
            values = [(value, checked) for name, value, checked in radios if name == field]
            picked = [value for value, checked in values if checked] or [v for v, _ in values]
            if picked:
                form[field] = picked[0]  # the checked one (the default address)
        if "address_id" not in form or "payment_method" not in form:
            raise RuntimeError("no address_id / payment_method radio on /checkout")
        self.form = form

    def run(self) -> None:
        try:
            with self.login_gate:
                self.prepare()
        except Exception as error:  # reported per buyer
            self.error = f"prepare: {error}"
        try:
            self.barrier.wait()
        except threading.BrokenBarrierError:
            return
        if self.error:
            return
        self.sent = time.perf_counter()
        try:
            self.status, headers, self.body = self.browser.request("POST", "/checkout",
                                                                   self.form)
            self.location = headers.get("location", "")
        except Exception as error:
            self.error = f"post: {error}"
        self.done = time.perf_counter()


def race(url: str, plan_path: Path, login_concurrency: int, json_out: Path | None,
         label: str) -> int:
    plan = json.loads(plan_path.read_text())
    emails = [b["email"] for b in plan["buyers"]]
    gate = threading.Semaphore(login_concurrency)
    barrier = threading.Barrier(len(emails) + 1)
    buyers = [Buyer(url, email, gate, barrier) for email in emails]
    began = time.perf_counter()
    for buyer in buyers:
        buyer.start()
    barrier.wait()  # everyone logged in and holds a checkout form
    t0 = time.perf_counter()
    prepared_s = t0 - began
    for buyer in buyers:
        buyer.join()

    failed_prep = [b for b in buyers if b.error.startswith("prepare")]
    answered = [b for b in buyers if b.status]
    success = [b for b in answered if b.status == 303 and "/checkout/" in b.location]
    refused = [b for b in answered if b.status == 422]
    lost_race = [b for b in refused if "Stok tidak cukup" in b.body]
    saw_short = [b for b in refused if b not in lost_race and "tidak dapat dibeli" in b.body]
    other_422 = [b for b in refused if b not in lost_race and b not in saw_short]
    server_errors = [b for b in answered if b.status >= 500]
    other = [b for b in answered if b not in success and b not in refused
             and b not in server_errors]
    transport = [b for b in buyers if b.error.startswith("post")]
    latencies = [(b.done - b.sent) * 1000 for b in answered]
    sold_out_s = max((b.done for b in success), default=t0) - t0
    all_done_s = max((b.done for b in answered), default=t0) - t0
    first_sent_s = min((b.sent for b in answered), default=t0) - t0
    result = {
        "label": label, "url": url, "buyers": len(buyers), "stock_per_variant": plan["stock"],
        "prepare_s": round(prepared_s, 2),
        "answered": len(answered), "success": len(success), "refused": len(refused),
        "refused_lost_race": len(lost_race), "refused_cart_short": len(saw_short),
        "refused_other": len(other_422), "server_errors": len(server_errors),
        "other_status": sorted({b.status for b in other}), "other": len(other),
        "transport_errors": len(transport), "prepare_errors": len(failed_prep),
        "time_to_sell_out_s": round(sold_out_s, 3), "all_answered_s": round(all_done_s, 3),
        "first_request_spread_ms": round(first_sent_s * 1000, 1),
        "checkouts_per_s": round(len(success) / sold_out_s, 1) if sold_out_s > 0 else None,
        "requests_per_s": round(len(answered) / all_done_s, 1) if all_done_s > 0 else None,
        "latency_ms": {"p50": round(pct(latencies, 50), 1), "p90": round(pct(latencies, 90), 1),
                       "p99": round(pct(latencies, 99), 1),
                       "max": round(max(latencies, default=float("nan")), 1)},
        "success_latency_ms": {
            "p50": round(pct([(b.done - b.sent) * 1000 for b in success], 50), 1),
            "p99": round(pct([(b.done - b.sent) * 1000 for b in success], 99), 1)},
    }
    print(f"==> checkout race ({label}): {len(buyers)} buyers, {plan['stock']} units on each of "
          f"2 variants; logins + checkout pages took {prepared_s:.1f} s")
    print(f"  answers: {len(success)} placed (303), {len(refused)} refused (422: "
          f"{len(lost_race)} 'Stok tidak cukup', {len(saw_short)} cart already short, "
          f"{len(other_422)} other), {len(server_errors)} 5xx, {len(other)} other "
          f"{result['other_status'] or ''}, {len(transport)} transport errors, "
          f"{len(failed_prep)} could not log in/load the page")
    for b in (failed_prep + transport)[:5]:
        print(f"    {b.email}: {b.error}")
    for b in (server_errors + other + other_422)[:5]:
        snippet = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", b.body))[:200]
        print(f"    {b.email}: {b.status} {b.location} {snippet}")
    print(f"  time to sell out (first POST sent -> last 303 received): {sold_out_s:.2f} s; "
          f"all answered after {all_done_s:.2f} s; {result['checkouts_per_s']} checkouts/s, "
          f"{result['requests_per_s']} POSTs/s")
    lat = result["latency_ms"]
    print(f"  POST /checkout latency: p50 {lat['p50']} ms, p90 {lat['p90']} ms, "
          f"p99 {lat['p99']} ms, max {lat['max']} ms")

    checks = verify(plan, {b.email: b for b in success}, {b.email for b in refused})
    result["checks"] = checks
    failed = [c for c in checks if not c["ok"]]
    for check in checks:
        print(f"  {'ok  ' if check['ok'] else 'FAIL'} {check['what']}: {check['detail']}")
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result, indent=1) + "\n")
    bad = bool(failed or server_errors or transport or failed_prep or other)
    if bad:
        print("  RESULT: FAIL", file=sys.stderr)
    return 1 if bad else 0


# --- checks -----------------------------------------------------------------------------------


def verify(plan: dict, success: dict, refused: set[str]) -> list[dict]:
    """The database after the race: every invariant as {what, ok, detail}."""
    from sqlalchemy import func, select

    from app.accounts.models import User
    from app.catalog.models import Product, Variant
    from app.extensions import db
    from app.inventory.models import StockMovement, StockReason
    from app.orders.models import CartItem, Checkout, Order, OrderItem

    checks: list[dict] = []

    def check(what: str, ok: bool, detail: str) -> None:
        checks.append({"what": what, "ok": bool(ok), "detail": detail})

    app = create()
    with app.app_context():
        stock = plan["stock"]
        for v in plan["variants"]:
            vid = v["id"]
            variant = db.session.get(Variant, vid)
            product = db.session.get(Product, v["product_id"])
            moves = db.session.execute(select(StockMovement.reason, StockMovement.delta,
                                              StockMovement.stock_after)
                                       .where(StockMovement.variant_id == vid)
                                       .order_by(StockMovement.id)).all()
            sold_ledger = -sum(m.delta for m in moves if m.reason == StockReason.SALE)
            restocked = sum(m.delta for m in moves if m.reason != StockReason.SALE)
            in_items = db.session.scalar(select(func.coalesce(func.sum(OrderItem.quantity), 0))
                                         .where(OrderItem.variant_id == vid))
            name = f"variant {vid}"
            check(f"{name}: units sold <= stock", 0 <= sold_ledger <= stock,
                  f"sold {sold_ledger} of {stock}, {variant.stock} left")
            check(f"{name}: stock never below 0",
                  variant.stock >= 0 and all(m.stock_after >= 0 for m in moves),
                  f"final {variant.stock}, lowest stock_after "
                  f"{min((m.stock_after for m in moves), default=None)}")
            check(f"{name}: sale ledger = stock change",
                  restocked - sold_ledger == variant.stock and restocked == stock,
                  f"restock {restocked} - sales {sold_ledger} = {restocked - sold_ledger}, "
                  f"stock {variant.stock}")
            check(f"{name}: sale ledger = units in orders", sold_ledger == in_items,
                  f"ledger {sold_ledger}, order items {in_items}")
            check(f"{name}: product caches", product.stock_total == variant.stock
                  and product.sold_count == sold_ledger,
                  f"stock_total {product.stock_total}, sold_count {product.sold_count}")
        emails = [b["email"] for b in plan["buyers"]]
        users = dict(db.session.execute(select(User.email, User.id)
                                        .where(User.email.in_(emails))).all())
        checkouts = db.session.execute(select(Checkout.buyer_id, Checkout.reference)).all()
        by_buyer: dict[int, list[str]] = {}
        for buyer_id, reference in checkouts:
            by_buyer.setdefault(buyer_id, []).append(reference)
        expected_orders = sum(len({line["store_id"] for line in b["lines"]})
                              for b in plan["buyers"] if b["email"] in success)
        n_orders = db.session.scalar(select(func.count(Order.id)))
        check("one checkout per successful buyer, none for the others",
              len(checkouts) == len(success)
              and all(len(by_buyer.get(users[e], [])) == 1 for e in success),
              f"{len(checkouts)} checkouts, {len(success)} successes")
        check("each 303 points at that buyer's checkout",
              all(by_buyer.get(users[e], [""])[0] and
                  s.location.rstrip("/").endswith("/checkout/" + by_buyer[users[e]][0])
                  for e, s in success.items()),
              "Location headers match the references")
        check("orders = stores in the successful carts", n_orders == expected_orders,
              f"{n_orders} orders, expected {expected_orders}")
        lines_left = dict(db.session.execute(select(CartItem.user_id, func.count(CartItem.id))
                                             .group_by(CartItem.user_id)).all())
        intact = all(lines_left.get(users[b["email"]], 0) == len(b["lines"])
                     for b in plan["buyers"] if b["email"] in refused)
        emptied = all(users[e] not in lines_left for e in success)
        check("refused carts intact, successful carts emptied", intact and emptied,
              f"{len(refused)} refused, {len(success)} emptied")
        units = sum(line["quantity"] for b in plan["buyers"] if b["email"] in success
                    for line in b["lines"])
        sold = db.session.scalar(select(func.coalesce(func.sum(OrderItem.quantity), 0)))
        check("units in orders = the successful carts", units == sold,
              f"{sold} units in orders, {units} in the successful carts")
        db.session.rollback()
    return checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    st = sub.add_parser("setup", help="stores, products, buyers with addresses and carts")
    st.add_argument("--buyers", type=int, default=200)
    st.add_argument("--stock", type=int, default=20, help="units of each of the 2 variants")
    st.add_argument("--seed", type=int, default=2026)
    st.add_argument("--plan", type=Path, required=True)
    rc = sub.add_parser("race", help="log everyone in, then POST /checkout at once")
    rc.add_argument("--url", required=True)
    rc.add_argument("--plan", type=Path, required=True)
    rc.add_argument("--login-concurrency", type=int, default=8)
    rc.add_argument("--json", type=Path)
    rc.add_argument("--label", default="")
    args = parser.parse_args(argv)
    if args.command == "setup":
        return setup(args.buyers, args.stock, args.seed, args.plan)
    return race(args.url.rstrip("/"), args.plan, args.login_concurrency, args.json,
                args.label or os.environ.get("DATABASE_URL", "").split(":")[0])


if __name__ == "__main__":
    sys.exit(main())
