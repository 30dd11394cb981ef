"""Their own history for clients and sellers: the maklon client's requests and orders, the
seller's marketplace orders, filtered, paginated and exported (CSV/PDF) with the same
`Report` machinery as the admin's reports (`app.reports.tables`, `app.reports.exports`).

    problems: list[str] = []
    filters = maklon_history_filters(request.args, problems, company_id=user.company_id)
    MAKLON_HISTORY.page(filters, page) / .count / .rows / .totals      # one company only
    filters = seller_history_filters(request.args, problems, store_id=shop.id)
    SELLER_HISTORY.page(filters, page) ...                              # one store only

The owner (company or store) is set by the caller from the logged-in user, never read
from the query string, and every statement filters on it: another company's or store's
rows cannot appear, whatever the filters say. The parsing functions are shared by the web
pages and the API, so both read the same arguments and explain a bad value the same way
(appended to `problems`, the value ignored).

The maklon payment status is derived from the milestones: `lunas` every milestone paid,
`bertahap` some paid and some not, `tertunda` none paid yet; a request without milestones
(not signed yet) has none ("Belum ditagih").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import RowMapping, Select, and_, case, false, func, select

from app.accounts.models import User
from app.core.filters import parse_date, wib_date_range
from app.core.models import JobRecord
from app.core.queue import enqueue_after_commit
from app.extensions import db
from app.maklon.labels import PRODUCT_TYPE_LABELS, REQUEST_STATUS_LABELS
from app.maklon.models import (
    MaklonRequest,
    MilestonePayment,
    MilestoneStatus,
    ProductType,
    RequestStatus,
)
from app.orders.lifecycle import ORDER_PAYMENT_LABELS, ORDER_STATUS_LABELS
from app.orders.models import Checkout, Order, OrderStatus
from app.payments.method_choice import PAYMENT_METHODS
from app.reports.tables import Column, Report, _between, _choice

# -- filters ---------------------------------------------------------------------------------

MAKLON_PAY_LUNAS, MAKLON_PAY_PENDING, MAKLON_PAY_PARTIAL = "lunas", "tertunda", "bertahap"
MAKLON_PAYMENT_STATUSES = (MAKLON_PAY_LUNAS, MAKLON_PAY_PENDING, MAKLON_PAY_PARTIAL)
MAKLON_PAYMENT_LABELS: dict[str, Any] = {
    MAKLON_PAY_LUNAS: _l("Lunas"),
    MAKLON_PAY_PENDING: _l("Tertunda"),
    MAKLON_PAY_PARTIAL: _l("Bertahap"),
    "": _l("Belum ditagih"),
}


@dataclass
class HistoryFilters:
    """The filters of one owner's history. `company_id` / `store_id` is the owner (set by
    the caller, never from the query string); the rest is what the user chose."""

    company_id: int | None = None
    store_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    status: str = ""
    payment_status: str = ""
    product_type: str = ""
    method: str = ""

    def as_args(self) -> dict[str, str]:
        """The chosen filters as query arguments (what the parsing functions read back)."""
        values = {"dari": self.date_from.isoformat() if self.date_from else "",
                  "sampai": self.date_to.isoformat() if self.date_to else "",
                  "status": self.status, "status_bayar": self.payment_status,
                  "jenis": self.product_type, "metode": self.method}
        return {k: v for k, v in values.items() if v}

    def to_json(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, date) else v)
                for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> HistoryFilters:
        values = dict(data)
        for key in ("date_from", "date_to"):
            values[key] = parse_date(values[key]) if values.get(key) else None
        return cls(**values)


def maklon_history_filters(args: Mapping[str, str], problems: list[str], *,
                           company_id: int | None) -> HistoryFilters:
    """The client's filters: `dari`/`sampai` (WIB dates), `status`, `status_bayar`
    (lunas|tertunda|bertahap), `jenis` (product type); bad values ignored, explained."""
    date_from, date_to = wib_date_range(args, problems)
    return HistoryFilters(
        company_id=company_id, date_from=date_from, date_to=date_to,
        status=_choice(args, "status", RequestStatus.ALL, _l("Status"), problems),
        payment_status=_choice(args, "status_bayar", MAKLON_PAYMENT_STATUSES,
                               _l("Status pembayaran"), problems),
        product_type=_choice(args, "jenis", ProductType.ALL, _l("Jenis produk"), problems))


def seller_history_filters(args: Mapping[str, str], problems: list[str], *,
                           store_id: int | None) -> HistoryFilters:
    """The seller's filters: `dari`/`sampai` (WIB dates), `status` (order status),
    `metode` (payment method); bad values ignored, explained."""
    date_from, date_to = wib_date_range(args, problems)
    return HistoryFilters(
        store_id=store_id, date_from=date_from, date_to=date_to,
        status=_choice(args, "status", OrderStatus.ALL, _l("Status pesanan"), problems),
        method=_choice(args, "metode", tuple(PAYMENT_METHODS), _l("Metode pembayaran"),
                       problems))


def history_described(f: HistoryFilters) -> list[tuple[Any, str]]:
    """(label, value) of every chosen filter, for the PDF header."""
    described: list[tuple[Any, str]] = []
    if f.date_from or f.date_to:
        described.append((_l("Tanggal (WIB)"),
                          f"{f.date_from or '...'} - {f.date_to or '...'}"))
    if f.status:
        labels = REQUEST_STATUS_LABELS if f.company_id is not None else ORDER_STATUS_LABELS
        described.append((_l("Status"), str(labels.get(f.status, f.status))))
    if f.payment_status:
        described.append((_l("Status pembayaran"),
                          str(MAKLON_PAYMENT_LABELS.get(f.payment_status, f.payment_status))))
    if f.product_type:
        described.append((_l("Jenis produk"),
                          str(PRODUCT_TYPE_LABELS.get(f.product_type, f.product_type))))
    if f.method:
        described.append((_l("Metode pembayaran"),
                          str(PAYMENT_METHODS.get(f.method, f.method))))
    return described


# -- the client's maklon history -------------------------------------------------------------

def _milestone_sum(*conditions) -> Any:
    return (select(func.coalesce(func.sum(MilestonePayment.amount), 0))
            .where(MilestonePayment.request_id == MaklonRequest.id, *conditions)
            .correlate(MaklonRequest).scalar_subquery())


def _milestone_count(*conditions) -> Any:
    return (select(func.count(MilestonePayment.id))
            .where(MilestonePayment.request_id == MaklonRequest.id, *conditions)
            .correlate(MaklonRequest).scalar_subquery())


def _maklon_pay_status() -> Any:
    paid = _milestone_count(MilestonePayment.status == MilestoneStatus.PAID)
    unpaid = _milestone_count(MilestonePayment.status != MilestoneStatus.PAID)
    return case((and_(paid == 0, unpaid == 0), ""),
                (unpaid == 0, MAKLON_PAY_LUNAS),
                (paid == 0, MAKLON_PAY_PENDING),
                else_=MAKLON_PAY_PARTIAL)


def _maklon_where(f: HistoryFilters) -> list:
    if f.company_id is None:  # a client without a company has no history
        return [false()]
    where = [MaklonRequest.company_id == f.company_id, *_between(MaklonRequest.created_at, f)]
    if f.status:
        where.append(MaklonRequest.status == f.status)
    if f.product_type:
        where.append(MaklonRequest.product_type == f.product_type)
    if f.payment_status:
        where.append(_maklon_pay_status() == f.payment_status)
    return where


def _maklon_rows(f: HistoryFilters) -> Select:
    billed = _milestone_sum()
    paid = _milestone_sum(MilestonePayment.status == MilestoneStatus.PAID)
    return (select(MaklonRequest.number, MaklonRequest.created_at, MaklonRequest.product_name,
                   MaklonRequest.product_type, MaklonRequest.status,
                   MaklonRequest.status.label("status_code"), MaklonRequest.quantity,
                   _maklon_pay_status().label("pay_status"), billed.label("billed"),
                   paid.label("paid"), (billed - paid).label("due"))
            .where(*_maklon_where(f))
            .order_by(MaklonRequest.created_at.desc(), MaklonRequest.id.desc()))


def _maklon_totals(f: HistoryFilters) -> Select:
    rows = _maklon_rows(f).order_by(None).subquery()
    return select(func.count(), func.coalesce(func.sum(rows.c.billed), 0),
                  func.coalesce(func.sum(rows.c.paid), 0),
                  func.coalesce(func.sum(rows.c.due), 0)).select_from(rows)


MAKLON_HISTORY: Report[HistoryFilters] = Report(
    "riwayat-maklon", _l("Riwayat maklon"),
    (Column(_l("Nomor")), Column(_l("Dibuat (WIB)")), Column(_l("Produk")),
     Column(_l("Jenis produk"), labels=PRODUCT_TYPE_LABELS),
     Column(_l("Status"), labels=REQUEST_STATUS_LABELS),
     Column(_l("Kode status"), csv_only=True), Column(_l("Jumlah unit")),
     Column(_l("Status pembayaran"), labels=MAKLON_PAYMENT_LABELS),
     Column(_l("Nilai termin"), True), Column(_l("Dibayar"), True),
     Column(_l("Sisa"), True)),
    ("dates", "status", "payment_status", "product_type"),
    _maklon_rows, _maklon_totals,
    (_l("Jumlah permintaan"), _l("Nilai termin"), _l("Dibayar"), _l("Sisa")))


# -- the seller's marketplace orders ---------------------------------------------------------

def _seller_where(f: HistoryFilters) -> list:
    if f.store_id is None:
        return [false()]
    where = [Order.store_id == f.store_id, *_between(Order.created_at, f)]
    if f.status:
        where.append(Order.status == f.status)
    if f.method:
        where.append(Checkout.payment_method == f.method)
    return where


def _seller_rows(f: HistoryFilters) -> Select:
    return (select(Order.number, Order.created_at, User.name, Order.status,
                   Order.status.label("status_code"), Order.payment_status,
                   Checkout.payment_method, Checkout.payment_method.label("method_code"),
                   Order.item_count, Order.subtotal, Order.shipping_cost, Order.total)
            .join(Checkout, Checkout.id == Order.checkout_id)
            .join(User, User.id == Order.buyer_id)
            .where(*_seller_where(f)).order_by(Order.created_at.desc(), Order.id.desc()))


def _seller_totals(f: HistoryFilters) -> Select:
    return (select(func.count(Order.id), func.coalesce(func.sum(Order.subtotal), 0),
                   func.coalesce(func.sum(Order.shipping_cost), 0),
                   func.coalesce(func.sum(Order.total), 0))
            .join(Checkout, Checkout.id == Order.checkout_id).where(*_seller_where(f)))


SELLER_HISTORY: Report[HistoryFilters] = Report(
    "pesanan-toko", _l("Riwayat pesanan toko"),
    (Column(_l("Nomor")), Column(_l("Waktu (WIB)")), Column(_l("Pembeli")),
     Column(_l("Status"), labels=ORDER_STATUS_LABELS),
     Column(_l("Kode status"), csv_only=True),
     Column(_l("Pembayaran"), labels=ORDER_PAYMENT_LABELS),
     Column(_l("Metode"), labels=PAYMENT_METHODS),
     Column(_l("Kode metode"), csv_only=True), Column(_l("Unit")),
     Column(_l("Subtotal"), True), Column(_l("Ongkir"), True), Column(_l("Total"), True)),
    ("dates", "status", "method"),
    _seller_rows, _seller_totals,
    (_l("Jumlah pesanan"), _l("Subtotal"), _l("Ongkir"), _l("Total")))

HISTORIES: dict[str, Report[HistoryFilters]] = {MAKLON_HISTORY.key: MAKLON_HISTORY,
                                SELLER_HISTORY.key: SELLER_HISTORY}


def history_rows(report: Report[HistoryFilters], f: HistoryFilters, *, limit: int, offset: int
                 ) -> list[RowMapping]:
    """One page of the filtered history as raw rows by column name (stored codes and UTC
    datetimes: what the API answers; the pages use `report.page`)."""
    return list(db.session.execute(report.rows_stmt(f).limit(limit).offset(offset))
                .mappings().all())


EXPORT_JOB = "jobs.reports.export_history"


def history_export_enqueue(*, report: Report[HistoryFilters], fmt: str, filters: HistoryFilters,
                           owner_id: int, rows: int, locale: str) -> JobRecord:
    """Queue the tracked export job of `report` (queue `reports`) for `owner_id`, run
    after the caller's commit; the file is then the owner's only."""
    job = enqueue_after_commit(
        EXPORT_JOB, report.key, fmt, filters.to_json(), locale, queue="reports", track=True,
        owner_id=owner_id, timeout=3600,
        description=_("Ekspor %(title)s (%(format)s, %(rows)s baris)", title=report.title,
                      format=fmt.upper(), rows=rows))
    if job is None:  # track=True always records the job
        raise RuntimeError("enqueue_after_commit(track=True) returned no JobRecord")
    return job
