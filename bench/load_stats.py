"""Figures of a load run, shared by the HTTP load generators (stdlib only).

    pct(values, p)                          the p-th percentile (nearest rank)
    summarize(threads, connections, wall)   one row's figures from its Connection threads,
                                            each holding `results` [(status, ms, ok)] and
                                            `errors` [text]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def summarize(threads: Iterable[Any], connections: int, wall: float) -> dict:
    threads = list(threads)
    results = [r for thread in threads for r in thread.results]
    errors = [e for thread in threads for e in thread.errors]
    latencies = [r[1] for r in results]
    statuses = Counter(str(status) for status, _, _ in results)
    return {"connections": connections, "seconds": round(wall, 2), "requests": len(results),
            "per_second": round(len(results) / wall, 1) if wall else 0.0,
            "ms": {"p50": round(pct(latencies, 50), 2), "p90": round(pct(latencies, 90), 2),
                   "p99": round(pct(latencies, 99), 2),
                   "max": round(max(latencies, default=0.0), 2)},
            "statuses": dict(statuses), "unexpected": sum(1 for r in results if not r[2]),
            "errors": errors[:5]}
