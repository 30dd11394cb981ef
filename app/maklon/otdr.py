"""On-time delivery rate (OTDR): computed by a nightly job, stored, read from the store.

    otdr_compute()              # the job: one OtdrSnapshot overall + one per company
    otdr_latest(company_id)     # the newest figure (None: overall), or None

Among the last N (setting `maklon.otdr.window`, default 200) COMPLETED requests that have
a promised date, ordered by completion time, an order is on time when its completion date
*in WIB* is on or before the promised date: completed 23:30 WIB on the promised day is on
time, 00:30 WIB the next day is late. Nothing is shown that the job did not compute.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select

from app.core.clock import to_wib, utcnow
from app.core.settings import setting_get
from app.extensions import db
from app.maklon.models import MaklonRequest, OtdrSnapshot, RequestStatus

log = logging.getLogger(__name__)

SETTING_WINDOW = "maklon.otdr.window"
DEFAULT_WINDOW = 200


def otdr_window() -> int:
    try:
        window = int(setting_get(SETTING_WINDOW, DEFAULT_WINDOW))
    except (TypeError, ValueError):
        window = DEFAULT_WINDOW
    return window if window > 0 else DEFAULT_WINDOW


def is_on_time(completed_at: datetime, promised: date) -> bool:
    """Completed on or before the promised date, by the calendar in Jakarta."""
    return to_wib(completed_at).date() <= promised


def otdr_compute(*, window: int | None = None) -> list[OtdrSnapshot]:
    """Compute and store the rate overall (company None) and for every company with at
    least one completed order. Returns the snapshots added (flushed). Safe to run twice
    (a later snapshot simply becomes the newest)."""
    window = window or otdr_window()
    found = db.session.execute(
        select(MaklonRequest.company_id, MaklonRequest.completed_at,
               MaklonRequest.promised_date)
        .where(MaklonRequest.status == RequestStatus.COMPLETED,
               MaklonRequest.completed_at.is_not(None),
               MaklonRequest.promised_date.is_not(None))
        .order_by(MaklonRequest.completed_at.desc(), MaklonRequest.id.desc())).all()
    # the query keeps only rows with both dates; the filter tells the type checker
    rows = [(company_id, done, promised) for company_id, done, promised in found
            if done is not None and promised is not None]
    now = utcnow()
    overall = [is_on_time(done, promised) for _, done, promised in rows[:window]]
    per_company: dict[int, list[bool]] = defaultdict(list)
    for company_id, done, promised in rows:
        if len(per_company[company_id]) < window:
            per_company[company_id].append(is_on_time(done, promised))
    snapshots = [OtdrSnapshot(company_id=None, on_time=sum(overall), total=len(overall),
                              window=window, computed_at=now)]
    snapshots += [OtdrSnapshot(company_id=company_id, on_time=sum(flags), total=len(flags),
                               window=window, computed_at=now)
                  for company_id, flags in sorted(per_company.items())]
    db.session.add_all(snapshots)
    db.session.flush()
    log.info("otdr: %s of %s on time overall; %s companies", sum(overall), len(overall),
             len(per_company))
    return snapshots


@dataclass(frozen=True)
class OtdrFigure:
    """A stored snapshot as the pages show it (`maklon/_otdr.html`)."""

    on_time: int
    total: int
    window: int
    computed_at: datetime

    @property
    def percent(self) -> Decimal | None:
        """on_time / total in percent, one decimal, rounded half-up; None without orders."""
        if self.total <= 0:
            return None
        return (Decimal(self.on_time) * 100 / Decimal(self.total)).quantize(
            Decimal("0.1"), rounding=ROUND_HALF_UP)


def otdr_latest(company_id: int | None) -> OtdrFigure | None:
    """The newest snapshot of `company_id` (None: the overall rate), or None when the job
    has not run yet."""
    condition = (OtdrSnapshot.company_id.is_(None) if company_id is None
                 else OtdrSnapshot.company_id == company_id)
    row = db.session.scalars(select(OtdrSnapshot).where(condition)
                             .order_by(OtdrSnapshot.computed_at.desc(),
                                       OtdrSnapshot.id.desc()).limit(1)).first()
    if row is None:
        return None
    return OtdrFigure(on_time=row.on_time, total=row.total, window=row.window,
                      computed_at=row.computed_at)
