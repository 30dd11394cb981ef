"""The admin payments ledger (reads): filters, one page of payments, totals per WIB day, one
payment with its notifications and refunds, and the navigation badge of flagged payments.
What a payment paid for (a checkout's orders) is described by its payable kind
(`app.payments.signals.payable_items`): the ledger knows payments, not orders.

Dates are WIB (Asia/Jakarta, UTC+7 all year, no daylight saving). The range `dari`..`sampai`
selects payments created in it (the list) and settlements received in it (the totals per
day); both are turned into UTC bounds `[dari 00:00 WIB, sampai+1 00:00 WIB)` so the
indexes on the UTC columns serve them. The totals group by the WIB day of `paid_at` in SQL:
`date(paid_at, '+7 hours')` on SQLite (UTC text), `date(timezone('Asia/Jakarta', paid_at))`
on PostgreSQL (timestamptz) — a payment settled at 23:30 WIB (16:30 UTC) counts on that WIB
day, one at 00:30 WIB (17:30 UTC the day before) on the next.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, lazyload, load_only, selectinload

from app.accounts.models import User
from app.core.filters import page_arg, wib_bounds, wib_date_range
from app.core.pagination import Page
from app.extensions import db
from app.payments.method_choice import PAYMENT_METHODS
from app.payments.models import Payment, PayStatus

LEDGER_PER_PAGE = 25
DAILY_ROWS_MAX = 62  # days listed (newest first); the grand total covers the whole range


@dataclass
class LedgerFilters:
    status: str = ""
    method: str = ""
    date_from: date | None = None
    date_to: date | None = None
    page: int = 1

    def args(self) -> dict[str, str]:
        """The filters as query arguments (links that keep them)."""
        values = {"status": self.status, "metode": self.method,
                  "dari": self.date_from.isoformat() if self.date_from else "",
                  "sampai": self.date_to.isoformat() if self.date_to else ""}
        return {k: v for k, v in values.items() if v}


@dataclass
class DayTotal:
    day: date
    count: int
    received: int
    refunded: int


@dataclass
class DailyTotals:
    days: list[DayTotal] = field(default_factory=list)
    count: int = 0
    received: int = 0
    refunded: int = 0
    truncated: bool = False  # more days than DAILY_ROWS_MAX in the range


def ledger_filters(args: Mapping[str, str]) -> tuple[LedgerFilters, list[str]]:
    """Read the filters from the query string. A bad value is ignored and explained (one
    message each); never an error page."""
    filters = LedgerFilters()
    problems: list[str] = []
    status = (args.get("status") or "").strip()
    if status in PayStatus.ALL:
        filters.status = status
    elif status:
        problems.append(str(_l("Status \"%(value)s\" tidak dikenal; filter status diabaikan.",
                               value=status[:30])))
    method = (args.get("metode") or "").strip()
    if method in PAYMENT_METHODS:
        filters.method = method
    elif method:
        problems.append(str(_l("Metode \"%(value)s\" tidak dikenal; filter metode diabaikan.",
                               value=method[:30])))
    filters.date_from, filters.date_to = wib_date_range(args, problems)
    filters.page = page_arg(args, problems)
    return filters, problems


def wib_day(column):
    """The WIB calendar day of a UTC datetime column, as SQL for the current database."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("Asia/Jakarta", column))
    return func.date(column, "+7 hours")


def _conditions(filters: LedgerFilters, column) -> list:
    conditions = []
    if filters.status:
        conditions.append(Payment.status == filters.status)
    if filters.method:
        conditions.append(Payment.method == filters.method)
    start, end = wib_bounds(filters.date_from, filters.date_to)
    if start is not None:
        conditions.append(column >= start)
    if end is not None:
        conditions.append(column < end)
    return conditions


def ledger_page(filters: LedgerFilters) -> Page[Payment]:
    """Payments created in the range (with the status and method filters), newest first."""
    conditions = _conditions(filters, Payment.created_at)
    total = db.session.scalar(select(func.count(Payment.id)).where(*conditions)) or 0
    per_page = LEDGER_PER_PAGE
    page = min(filters.page, max(1, -(-total // per_page)))
    items = list(db.session.scalars(
        select(Payment).where(*conditions)
        .options(joinedload(Payment.payer).options(load_only(User.name, User.email),
                                                   lazyload(User.roles)))
        .order_by(Payment.created_at.desc(), Payment.id.desc())
        .limit(per_page).offset((page - 1) * per_page)))
    return Page(items=items, total=total, page=page, per_page=per_page)


def ledger_daily_totals(filters: LedgerFilters) -> DailyTotals:
    """Per WIB day of settlement: how many payments had money arrive, the sum received
    (`paid_amount`) and the sum refunded since; newest day first, at most DAILY_ROWS_MAX
    days; plus the grand total over the whole filtered range. Two GROUP BY queries."""
    conditions = [Payment.paid_at.is_not(None), *_conditions(filters, Payment.paid_at)]
    day = wib_day(Payment.paid_at).label("day")
    rows = db.session.execute(
        select(day, func.count(Payment.id), func.coalesce(func.sum(Payment.paid_amount), 0),
               func.coalesce(func.sum(Payment.refunded_amount), 0))
        .where(*conditions).group_by(day).order_by(day.desc())
        .limit(DAILY_ROWS_MAX + 1)).all()
    totals = DailyTotals(days=[
        DayTotal(day=date.fromisoformat(str(value)[:10]), count=int(count),
                 received=int(received), refunded=int(refunded))
        for value, count, received, refunded in rows[:DAILY_ROWS_MAX]])
    totals.truncated = len(rows) > DAILY_ROWS_MAX
    count, received, refunded = db.session.execute(
        select(func.count(Payment.id), func.coalesce(func.sum(Payment.paid_amount), 0),
               func.coalesce(func.sum(Payment.refunded_amount), 0)).where(*conditions)).one()
    # coalesce(..., 0) never gives NULL; `or 0` only tells mypy so
    totals.count = int(count)
    totals.received, totals.refunded = int(received or 0), int(refunded or 0)
    return totals


def payment_for_admin(payment_id: int) -> Payment | None:
    """One payment with its payer, events, refunds and checkout."""
    return db.session.scalars(
        select(Payment).where(Payment.id == payment_id)
        .options(joinedload(Payment.payer), selectinload(Payment.events),
                 selectinload(Payment.refunds), joinedload(Payment.checkout))).first()


def review_count() -> int:
    return db.session.scalar(select(func.count(Payment.id)).where(
        Payment.status == PayStatus.REVIEW)) or 0


def review_badge(user) -> int:
    """The navigation badge: flagged payments waiting for an admin."""
    return review_count()
