"""Contracts signed and production stages advanced per second by one worker (issue #6).

    python bench/maklon_services.py [--orders 200] [--lines 20] [--json OUT]

Self-contained like bench/invoices.py: a throwaway instance directory with a fresh SQLite
database (migrated with the Alembic migrations), unless DATABASE_URL is set (then that
database, which must be migrated). JOBS_MODE=sync, no Redis, mail written as files; the
email queue's work (sending) is left out, the emails themselves are rendered into the
outbox inside the timed transactions, as in a request.

- Setup (not timed), through the services: an admin, a production manager, one client
  company with its client, 60 raw materials with plenty in stock, one formula of `--lines`
  lines (`formula_save`: encrypted), and `--orders` submitted requests of 2,000 units using
  it, each with a quote v1 made by `quote_create` and approved by `quote_approve`.
- (d) Timed: per request what the "Setuju" POST runs after its form checks:
  `contract_sign` (argon2 check of the re-entered password, the signed PDF with its QR,
  stored, its SHA-256, the spec signature, the Ed25519 seal over the evidence, the request
  locked and moved to SIGNED, the first stage row, three milestones, quotes updated, audit,
  the email with the PDF attached into the outbox) and the commit. The argon2 check, the
  PDF and storing it are also timed on their own (wrapped, inside the same calls).
- (e) Setup: the three milestones of every order marked paid (what the payments module
  does). Timed: every order through all six steps, `stage_advance` + commit each (the
  request loaded first, as the route does): concept -> material purchase (reserves the
  formula's 20 materials: the composition decrypted, audited), -> formulation (consumes
  them: 20 conditional UPDATEs + ledger rows), -> QC, -> packaging (QC pass), -> shipping
  scheduled, -> done; each writes a stage row, an audit row and the client's email.

Printed: signatures/s and ms per signature (mean, p50, p95, max) with the breakdown, stage
advances/s and ms per advance by kind; then checks: every contract's seal verifies, every
order is done with 7 stage rows, materials consumed exactly (on hand = stock - batch needs,
nothing reserved, ledger = on hand), none negative. Exit 1 if a check fails.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

STEPS = ("material_purchase", "formulation", "qc", "packaging", "shipping_scheduled", "done")
STOCK = 200_000_000  # base units per material: every batch fits


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--lines", type=int, default=20, help="formula lines")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args()

    workdir = tempfile.TemporaryDirectory(prefix="racik-bench-maklon-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir.name}/racik.db")
    os.environ.update(INSTANCE_PATH=workdir.name, JOBS_MODE="sync", REDIS_URL="",
                      MAIL_BACKEND="file", RACIK_ENV="development",
                      LOG_LEVEL=os.environ.get("LOG_LEVEL", "WARNING"))
    try:
        return run(args)
    finally:
        workdir.cleanup()


def _stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"n": len(values), "mean": round(1000 * statistics.fmean(values), 2),
            "p50": round(1000 * statistics.median(values), 2),
            "p95": round(1000 * ordered[int(0.95 * (len(ordered) - 1))], 2),
            "max": round(1000 * ordered[-1], 2)}


class Timer:
    """Wraps a function and adds up the time spent in it."""

    def __init__(self, function):
        self.function, self.seconds, self.calls = function, 0.0, 0

    def __call__(self, *args, **kwargs):
        began = time.perf_counter()
        try:
            return self.function(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - began
            self.calls += 1

    def ms(self) -> float:
        return round(1000 * self.seconds / self.calls, 2) if self.calls else 0.0


def run(args: argparse.Namespace) -> int:
    from datetime import date, timedelta
    from decimal import Decimal

    from flask_migrate import upgrade
    from sqlalchemy import func, select, update

    import app.maklon.contracts as contracts
    import jobs.mail
    from app import create_app
    from app.core.storage import storage_path
    from app.extensions import db
    from app.inventory.models import StockMovement
    from app.maklon.formula_crypto import FormulaLine
    from app.maklon.formulas import formula_save
    from app.maklon.models import (
        ContractSignature,
        MaklonRequest,
        MaterialReservation,
        MilestonePayment,
        ProductionStage,
        RawMaterial,
        RequestStatus,
        Stage,
    )
    from app.maklon.quotes import DEFAULT_SPLIT, QuoteTerms, quote_approve, quote_create
    from app.maklon.stages import stage_advance
    from tests.factories import DEFAULT_PASSWORD, make_user
    from tests.maklon.factories import make_company, make_maklon_client, make_maklon_request

    app = create_app()
    send_email = jobs.mail.send_email
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        jobs.mail.send_email = lambda outbox_id: False  # the email queue's work, not ours
        admin = make_user(email="bench-maklon-admin@bench.racik.test", name="Admin Produksi",
                          roles=("staff", "admin"))
        staff = make_user(email="bench-maklon-staff@bench.racik.test", name="Siti Aminah",
                          roles=("staff", "production_manager"))
        company = make_company(name="PT Bench Kosmetika Indonesia")
        client = make_maklon_client(company=company, email="bench-maklon-client@bench.racik.test",
                                    name="Rina Wulandari")
        materials = []
        for n in range(max(60, args.lines)):
            material = RawMaterial(code=f"RM-SVC-{n + 1:03d}", name=f"Bahan bench {n + 1}",
                                   unit="g" if n % 3 else "ml", on_hand=STOCK, reserved=0,
                                   reorder_level=1_000, origin="import" if n % 4 == 0 else "local",
                                   unit_cost=Decimal("0.25") + Decimal(n) / 40)
            db.session.add(material)
            materials.append(material)
        db.session.flush()
        lines = [FormulaLine(materials[0].id, Decimal("24.5"))] + [
            FormulaLine(m.id, Decimal(str(round(0.01 + 0.07 * i, 4))))
            for i, m in enumerate(materials[1:args.lines], start=1)]
        formula = formula_save(formula=None, company_id=company.id, name="Serum Bench 30 ml",
                               product_type="skincare", lines=lines, actor=client)
        today = date.today()
        terms = QuoteTerms(delivery_date=today + timedelta(days=60),
                           valid_until=today + timedelta(days=14), split=dict(DEFAULT_SPLIT))
        request_ids = []
        for _ in range(args.orders):
            req = make_maklon_request(client=client, formula=formula, quantity=2_000)
            quote = quote_create(request=req, actor=staff, terms=terms)
            quote_approve(quote=quote, actor=admin)
            request_ids.append(req.id)
        db.session.commit()
        client_id, staff_id = client.id, staff.id
        setup_seconds = time.perf_counter() - started

        # (d) contract signing -----------------------------------------------------------
        timers = {"argon2 password check": Timer(contracts.password_verify),
                  "contract PDF (reportlab + QR)": Timer(contracts.contract_pdf),
                  "PDF stored": Timer(contracts.storage_put)}
        originals = (contracts.password_verify, contracts.contract_pdf, contracts.storage_put)
        (contracts.password_verify, contracts.contract_pdf,
         contracts.storage_put) = timers.values()
        context = contracts.SignContext(ip="203.0.113.7", user_agent="Mozilla/5.0 (bench)")
        sign_times = []
        begin = time.perf_counter()
        for request_id in request_ids:
            t0 = time.perf_counter()
            req = db.session.get(MaklonRequest, request_id)
            who = db.session.get(type(client), client_id)
            contracts.contract_sign(request=req, client=who, secret=DEFAULT_PASSWORD,
                                    context=context)
            db.session.commit()
            sign_times.append(time.perf_counter() - t0)
        sign_elapsed = time.perf_counter() - begin
        (contracts.password_verify, contracts.contract_pdf,
         contracts.storage_put) = originals

        # (e) stage advances -------------------------------------------------------------
        db.session.execute(update(MilestonePayment).values(status="paid", paid_at=func.now())
                           .execution_options(synchronize_session=False))
        db.session.commit()
        step_times: dict[str, list[float]] = {step: [] for step in STEPS}
        begin = time.perf_counter()
        for request_id in request_ids:
            for step in STEPS:
                t0 = time.perf_counter()
                req = db.session.get(MaklonRequest, request_id)
                actor = db.session.get(type(staff), staff_id)
                stage_advance(request=req, to=step, actor=actor, from_stage=req.stage,
                              qc_result="pass" if req.stage == Stage.QC else "")
                db.session.commit()
                step_times[step].append(time.perf_counter() - t0)
        advance_elapsed = time.perf_counter() - begin
        jobs.mail.send_email = send_email

        # Checks -------------------------------------------------------------------------
        checks: list[dict] = []

        def check(what: str, ok: bool, detail: str) -> None:
            checks.append({"what": what, "ok": bool(ok), "detail": detail})

        rows = db.session.scalars(select(ContractSignature)).all()
        broken = [r.request_id for r in rows
                  if contracts.contract_verify(r, storage_path(r.pdf_key).read_bytes())]
        check("every contract verifies (PDF SHA-256, spec signature, Ed25519 seal)",
              len(rows) == args.orders and not broken, f"{len(rows) - len(broken)}/{args.orders}")
        done = db.session.scalar(select(func.count()).select_from(MaklonRequest).where(
            MaklonRequest.status == RequestStatus.COMPLETED, MaklonRequest.stage == Stage.DONE))
        check("every order completed", done == args.orders, f"{done}/{args.orders}")
        stage_rows = db.session.scalar(select(func.count()).select_from(ProductionStage))
        check("7 stage rows per order", stage_rows == 7 * args.orders,
              f"{stage_rows} rows for {args.orders} orders")
        needs = {line.material_id: math.ceil(line.amount * 2_000) for line in lines}
        wrong = []
        for material in db.session.scalars(select(RawMaterial)):
            expected = STOCK - needs.get(material.id, 0) * args.orders
            ledger = db.session.scalar(select(func.coalesce(func.sum(StockMovement.delta), 0))
                                       .where(StockMovement.raw_material_id == material.id))
            if material.on_hand != expected or material.reserved != 0 or \
                    ledger != expected - STOCK or material.on_hand < 0:
                wrong.append(material.code)
        check("materials consumed exactly (on hand, reserved 0, ledger), none negative",
              not wrong, f"{len(wrong)} material(s) off" + (f": {wrong[:3]}" if wrong else ""))
        reservations = db.session.scalar(select(func.count()).select_from(MaterialReservation)
                                         .where(MaterialReservation.status == "consumed"))
        check("every reservation consumed", reservations == args.orders * len(lines),
              f"{reservations}/{args.orders * len(lines)}")

        all_steps = [t for times in step_times.values() for t in times]
        figures = {
            "database": db.engine.dialect.name,
            "orders": args.orders, "formula_lines": len(lines),
            "signatures_per_second": round(args.orders / sign_elapsed, 1),
            "signature_ms": _stats(sign_times),
            "signature_parts_ms": {name: timer.ms() for name, timer in timers.items()},
            "advances_per_second": round(len(all_steps) / advance_elapsed, 1),
            "advance_ms": _stats(all_steps),
            "advance_ms_by_step": {step: _stats(times) for step, times in step_times.items()},
            "setup_seconds": round(setup_seconds, 1),
            "checks": checks,
        }
    s = figures["signature_ms"]
    print(f"contract signing ({figures['database']}, one worker, {args.orders} contracts): "
          f"{figures['signatures_per_second']} signatures/s, {s['mean']} ms per signature "
          f"(p50 {s['p50']}, p95 {s['p95']}, max {s['max']}); of which "
          + ", ".join(f"{name} {ms} ms" for name, ms in figures["signature_parts_ms"].items()))
    a = figures["advance_ms"]
    print(f"stage advances ({figures['database']}, one worker, {len(all_steps)} steps of "
          f"{args.orders} orders, {len(lines)}-line formula): "
          f"{figures['advances_per_second']} advances/s, {a['mean']} ms per advance "
          f"(p50 {a['p50']}, p95 {a['p95']}, max {a['max']})")
    for step, st in figures["advance_ms_by_step"].items():
        print(f"  -> {step:<19} mean {st['mean']:7.2f}  p50 {st['p50']:7.2f}  "
              f"p95 {st['p95']:7.2f}  max {st['max']:7.2f} ms")
    for c in checks:
        print(f"  [{'ok' if c['ok'] else 'FAIL'}] {c['what']}: {c['detail']}")
    print(f"  (setup {figures['setup_seconds']} s)")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n")
    return 0 if all(c["ok"] for c in checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
