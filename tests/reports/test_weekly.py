"""The weekly sales report: one email per active seller (through a real SMTP server, with
a PDF), the right figures, never twice for a store and week, none for an opted-out seller
or one without activity; the CLI, the cron entry and the store-settings switch."""

from __future__ import annotations

import subprocess

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from app.core.models import EmailOutbox
from app.orders.models import OrderStatus
from app.reports.models import WeeklyReport
from app.reports.weekly import WeekError, last_week_monday, parse_week, weekly_reports_send
from tests.core.test_mail import _start_smtp
from tests.factories import make_product, make_user
from tests.reports.helpers import make_timed_order, wib

WEEK = "2026-W47"  # Monday 16 to Sunday 22 November 2026; the week before is W46


@pytest.fixture
def sellers(db):
    """A (on, busy both weeks), B (on, new this week), C (off), D (on, idle in W47)."""
    buyer = make_user()
    a = make_user(roles=("seller",), store_name="Toko <Glow>", email="a@example.test")
    serum = make_product(store=a.store, name="Serum & Glow", stock=20)
    toner = make_product(store=a.store, name="Toner Mawar", stock=4)  # low
    # W47 revenue 200.000 (a1 delivered Monday 00:30 WIB, a2 Sunday 23:30 WIB).
    make_timed_order(store=a.store, buyer=buyer, lines=[(toner, 1, 50_000)],
                     created="2026-11-15 20:00", delivered="2026-11-16 00:30")
    make_timed_order(store=a.store, buyer=buyer, lines=[(serum, 3, 50_000)],
                     created="2026-11-20 10:00", delivered="2026-11-22 23:30")
    # W46 revenue 100.000 -> +100%.
    make_timed_order(store=a.store, buyer=buyer, lines=[(serum, 2, 50_000)],
                     created="2026-11-09 10:00", delivered="2026-11-10 10:00")
    # Created in W47, no W47 revenue: cancelled; delivered Monday 00:30 of W48.
    make_timed_order(store=a.store, buyer=buyer, lines=[(toner, 10, 50_000)],
                     created="2026-11-21 10:00", status=OrderStatus.CANCELLED)
    make_timed_order(store=a.store, buyer=buyer, lines=[(serum, 1, 80_000)],
                     created="2026-11-22 22:00", delivered="2026-11-23 00:30")
    # Orders created: W47 3, W46 2 -> +50%. Delivered in W47: 2.

    b = make_user(roles=("seller",), store_name="Toko Baru", email="b@example.test")
    masker = make_product(store=b.store, name="Masker Lumpur", stock=50)
    make_timed_order(store=b.store, buyer=buyer, lines=[(masker, 2, 20_000)],
                     created="2026-11-18 10:00", delivered="2026-11-19 10:00")

    c = make_user(roles=("seller",), store_name="Toko Diam", email="c@example.test")
    c.store.weekly_report = False
    lotion = make_product(store=c.store, name="Lotion", stock=50)
    make_timed_order(store=c.store, buyer=buyer, lines=[(lotion, 1, 30_000)],
                     created="2026-11-18 10:00", delivered="2026-11-19 10:00")

    d = make_user(roles=("seller",), store_name="Toko Sepi", email="d@example.test")
    sabun = make_product(store=d.store, name="Sabun", stock=50)
    make_timed_order(store=d.store, buyer=buyer, lines=[(sabun, 1, 30_000)],
                     created="2026-11-02 10:00", delivered="2026-11-03 10:00")
    db.session.commit()
    return {"a": a, "b": b, "c": c, "d": d}


def _text_part(message, content_type: str) -> str:
    for part in message.walk():
        if part.get_content_type() == content_type:
            return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
    raise AssertionError(f"no {content_type} part")


