"""The admin's filtered reports: one definition per report, shared by the screen (a page
of rows + totals) and the exports (every filtered row, streamed).

    filters = report_filters(request.args, problems)     # bad values ignored, explained
    report = REPORTS["pesanan"]
    report.page(filters, page)  /  report.count(filters)  /  report.rows(filters)  /
    report.totals(filters)

Reports:
    pesanan     marketplace orders (date = order time, WIB), by order status, payment
                status, store, category (an order with at least one item of it)
    faktur      invoices, marketplace and maklon (date = invoice time), by payment method
    pembayaran  payments received (status paid, date = paid time), by payment method
    piutang     outstanding maklon balances: unpaid milestones of signed orders per order
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, Protocol, TypeVar

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, String, func, literal, select
from sqlalchemy.orm import aliased

from app.accounts.models import Company, Store, User
from app.catalog.models import Category, Product
from app.core.clock import to_wib
from app.core.company import company_identity
from app.core.filters import parse_date, wib_bounds, wib_date_range
from app.core.pagination import Page
from app.extensions import db
from app.maklon.models import MaklonRequest, MilestonePayment, MilestoneStatus, RequestStatus
from app.orders.lifecycle import ORDER_PAYMENT_LABELS, ORDER_STATUS_LABELS
from app.orders.models import Order, OrderItem, OrderStatus, PaymentStatus
from app.payments.method_choice import PAYMENT_METHODS
from app.payments.models import Invoice, Payment, PayStatus

PER_PAGE = 50
YIELD_PER = 1000  # rows fetched per round trip when exporting (a server-side cursor on PG)


@dataclass
class ReportFilters:
    date_from: date | None = None
    date_to: date | None = None
    status: str = ""
    payment_status: str = ""
    store_id: int | None = None
    category_id: int | None = None
    method: str = ""

    def as_args(self) -> dict[str, str]:
        """The filters as query/form arguments (what `report_filters` reads back)."""
        values = {"dari": self.date_from.isoformat() if self.date_from else "",
                  "sampai": self.date_to.isoformat() if self.date_to else "",
                  "status": self.status, "status_bayar": self.payment_status,
                  "toko": str(self.store_id or ""), "kategori": str(self.category_id or ""),
                  "metode": self.method}
        return {k: v for k, v in values.items() if v}

    def to_json(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, date) else v)
                for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ReportFilters:
        values = dict(data)
        for key in ("date_from", "date_to"):
            values[key] = parse_date(values[key]) if values.get(key) else None
        return cls(**values)


def _choice(args: Mapping[str, str], name: str, allowed: tuple[str, ...], label: object,
            problems: list[str]) -> str:
    raw = (args.get(name) or "").strip()
    if raw and raw not in allowed:
        problems.append(str(_l("%(label)s \"%(value)s\" tidak dikenal; diabaikan.",
                               label=label, value=raw[:30])))
        return ""
    return raw


def _id(args: Mapping[str, str], name: str, label: object, problems: list[str]) -> int | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    if raw.isdigit() and 0 < int(raw) < 2**31:
        return int(raw)
    problems.append(str(_l("%(label)s \"%(value)s\" tidak dikenal; diabaikan.",
                           label=label, value=raw[:30])))
    return None


def report_filters(args: Mapping[str, str], problems: list[str]) -> ReportFilters:
    """The filters of the query string; a bad value is ignored with one message."""
    date_from, date_to = wib_date_range(args, problems)
    return ReportFilters(
        date_from=date_from, date_to=date_to,
        status=_choice(args, "status", OrderStatus.ALL, _l("Status pesanan"), problems),
        payment_status=_choice(args, "status_bayar", PaymentStatus.ALL,
                               _l("Status pembayaran"), problems),
        store_id=_id(args, "toko", _l("Toko"), problems),
        category_id=_id(args, "kategori", _l("Kategori"), problems),
        method=_choice(args, "metode", tuple(PAYMENT_METHODS), _l("Metode pembayaran"),
                       problems))


class DateRange(Protocol):
    """Filters with a WIB day range (either end may be open)."""

    @property
    def date_from(self) -> date | None: ...
    @property
    def date_to(self) -> date | None: ...


def _between(column, filters: DateRange) -> list:
    start, end = wib_bounds(filters.date_from, filters.date_to)
    conditions = []
    if start is not None:
        conditions.append(column >= start)
    if end is not None:
        conditions.append(column < end)
    return conditions


def _wib_text(value) -> str:
    return to_wib(value).strftime("%Y-%m-%d %H:%M") if value else ""


# -- the four reports ------------------------------------------------------------------------

def _orders_where(f: ReportFilters) -> list:
    where = _between(Order.created_at, f)
    if f.status:
        where.append(Order.status == f.status)
    if f.payment_status:
        where.append(Order.payment_status == f.payment_status)
    if f.store_id:
        where.append(Order.store_id == f.store_id)
    if f.category_id:
        where.append(select(OrderItem.id).join(Product, Product.id == OrderItem.product_id)
                     .where(OrderItem.order_id == Order.id,
                            Product.category_id == f.category_id).exists())
    return where


def _orders_rows(f: ReportFilters) -> Select:
    return (select(Order.number, Order.created_at, Store.name, User.email, Order.status,
                   Order.status.label("status_code"), Order.payment_status,
                   Order.payment_status.label("payment_status_code"), Order.item_count,
                   Order.subtotal, Order.shipping_cost, Order.total)
            .join(Store, Store.id == Order.store_id).join(User, User.id == Order.buyer_id)
            .where(*_orders_where(f)).order_by(Order.created_at, Order.id))


def _orders_totals(f: ReportFilters) -> Select:
    return select(func.count(Order.id), func.coalesce(func.sum(Order.subtotal), 0),
                  func.coalesce(func.sum(Order.shipping_cost), 0),
                  func.coalesce(func.sum(Order.total), 0)).where(*_orders_where(f))


def _invoices_where(f: ReportFilters) -> list:
    where = _between(Invoice.created_at, f)
    if f.method:
        where.append(Invoice.payment_method == f.method)
    return where


_InvOrder = aliased(Order)
_InvStore = aliased(Store)


def _invoices_rows(f: ReportFilters) -> Select:
    source = func.coalesce(_InvOrder.number, MaklonRequest.number)
    # The seller issues a marketplace invoice; the platform company a maklon one.
    issuer = func.coalesce(_InvStore.name, literal(company_identity().name, String))
    return (select(Invoice.number, Invoice.created_at, source, issuer, Invoice.issuer,
                   Invoice.payment_method, Invoice.payment_method.label("method_code"),
                   Invoice.subtotal, Invoice.ppn, Invoice.total)
            .outerjoin(_InvOrder, _InvOrder.id == Invoice.order_id)
            .outerjoin(_InvStore, _InvStore.id == _InvOrder.store_id)
            .outerjoin(MilestonePayment, MilestonePayment.id == Invoice.milestone_id)
            .outerjoin(MaklonRequest, MaklonRequest.id == MilestonePayment.request_id)
            .where(*_invoices_where(f)).order_by(Invoice.created_at, Invoice.id))


def _invoices_totals(f: ReportFilters) -> Select:
    return select(func.count(Invoice.id), func.coalesce(func.sum(Invoice.subtotal), 0),
                  func.coalesce(func.sum(Invoice.ppn), 0),
                  func.coalesce(func.sum(Invoice.total), 0)).where(*_invoices_where(f))


_RECEIVED = func.coalesce(Payment.paid_amount, Payment.amount)


def _payments_where(f: ReportFilters) -> list:
    where = [Payment.status == PayStatus.PAID, *_between(Payment.paid_at, f)]
    if f.method:
        where.append(Payment.method == f.method)
    return where


def _payments_rows(f: ReportFilters) -> Select:
    source = func.coalesce(MaklonRequest.number,
                           literal(str(_l("Belanja marketplace")), String))
    return (select(Payment.reference, Payment.paid_at, source, Payment.method,
                   Payment.method.label("method_code"), _RECEIVED)
            .outerjoin(MilestonePayment, MilestonePayment.id == Payment.milestone_id)
            .outerjoin(MaklonRequest, MaklonRequest.id == MilestonePayment.request_id)
            .where(*_payments_where(f)).order_by(Payment.paid_at, Payment.id))


def _payments_totals(f: ReportFilters) -> Select:
    return select(func.count(Payment.id), func.coalesce(func.sum(_RECEIVED), 0)
                  ).where(*_payments_where(f))


def _balances_where(f: ReportFilters) -> list:
    # The date range applies to the signing date of the order.
    return [MaklonRequest.status == RequestStatus.SIGNED,
            MilestonePayment.status == MilestoneStatus.UNPAID,
            *_between(MaklonRequest.signed_at, f)]


def _balances_rows(f: ReportFilters) -> Select:
    return (select(MaklonRequest.number, MaklonRequest.signed_at, Company.name,
                   MaklonRequest.product_name, func.count(MilestonePayment.id),
                   func.sum(MilestonePayment.amount))
            .join(MaklonRequest, MaklonRequest.id == MilestonePayment.request_id)
            .join(Company, Company.id == MaklonRequest.company_id)
            .where(*_balances_where(f))
            .group_by(MaklonRequest.id, MaklonRequest.number, MaklonRequest.signed_at,
                      Company.name, MaklonRequest.product_name)
            .order_by(MaklonRequest.signed_at, MaklonRequest.id))


def _balances_totals(f: ReportFilters) -> Select:
    return (select(func.count(func.distinct(MaklonRequest.id)),
                   func.coalesce(func.sum(MilestonePayment.amount), 0))
            .select_from(MilestonePayment)
            .join(MaklonRequest, MaklonRequest.id == MilestonePayment.request_id)
            .where(*_balances_where(f)))


def _plain(row) -> list[Any]:
    """Datetimes as WIB text; SUMs as int (PostgreSQL gives Decimal for a SUM of bigint)."""
    return [_wib_text(v) if isinstance(v, datetime) else int(v) if isinstance(v, Decimal)
            else v for v in row]


@dataclass(frozen=True)
class Column:
    """One column of a report. `labels` turns a stored code into the words users read
    elsewhere in the app (order status, payment method); a `csv_only` column (the raw code
    beside its label) is in the CSV for spreadsheets and scripts, not on the screen or PDF."""

    label: Any
    money: bool = False
    labels: Mapping[str, Any] | None = None
    csv_only: bool = False

    def text(self, value: Any) -> Any:
        """The cell as shown: a code's label (the code itself if it has none)."""
        if self.labels is not None and value is not None:
            label = self.labels.get(value)
            return value if label is None else str(label)
        return value


