"""Seller analytics: the figures of one store, every aggregation in SQL (GROUP BY).

Revenue is the `total` of DELIVERED orders (goods plus the store's shipping charge),
counted on the WIB day of `delivered_at`: an order delivered at 23:30 WIB counts for that
day, one at 00:30 WIB for the next. Cancelled, returned and undelivered orders never count.

Day buckets are portable between SQLite and PostgreSQL: the UTC bounds of the WIB days are
computed in Python (WIB has no daylight saving time) and a CASE over those ranges names the
day index; the database groups by it. No Python loop ever walks orders.

    stats = seller_analytics(store)          # everything the /seller/analitik page shows
    daily_revenue(store_id, first_day, days) # [(date, revenue)] with every day present
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, case, func, select, text

from app.accounts.models import Store
from app.catalog.models import Product, Variant
from app.core.clock import WIB, to_wib, utcnow
from app.extensions import db
from app.orders.models import Order, OrderItem, OrderStatus

TOP_LIMIT = 10
LOW_STOCK_LIMIT = 50
TREND_DAYS = (7, 30)


def wib_day_start(day: date) -> datetime:
    """The UTC instant a WIB day begins."""
    return datetime.combine(day, time(0), WIB).astimezone(UTC)


def wib_today(now: datetime | None = None) -> date:
    return to_wib(now or utcnow()).date()


def iso_week_monday(day: date) -> date:
    """The Monday of the ISO week holding `day`."""
    return day - timedelta(days=day.weekday())


def _delivered(store_id: int):
    return and_(Order.store_id == store_id, Order.status == OrderStatus.DELIVERED,
                Order.delivered_at.is_not(None))


def revenue_headline(store_id: int, *, today: date) -> dict[str, int]:
    """Revenue today, this ISO week (Monday start) and this month, WIB, in one query."""
    day_start = wib_day_start(today)
    week_start = wib_day_start(iso_week_monday(today))
    month_start = wib_day_start(today.replace(day=1))
    end = wib_day_start(today + timedelta(days=1))
    first = min(week_start, month_start)

    def part(start: datetime):
        return func.coalesce(func.sum(case((Order.delivered_at >= start, Order.total),
                                           else_=0)), 0)

    row = db.session.execute(
        select(part(day_start), part(week_start), part(month_start))
        .where(_delivered(store_id), Order.delivered_at >= first, Order.delivered_at < end)
    ).one()
    return {"today": int(row[0]), "week": int(row[1]), "month": int(row[2])}


def daily_revenue(store_id: int, first_day: date, days: int) -> list[tuple[date, int]]:
    """Revenue per WIB day for `days` days from `first_day`, zeros included."""
    bounds = [wib_day_start(first_day + timedelta(days=i)) for i in range(days + 1)]
    # WHENs are tried in order: the first upper bound the instant is below names its day.
    bucket = case(*[(Order.delivered_at < bounds[i + 1], i) for i in range(days)],
                  else_=-1).label("day_index")
    rows = db.session.execute(
        select(bucket, func.sum(Order.total))
        .where(_delivered(store_id), Order.delivered_at >= bounds[0],
               Order.delivered_at < bounds[-1])
        # By the output name: PostgreSQL would see the CASE in GROUP BY (with its own bind
        # parameters) as a different expression from the one selected.
        .group_by(text("day_index"))
    ).all()
    totals = {int(index): int(amount or 0) for index, amount in rows}
    return [(first_day + timedelta(days=i), totals.get(i, 0)) for i in range(days)]


def orders_by_status(store_id: int) -> dict[str, int]:
    """How many of the store's orders are in each status now (every status present)."""
    rows = db.session.execute(
        select(Order.status, func.count(Order.id)).where(Order.store_id == store_id)
        .group_by(Order.status)
    ).all()
    counts = {status: 0 for status in OrderStatus.ALL}
    counts.update({status: int(count) for status, count in rows})
    return counts


@dataclass(frozen=True)
class ProductFigure:
    product_id: int | None
    name: str
    units: int
    revenue: int


def top_products(store_id: int, start: datetime, end: datetime, *, by: str = "units",
                 limit: int = TOP_LIMIT) -> list[ProductFigure]:
    """The best sellers among the store's orders delivered in [start, end): by units sold
    or by revenue (the lines' totals). Grouped by product and its name at checkout."""
    units = func.sum(OrderItem.quantity).label("units")
    revenue = func.sum(OrderItem.line_total).label("revenue")
    order_by = (units.desc(), revenue.desc()) if by == "units" else (revenue.desc(),
                                                                     units.desc())
    rows = db.session.execute(
        select(OrderItem.product_id, OrderItem.product_name, units, revenue)
        .join(Order, Order.id == OrderItem.order_id)
        .where(_delivered(store_id), Order.delivered_at >= start, Order.delivered_at < end)
        .group_by(OrderItem.product_id, OrderItem.product_name)
        .order_by(*order_by, OrderItem.product_name)
        .limit(limit)
    ).all()
    return [ProductFigure(product_id, name, int(u or 0), int(r or 0))
            for product_id, name, u, r in rows]


@dataclass(frozen=True)
class LowStock:
    variant_id: int
    product_name: str
    options: str
    sku: str
    stock: int


def low_stock(store: Store, *, limit: int = LOW_STOCK_LIMIT) -> list[LowStock]:
    """Active variants of active products under the store's low-stock threshold."""
    rows = db.session.execute(
        select(Variant.id, Product.name, Variant.options, Variant.sku, Variant.stock)
        .join(Product, Product.id == Variant.product_id)
        .where(Variant.store_id == store.id, Variant.active.is_(True),
               Product.active.is_(True), Variant.stock < store.low_stock_threshold)
        .order_by(Variant.stock, Product.name, Variant.id)
        .limit(limit)
    ).all()
    return [LowStock(vid, name, ", ".join(f"{k}: {v}" for k, v in (options or {}).items()),
                     sku, int(stock)) for vid, name, options, sku, stock in rows]


@dataclass(frozen=True)
class SellerAnalytics:
    today: date
    revenue: dict[str, int]
    statuses: dict[str, int]
    trends: dict[int, list[tuple[date, int]]]  # days -> [(date, revenue)]
    top_units: list[ProductFigure]
    top_revenue: list[ProductFigure]
    low_stock: list[LowStock]
    threshold: int


def seller_analytics(store: Store, *, now: datetime | None = None) -> SellerAnalytics:
    """Every figure of the analytics page for `store` (the period of the top lists and the
    long trend: the last 30 WIB days, today included)."""
    today = wib_today(now)
    longest = max(TREND_DAYS)
    trend = daily_revenue(store.id, today - timedelta(days=longest - 1), longest)
    trends = {days: trend[-days:] for days in TREND_DAYS}
    start = wib_day_start(today - timedelta(days=longest - 1))
    end = wib_day_start(today + timedelta(days=1))
    return SellerAnalytics(
        today=today,
        revenue=revenue_headline(store.id, today=today),
        statuses=orders_by_status(store.id),
        trends=trends,
        top_units=top_products(store.id, start, end, by="units"),
        top_revenue=top_products(store.id, start, end, by="revenue"),
        low_stock=low_stock(store),
        threshold=store.low_stock_threshold,
    )
