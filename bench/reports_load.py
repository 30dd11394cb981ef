"""Reports benchmark of issue #7 (bench/reports.sh) over the order history of
`bench/orders_gen.py generate` (~650,000 orders ~ 1M order items, 1,000 stores).

    python bench/reports_load.py sellers --out FILE [--biggest 4] [--sample 8]   # DATABASE_URL
    python bench/reports_load.py http --url http://127.0.0.1:PORT --sellers FILE --label L
                                      [--connections 16] [--seconds 10] [--c1-seconds 10]
                                      [--warmup 1] [--json OUT]
    python bench/reports_load.py weekly --label L [--activate] [--json OUT]       # DATABASE_URL
    python bench/reports_load.py explain --sellers FILE                         # DATABASE_URL
    python bench/reports_load.py timed --label L --json OUT -- COMMAND ...

- `sellers`: the owners of the `--biggest` stores (most order items) and `--sample` others
  spread over the rest of the store sizes, as JSON lines {email, store_id, orders, items}.
- `http`: logs each seller in over HTTP (GET /masuk for the CSRF token, POST /masuk, as a
  browser), checks `/seller/analitik` answers 200 with its chart, then measures two rows,
  `biggest` and `sample` (the sellers in turn), each at one connection for `--c1-seconds`
  (the page's own latency: p50/p99) and at `--connections` for `--seconds` (req/s), after a
  `--warmup` at two connections. Load machinery of bench/maklon_load.py (stdlib threads,
  a new connection per request). Target (one connection): p99 < 200 ms.
- `weekly`: the weekly report as the cron runs it: `execute_job(app, "jobs.reports.weekly")`
  (the worker's own wrapper: one app context, commit at the end), timed, then the weekly
  emails in the outbox, the WeeklyReport rows and the PDFs in storage counted; then the same
  job again, which must queue nothing more (its time is the "already sent" path). The
  emails are *written* (outbox rows); sending them is the mail worker's work afterwards:
  the in-process send jobs are cancelled, not measured. Earlier bench runs' reports and
  weekly emails are deleted first (a rerun on kept data). `--activate`: before that, every
  store with a delivered order but no activity in the week gets one (its newest delivered
  order's delivered_at moved into the week), so the job reports to (nearly) every store.
- `explain`: the page of the biggest seller in process, every SELECT with its plan
  (`EXPLAIN (ANALYZE, BUFFERS)` on PostgreSQL, `EXPLAIN QUERY PLAN` + a timing on SQLite).
- `timed`: runs COMMAND, prints its wall seconds and peak RSS (os.wait4 of the child: the
  largest RSS of the child or any descendant it waited for, e.g. pg_dump/pg_restore), and
  with `--size-of DIR` the size of the newest file in DIR.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

PASSWORD = "bench-password-2026"  # noqa: S105 - the bench accounts' password (orders_gen)
TARGET_P99_MS = 200.0
MARKER = "chart-bar"
USER_AGENT = "racik-bench-reports"


def _app():
    if not os.environ.get("DATABASE_URL"):
        raise SystemExit("DATABASE_URL is required (never the development database)")
    from app import create_app

    return create_app()


# --- sellers ------------------------------------------------------------------------------


def sellers(out: Path, biggest: int, sample: int) -> int:
    from sqlalchemy import func, select, text

    from app.accounts.models import Store, User
    from app.extensions import db
    from app.orders.models import Order, OrderItem

    app = _app()
    with app.app_context():
        items = dict(db.session.execute(
            select(Order.store_id, func.count(OrderItem.id))
            .join(OrderItem, OrderItem.order_id == Order.id).group_by(Order.store_id)).all())
        rows = db.session.execute(
            select(Store.id, User.email, func.count(Order.id))
            .join(User, User.id == Store.owner_id).join(Order, Order.store_id == Store.id)
            .group_by(Store.id, User.email)).all()
        total_items = sum(items.values())
        if db.engine.dialect.name == "postgresql":
            size = db.session.scalar(text("SELECT pg_database_size(current_database())"))
        else:
            size = Path(db.engine.url.database).stat().st_size
    ranked = sorted(rows, key=lambda r: -items.get(r[0], 0))
    picks = [("biggest", r) for r in ranked[:biggest]]
    rest = ranked[biggest:]
    if rest and sample:
        step = (len(rest) - 1) / max(sample - 1, 1)
        picks += [("sample", rest[round(i * step)]) for i in range(min(sample, len(rest)))]
    lines = [json.dumps({"kind": kind, "store_id": sid, "email": email, "orders": n,
                         "items": items.get(sid, 0)}) for kind, (sid, email, n) in picks]
    out.write_text("\n".join(lines) + "\n")
    print(f"  database {size / 1e6:,.0f} MB; "
          f"{total_items:,} order items in {len(rows):,} stores with orders; "
          f"{len(picks)} sellers picked ({biggest} biggest: "
          f"{', '.join(f'{items.get(r[0], 0):,}' for _, r in picks[:biggest])} items; "
          f"sample {', '.join(f'{items.get(r[0], 0):,}' for k, r in picks if k == 'sample')})")
    return 0


# --- http ---------------------------------------------------------------------------------


def http(url: str, sellers_path: Path, label: str, connections: int, seconds: float,
         c1_seconds: float, warmup: float, json_out: Path | None) -> int:
    from checkout_race import Browser, _csrf
    from maklon_load import Item, _send, measure

    parts = urlsplit(url)
    host, port = parts.hostname, parts.port or 80
    accounts = [json.loads(line) for line in sellers_path.read_text().splitlines() if line]
    rows: dict[str, list[Item]] = {"biggest": [], "sample": []}
    started = time.perf_counter()
    for account in accounts:
        browser = Browser(url)
        _, _, html = browser.request("GET", "/masuk")
        status, headers, _ = browser.request("POST", "/masuk", {
            "csrf_token": _csrf(html), "email": account["email"], "password": PASSWORD})
        if status not in (302, 303) or "/masuk" in headers.get("location", ""):
            raise SystemExit(f"login of {account['email']} answered {status}")
        cookie = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
        item = Item("GET", "/seller/analitik", {"User-Agent": USER_AGENT, "Cookie": cookie},
                    None, 200, MARKER)
        status, _, text = _send(host, port, item)
        if status != 200 or MARKER not in text:
            raise SystemExit(f"/seller/analitik answered {status} for {account['email']}"
                             + ("" if status != 200 else f" without {MARKER!r}"))
        rows[account["kind"]].append(item)
    print(f"  {len(accounts)} sellers logged in, each page checked "
          f"({time.perf_counter() - started:.1f} s)")
    figures = []
    for row, items in rows.items():
        if not items:
            continue
        if warmup > 0:
            measure(url, items, 2, warmup)
        for conns, secs in ((1, c1_seconds), (connections, seconds)):
            if secs <= 0:
                continue
            result = measure(url, items, conns, secs)
            result["row"] = row
            result["sellers"] = len(items)
            if conns == 1:
                result["target_p99_ms"] = TARGET_P99_MS
                result["verdict"] = "PASS" if result["ms"]["p99"] < TARGET_P99_MS else "FAIL"
            figures.append(result)
            print(f"  analytics {row:<8} c{conns:<3} {result['per_second']:>7.1f} req/s  "
                  f"p50 {result['ms']['p50']:7.1f}  p99 {result['ms']['p99']:7.1f} ms"
                  f"{'  unexpected ' + str(result['unexpected']) if result['unexpected'] else ''}",
                  flush=True)
    bad = sum(r["unexpected"] for r in figures)
    if json_out:
        json_out.write_text(json.dumps({"label": label, "sellers": accounts,
                                        "rows": figures}, indent=1) + "\n")
    return 1 if bad else 0


# --- weekly -------------------------------------------------------------------------------


def _weekly_counts() -> dict[str, int]:
    from sqlalchemy import func, select

    from app.core.models import EmailOutbox
    from app.core.storage import storage_path
    from app.extensions import db
    from app.reports.models import WeeklyReport
    from app.reports.weekly import REPORT_FOLDER

    folder = storage_path(REPORT_FOLDER)
    pdfs = list(folder.rglob("*.pdf")) if folder.exists() else []
    return {
        "outbox_weekly": db.session.scalar(select(func.count()).select_from(EmailOutbox)
                                           .where(EmailOutbox.template == "weekly_report")),
        "weekly_reports": db.session.scalar(select(func.count()).select_from(WeeklyReport)),
        "pdf_files": len(pdfs), "pdf_bytes": sum(p.stat().st_size for p in pdfs)}


def _activate_all() -> int:
    """Every store with a delivered order gets activity in last week: the newest delivered
    order of each store without any moves its delivered_at into that week (Wednesday
    noon WIB). The job reports only stores with activity; at ~1,000 stores the Zipf tail
    leaves ~14 % idle in a given week. Returns how many orders moved."""
    from datetime import timedelta

    from sqlalchemy import and_, exists, func, or_, select, update

    from app.accounts.models import Store
    from app.core.clock import utcnow
    from app.extensions import db
    from app.orders.models import Order, OrderStatus
    from app.reports.analytics import wib_day_start
    from app.reports.weekly import last_week_monday

    monday = last_week_monday(utcnow())
    start, end = wib_day_start(monday), wib_day_start(monday + timedelta(days=7))
    active = exists().where(Order.store_id == Store.id, or_(
        and_(Order.created_at >= start, Order.created_at < end),
        and_(Order.delivered_at >= start, Order.delivered_at < end)))
    idle = list(db.session.scalars(select(Store.id).where(~active)))
    when = start + timedelta(days=2, hours=5)  # Wednesday 12:00 WIB
    newest = dict(db.session.execute(
        select(Order.store_id, func.max(Order.id))
        .where(Order.store_id.in_(idle), Order.status == OrderStatus.DELIVERED,
               Order.created_at < when)
        .group_by(Order.store_id)).all()) if idle else {}
    if newest:
        db.session.execute(update(Order).where(Order.id.in_(list(newest.values())))
                           .values(delivered_at=when))
    db.session.commit()
    print(f"  {len(idle)} stores had no activity in week of {monday}: moved the newest "
          f"delivered order of {len(newest)} of them into it")
    return len(newest)


def weekly(label: str, json_out: Path | None, activate: bool) -> int:
    from sqlalchemy import delete, func, select

    from app.accounts.models import Store
    from app.core.models import EmailOutbox
    from app.core.queue import execute_job
    from app.extensions import db
    from app.reports.models import WeeklyReport

    app = _app()
    with app.app_context():
        # A rerun on kept data: forget earlier bench runs' reports so run 1 sends again.
        db.session.execute(delete(WeeklyReport))
        db.session.execute(delete(EmailOutbox).where(EmailOutbox.template == "weekly_report"))
        db.session.commit()
        stores = db.session.scalar(select(func.count(Store.id)))
        moved = _activate_all() if activate else 0
        before = _weekly_counts()
    runs = []
    for attempt in (1, 2):
        started = time.perf_counter()
        result = execute_job(app, "jobs.reports.weekly", (), {})
        seconds = time.perf_counter() - started
        with app.app_context():
            counts = _weekly_counts()
        runs.append({"run": attempt, "seconds": round(seconds, 2), **result, **counts})
        print(f"  weekly run {attempt}: week {result['week']}: {result['sent']:,} reports "
              f"queued, {result['skipped']:,} already sent, in {seconds:.1f} s; outbox "
              f"{counts['outbox_weekly']:,} weekly emails, {counts['pdf_files']:,} PDFs "
              f"({counts['pdf_bytes'] / 1e6:.1f} MB)", flush=True)
    pool = app.extensions.get("racik_jobs_pool")
    if pool is not None:  # the emails' send jobs: the mail worker's, not measured here
        pool.shutdown(wait=True, cancel_futures=True)
    first, second = runs
    sent = first["sent"]
    checks = [
        {"check": "run 1 wrote one outbox email, one report row and one PDF per store sent",
         "ok": first["outbox_weekly"] - before["outbox_weekly"] == sent
         and first["weekly_reports"] - before["weekly_reports"] == sent
         and first["pdf_files"] - before["pdf_files"] == sent},
        {"check": "run 2 sent nothing and wrote nothing",
         "ok": second["sent"] == 0 and second["skipped"] == sent + first["skipped"]
         and all(second[k] == first[k] for k in ("outbox_weekly", "weekly_reports",
                                                   "pdf_files"))}]
    for check in checks:
        print(f"  {'ok  ' if check['ok'] else 'FAIL'} {check['check']}")
    figures = {"label": label, "stores": stores, "activated": moved, "week": first["week"],
               "sent": sent,
               "seconds": first["seconds"],
               "ms_per_store": round(first["seconds"] * 1000 / max(sent, 1), 1),
               "second_run_seconds": second["seconds"], "runs": runs, "checks": checks}
    if json_out:
        json_out.write_text(json.dumps(figures, indent=1) + "\n")
    return 0 if all(c["ok"] for c in checks) else 1


# --- explain ----------------------------------------------------------------------------


def explain(sellers_path: Path) -> int:
    """The analytics page of each `biggest` seller rendered in process with every SELECT
    captured, then each SELECT's plan (bench/explain.py print_plans)."""
    from explain import capture_selects, print_plans
    from flask import g

    from app.accounts.models import Store
    from app.extensions import db
    from app.reports.routes.analytics import seller_analytics_page

    accounts = [json.loads(line) for line in sellers_path.read_text().splitlines() if line]
    app = _app()
    with app.app_context():
        for account in [a for a in accounts if a["kind"] == "biggest"][:1]:
            owner = db.session.get(Store, account["store_id"]).owner
            with app.test_request_context("/seller/analitik"):
                g._login_user = owner
                seller_analytics_page()  # warm: the plans below are of a warm cache
                db.session.rollback()
                with capture_selects(db.engine) as captured:
                    began = time.perf_counter()
                    seller_analytics_page()
                    elapsed = (time.perf_counter() - began) * 1000
            print("=" * 100)
            print(f"/seller/analitik of store {account['store_id']} ({account['orders']:,} "
                  f"orders, {account['items']:,} items): {elapsed:.1f} ms in process, "
                  f"{len(captured)} SELECTs")
            print_plans(db.engine, captured)
            db.session.rollback()
    return 0


