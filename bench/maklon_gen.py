"""Maklon production data for the maklon benchmark (issue #6): signed orders in every
production stage, as the services leave them.

    python bench/maklon_gen.py generate [--orders 500] [--done 100] [--companies 50]
                                        [--materials 60] [--lines 20] [--seed 2026]
                                        --plan FILE

Runs inside the app (`create_app()`) against whatever `DATABASE_URL` names (it refuses to
run without one), into a database made by `flask db upgrade`. Deterministic for a seed.

Writes, with SQLAlchemy Core `insert()` executemany and explicit ids, in one transaction:

- 3 production staff (roles staff + production_manager; `staf01@bench.racik.test`...) and
  one admin (who approved the quotes), all with two-factor login on (`TOTP_SECRET`);
  `--companies` client companies (PT ..., NPWP, address), each with one client user
  `klien001@bench.racik.test`... (role client; every bench account has the password
  `bench-password-2026`, one argon2 hash);
- `--materials` raw materials (local and imported, unit g/ml, unit cost, reorder level),
  each with its first "restock" ledger row;
- one formula per company, `--lines` lines, the composition encrypted exactly as
  `formula_save` does it (`app.maklon.formula_crypto.encrypt_lines(formula id, lines)`,
  amounts quantized to 4 decimals);
- `--orders` *active* maklon orders (status signed) spread over the six stages before
  "Selesai", plus `--done` completed ones (stage done): per order the request (stored
  formula, quantity 1,000-10,000, promised date 45-120 days after signing, some late), its
  quote v1 (accepted; priced by `app.maklon.pricing.price` from the formula's material
  costs, inputs and breakdown stored as `quote_create` stores them), the contract
  signature row (spec SHA-256 signature and a real Ed25519 seal over the evidence; the PDF
  itself is not written), the three milestones (paid as far as the stage requires, some
  paid ahead), the stage history (one row per stage entered, QC results, ~15 % of the
  orders past QC went through one QC failure and back), the material reservations
  (reserved at material purchase, consumed from formulation on) with the raw materials'
  `reserved` / `on_hand` and one "consume" ledger row per consumed line.

Not written: audit rows, emails, payments and invoices of the paid milestones (no page of
the benchmark reads them). Ends with `VACUUM (ANALYZE)` (PostgreSQL, sequences moved past
the ids) or `ANALYZE` (SQLite).

The plan FILE (JSON) lists the staff and client accounts, and per client its orders
(number, stage, status) and its formula id: what `bench/maklon_load.py` logs in as and asks
for.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import math
import os
import random
import secrets
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

EMAIL_DOMAIN = "bench.racik.test"
PASSWORD = "bench-password-2026"  # noqa: S105 - the bench accounts' password
# Staff must use two-factor login (TOTP_REQUIRED_ROLES): the bench staff share this secret
# (stored encrypted with the app's SECRET_KEY, as enrolment stores it); the load script
# answers the second login step with its current code.
TOTP_SECRET = "JBSWY3DPEHPK3PXPBENCHMAKLON234ZZ"  # noqa: S105 - bench accounts only
BATCH = 2_000

BRANDS = ["Ayu", "Sekar", "Lumina", "Kirana", "Nusa", "Mentari", "Citra", "Puspa", "Asri",
          "Bening", "Cahaya", "Dara", "Elok", "Gita", "Harum", "Indah", "Jelita", "Kasih",
          "Laksmi", "Melati", "Nirmala", "Ratu", "Sari", "Tirta", "Wangi", "Zahra", "Arunika",
          "Bestari", "Candramawa", "Dewata"]
SUFFIXES = ["Beauty Indonesia", "Kosmetika", "Natural Care", "Skin Lab", "Cantik Nusantara"]
CITIES = ["Jakarta Selatan", "Bandung", "Surabaya", "Yogyakarta", "Semarang", "Medan",
          "Makassar", "Denpasar", "Malang", "Tangerang"]
PEOPLE = ["Dewi Lestari", "Budi Santoso", "Sari Wijaya", "Andi Pratama", "Rina Hidayat",
          "Agus Saputra", "Putri Kusuma", "Eko Nugroho", "Wulan Rahayu", "Rudi Siregar"]
STAFF_NAMES = ["Siti Aminah", "Joko Susilo", "Yanti Marlina"]
# name, INCI, unit, origin, Rupiah per base unit
MATERIALS = [
    ("Air demineral", "Aqua", "ml", "local", "0.02"),
    ("Niacinamide", "Niacinamide", "g", "import", "1.85"),
    ("Gliserin nabati", "Glycerin", "g", "local", "0.045"),
    ("Asam hialuronat", "Sodium Hyaluronate", "g", "import", "28"),
    ("Panthenol", "Panthenol", "g", "import", "0.95"),
    ("Ekstrak pegagan", "Centella Asiatica Extract", "ml", "local", "0.6"),
    ("Gel lidah buaya", "Aloe Barbadensis Leaf Juice", "ml", "local", "0.08"),
    ("Phenoxyethanol", "Phenoxyethanol", "g", "import", "0.7"),
    ("Xanthan gum", "Xanthan Gum", "g", "import", "0.35"),
    ("Minyak kelapa murni", "Cocos Nucifera Oil", "ml", "local", "0.09"),
    ("Ekstrak kunyit", "Curcuma Longa Root Extract", "ml", "local", "0.4"),
    ("Pewangi mawar", "Parfum", "ml", "import", "2.1"),
    ("Butylene glycol", "Butylene Glycol", "g", "import", "0.12"),
    ("Propanediol", "Propanediol", "g", "import", "0.15"),
    ("Cetearyl alcohol", "Cetearyl Alcohol", "g", "import", "0.09"),
    ("Glyceryl stearate", "Glyceryl Stearate", "g", "import", "0.11"),
    ("Squalane", "Squalane", "ml", "import", "0.9"),
    ("Shea butter", "Butyrospermum Parkii Butter", "g", "import", "0.16"),
    ("Minyak jojoba", "Simmondsia Chinensis Seed Oil", "ml", "import", "0.55"),
    ("Vitamin E", "Tocopherol", "g", "import", "0.8"),
    ("Vitamin C stabil", "Ascorbyl Glucoside", "g", "import", "3.2"),
    ("Alpha arbutin", "Alpha-Arbutin", "g", "import", "6.5"),
    ("Ceramide NP", "Ceramide NP", "g", "import", "45"),
    ("Allantoin", "Allantoin", "g", "import", "0.6"),
    ("Ekstrak teh hijau", "Camellia Sinensis Leaf Extract", "ml", "local", "0.35"),
    ("Ekstrak beras", "Oryza Sativa Extract", "ml", "local", "0.3"),
    ("Ekstrak temulawak", "Curcuma Xanthorrhiza Root Extract", "ml", "local", "0.45"),
    ("Ekstrak kelor", "Moringa Oleifera Leaf Extract", "ml", "local", "0.5"),
    ("Minyak sereh", "Cymbopogon Nardus Oil", "ml", "local", "0.7"),
    ("Minyak nilam", "Pogostemon Cablin Oil", "ml", "local", "1.4"),
    ("Ekstrak bengkoang", "Pachyrhizus Erosus Root Extract", "ml", "local", "0.38"),
    ("Ekstrak mangga", "Mangifera Indica Extract", "ml", "local", "0.33"),
    ("Carbomer", "Carbomer", "g", "import", "0.75"),
    ("Triethanolamine", "Triethanolamine", "g", "import", "0.2"),
    ("Sodium benzoate", "Sodium Benzoate", "g", "import", "0.1"),
    ("Potassium sorbate", "Potassium Sorbate", "g", "import", "0.14"),
    ("Disodium EDTA", "Disodium EDTA", "g", "import", "0.18"),
    ("Asam sitrat", "Citric Acid", "g", "local", "0.05"),
    ("Sodium lauroyl sarcosinate", "Sodium Lauroyl Sarcosinate", "g", "import", "0.4"),
    ("Cocamidopropyl betaine", "Cocamidopropyl Betaine", "g", "import", "0.13"),
    ("Decyl glucoside", "Decyl Glucoside", "g", "import", "0.22"),
    ("Titanium dioksida", "Titanium Dioxide", "g", "import", "0.65"),
    ("Zinc oksida", "Zinc Oxide", "g", "import", "0.5"),
    ("Mika", "Mica", "g", "import", "0.3"),
    ("Iron oxide merah", "CI 77491", "g", "import", "0.9"),
    ("Kaolin", "Kaolin", "g", "local", "0.06"),
    ("Bentonit", "Bentonite", "g", "local", "0.05"),
    ("Arang bambu", "Charcoal Powder", "g", "local", "0.2"),
    ("Madu hutan", "Mel", "g", "local", "0.25"),
    ("Minyak zaitun", "Olea Europaea Fruit Oil", "ml", "import", "0.18"),
    ("Minyak argan", "Argania Spinosa Kernel Oil", "ml", "import", "1.9"),
    ("Salicylic acid", "Salicylic Acid", "g", "import", "0.95"),
    ("Peptida tembaga", "Copper Tripeptide-1", "g", "import", "120"),
    ("Retinol 1%", "Retinol", "g", "import", "18"),
    ("Bakuchiol", "Bakuchiol", "g", "import", "25"),
    ("Kolagen laut", "Hydrolyzed Collagen", "g", "import", "2.4"),
    ("Ekstrak delima", "Punica Granatum Extract", "ml", "import", "0.85"),
    ("Pewangi melati", "Parfum (Jasmine)", "ml", "local", "1.6"),
    ("Pewangi vanila", "Parfum (Vanilla)", "ml", "import", "1.8"),
    ("Kalsium karbonat", "Calcium Carbonate", "g", "local", "0.03"),
]
PRODUCTS = [("skincare", "Serum Niacinamide 10%"), ("skincare", "Toner Pegagan"),
            ("skincare", "Krim Malam Retinol"), ("skincare", "Sunscreen SPF 50"),
            ("body_care", "Body Lotion Bengkoang"), ("body_care", "Body Scrub Kopi"),
            ("hair_care", "Sampo Lidah Buaya"), ("hair_care", "Hair Tonic Kemiri"),
            ("decorative", "Lip Cream Matte"), ("decorative", "Cushion Foundation")]
PACKAGING = ["bottle", "jar", "tube", "airless", "pouch"]
QUANTITIES = [1_000, 1_500, 2_000, 3_000, 5_000, 5_000, 10_000]
# Where the active orders are (stage, weight): the board's six working columns.
ACTIVE_STAGES = [("concept_approved", 15), ("material_purchase", 20), ("formulation", 20),
                 ("qc", 12), ("packaging", 15), ("shipping_scheduled", 18)]
QC_FAIL_SHARE = 0.15


def create():
    if not os.environ.get("DATABASE_URL"):
        raise SystemExit("set DATABASE_URL (this tool never uses the default database)")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    from app import create_app

    return create_app()


def _insert(conn, table, rows: list[dict]) -> None:
    from sqlalchemy import insert

    for start in range(0, len(rows), BATCH):
        conn.execute(insert(table), rows[start:start + BATCH])


def _path(stage: str, qc_fail: bool) -> list[tuple[str, str]]:
    """The (stage entered, QC result of that move) rows that lead to `stage`."""
    order = ["concept_approved", "material_purchase", "formulation", "qc", "packaging",
             "shipping_scheduled", "done"]
    rows: list[tuple[str, str]] = []
    for name in order[:order.index(stage) + 1]:
        if name == "packaging" and qc_fail:
            rows += [("formulation", "fail"), ("qc", "")]
        rows.append((name, "pass" if name == "packaging" else ""))
    return rows


def generate(*, orders: int, done: int, companies: int, n_materials: int, n_lines: int,
             seed: int, plan_path: Path) -> int:
    from sqlalchemy import func, select, text

    from app.accounts.models import Company, Role, User, user_roles
    from app.accounts.passwords import password_hash
    from app.accounts.totp import secret_encrypt
    from app.core.clock import WIB, utcnow
    from app.extensions import db
    from app.inventory.models import StockMovement
    from app.maklon.contracts import canonical, evidence, seal_key_id, seal_private_key
    from app.maklon.contracts import spec_signature as spec_sig
    from app.maklon.formula_crypto import FormulaLine, encrypt_lines
    from app.maklon.milestones import UNLOCKS, milestone_amounts
    from app.maklon.models import (
        ContractSignature,
        Formula,
        MaklonRequest,
        MaterialReservation,
        MilestonePayment,
        ProductionStage,
        Quote,
        RawMaterial,
    )
    from app.maklon.pricing import PricingInputs, material_costs, price, price_params
    from app.maklon.quotes import DEFAULT_SPLIT

    if n_materials > len(MATERIALS) * 3 or n_lines > n_materials:
        raise SystemExit("--lines must not exceed --materials (at most 180 materials)")
    rng = random.Random(seed)
    app = create()
    started = time.perf_counter()
    with app.app_context():
        engine = db.engine
        dialect = engine.dialect.name
        if db.session.scalar(select(func.count()).select_from(MaklonRequest)):
            raise SystemExit("the database already holds maklon requests: use a fresh one")
        hashed = password_hash(PASSWORD)
        roles = dict(db.session.execute(select(Role.name, Role.id)).all())
        params = price_params()
        key = seal_private_key()
        key_id = seal_key_id(key.public_key())
        now = utcnow()
        today = now.astimezone(WIB).date()
        user_base = (db.session.scalar(select(func.max(User.id))) or 0) + 1
        company_base = (db.session.scalar(select(func.max(Company.id))) or 0) + 1

        users, user_role_rows = [], []
        uid = iter(range(user_base, user_base + 10_000))

        def add_user(email: str, name: str, role_names: tuple[str, ...],
                     company_id: int | None = None) -> int:
            user_id = next(uid)
            staff_role = "staff" in role_names
            users.append({"id": user_id, "email": email, "password_hash": hashed, "name": name,
                          "locale": "id", "active": True, "company_id": company_id,
                          "totp_secret": secret_encrypt(TOTP_SECRET) if staff_role else "",
                          "totp_enabled_at": now - timedelta(days=300) if staff_role else None,
                          "totp_last_step": 0,
                          "created_at": now - timedelta(days=400)})
            user_role_rows.extend({"user_id": user_id, "role_id": roles[r]} for r in role_names)
            return user_id

        staff = [(add_user(f"staf{n + 1:02d}@{EMAIL_DOMAIN}", name,
                           ("staff", "production_manager")), name)
                 for n, name in enumerate(STAFF_NAMES)]
        admin_id = add_user(f"admin@{EMAIL_DOMAIN}", "Admin Produksi", ("staff", "admin"))

        company_rows, clients = [], []
        for n in range(companies):
            company_id = company_base + n
            brand = BRANDS[n % len(BRANDS)]
            if n >= len(BRANDS):
                brand += f" {n // len(BRANDS) + 1}"
            city = CITIES[n % len(CITIES)]
            company_rows.append({
                "id": company_id, "name": f"PT {brand} {SUFFIXES[n % len(SUFFIXES)]}",
                "business_type": "kosmetik", "city": city,
                "npwp": f"0{n % 10}.{rng.randrange(1000):03d}.{rng.randrange(1000):03d}."
                        f"{rng.randrange(10)}-{rng.randrange(1000):03d}.000",
                "address": f"Jl. Industri No. {n + 1}\n{city}", "is_client": True,
                "created_at": now - timedelta(days=400)})
            person = PEOPLE[n % len(PEOPLE)]
            clients.append(add_user(f"klien{n + 1:03d}@{EMAIL_DOMAIN}", f"{person} ({brand})",
                                    ("client",), company_id))

        material_rows = []
        for n in range(n_materials):
            name, inci, unit, origin, cost = MATERIALS[n % len(MATERIALS)]
            if n >= len(MATERIALS):
                name = f"{name} grade {n // len(MATERIALS) + 1}"
            material_rows.append({
                "id": n + 1, "code": f"RM-B{n + 1:03d}", "name": name, "inci_name": inci,
                "unit": unit, "on_hand": 0, "reserved": 0, "origin": origin,
                "unit_cost": Decimal(cost), "active": True,
                "reorder_level": 5_000, "created_at": now - timedelta(days=400)})
        materials = {m["id"]: SimpleNamespace(**m) for m in material_rows}

        # One formula per company: a main solvent line and n_lines - 1 small ones (per unit
        # of 30 ml/g; the order's size scales nothing here, as in formula_save).
        formula_rows, formula_lines = [], {}
        for n in range(companies):
            formula_id = n + 1
            product_type, product = PRODUCTS[n % len(PRODUCTS)]
            ids = rng.sample(range(2, n_materials + 1), n_lines - 1)
            lines = [FormulaLine(1, Decimal(rng.randrange(180_000, 260_000)) / 10_000)]
            lines += [FormulaLine(i, (Decimal(rng.randrange(10, 20_000)) / 10_000)
                                  .quantize(Decimal("0.0001"))) for i in ids]
            lines = [FormulaLine(line.material_id, line.amount.quantize(Decimal("0.0001")))
                     for line in lines]
            composition, formula_key = encrypt_lines(formula_id, lines)
            formula_rows.append({
                "id": formula_id, "company_id": company_base + n,
                "name": f"{product} ({BRANDS[n % len(BRANDS)]})", "product_type": product_type,
                "composition": composition, "key_id": formula_key,
                "created_by_id": clients[n], "created_at": now - timedelta(days=300)})
            formula_lines[formula_id] = lines

        # Orders: companies by Zipf-like weights (a few big brands, a long tail).
        weights = [1 / (r + 1) ** 0.7 for r in range(companies)]
        stages = [s for s, _ in ACTIVE_STAGES]
        stage_weights = [w for _, w in ACTIVE_STAGES]
        plan_stage = [rng.choices(stages, stage_weights)[0] for _ in range(orders)]
        plan_stage += ["done"] * done
        request_rows, quote_rows, signature_rows, milestone_rows = [], [], [], []
        stage_rows, reservation_rows, consume_events = [], [], []
        year = today.year
        stage_id = milestone_id = reservation_id = 0
        per_client: dict[int, list[dict]] = {}
        for n, stage in enumerate(plan_stage):
            request_id = n + 1
            c = rng.choices(range(companies), weights)[0]
            formula_id = c + 1
            lines = formula_lines[formula_id]
            product_type = formula_rows[c]["product_type"]
            quantity = rng.choice(QUANTITIES)
            size = rng.choice([15, 20, 30, 50, 100])
            packaging = rng.choice(PACKAGING)
            unit = "g" if packaging == "jar" else "ml"
            number = f"MK-{year}-{request_id:06d}"
            qc_fail = stage in ("packaging", "shipping_scheduled", "done") and \
                rng.random() < QC_FAIL_SHARE
            path = _path(stage, qc_fail)
            # Signed 3-100 days ago; each step 1-6 days after the previous one, the last
            # one before now (completed orders: signed longer ago).
            age = rng.uniform(60, 200) if stage == "done" else rng.uniform(3, 100)
            signed_at = now - timedelta(days=age)
            steps = sorted(rng.uniform(0.05, 0.95) * age for _ in range(len(path) - 1))
            entered = [signed_at] + [signed_at + timedelta(days=s) for s in steps]
            submitted_at = signed_at - timedelta(days=rng.uniform(3, 20))
            promised = (signed_at + timedelta(days=rng.uniform(45, 120))).astimezone(WIB).date()
            local, imported = material_costs(lines, {line.material_id: materials[line.material_id]
                                                     for line in lines})
            inputs = PricingInputs(product_type=product_type, packaging=packaging, size=size,
                                   quantity=quantity, local_cost_per_unit=local,
                                   import_cost_per_unit=imported, develop_formula=False)
            result = price(inputs, params)
            status = "completed" if stage == "done" else "signed"
            request_rows.append({
                "id": request_id, "number": number, "company_id": company_base + c,
                "client_id": clients[c], "status": status, "product_type": product_type,
                "product_name": f"{PRODUCTS[c % len(PRODUCTS)][1]} {size} {unit}",
                "packaging": packaging, "size": size, "size_unit": unit, "quantity": quantity,
                "formula_choice": "stored", "formula_id": formula_id,
                "desired_date": promised, "notes": "", "estimate": {
                    "inputs": inputs.as_dict(), "result": result.as_dict()},
                "stage": stage, "promised_date": promised,
                "completed_at": entered[-1] if stage == "done" else None,
                "submitted_at": submitted_at, "signed_at": signed_at,
                "created_at": submitted_at - timedelta(days=1), "updated_at": entered[-1]})
            quote_id = request_id
            quote_rows.append({
                "id": quote_id, "request_id": request_id, "version": 1, "status": "accepted",
                "quantity": quantity, "unit_price": result.unit_price, "total": result.total,
                "inputs": {**inputs.as_dict(), "overrides": {
                    "quantity": None, "margin_pct": None, "discount_pct": None}},
                "breakdown": result.as_dict(), "milestone_split": dict(DEFAULT_SPLIT),
                "delivery_date": promised, "valid_until": signed_at.astimezone(WIB).date()
                + timedelta(days=7), "diff": {}, "note": "", "created_by_id": staff[0][0],
                "approved_by_id": admin_id, "approved_at": signed_at - timedelta(days=1),
                "created_at": signed_at - timedelta(days=2)})
            signed_text = signed_at.isoformat(timespec="microseconds")
            pdf_sha = hashlib.sha256(f"bench contract {number}".encode()).hexdigest()
            row = SimpleNamespace(
                request_id=request_id, quote_id=quote_id, client_id=clients[c],
                signed_at=signed_at, signed_at_text=signed_text,
                signature=spec_sig(request_id, clients[c], signed_text),
                verification_code=base64.b32encode(secrets.token_bytes(10)).decode(),
                pdf_key=f"contracts/bench-{number}.pdf", pdf_sha256=pdf_sha,
                ip="203.0.113.7", user_agent="Mozilla/5.0 (bench)", auth_method="password",
                seal_key_id=key_id)
            row.seal = base64.b64encode(key.sign(canonical(evidence(row, result.total)))).decode()
            signature_rows.append({column.name: getattr(row, column.name)
                                   for column in ContractSignature.__table__.columns
                                   if column.name != "id"} | {"id": request_id})
            # Milestones: paid as far as the stage needs, sometimes one ahead.
            reached = [name for name, _ in path]
            amounts = milestone_amounts(result.total, DEFAULT_SPLIT)
            for position, kind in enumerate(("dp", "mid", "final"), start=1):
                unlocks = UNLOCKS[kind]
                paid_at = None
                if unlocks in reached:
                    paid_at = entered[reached.index(unlocks)] - timedelta(hours=rng.uniform(1, 48))
                elif rng.random() < 0.4 and reached[-1] == _before(unlocks):
                    paid_at = entered[-1] + (now - entered[-1]) * rng.random()
                milestone_id += 1
                milestone_rows.append({
                    "id": milestone_id, "request_id": request_id, "kind": kind,
                    "position": position, "percent": DEFAULT_SPLIT[kind],
                    "amount": amounts[kind], "unlocks_stage": unlocks,
                    "status": "paid" if paid_at else "unpaid", "paid_at": paid_at,
                    "created_at": signed_at})
            first_row = stage_id + 1
            for i, (name, qc_result) in enumerate(path):
                stage_id += 1
                staff_id, staff_name = staff[rng.randrange(len(staff))] if i else (None, "")
                stage_rows.append({
                    "id": stage_id, "request_id": request_id, "stage": name,
                    "staff_id": staff_id, "staff_name": staff_name,
                    "note": "Kontrak ditandatangani" if i == 0 else (
                        "Viskositas di bawah spesifikasi" if qc_result == "fail" else ""),
                    "photo_key": "", "qc_result": qc_result, "entered_at": entered[i]})
            if "material_purchase" in reached:
                consumed = "formulation" in reached
                needs: dict[int, int] = {}
                for line in lines:
                    needs[line.material_id] = needs.get(line.material_id, 0) + math.ceil(
                        line.amount * quantity)
                for material_id, qty in sorted(needs.items()):
                    reservation_id += 1
                    reservation_rows.append({
                        "id": reservation_id, "request_id": request_id,
                        "raw_material_id": material_id, "quantity": qty,
                        "status": "consumed" if consumed else "reserved",
                        "created_at": entered[reached.index("material_purchase")],
                        "updated_at": entered[reached.index("formulation")] if consumed
                        else entered[reached.index("material_purchase")]})
                    if consumed:
                        at = reached.index("formulation")
                        consume_events.append((entered[at], material_id, qty, number,
                                               stage_rows[first_row - 1 + at]))
                    else:
                        materials[material_id].reserved += qty
            per_client.setdefault(c, []).append({"number": number, "stage": stage,
                                                 "status": status})

        # The ledger: one restock per material (enough for every batch and a month more),
        # then the consumptions in time order.
        consumed_total: dict[int, int] = {}
        for _, material_id, qty, _, _ in consume_events:
            consumed_total[material_id] = consumed_total.get(material_id, 0) + qty
        movement_rows = []
        movement_base = 0
        for material in materials.values():
            need = consumed_total.get(material.id, 0) + material.reserved
            material.on_hand = need + max(50_000, need // 3)
            movement_base += 1
            movement_rows.append({"id": movement_base, "raw_material_id": material.id,
                                  "delta": material.on_hand, "stock_after": material.on_hand,
                                  "reason": "restock", "reference": "Stok awal",
                                  "user_id": admin_id, "created_at": now - timedelta(days=365)})
        for when, material_id, qty, number, row in sorted(consume_events, key=lambda e: e[0]):
            material = materials[material_id]
            material.on_hand -= qty
            movement_base += 1
            movement_rows.append({"id": movement_base, "raw_material_id": material_id,
                                  "delta": -qty, "stock_after": material.on_hand,
                                  "reason": "consume", "reference": number,
                                  "user_id": row["staff_id"], "created_at": when})
        for row in material_rows:
            row["on_hand"] = materials[row["id"]].on_hand
            row["reserved"] = materials[row["id"]].reserved
            row["updated_at"] = now
            if row["on_hand"] > 2**31 - 1:
                raise SystemExit("on_hand over the ledger's integer range: fewer orders")

        tables = [(Company.__table__, company_rows), (User.__table__, users),
                  (user_roles, user_role_rows), (RawMaterial.__table__, material_rows),
                  (Formula.__table__, formula_rows), (MaklonRequest.__table__, request_rows),
                  (Quote.__table__, quote_rows), (ContractSignature.__table__, signature_rows),
                  (MilestonePayment.__table__, milestone_rows),
                  (ProductionStage.__table__, stage_rows),
                  (MaterialReservation.__table__, reservation_rows),
                  (StockMovement.__table__, movement_rows)]
        db.session.remove()
        with engine.begin() as conn:
            for table, rows in tables:
                _insert(conn, table, rows)
            if dialect == "postgresql":
                for table, _ in tables:
                    if "id" in table.c:
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
                conn.commit()
        total = time.perf_counter() - started
        print(f"generated {orders} active + {done} completed maklon orders of {companies} "
              f"companies on {dialect}: {len(stage_rows):,} stage rows "
              f"({len(stage_rows) / len(request_rows):.1f} per order), "
              f"{len(milestone_rows):,} milestones ({sum(m['status'] == 'paid' for m in milestone_rows):,} paid), "  # noqa: E501
              f"{len(reservation_rows):,} reservations, {len(movement_rows):,} ledger rows, "
              f"{n_materials} materials, {companies} formulas of {n_lines} lines "
              f"in {total:.1f} s (inserts {inserted:.1f} s)")
        counts: dict[str, int] = {}
        for stage in plan_stage:
            counts[stage] = counts.get(stage, 0) + 1
        print("  per stage: " + ", ".join(f"{s} {counts.get(s, 0)}"
                                          for s in [*stages, "done"]))
        plan = {
            "password": PASSWORD, "totp_secret": TOTP_SECRET,
            "staff": [u["email"] for u in users[:len(staff)]],
            "clients": [{"email": users[clients[c] - user_base]["email"],
                         "formula_id": c + 1, "orders": per_client.get(c, [])}
                        for c in range(companies)],
            "orders": orders, "done": done, "stage_rows": len(stage_rows),
            "per_stage": counts,
        }
        plan_path.write_text(json.dumps(plan, indent=1) + "\n")
    return 0


def _before(stage: str) -> str:
    order = ["concept_approved", "material_purchase", "formulation", "qc", "packaging",
             "shipping_scheduled", "done"]
    return order[order.index(stage) - 1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="companies, materials, formulas, signed orders")
    gen.add_argument("--orders", type=int, default=500, help="active (signed) orders")
    gen.add_argument("--done", type=int, default=100, help="completed orders")
    gen.add_argument("--companies", type=int, default=50)
    gen.add_argument("--materials", type=int, default=60)
    gen.add_argument("--lines", type=int, default=20)
    gen.add_argument("--seed", type=int, default=2026)
    gen.add_argument("--plan", type=Path, required=True)
    args = parser.parse_args(argv)
    return generate(orders=args.orders, done=args.done, companies=args.companies,
                    n_materials=args.materials, n_lines=args.lines, seed=args.seed,
                    plan_path=args.plan)


if __name__ == "__main__":
    sys.exit(main())
