"""Maklon on-time delivery rate job (thin: one service call, committed by the runner)."""

from __future__ import annotations

from app.maklon.otdr import otdr_compute


def compute() -> dict:
    """Cron, 01:30 WIB: store the OTDR overall and per company (safe to run twice)."""
    snapshots = otdr_compute()
    overall = snapshots[0]
    return {"on_time": overall.on_time, "total": overall.total, "window": overall.window,
            "companies": len(snapshots) - 1}
