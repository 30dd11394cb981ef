"""Seller analytics against a hand-computed fixture: WIB day edges, the ISO week boundary,
other stores and undelivered/cancelled/returned orders excluded; the SVG chart; access."""

from __future__ import annotations

import re
from datetime import date

import pytest

from app.orders.models import OrderStatus
from app.reports.analytics import seller_analytics
from app.reports.charts import bar_chart
from tests.factories import make_product, make_user
from tests.reports.helpers import make_timed_order, wib

# Wednesday 25 November 2026, 10:00 WIB: the ISO week began Monday 23 November.
NOW = wib("2026-11-25 10:00")


@pytest.fixture
def shop(db):
    """Store A with its orders (the figures in the comments), store B with one order."""
    seller = make_user(roles=("seller",), store_name="Toko Glow")
    buyer = make_user()
    store = seller.store
    serum = make_product(store=store, name="Serum Glow", stock=20)
    toner = make_product(store=store, name="Toner Mawar", stock=9)  # under 10: low
    sabun = make_product(store=store, name="Sabun Sereh", stock=3)  # low
    # Tuesday 23:30 WIB counts for Tuesday 24 (week, month; not today).
    make_timed_order(store=store, buyer=buyer, lines=[(serum, 2, 50_000)],
                     created="2026-11-24 08:00", delivered="2026-11-24 23:30")
    # 00:30 WIB Wednesday (still Tuesday in UTC) counts for today.
    make_timed_order(store=store, buyer=buyer, lines=[(toner, 1, 200_000)],
                     created="2026-11-24 09:00", delivered="2026-11-25 00:30")
    # Sunday 23:30 WIB: last ISO week (month only); Monday 00:10 WIB: this week.
    make_timed_order(store=store, buyer=buyer, lines=[(serum, 1, 50_000)],
                     created="2026-11-20 09:00", delivered="2026-11-22 23:30")
    make_timed_order(store=store, buyer=buyer, lines=[(sabun, 7, 10_000)],
                     created="2026-11-20 09:00", delivered="2026-11-23 00:10")
    # 31 October 23:30 WIB: in the 30-day trend and top lists, not this month.
    make_timed_order(store=store, buyer=buyer, lines=[(serum, 3, 10_000)],
                     created="2026-10-30 09:00", delivered="2026-10-31 23:30")
    # Never revenue: cancelled, shipped (not delivered yet), returned after delivery.
    make_timed_order(store=store, buyer=buyer, lines=[(toner, 50, 19_980)],
                     created="2026-11-25 08:00", status=OrderStatus.CANCELLED)
    make_timed_order(store=store, buyer=buyer, lines=[(toner, 4, 222_000)],
                     created="2026-11-25 08:00", status=OrderStatus.SHIPPED)
    make_timed_order(store=store, buyer=buyer, lines=[(serum, 7, 111_000)],
                     created="2026-11-23 08:00", delivered="2026-11-25 01:00",
                     status=OrderStatus.RETURNED)
    other = make_user(roles=("seller",), store_name="Toko Lain")
    sampo = make_product(store=other.store, name="Sampo Lidah Buaya", stock=1)
    make_timed_order(store=other.store, buyer=buyer, lines=[(sampo, 5, 1_000_000)],
                     created="2026-11-25 00:10", delivered="2026-11-25 01:00")
    db.session.commit()
    return seller


def test_revenue_figures_by_wib_day_week_and_month(db, shop):
    stats = seller_analytics(shop.store, now=NOW)
    assert stats.today == date(2026, 11, 25)
    assert stats.revenue == {"today": 200_000, "week": 370_000, "month": 420_000}


def test_trends_have_every_day_with_zeros(db, shop):
    stats = seller_analytics(shop.store, now=NOW)
    seven = stats.trends[7]
    assert [day for day, _amount in seven] == [date(2026, 11, d) for d in range(19, 26)]
    assert [amount for _day, amount in seven] == [0, 0, 0, 50_000, 70_000, 100_000, 200_000]
    thirty = stats.trends[30]
    assert len(thirty) == 30
    assert thirty[0] == (date(2026, 10, 27), 0)
    assert dict(thirty)[date(2026, 10, 31)] == 30_000
    assert sum(amount for _day, amount in thirty) == 450_000


