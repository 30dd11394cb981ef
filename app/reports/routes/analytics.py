"""Seller analytics page.

URL table:
    GET  /seller/analitik   revenue today/week/month, orders by status, 7- and 30-day
                            revenue trend (inline SVG + table), top products, low stock
"""

from __future__ import annotations

from flask_babel import format_date, format_decimal
from flask_babel import gettext as _

from app.accounts.current import my_store
from app.core.http import render_page
from app.core.money import format_rupiah
from app.core.security import role_required
from app.orders.lifecycle import ORDER_STATUS_LABELS
from app.reports.analytics import seller_analytics
from app.reports.charts import bar_chart
from app.reports.routes import bp


def rupiah_axis_label(amount: int) -> str:
    """A gridline's value, short enough for the chart's value axis: 0, 750 rb, 1,5 jt,
    2 M (ribu, juta, miliar; the locale's decimal sign)."""
    for size, unit in ((1_000_000_000, _("M")), (1_000_000, _("jt")), (1_000, _("rb"))):
        if abs(amount) >= size:
            return f"{format_decimal(amount / size, '#,##0.#')} {unit}"
    return format_decimal(amount, "#,##0")


def _trend_chart(points, days: int):
    chart_points = [(format_date(day, "d/M"), amount,
                     f"{format_date(day, 'medium')}: {format_rupiah(amount)}")
                    for day, amount in points]
    total = sum(amount for _day, amount in points)
    return bar_chart(
        chart_points, chart_id=f"trend-{days}",
        title=_("Pendapatan harian, %(days)s hari terakhir", days=days),
        desc=_("Diagram batang pendapatan per hari (WIB) dari %(first)s sampai %(last)s; "
               "total %(total)s.", first=format_date(points[0][0], "medium"),
               last=format_date(points[-1][0], "medium"), total=format_rupiah(total)),
        label_every=1 if days <= 7 else 5, value_label=rupiah_axis_label)


@bp.route("/seller/analitik")
@role_required("seller")
def seller_analytics_page():
    shop = my_store()
    stats = seller_analytics(shop)
    charts = {days: _trend_chart(points, days) for days, points in stats.trends.items()}
    return render_page("reports/seller_analytics.html", shop=shop, stats=stats,
                       charts=charts, status_labels=ORDER_STATUS_LABELS)