F = TypeVar("F")  # a report's filters: ReportFilters, or the histories' HistoryFilters


@dataclass(frozen=True)
class Report(Generic[F]):
    key: str
    title: Any
    columns: tuple[Column, ...]
    filters_used: tuple[str, ...]  # which filter fields the form shows
    rows_stmt: Callable[[F], Select]
    totals_stmt: Callable[[F], Select]
    totals_labels: tuple[Any, ...]  # one per totals value: a count, then sums of money

    @property
    def shown_columns(self) -> tuple[Column, ...]:
        """The columns of the screen and the PDF (the CSV has them all)."""
        return tuple(c for c in self.columns if not c.csv_only)

    def shown(self, row: list[Any]) -> list[Any]:
        """A row of `rows()` as the screen and the PDF show it: labels, no code columns."""
        return [c.text(v) for c, v in zip(self.columns, row, strict=True) if not c.csv_only]

    def csv_row(self, row: list[Any]) -> list[Any]:
        """A row of `rows()` as the CSV holds it: labels, and the codes in their columns."""
        return [c.text(v) for c, v in zip(self.columns, row, strict=True)]

    def count(self, f: F) -> int:
        stmt = self.rows_stmt(f).order_by(None)
        return int(db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)

    def totals(self, f: F) -> list[tuple[Any, int]]:
        values = db.session.execute(self.totals_stmt(f)).one()
        return [(label, int(value or 0)) for label, value in zip(self.totals_labels, values,
                                                                 strict=True)]

    def page(self, f: F, page: int) -> Page[list[Any]]:
        total = self.count(f)
        rows = db.session.execute(self.rows_stmt(f).limit(PER_PAGE)
                                  .offset((page - 1) * PER_PAGE)).all()
        return Page(items=[self.shown(_plain(r)) for r in rows], total=total, page=page,
                    per_page=PER_PAGE)

    def rows(self, f: F) -> Iterator[list[Any]]:
        """Every filtered row, fetched YIELD_PER at a time (never all in memory)."""
        result = db.session.execute(self.rows_stmt(f).execution_options(yield_per=YIELD_PER))
        try:
            for row in result:
                yield _plain(row)
        finally:
            result.close()


