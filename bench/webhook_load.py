"""The webhook benchmark of issue #5: signed sandbox notifications from 16 concurrent
connections against a real gunicorn server, then a check that every payment changed once.

    python bench/webhook_load.py setup [--payments 2000] [--seed 2026] --plan FILE
                                       [--duplicates 0.3] [--late-pending 0.2]
    python bench/webhook_load.py run --url http://127.0.0.1:PORT --plan FILE
                                     [--connections 16] [--json OUT] [--label NAME]

Both run inside the app (`create_app()`) against whatever `DATABASE_URL` names (the run
command checks the database after the load: the one the server uses).

- `setup` (direct database access): one buyer and `--payments` pending payments of the
  sandbox gateway (`va_bca`, 50.000-2.000.000 Rupiah, no checkout: the settled job then has
  no orders to mark, so the figures are the webhook's own path) inserted in batches; then
  the notifications, signed like the sandbox signs them (`sandbox_payload`, Midtrans shape
  and signature with PAYMENT_SANDBOX_SERVER_KEY): one "settlement" per payment, the same
  settlement again for a share of them (`--duplicates`, a redelivery) and a stale "pending"
  for another share (`--late-pending`). The order is random but a payment's repeats come
  shortly after its settlement, so some race it on another connection. Written to FILE.
- `run`: `--connections` threads, each with one keep-alive `http.client` connection
  (reopened by http.client whenever the server closes it: gunicorn's sync workers close
  after every response), take the next notification from the plan and POST it to
  `/payments/notify/sandbox`. Printed: notifications per second (wall clock from the first
  request sent to the last answer), p50/p90/p99/max latency, answers by status (non-200
  must be 0) and by outcome (applied / duplicate / ignored). Then the database: every
  payment is PAID with its paid amount; exactly one "applied" event per payment; the
  settlement event's `deliveries` = 1 + its redeliveries; every stale "pending" stored
  once and "ignored"; no notification unaccounted for. Exit 1 when a check fails or an
  answer was not 200.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from load_stats import pct

EMAIL = "webhook-buyer@bench.racik.test"
REFERENCE = "BENCH-WH-{:07d}"
BATCH = 2000


def create():
    if not os.environ.get("DATABASE_URL"):
        raise SystemExit("set DATABASE_URL (this tool never uses the default database)")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    from app import create_app

    return create_app()


# --- setup ------------------------------------------------------------------------------------


def setup(payments: int, seed: int, duplicates: float, late_pending: float,
          plan_path: Path) -> int:
    from sqlalchemy import insert, select

    from app.accounts.models import User
    from app.accounts.passwords import password_hash
    from app.core.clock import utcnow
    from app.extensions import db
    from app.payments.gateways.sandbox import sandbox_payload
    from app.payments.models import Payment, SandboxTransaction

    rng = random.Random(seed)
    app = create()
    with app.app_context():
        buyer = db.session.scalars(select(User).where(User.email == EMAIL)).first()
        if buyer is None:
            buyer = User(email=EMAIL, name="Pembeli Bench Webhook",
                         password_hash=password_hash("bench-password-2026"))
            db.session.add(buyer)
            db.session.flush()
        if db.session.scalars(select(Payment.id).where(
                Payment.reference == REFERENCE.format(1))).first() is not None:
            print("bench payments already exist: use a fresh database", file=sys.stderr)
            return 1
        now = utcnow()
        rows, notes = [], []
        for n in range(1, payments + 1):
            amount = rng.randrange(50_000, 2_000_001, 500)
            reference = REFERENCE.format(n)
            rows.append({"reference": reference, "payer_id": buyer.id, "gateway": "sandbox",
                         "method": "va_bca", "amount": amount, "status": "pending",
                         "transaction_id": f"bench-tx-{n}", "va_number": f"70012{n:011d}",
                         "charged_at": now, "expires_at": now + timedelta(hours=24),
                         "created_at": now, "updated_at": now})
            # What Midtrans would know; never stored: only used to sign the notifications.
            tx = SandboxTransaction(
                transaction_id=f"bench-tx-{n}", order_id=reference, payment_type="bank_transfer",
                bank="bca", gross_amount=amount, paid_amount=amount, va_number=f"70012{n:011d}",
                fraud_status="accept", expires_at=now + timedelta(hours=24), created_at=now,
                updated_at=now, refunded_amount=0)
            start = rng.random()
            notes.append((start, "settlement", reference, sandbox_payload(tx, "settlement")))
            if rng.random() < duplicates:
                notes.append((start + rng.random() * 0.05, "duplicate", reference,
                               sandbox_payload(tx, "settlement")))
            if rng.random() < late_pending:
                notes.append((start + rng.random() * 0.05, "late_pending", reference,
                              sandbox_payload(tx, "pending")))
        for offset in range(0, len(rows), BATCH):
            db.session.execute(insert(Payment), rows[offset:offset + BATCH])
        db.session.commit()
    notes.sort(key=lambda note: note[0])
    plan = {"payments": payments,
            "notifications": [{"kind": kind, "reference": reference, "body": body}
                              for _, kind, reference, body in notes]}
    plan_path.write_text(json.dumps(plan))
    kinds = Counter(note[1] for note in notes)
    print(f"  {payments} pending payments; {len(notes)} notifications: "
          + ", ".join(f"{kinds[k]} {k}" for k in ("settlement", "duplicate", "late_pending")))
    return 0


# --- run --------------------------------------------------------------------------------------


class Sender(threading.Thread):
    """One connection: POSTs the next notification until none is left."""

    def __init__(self, host: str, port: int, bodies: list[bytes], cursor: list[int],
                 lock: threading.Lock, start_gate: threading.Barrier):
        super().__init__(daemon=True)
        self.conn = http.client.HTTPConnection(host, port, timeout=60)
        self.bodies, self.cursor, self.lock, self.start_gate = bodies, cursor, lock, start_gate
        self.results: list[tuple[int, int, float, str]] = []  # index, status, ms, outcome
        self.errors: list[str] = []

    def _next(self) -> int | None:
        with self.lock:
            if self.cursor[0] >= len(self.bodies):
                return None
            self.cursor[0] += 1
            return self.cursor[0] - 1

    def _post(self, body: bytes) -> tuple[int, bytes]:
        headers = {"Content-Type": "application/json", "User-Agent": "Veritrans"}
        for attempt in range(2):
            try:
                self.conn.request("POST", "/payments/notify/sandbox", body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                if response.getheader("Connection", "").lower() == "close":
                    self.conn.close()  # http.client reopens on the next request
                return response.status, data
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # The server closed the idle keep-alive connection just before our request.
                self.conn.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def run(self) -> None:
        self.start_gate.wait()
        while (index := self._next()) is not None:
            sent = time.perf_counter()
            try:
                status, data = self._post(self.bodies[index])
            except Exception as error:  # reported, counted as a non-200
                self.errors.append(f"{type(error).__name__}: {error}")
                self.results.append((index, 0, (time.perf_counter() - sent) * 1000, ""))
                continue
            elapsed = (time.perf_counter() - sent) * 1000
            outcome = ""
            if status == 200:
                try:
                    outcome = json.loads(data).get("outcome", "")
                except ValueError:
                    outcome = "?"
            self.results.append((index, status, elapsed, outcome))
        self.conn.close()


def run(url: str, plan_path: Path, connections: int, json_out: Path | None, label: str) -> int:
    plan = json.loads(plan_path.read_text())
    notes = plan["notifications"]
    bodies = [json.dumps(note["body"]).encode() for note in notes]
    parts = urlsplit(url)
    cursor, lock = [0], threading.Lock()
    gate = threading.Barrier(connections + 1)
    senders = [Sender(parts.hostname, parts.port or 80, bodies, cursor, lock, gate)
               for _ in range(connections)]
    for sender in senders:
        sender.start()
    gate.wait()
    began = time.perf_counter()
    for sender in senders:
        sender.join()
    wall = time.perf_counter() - began

    results = [r for sender in senders for r in sender.results]
    errors = [e for sender in senders for e in sender.errors]
    latencies = [r[2] for r in results]
    statuses = Counter(r[1] for r in results)
    outcomes = Counter(r[3] for r in results if r[1] == 200)
    non_200 = sum(count for status, count in statuses.items() if status != 200)
    per_second = len(results) / wall if wall else 0.0
    print(f"  {label}: {len(results)} notifications in {wall:.2f} s over {connections} "
          f"connections: {per_second:.0f} notifications/s")
    print(f"  latency ms: p50 {pct(latencies, 50):.1f}  p90 {pct(latencies, 90):.1f}  "
          f"p99 {pct(latencies, 99):.1f}  max {max(latencies, default=0):.1f}")
    print("  answers: " + ", ".join(f"{s or 'error'}: {c}" for s, c in sorted(statuses.items()))
          + f"; outcomes: {dict(sorted(outcomes.items()))}; non-200: {non_200}")
    for error in errors[:5]:
        print(f"  error: {error}")

    checks = verify(notes)
    for check in checks:
        print(f"  [{'ok' if check['ok'] else 'FAIL'}] {check['what']}: {check['detail']}")
    report = {"label": label, "notifications": len(results), "payments": plan["payments"],
              "connections": connections, "seconds": round(wall, 3),
              "per_second": round(per_second, 1),
              "latency_ms": {p: round(pct(latencies, q), 2) for p, q in
                             (("p50", 50), ("p90", 90), ("p99", 99))}
              | {"max": round(max(latencies, default=0), 2)},
              "statuses": {str(k): v for k, v in statuses.items()}, "non_200": non_200,
              "outcomes": dict(outcomes), "checks": checks}
    if json_out:
        json_out.write_text(json.dumps(report, indent=2))
    return 0 if non_200 == 0 and all(c["ok"] for c in checks) else 1


def verify(notes: list[dict]) -> list[dict]:
    """The database after the load: every payment changed exactly once."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.payments.models import Payment, PaymentEvent

    expected_deliveries: Counter = Counter()
    late: set[str] = set()
    amounts: dict[str, int] = {}
    for note in notes:
        if note["kind"] in ("settlement", "duplicate"):
            expected_deliveries[note["reference"]] += 1
            amounts[note["reference"]] = int(note["body"]["gross_amount"].split(".")[0])
        else:
            late.add(note["reference"])
    checks: list[dict] = []

    def check(what: str, ok: bool, detail: str) -> None:
        checks.append({"what": what, "ok": bool(ok), "detail": detail})

    app = create()
    with app.app_context():
        payments = {p.reference: p for p in db.session.scalars(
            select(Payment).where(Payment.reference.like("BENCH-WH-%")))}
        not_paid = [r for r, p in payments.items() if p.status != "paid"]
        check("every payment is paid", not not_paid and len(payments) == len(amounts),
              f"{len(payments) - len(not_paid)}/{len(payments)} paid"
              + (f"; e.g. {not_paid[0]} is {payments[not_paid[0]].status}" if not_paid else ""))
        wrong_amount = [r for r, p in payments.items() if p.paid_amount != amounts.get(r)]
        check("paid amounts as notified", not wrong_amount, f"{len(wrong_amount)} differ")
        applied = dict(db.session.execute(
            select(Payment.reference, func.count(PaymentEvent.id))
            .join(PaymentEvent, PaymentEvent.payment_id == Payment.id)
            .where(Payment.reference.like("BENCH-WH-%"), PaymentEvent.outcome == "applied")
            .group_by(Payment.reference)).all())
        once = [r for r in payments if applied.get(r, 0) != 1]
        check("exactly one applied change per payment", not once,
              f"{len(payments) - len(once)}/{len(payments)} changed once"
              + (f"; e.g. {once[0]}: {applied.get(once[0], 0)}" if once else ""))
        events = db.session.execute(
            select(PaymentEvent.order_id, PaymentEvent.transaction_status,
                   PaymentEvent.deliveries, PaymentEvent.outcome)
            .where(PaymentEvent.order_id.like("BENCH-WH-%"))).all()
        settle = {e.order_id: e.deliveries for e in events
                  if e.transaction_status == "settlement"}
        bad = [r for r, n in expected_deliveries.items() if settle.get(r) != n]
        check("settlement deliveries counted (1 + redeliveries)", not bad,
              f"{sum(settle.values())} deliveries recorded, {sum(expected_deliveries.values())} "
              f"sent" + (f"; e.g. {bad[0]}" if bad else ""))
        pending = [e for e in events if e.transaction_status == "pending"]
        check("late pendings stored once and ignored",
              {e.order_id for e in pending} == late and all(
                  e.outcome == "ignored" and e.deliveries == 1 for e in pending),
              f"{len(pending)} stored for {len(late)} sent")
    return checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    st = sub.add_parser("setup", help="pending payments and their signed notifications")
    st.add_argument("--payments", type=int, default=2000)
    st.add_argument("--seed", type=int, default=2026)
    st.add_argument("--duplicates", type=float, default=0.3)
    st.add_argument("--late-pending", type=float, default=0.2)
    st.add_argument("--plan", type=Path, required=True)
    rn = sub.add_parser("run", help="send the notifications, then check the database")
    rn.add_argument("--url", required=True)
    rn.add_argument("--plan", type=Path, required=True)
    rn.add_argument("--connections", type=int, default=16)
    rn.add_argument("--json", type=Path)
    rn.add_argument("--label", default="webhook")
    args = parser.parse_args(argv)
    if args.command == "setup":
        return setup(args.payments, args.seed, args.duplicates, args.late_pending, args.plan)
    return run(args.url, args.plan, args.connections, args.json, args.label)


if __name__ == "__main__":
    sys.exit(main())
