"""The weekly sales report: every Monday 09:00 WIB (jobs.reports.weekly, cron "0 2 * * 1"),
one email per seller store with activity in the last ISO week, unless the seller switched
it off (`Store.weekly_report`, on /seller/toko).

Activity = an order of the store created or delivered in that week (WIB, Monday to Sunday).
The report holds the week's revenue (DELIVERED orders by `delivered_at`, as on the
analytics page), orders created, orders delivered, the top products, the low-stock list,
and the change against the week before (percent; "baru" when the week before had none).
The email has an HTML and a text body and the same figures as a PDF attachment.

Idempotent per store and week: a `WeeklyReport` row (unique store + week) is claimed in a
savepoint before anything is queued, in the same transaction as the outbox row; a unique
violation means another run already sent it, and the store is skipped.

    weekly_reports_send(week="2026-W47")  -> {"sent": n, "skipped": n, "week": "2026-W47"}
    flask reports weekly [--week 2026-W47]
"""

from __future__ import annotations

import io
import logging
import re
from datetime import date, datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape

from flask_babel import force_locale, format_date, format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from sqlalchemy import case, exists, func, or_, select
from sqlalchemy.exc import IntegrityError

from app.accounts.models import Store, User
from app.core.clock import utcnow
from app.core.http import public_url
from app.core.mail import mail_queue
from app.core.money import format_rupiah
from app.core.pdf import FONT, FONT_BOLD, pdf_fonts
from app.core.storage import storage_put
from app.extensions import db
from app.orders.models import Order, OrderStatus
from app.reports.analytics import (
    iso_week_monday,
    low_stock,
    top_products,
    wib_day_start,
    wib_today,
)
from app.reports.models import WeeklyReport

log = logging.getLogger(__name__)

REPORT_FOLDER = "reports"
TOP_LIMIT = 5
LOW_STOCK_LIMIT = 10
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


class WeekError(ValueError):
    """A week that is not `YYYY-Www` (an ISO week that exists)."""


def week_label(monday: date) -> str:
    year, week, _day = monday.isocalendar()
    return f"{year}-W{week:02d}"


def parse_week(raw: str) -> date:
    """`2026-W47` -> the Monday of that ISO week; WeekError for anything else."""
    match = _WEEK.match(raw.strip())
    if match is None:
        raise WeekError(f"week must look like 2026-W47, not {raw!r}")
    try:
        return date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
    except ValueError as error:
        raise WeekError(f"no such ISO week: {raw}") from error


def last_week_monday(now: datetime | None = None) -> date:
    """The Monday of the last complete ISO week (WIB)."""
    return iso_week_monday(wib_today(now)) - timedelta(days=7)


def _change(current: int, previous: int) -> dict[str, Any]:
    """The change against the week before: a percent, or new (the week before had 0)."""
    if previous == 0:
        return {"percent": None, "new": current > 0}
    return {"percent": round((current - previous) * 100 / previous, 1), "new": False}


def active_stores(start: datetime, end: datetime) -> list[Store]:
    """Stores with the report on, an active owner, and an order created or delivered in
    [start, end)."""
    # Two EXISTS, not one with an OR inside: each is a range scan of its own index
    # ((store_id, created_at) and (store_id, delivered_at)); the OR made PostgreSQL read
    # each store's orders until one matched (1.2 s at 1M order items, bench/README.md).
    created = exists().where(Order.store_id == Store.id, Order.created_at >= start,
                             Order.created_at < end)
    delivered = exists().where(Order.store_id == Store.id, Order.delivered_at >= start,
                               Order.delivered_at < end)
    activity = or_(created, delivered)
    return list(db.session.scalars(
        select(Store).join(User, User.id == Store.owner_id)
        .where(Store.weekly_report.is_(True), User.active.is_(True), activity)
        .order_by(Store.id)))


