"""Job functions used only by the tests (enqueued by dotted name like real jobs)."""

from __future__ import annotations

from app.core.queue import job_progress

CALLS: list[tuple] = []


def record_call(value: str) -> dict:
    CALLS.append(("record_call", value))
    job_progress(60, "setengah jalan")
    return {"value": value}


def explode(value: str) -> None:
    CALLS.append(("explode", value))
    raise RuntimeError("boom")


def tick() -> None:
    CALLS.append(("tick",))
