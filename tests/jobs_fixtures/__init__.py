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


def hold_then_count(token: str) -> dict:
    """For the killed-worker test (a real RQ worker in a subprocess): count the start in
    Redis, wait while the test holds `racik:test:<token>:hold`, then do the job's one
    visible effect (a Redis list entry). Deliberately not idempotent: a second execution
    of the effect would show."""
    import os
    import time

    import redis

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    client.incr(f"racik:test:{token}:starts")
    deadline = time.monotonic() + 120
    while client.exists(f"racik:test:{token}:hold") and time.monotonic() < deadline:
        time.sleep(0.2)
    client.rpush(f"racik:test:{token}:effects", os.getpid())
    return {"token": token}


def explode_with(password: str) -> None:
    """A failing job whose argument is a secret (the Sentry test)."""
    raise RuntimeError("job failed")