def _week_totals(store_ids: list[int], previous_start: datetime, start: datetime,
                 end: datetime) -> dict[int, dict[str, int]]:
    """Revenue, orders created and orders delivered of this and the previous week, per
    store, in two GROUP BY queries."""
    totals = {sid: {"revenue": 0, "previous_revenue": 0, "orders": 0, "previous_orders": 0,
                    "delivered": 0} for sid in store_ids}
    if not store_ids:
        return totals
    in_week = Order.delivered_at >= start
    rows = db.session.execute(
        select(Order.store_id,
               func.sum(case((in_week, Order.total), else_=0)),
               func.sum(case((in_week, 0), else_=Order.total)),
               func.sum(case((in_week, 1), else_=0)))
        .where(Order.store_id.in_(store_ids), Order.status == OrderStatus.DELIVERED,
               Order.delivered_at >= previous_start, Order.delivered_at < end)
        .group_by(Order.store_id)).all()
    for sid, revenue, previous, delivered in rows:
        totals[sid].update(revenue=int(revenue or 0), previous_revenue=int(previous or 0),
                           delivered=int(delivered or 0))
    created_now = Order.created_at >= start
    rows = db.session.execute(
        select(Order.store_id,
               func.sum(case((created_now, 1), else_=0)),
               func.sum(case((created_now, 0), else_=1)))
        .where(Order.store_id.in_(store_ids), Order.created_at >= previous_start,
               Order.created_at < end)
        .group_by(Order.store_id)).all()
    for sid, orders, previous in rows:
        totals[sid].update(orders=int(orders or 0), previous_orders=int(previous or 0))
    return totals


def store_week_figures(store: Store, monday: date, totals: dict[str, int]) -> dict[str, Any]:
    """The report's figures (JSON-ready: stored on the WeeklyReport row)."""
    start, end = wib_day_start(monday), wib_day_start(monday + timedelta(days=7))
    return {
        "week": week_label(monday),
        "first_day": monday.isoformat(),
        "last_day": (monday + timedelta(days=6)).isoformat(),
        **totals,
        "revenue_change": _change(totals["revenue"], totals["previous_revenue"]),
        "orders_change": _change(totals["orders"], totals["previous_orders"]),
        "top_products": [{"name": p.name, "units": p.units, "revenue": p.revenue}
                         for p in top_products(store.id, start, end, by="units",
                                               limit=TOP_LIMIT)],
        "low_stock": [{"product": v.product_name, "options": v.options, "sku": v.sku,
                       "stock": v.stock} for v in low_stock(store, limit=LOW_STOCK_LIMIT)],
        "threshold": store.low_stock_threshold,
    }


def change_label(change: dict[str, Any]) -> str:
    """"+12,5%", "-3%", "baru" (the week before had none) or "-" (none either week), in the
    current locale."""
    if change["percent"] is None:
        return _("baru") if change["new"] else "-"
    return format_decimal(change["percent"], "+#,##0.#;-#,##0.#") + "%"


def _labels(figures: dict[str, Any]) -> dict[str, str]:
    return {"revenue_change": change_label(figures["revenue_change"]),
            "orders_change": change_label(figures["orders_change"]),
            "period": " - ".join(format_date(date.fromisoformat(figures[key]), "medium")
                                 for key in ("first_day", "last_day"))}


# --- PDF ----------------------------------------------------------------------------------

INK = colors.HexColor("#1f2933")
RULE = colors.HexColor("#cbd2d9")
ACCENT = colors.HexColor("#0f766e")
_BASE = ParagraphStyle("wr-base", fontName=FONT, fontSize=9, leading=12, textColor=INK)
_HEAD = ParagraphStyle("wr-head", parent=_BASE, fontName=FONT_BOLD)
_TITLE = ParagraphStyle("wr-title", parent=_BASE, fontName=FONT_BOLD, fontSize=16,
                        leading=20, textColor=ACCENT)
_H2 = ParagraphStyle("wr-h2", parent=_HEAD, fontSize=11, leading=14, spaceBefore=6)


def _p(value: object, style: ParagraphStyle = _BASE) -> Paragraph:
    """Plain text in a Paragraph: reportlab parses markup, so user text is escaped."""
    return Paragraph(escape(str(value)), style)