REPORTS: dict[str, Report[ReportFilters]] = {
    "pesanan": Report(
        "pesanan", _l("Pesanan"),
        (Column(_l("Nomor")), Column(_l("Waktu (WIB)")), Column(_l("Toko")),
         Column(_l("Pembeli")), Column(_l("Status"), labels=ORDER_STATUS_LABELS),
         Column(_l("Kode status"), csv_only=True),
         Column(_l("Pembayaran"), labels=ORDER_PAYMENT_LABELS),
         Column(_l("Kode pembayaran"), csv_only=True), Column(_l("Unit")),
         Column(_l("Subtotal"), True), Column(_l("Ongkir"), True), Column(_l("Total"), True)),
        ("dates", "status", "payment_status", "store", "category"),
        _orders_rows, _orders_totals,
        (_l("Jumlah pesanan"), _l("Subtotal"), _l("Ongkir"), _l("Total"))),
    "faktur": Report(
        "faktur", _l("Faktur"),
        (Column(_l("Nomor")), Column(_l("Waktu (WIB)")), Column(_l("Sumber")),
         Column(_l("Penerbit")), Column(_l("Kode penerbit"), csv_only=True),
         Column(_l("Metode"), labels=PAYMENT_METHODS),
         Column(_l("Kode metode"), csv_only=True), Column(_l("Subtotal"), True),
         Column(_l("PPN"), True), Column(_l("Total"), True)),
        ("dates", "method"),
        _invoices_rows, _invoices_totals,
        (_l("Jumlah faktur"), _l("Subtotal"), _l("PPN"), _l("Total"))),
    "pembayaran": Report(
        "pembayaran", _l("Pembayaran diterima"),
        (Column(_l("Referensi")), Column(_l("Dibayar (WIB)")), Column(_l("Untuk")),
         Column(_l("Metode"), labels=PAYMENT_METHODS),
         Column(_l("Kode metode"), csv_only=True), Column(_l("Jumlah"), True)),
        ("dates", "method"),
        _payments_rows, _payments_totals,
        (_l("Jumlah pembayaran"), _l("Total diterima"))),
    "piutang": Report(
        "piutang", _l("Saldo maklon terutang"),
        (Column(_l("Pesanan maklon")), Column(_l("Ditandatangani (WIB)")),
         Column(_l("Perusahaan")), Column(_l("Produk")), Column(_l("Termin belum dibayar")),
         Column(_l("Terutang"), True)),
        ("dates",),
        _balances_rows, _balances_totals,
        (_l("Jumlah pesanan"), _l("Total terutang"))),
}