def test_one_email_per_active_seller_through_smtp_and_never_twice(db, sellers, smtp_port,
                                                                  tmp_path):
    controller, inbox = _start_smtp(smtp_port)
    try:
        assert weekly_reports_send(week=WEEK) == {"week": WEEK, "sent": 2, "skipped": 0}
        db.session.commit()  # the outbox rows go out after the commit
        assert len(inbox.messages) == 2
        again = weekly_reports_send(week=WEEK)
        db.session.commit()
    finally:
        controller.stop()
    assert again == {"week": WEEK, "sent": 0, "skipped": 2}
    assert len(inbox.messages) == 2  # the second run sent nothing
    by_to = {m["To"]: m for m in inbox.messages}
    assert set(by_to) == {"a@example.test", "b@example.test"}  # not C (off), not D (idle)

    a = by_to["a@example.test"]
    assert WEEK in a["Subject"]
    text = _text_part(a, "text/plain")
    assert "Pendapatan: Rp\u00a0200.000 (minggu sebelumnya Rp\u00a0100.000, +100%)" in text
    assert "Pesanan masuk: 3 (minggu sebelumnya 2, +50%)" in text
    assert "Pesanan selesai: 2" in text
    assert "1. Serum & Glow: 3 unit, Rp\u00a0150.000" in text
    assert "Toner Mawar" in text.split("Stok menipis", 1)[1]  # stock 4 < 10
    html = _text_part(a, "text/html")
    assert "Serum &amp; Glow" in html and "Toko &lt;Glow&gt;" in html
    (pdf,) = [p for p in a.walk() if p.get_content_type() == "application/pdf"]
    assert pdf.get_filename() == f"laporan-mingguan-{WEEK}.pdf"
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf.get_payload(decode=True))
    printed = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                             text=True, check=True).stdout
    assert "Toko <Glow>" in printed and "Serum & Glow" in printed
    assert "Rp 200.000" in printed and "+100%" in printed

    b_text = _text_part(by_to["b@example.test"], "text/plain")
    assert "Pendapatan: Rp\u00a040.000 (minggu sebelumnya Rp\u00a00, baru)" in b_text

    reports = db.session.scalars(select(WeeklyReport).order_by(WeeklyReport.store_id)).all()
    assert [(r.store_id, r.week) for r in reports] == [
        (sellers["a"].store.id, WEEK), (sellers["b"].store.id, WEEK)]
    assert reports[0].figures["revenue"] == 200_000 and reports[0].email_id is not None
    assert reports[0].figures["revenue_change"] == {"percent": 100.0, "new": False}


def test_a_claimed_week_is_skipped_even_when_another_run_claimed_it(db, sellers):
    db.session.add(WeeklyReport(store_id=sellers["a"].store.id, week=WEEK, figures={}))
    db.session.commit()
    assert weekly_reports_send(week=WEEK)["sent"] == 1  # only B
    db.session.commit()
    assert db.session.scalar(select(func.count(EmailOutbox.id))) == 1


def test_cli_with_week_and_bad_week(app, db, sellers):
    runner = CliRunner()
    result = runner.invoke(app.cli, ["reports", "weekly", "--week", WEEK])
    assert result.exit_code == 0, result.output
    assert f"week {WEEK}: reports queued 2, already sent 0" in result.output
    result = runner.invoke(app.cli, ["reports", "weekly", "--week", WEEK])
    assert "reports queued 0, already sent 2" in result.output
    result = runner.invoke(app.cli, ["reports", "weekly", "--week", "2026-W60"])
    assert result.exit_code == 2 and "--week" in result.output
    # W46 for A: activity (orders created and delivered) -> its own report.
    result = runner.invoke(app.cli, ["reports", "weekly", "--week", "2026-W46"])
    assert "reports queued 1" in result.output


def test_week_parsing_and_the_default_week():
    assert parse_week("2026-W47").isoformat() == "2026-11-16"
    for bad in ("2026-47", "2026-W60", "W47", ""):
        with pytest.raises(WeekError):
            parse_week(bad)
    # Monday 09:00 WIB (02:00 UTC) of W48: the report is about W47.
    assert last_week_monday(wib("2026-11-23 09:00")).isoformat() == "2026-11-16"
    # Sunday 23:59 WIB is still W47: the last complete week is W46.
    assert last_week_monday(wib("2026-11-22 23:59")).isoformat() == "2026-11-09"


def test_job_and_cron_entry(db, sellers):
    from jobs.cron import CRON_TABLE
    from jobs.reports import weekly

    assert weekly(WEEK)["sent"] == 2
    entry = next(e for e in CRON_TABLE if e.func_path == "jobs.reports.weekly")
    assert entry.cron == "0 2 * * 1"  # Monday 09:00 WIB


def test_seller_switches_the_report_off_and_on(client, db, login_as):
    seller = make_user(roles=("seller",))
    db.session.commit()
    login_as(seller)
    page = client.get("/seller/toko").get_data(as_text=True)
    assert "Kirim laporan mingguan" in page
    form = {"name": "Glow", "location": "Bandung", "low_stock_threshold": "10"}
    assert client.post("/seller/toko", data=form).status_code == 303
    db.session.expire_all()
    assert seller.store.weekly_report is False
    assert client.post("/seller/toko", data={**form, "weekly_report": "y"}).status_code == 303
    db.session.expire_all()
    assert seller.store.weekly_report is True


@pytest.fixture
def smtp_port(app, monkeypatch) -> int:
    from tests.core.test_mail import _free_port

    port = _free_port()
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "smtp")
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", port)
    monkeypatch.setitem(app.config, "MAIL_TIMEOUT", 2)
    return port


def test_a_deactivated_sellers_store_gets_none(db, sellers):
    sellers["b"].active = False
    db.session.commit()
    assert weekly_reports_send(week=WEEK)["sent"] == 1  # only A
    db.session.commit()
    (row,) = db.session.scalars(select(EmailOutbox)).all()
    assert row.to_address == "a@example.test"