def _table(header: list[str], rows: list[list[object]], widths: list[float]) -> Table:
    table = Table([[_p(h, _HEAD) for h in header]] + [[_p(c) for c in row] for row in rows],
                  colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([("LINEBELOW", (0, 0), (-1, -1), 0.5, RULE),
                               ("FONTNAME", (0, 0), (-1, -1), FONT),
                               ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return table


def weekly_report_pdf(store_name: str, figures: dict[str, Any]) -> bytes:
    """The report as an A4 PDF (labels in the current locale; DejaVu Sans embedded)."""
    pdf_fonts()
    labels = _labels(figures)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm,
                            topMargin=16 * mm, bottomMargin=16 * mm,
                            title=_("Laporan penjualan mingguan"), author="Racik",
                            initialFontName=FONT)
    story: list = [
        _p(_("Laporan penjualan mingguan"), _TITLE),
        _p(f"{store_name} - {figures['week']} ({labels['period']})", _HEAD),
        Spacer(1, 4 * mm),
        _table([_("Angka"), _("Minggu ini"), _("Minggu sebelumnya"), _("Perubahan")], [
            [_("Pendapatan"), format_rupiah(figures["revenue"]),
             format_rupiah(figures["previous_revenue"]), labels["revenue_change"]],
            [_("Pesanan masuk"), figures["orders"], figures["previous_orders"],
             labels["orders_change"]],
            [_("Pesanan selesai"), figures["delivered"], "", ""],
        ], [50 * mm, 40 * mm, 45 * mm, 35 * mm]),
        Spacer(1, 4 * mm),
        _p(_("Produk terlaris"), _H2),
    ]
    if figures["top_products"]:
        story.append(_table([_("Produk"), _("Unit"), _("Pendapatan")],
                            [[p["name"], p["units"], format_rupiah(p["revenue"])]
                             for p in figures["top_products"]],
                            [100 * mm, 25 * mm, 45 * mm]))
    else:
        story.append(_p(_("Belum ada pesanan selesai minggu ini.")))
    story += [Spacer(1, 4 * mm),
              _p(_("Stok menipis (di bawah %(threshold)s)", threshold=figures["threshold"]),
                 _H2)]
    if figures["low_stock"]:
        story.append(_table([_("Produk"), _("SKU"), _("Stok")],
                            [[f"{v['product']} ({v['options']})" if v["options"]
                              else v["product"], v["sku"], v["stock"]]
                             for v in figures["low_stock"]],
                            [100 * mm, 45 * mm, 25 * mm]))
    else:
        story.append(_p(_("Tidak ada varian dengan stok menipis.")))
    doc.build(story)
    return buffer.getvalue()


# --- sending ------------------------------------------------------------------------------


def weekly_reports_send(*, week: str | None = None, now: datetime | None = None
                        ) -> dict[str, Any]:
    """Queue the report of `week` (default: the last complete ISO week, WIB) for every
    active store that has not had it yet. Flushes; the caller commits."""
    monday = parse_week(week) if week else last_week_monday(now or utcnow())
    label = week_label(monday)
    start, end = wib_day_start(monday), wib_day_start(monday + timedelta(days=7))
    previous_start = wib_day_start(monday - timedelta(days=7))
    stores = active_stores(start, end)
    already = set(db.session.scalars(
        select(WeeklyReport.store_id).where(WeeklyReport.week == label)))
    pending = [store for store in stores if store.id not in already]
    totals = _week_totals([s.id for s in pending], previous_start, start, end)
    sent, skipped = 0, len(stores) - len(pending)
    for store in pending:
        figures = store_week_figures(store, monday, totals[store.id])
        try:
            with db.session.begin_nested():
                report = WeeklyReport(store_id=store.id, week=label, figures=figures)
                db.session.add(report)
        except IntegrityError:  # another run claimed it first: already sent
            skipped += 1
            continue
        owner = store.owner
        with force_locale(owner.locale):
            pdf = weekly_report_pdf(store.name, figures)
            labels = _labels(figures)
        key = storage_put(pdf, folder=REPORT_FOLDER, suffix=".pdf")
        email = mail_queue(
            to=owner.email, template="weekly_report", locale=owner.locale,
            subject=_l("Laporan mingguan %(store)s, %(week)s", store=store.name, week=label),
            attachments=[{"key": key, "filename": f"laporan-mingguan-{label}.pdf",
                          "content_type": "application/pdf"}],
            name=owner.name, store=store, figures=figures, labels=labels,
            analytics_link=public_url("reports.seller_analytics_page"),
            settings_link=public_url("catalog.store_settings"))
        report.email_id = email.id
        db.session.flush()
        sent += 1
    log.info("weekly report %s: %s sent, %s already sent", label, sent, skipped)
    return {"week": label, "sent": sent, "skipped": skipped}