# --- timed --------------------------------------------------------------------------------


def timed(label: str, command: list[str], json_out: Path, size_of: Path | None) -> int:
    started = time.perf_counter()
    child = subprocess.Popen(command)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    figures = {"label": label, "command": command, "seconds": round(seconds, 2),
               "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # KiB on Linux
               "exit": child.returncode}
    if size_of is not None:
        newest = max(size_of.glob("*.rbk"), key=lambda p: p.stat().st_mtime, default=None)
        figures["archive"] = newest.name if newest else None
        figures["archive_mb"] = round(newest.stat().st_size / 1e6, 1) if newest else None
    print(f"  {label}: {seconds:.1f} s, peak RSS {figures['peak_rss_mb']:.0f} MB"
          + (f", archive {figures['archive_mb']} MB" if figures.get("archive_mb") else "")
          + ("" if child.returncode == 0 else f", EXIT {child.returncode}"), flush=True)
    json_out.write_text(json.dumps(figures, indent=1) + "\n")
    return child.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sel = sub.add_parser("sellers")
    sel.add_argument("--out", type=Path, required=True)
    sel.add_argument("--biggest", type=int, default=4)
    sel.add_argument("--sample", type=int, default=8)
    web = sub.add_parser("http")
    web.add_argument("--url", required=True)
    web.add_argument("--sellers", type=Path, required=True)
    web.add_argument("--label", required=True)
    web.add_argument("--connections", type=int, default=16)
    web.add_argument("--seconds", type=float, default=10)
    web.add_argument("--c1-seconds", type=float, default=10)
    web.add_argument("--warmup", type=float, default=1)
    web.add_argument("--json", type=Path)
    wk = sub.add_parser("weekly")
    wk.add_argument("--label", required=True)
    wk.add_argument("--json", type=Path)
    wk.add_argument("--activate", action="store_true",
                    help="give every store with a delivered order activity in the week")
    ex = sub.add_parser("explain")
    ex.add_argument("--sellers", type=Path, required=True)
    tm = sub.add_parser("timed")
    tm.add_argument("--label", required=True)
    tm.add_argument("--json", type=Path, required=True)
    tm.add_argument("--size-of", type=Path)
    tm.add_argument("cmd", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.command == "sellers":
        return sellers(args.out, args.biggest, args.sample)
    if args.command == "http":
        return http(args.url, args.sellers, args.label, args.connections, args.seconds,
                    args.c1_seconds, args.warmup, args.json)
    if args.command == "weekly":
        return weekly(args.label, args.json, args.activate)
    if args.command == "explain":
        return explain(args.sellers)
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    return timed(args.label, cmd, args.json, args.size_of)


if __name__ == "__main__":
    raise SystemExit(main())