def filter_choices() -> dict[str, Any]:
    """Options of the store and category selects (small admin-managed lists)."""
    return {
        "stores": db.session.execute(select(Store.id, Store.name).order_by(Store.name)).all(),
        "categories": db.session.execute(
            select(Category.id, Category.name).order_by(Category.name)).all(),
        "order_statuses": OrderStatus.ALL,
        "payment_statuses": PaymentStatus.ALL,
        "methods": tuple(PAYMENT_METHODS),
    }


def filters_described(f: ReportFilters) -> list[tuple[Any, str]]:
    """(label, value) of every filter applied, for the PDF header and the audit row."""
    described: list[tuple[Any, str]] = []
    if f.date_from or f.date_to:
        described.append((_l("Tanggal (WIB)"), f"{f.date_from or '...'} - {f.date_to or '...'}"))
    if f.status:
        described.append((_l("Status pesanan"), str(ORDER_STATUS_LABELS.get(f.status, f.status))))
    if f.payment_status:
        described.append((_l("Status pembayaran"),
                          str(ORDER_PAYMENT_LABELS.get(f.payment_status, f.payment_status))))
    if f.store_id:
        name = db.session.scalar(select(Store.name).where(Store.id == f.store_id))
        described.append((_l("Toko"), name or f"#{f.store_id}"))
    if f.category_id:
        name = db.session.scalar(select(Category.name).where(Category.id == f.category_id))
        described.append((_l("Kategori"), name or f"#{f.category_id}"))
    if f.method:
        described.append((_l("Metode pembayaran"), str(PAYMENT_METHODS.get(f.method, f.method))))
    return described