def test_orders_by_status_and_top_products(db, shop):
    stats = seller_analytics(shop.store, now=NOW)
    assert stats.statuses == {"pending": 0, "processing": 0, "shipped": 1, "delivered": 5,
                              "cancelled": 1, "returned": 1}
    assert [(p.name, p.units, p.revenue) for p in stats.top_units] == [
        ("Sabun Sereh", 7, 70_000), ("Serum Glow", 6, 180_000), ("Toner Mawar", 1, 200_000)]
    assert [p.name for p in stats.top_revenue] == ["Toner Mawar", "Serum Glow", "Sabun Sereh"]


def test_low_stock_lists_only_the_stores_variants_under_its_threshold(db, shop):
    stats = seller_analytics(shop.store, now=NOW)
    assert [(v.product_name, v.stock) for v in stats.low_stock] == [
        ("Sabun Sereh", 3), ("Toner Mawar", 9)]


def test_bar_chart_has_one_bar_per_point_and_an_accessible_title():
    svg = str(bar_chart([("1/11", 0, "a"), ("2/11", 5, "b"), ("3/11", 10, "<c>")],
                        chart_id="t", title="Pendapatan <harian>", desc="Tiga hari"))
    assert svg.count('class="chart-bar"') == 3
    assert 'role="img"' in svg and 'aria-labelledby="t-title t-desc"' in svg
    assert '<title id="t-title">Pendapatan &lt;harian&gt;</title>' in svg
    assert '<desc id="t-desc">Tiga hari</desc>' in svg
    assert "style=" not in svg and "<script" not in svg
    heights = [float(h) for h in re.findall(r'class="chart-bar"[^>]*height="([\d.]+)"', svg)]
    assert heights[0] == 0 and heights[2] == 2 * heights[1]


def test_page_shows_the_sellers_own_figures(client, db, shop, login_as, monkeypatch):
    monkeypatch.setattr("app.reports.analytics.utcnow", lambda: NOW)
    login_as(shop)
    response = client.get("/seller/analitik")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert re.search(r'data-figure="week">\s*Rp\u00a0370\.000<', body)
    assert re.search(r'data-figure="today">\s*Rp\u00a0200\.000<', body)
    assert body.count('class="chart-bar"') == 37  # 7 + 30 days, zeros included
    assert 'id="trend-7-title"' in body and 'id="trend-30-title"' in body
    assert "Sabun Sereh" in body and "Sampo Lidah Buaya" not in body
    assert "Rp\u00a05.000.000" not in body  # store B's revenue
    assert "style=" not in body.split("<main", 1)[-1]
    assert 'href="/seller/analitik"' in body  # the navigation entry


@pytest.mark.parametrize("role", ["customer", "client", "staff", "admin"])
def test_page_is_forbidden_to_non_sellers(client, db, login_as, role):
    login_as(role)
    assert client.get("/seller/analitik").status_code == 403


def test_page_asks_anonymous_to_log_in(client, db):
    response = client.get("/seller/analitik")
    assert response.status_code == 302 and "/masuk" in response.headers["Location"]


def test_bar_chart_draws_gridlines_with_their_values_on_the_svg(app):
    from app.reports.routes.analytics import rupiah_axis_label

    with app.test_request_context("/"):  # Indonesian: decimal comma
        _gridlines_with_values(rupiah_axis_label)


def _gridlines_with_values(rupiah_axis_label) -> None:
    svg = str(bar_chart([("1/11", 0, "a"), ("2/11", 370_000, "b"), ("3/11", 200_000, "c")],
                        chart_id="g", title="t", desc="d", value_label=rupiah_axis_label))
    # top rounded up to 500.000: five lines (axis + four gridlines) labelled 0 .. 500 rb
    assert svg.count('class="chart-grid"') == 4 and svg.count('class="chart-axis"') == 1
    values = re.findall(r'class="chart-value"[^>]*>([^<]+)<', svg)
    assert values == ["0", "125 rb", "250 rb", "375 rb", "500 rb"]
    grid_y = [float(y) for y in re.findall(r'class="chart-grid" x1="[\d.]+" y1="([\d.]+)"',
                                           svg)]
    assert grid_y == sorted(grid_y, reverse=True)  # each line above the one before
    assert rupiah_axis_label(1_500_000) == "1,5 jt" and rupiah_axis_label(2_000_000_000) == "2 M"
    font_sizes = {int(size) for size in re.findall(r'font-size="(\d+)"', svg)}
    assert font_sizes == {16}  # 400 units wide: >= 11px on a 300px phone column
