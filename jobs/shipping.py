"""Shipping jobs (thin: one service call; raise on failure so RQ retries)."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.orders.models import Order
from app.orders.tracking import tracking_sweep
from app.shipping.services import tracking_refresh


def track(order_id: int) -> dict:
    """Fetch the courier's manifest of a shipped order from the aggregator and keep the new
    lines (safe to run twice: a line is kept once). Raises RateSourceError on a failed
    call."""
    awb = db.session.scalar(select(Order.tracking_number).where(Order.id == order_id)) or ""
    return {"added": tracking_refresh(order_id=order_id, awb=awb)}


def sweep() -> dict:
    """Cron, hourly: follow the parcels on the way (one `track` job per order due)."""
    return {"queued": tracking_sweep()}
