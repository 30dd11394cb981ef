"""On-time delivery rate: computed from completed orders in WIB dates, stored, shown."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from flask import render_template
from sqlalchemy import select

from app.core.settings import setting_set
from app.maklon.models import OtdrSnapshot, RequestStatus
from app.maklon.otdr import is_on_time, otdr_compute, otdr_latest
from jobs.cron import CRON_TABLE
from tests.maklon.factories import make_maklon_client, make_maklon_request

PROMISED = date(2026, 3, 10)


def _utc(y, mo, d, h, mi) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


def _done(client, *, completed_at: datetime, promised: date | None = PROMISED,
          status: str = RequestStatus.COMPLETED):
    return make_maklon_request(client=client, status=status, completed_at=completed_at,
                               promised_date=promised, stage="done")


def test_the_wib_midnight_edge_decides_on_time():
    # 23:30 WIB on the promised date is 16:30 UTC the same day: on time.
    assert is_on_time(_utc(2026, 3, 10, 16, 30), PROMISED)
    # 00:30 WIB the next day is 17:30 UTC on the promised date: late, though UTC says 10th.
    assert not is_on_time(_utc(2026, 3, 10, 17, 30), PROMISED)
    # Early is on time.
    assert is_on_time(_utc(2026, 3, 1, 3, 0), PROMISED)


def test_the_job_stores_hand_computed_rates_overall_and_per_company(app, db):
    a = make_maklon_client()
    b = make_maklon_client()
    _done(a, completed_at=_utc(2026, 3, 10, 16, 30))  # 23:30 WIB: on time
    _done(a, completed_at=_utc(2026, 3, 10, 17, 30))  # 00:30 WIB next day: late
    _done(a, completed_at=_utc(2026, 3, 5, 2, 0))  # early: on time
    _done(b, completed_at=_utc(2026, 3, 9, 2, 0))  # on time
    # Not counted: not completed, no promised date.
    _done(b, completed_at=_utc(2026, 3, 12, 2, 0), status=RequestStatus.SIGNED)
    _done(b, completed_at=_utc(2026, 3, 12, 2, 0), promised=None)
    db.session.commit()
    otdr_compute()
    db.session.commit()
    overall = otdr_latest(None)
    assert (overall.on_time, overall.total, overall.window) == (3, 4, 200)
    assert str(overall.percent) == "75.0"
    mine = otdr_latest(a.company_id)
    assert (mine.on_time, mine.total) == (2, 3) and str(mine.percent) == "66.7"
    assert (otdr_latest(b.company_id).on_time, otdr_latest(b.company_id).total) == (1, 1)


def test_only_the_last_n_completed_orders_count(app, db):
    client = make_maklon_client()
    start = _utc(2026, 1, 1, 2, 0)
    # Oldest two late, then three on time (completion order by time).
    for n in range(5):
        promised = PROMISED if n >= 2 else date(2025, 12, 1)
        _done(client, completed_at=start + timedelta(days=n), promised=promised)
    setting_set(key="maklon.otdr.window", value=3)
    db.session.commit()
    otdr_compute()
    figure = otdr_latest(None)
    assert (figure.on_time, figure.total, figure.window) == (3, 3, 3)
    assert otdr_compute(window=5)[0].on_time == 3  # 3 of 5


def test_the_newest_snapshot_is_read_and_nothing_is_made_up(app, db):
    client = make_maklon_client()
    assert otdr_latest(None) is None and otdr_latest(client.company_id) is None
    otdr_compute()  # no completed orders yet: an honest 0 of 0 overall
    db.session.commit()
    assert otdr_latest(None).total == 0 and otdr_latest(None).percent is None
    assert otdr_latest(client.company_id) is None
    _done(client, completed_at=_utc(2026, 3, 1, 2, 0))
    db.session.commit()
    otdr_compute()
    db.session.commit()
    assert otdr_latest(None).total == 1
    assert db.session.query(OtdrSnapshot).filter(OtdrSnapshot.company_id.is_(None)).count() == 2


def test_the_partial_says_the_rate_in_indonesian_and_english(app, db):
    client = make_maklon_client()
    for n in range(200):
        late = n < 3
        _done(client, completed_at=_utc(2026, 3, 1, 2, 0) + timedelta(minutes=n),
              promised=date(2026, 2, 1) if late else PROMISED)
    db.session.commit()
    otdr_compute()
    db.session.commit()
    figure = otdr_latest(None)
    assert str(figure.percent) == "98.5"
    with app.test_request_context(headers={"Accept-Language": "id"}):
        html = render_template("maklon/_otdr.html", otdr=figure)
    assert "Tepat waktu: 98,5% dari 200 pesanan terakhir" in html
    with app.test_request_context(headers={"Accept-Language": "id"}):
        empty = render_template("maklon/_otdr.html", otdr=None)
    assert "Belum ada pesanan selesai" in empty and "%" not in empty


def test_the_job_is_in_the_cron_table_at_0130_wib_and_runs_by_cli(app, db):
    [entry] = [e for e in CRON_TABLE if e.func_path == "jobs.otdr.compute"]
    assert entry.cron == "30 18 * * *"  # 18:30 UTC = 01:30 WIB
    client = make_maklon_client()
    _done(client, completed_at=_utc(2026, 3, 1, 2, 0))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["maklon", "otdr"])
    assert result.exit_code == 0 and "on time 1 of 1" in result.output
    from app.core.queue import execute_job

    db.session.rollback()  # hold no SQLite lock while the job runs in its own context
    execute_job(app, "jobs.otdr.compute", (), {})
    assert len(db.session.scalars(select(OtdrSnapshot).where(
        OtdrSnapshot.company_id.is_(None))).all()) == 2
