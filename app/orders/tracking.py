"""The hourly sweep of shipped orders whose courier manifest is stale (cron: jobs.shipping.
sweep). It reads orders, so it lives in orders; app.shipping knows no order."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.core.clock import utcnow
from app.core.queue import enqueue_after_commit
from app.extensions import db
from app.orders.models import Order, OrderStatus
from app.shipping.models import Shipment
from app.shipping.rates import aggregator
from app.shipping.services import TRACKING_STALE

TRACKING_SWEEP_DAYS = 14  # parcels shipped longer ago are not followed any more


def tracking_sweep(*, limit: int = 500) -> int:
    """Queue `jobs.shipping.track` for the shipped courier orders whose manifest was not
    asked for in the last TRACKING_STALE (cron, hourly); returns how many. Nothing without
    a configured aggregator."""
    if aggregator() is None:
        return 0
    now = utcnow()
    ids = db.session.scalars(
        select(Order.id).join(Shipment, Shipment.order_id == Order.id).where(
            Order.status == OrderStatus.SHIPPED, Order.tracking_number != "",
            Order.shipped_at >= now - timedelta(days=TRACKING_SWEEP_DAYS),
            (Shipment.tracked_at.is_(None)) | (Shipment.tracked_at < now - TRACKING_STALE))
        .order_by(Order.id).limit(limit)).all()
    for order_id in ids:
        enqueue_after_commit("jobs.shipping.track", order_id, retries=2, timeout=30)
    return len(ids)
