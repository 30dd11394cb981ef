"""Dashboard figures (reads only): the maklon client's dashboard and the admin's.

Every aggregate runs in SQL (SUM/COUNT with GROUP BY or CASE), never in a Python loop over
rows. Time windows are WIB calendar days: "today" starts at 00:00 Asia/Jakarta, "7 days"
is today and the six days before it.

    client_dashboard(company_id)   active orders, unpaid milestones, balance, invoices
    admin_dashboard()              GMV, orders by status, new users, maklon pipeline,
                                   payments, failed jobs, last backup
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import case, func, or_, select

from app.accounts.models import User
from app.backups.models import BackupRecord
from app.core.clock import WIB, to_wib, utcnow
from app.core.models import JobRecord, JobStatus
from app.extensions import db
from app.maklon.models import (
    MaklonRequest,
    MilestonePayment,
    MilestoneStatus,
    RequestStatus,
    Stage,
)
from app.orders.models import Order, PaymentStatus
from app.payments.models import Invoice, Payment, PayStatus

CLIENT_INVOICES_MAX = 20


def wib_day_start(day: date) -> datetime:
    """00:00 WIB of `day`, in UTC."""
    return datetime.combine(day, time(0), WIB).astimezone(UTC)


def wib_today(now: datetime | None = None) -> date:
    return to_wib(now or utcnow()).date()


# -- client ---------------------------------------------------------------------------------

@dataclass
class ClientDashboard:
    active: list[MaklonRequest] = field(default_factory=list)
    upcoming: list[tuple[MilestonePayment, str]] = field(default_factory=list)  # (m, number)
    outstanding: int = 0
    invoices: list[tuple[Invoice, str, str]] = field(default_factory=list)  # (inv, number, kind)


def client_dashboard(company_id: int) -> ClientDashboard:
    """The figures of one company: its signed orders in production, their unpaid
    milestones (and their sum), and its newest milestone invoices."""
    active = list(db.session.scalars(
        select(MaklonRequest)
        .where(MaklonRequest.company_id == company_id,
               MaklonRequest.status == RequestStatus.SIGNED)
        .order_by(MaklonRequest.signed_at.desc(), MaklonRequest.id.desc())))
    unpaid = (select(MilestonePayment, MaklonRequest.number)
              .join(MaklonRequest, MaklonRequest.id == MilestonePayment.request_id)
              .where(MaklonRequest.company_id == company_id,
                     MaklonRequest.status == RequestStatus.SIGNED,
                     MilestonePayment.status == MilestoneStatus.UNPAID))
    upcoming = [(m, number) for m, number in db.session.execute(
        unpaid.order_by(MaklonRequest.id, MilestonePayment.position))]
    outstanding = db.session.scalar(
        select(func.coalesce(func.sum(MilestonePayment.amount), 0))
        .join(MaklonRequest, MaklonRequest.id == MilestonePayment.request_id)
        .where(MaklonRequest.company_id == company_id,
               MaklonRequest.status == RequestStatus.SIGNED,
               MilestonePayment.status == MilestoneStatus.UNPAID)) or 0
    invoices = [(inv, number, kind) for inv, number, kind in db.session.execute(
        select(Invoice, MaklonRequest.number, MilestonePayment.kind)
        .join(MilestonePayment, MilestonePayment.id == Invoice.milestone_id)
        .join(MaklonRequest, MaklonRequest.id == MilestonePayment.request_id)
        .where(MaklonRequest.company_id == company_id)
        .order_by(Invoice.created_at.desc(), Invoice.id.desc())
        .limit(CLIENT_INVOICES_MAX))]
    return ClientDashboard(active=active, upcoming=upcoming, outstanding=int(outstanding),
                           invoices=invoices)


# -- admin ----------------------------------------------------------------------------------

@dataclass
class AdminDashboard:
    gmv: dict[str, int]  # today / d7 / d30
    gmv_orders: dict[str, int]
    orders_by_status: dict[str, int]
    new_users: dict[str, int]  # d7 / d30
    stages: dict[str, int]  # signed orders per production stage
    requests_by_status: dict[str, int]
    # Created in the last 30 days and still pending / paid in the last 30 days.
    payments: dict[str, int]  # pending_count, pending_sum, paid_count, paid_sum
    failed_jobs: int
    backup: BackupRecord | None


def _windows(now: datetime) -> dict[str, datetime]:
    today = wib_today(now)
    return {"today": wib_day_start(today), "d7": wib_day_start(today - timedelta(days=6)),
            "d30": wib_day_start(today - timedelta(days=29))}


def admin_dashboard(now: datetime | None = None) -> AdminDashboard:
    """Everything on /admin/dasbor, each figure one SQL aggregate."""
    now = now or utcnow()
    windows = _windows(now)
    paid = (Order.payment_status == PaymentStatus.PAID, Order.created_at >= windows["d30"],
            Order.created_at < now + timedelta(seconds=1))

    def window_sum(key: str, value):
        return func.coalesce(func.sum(case((Order.created_at >= windows[key], value),
                                           else_=0)), 0)

    gmv_row = db.session.execute(
        select(*(window_sum(k, Order.total) for k in windows),
               *(window_sum(k, 1) for k in windows)).where(*paid)).one()
    keys = list(windows)
    gmv = {k: int(gmv_row[i]) for i, k in enumerate(keys)}
    gmv_orders = {k: int(gmv_row[len(keys) + i]) for i, k in enumerate(keys)}

    orders_by_status = {status: int(n) for status, n in db.session.execute(
        select(Order.status, func.count()).group_by(Order.status))}
    users_row = db.session.execute(select(
        func.coalesce(func.sum(case((User.created_at >= windows["d7"], 1), else_=0)), 0),
        func.count()).where(User.created_at >= windows["d30"])).one()
    stages = {stage: int(n) for stage, n in db.session.execute(
        select(MaklonRequest.stage, func.count())
        .where(MaklonRequest.status == RequestStatus.SIGNED)
        .group_by(MaklonRequest.stage))}
    requests_by_status = {status: int(n) for status, n in db.session.execute(
        select(MaklonRequest.status, func.count()).group_by(MaklonRequest.status))}
    month_ago = now - timedelta(days=30)
    pending = (Payment.status == PayStatus.PENDING) & (Payment.created_at >= month_ago)
    settled = (Payment.status == PayStatus.PAID) & (Payment.paid_at >= month_ago)
    pay_row = db.session.execute(select(
        func.coalesce(func.sum(case((pending, 1), else_=0)), 0),
        func.coalesce(func.sum(case((pending, Payment.amount), else_=0)), 0),
        func.coalesce(func.sum(case((settled, 1), else_=0)), 0),
        func.coalesce(func.sum(case(
            (settled, func.coalesce(Payment.paid_amount, Payment.amount)), else_=0)), 0),
    ).where(or_(Payment.created_at >= month_ago, Payment.paid_at >= month_ago))).one()
    failed_jobs = db.session.scalar(
        select(func.count()).select_from(JobRecord)
        .where(JobRecord.status == JobStatus.FAILED,
               JobRecord.created_at >= now - timedelta(days=7))) or 0
    backup = db.session.scalars(
        select(BackupRecord).order_by(BackupRecord.created_at.desc(), BackupRecord.id.desc())
        .limit(1)).first()
    return AdminDashboard(
        gmv=gmv, gmv_orders=gmv_orders, orders_by_status=orders_by_status,
        new_users={"d7": int(users_row[0]), "d30": int(users_row[1])},
        stages={stage: stages.get(stage, 0) for stage in Stage.ALL},
        requests_by_status={s: requests_by_status.get(s, 0) for s in RequestStatus.ALL},
        payments={"pending_count": int(pay_row[0]), "pending_sum": int(pay_row[1]),
                  "paid_count": int(pay_row[2]), "paid_sum": int(pay_row[3])},
        failed_jobs=int(failed_jobs), backup=backup)
