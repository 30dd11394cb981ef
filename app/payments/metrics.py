"""Payments' figures for /metrics (core.metrics asks; payments answers)."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select

from app.extensions import db
from app.payments.models import Payment


def payments_by_status() -> Iterable[Metric]:
    """`racik_payments{status}`: how many payments are in each status now."""
    family = GaugeMetricFamily("racik_payments", "Payments by status", labels=("status",))
    rows = db.session.execute(select(Payment.status, func.count()).group_by(Payment.status))
    for status, count in sorted(rows.all()):
        family.add_metric([status], count)
    yield family
