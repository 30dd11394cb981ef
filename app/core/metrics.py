"""Prometheus metrics at GET /metrics (official `prometheus-client`), for insiders only.

What is measured:
- `racik_http_request_duration_seconds{endpoint,method,status}`: latency histogram per Flask
  endpoint name (never the raw path: ids would explode the series);
- `racik_jobs_total{queue,outcome}`: jobs finished/failed; counted in Redis when jobs run on
  RQ workers (other processes, other hosts), else in this process;
- `racik_queue_jobs{queue,state}`: RQ's queued/started/scheduled/failed jobs now;
- `racik_outbox_messages{status}` and `racik_outbox_oldest_due_seconds`;
- `racik_db_pool_connections{state}`: the SQLAlchemy pool of each web process (summed);
- what domains register with `metrics_source_register` (payments by status).

Multi-process gunicorn: with PROMETHEUS_MULTIPROC_DIR set (an empty directory, emptied at
each start, before the first import of prometheus_client) every worker process writes its
samples there and /metrics sums them with `multiprocess.MultiProcessCollector`; the config
hook `child_exit = app.core.metrics.gunicorn_child_exit` drops a dead worker's live gauges.

Who may read: loopback and private addresses (the compose network; behind nginx the client
address comes from X-Forwarded-For through ProxyFix, PROXY_FIX_X_FOR), or a request with
`Authorization: Bearer <METRICS_TOKEN>`. Anyone else gets a 404, as if it did not exist.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import threading
import time
from collections import Counter as _Tally
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response, abort, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from app.core.app_object import current_app_object

log = logging.getLogger(__name__)

REQUEST_LATENCY = Histogram(
    "racik_http_request_duration_seconds", "Time to answer a request, by Flask endpoint",
    ("endpoint", "method", "status"),
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
DB_POOL = Gauge("racik_db_pool_connections", "SQLAlchemy pool connections of web processes",
                ("state",), multiprocess_mode="livesum")

# Loopback, RFC 1918, carrier-grade NAT (some clouds' internal ranges), IPv6 ULA. Not
# `ip.is_private`: it also counts the documentation ranges, which stand for the internet.
INTERNAL_NETWORKS = tuple(ipaddress.ip_network(net) for net in (
    "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
    "::1/128", "fc00::/7"))
_JOBS_KEY = "racik:metrics:jobs"  # Redis hash "queue|outcome" -> count
_local_jobs: _Tally[tuple[str, str]] = _Tally()
_local_lock = threading.Lock()
_SOURCES: list[Callable[[], Iterable[Metric]]] = []


def metrics_source_register(source: Callable[[], Iterable[Metric]]) -> None:
    """A domain adds metric families computed at scrape time (inside an app context)."""
    if source not in _SOURCES:
        _SOURCES.append(source)


def internal_request() -> bool:
    """True for loopback/private clients, or the bearer METRICS_TOKEN."""
    token = current_app.config.get("METRICS_TOKEN") or ""
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(
            header[7:].strip().encode(), token.encode()):
        return True
    try:
        address = ipaddress.ip_address((request.remote_addr or "").split("%")[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in network for network in INTERNAL_NETWORKS)


def job_outcome_count(queue: str, outcome: str) -> None:
    """Count one job outcome (finished/failed) where /metrics can see it."""
    from app.core.queue import redis_connection

    app = current_app_object()
    if app.config.get("JOBS_MODE_ACTIVE") == "rq":
        client = redis_connection(app)
        if client is not None:
            try:
                client.hincrby(_JOBS_KEY, f"{queue}|{outcome}", 1)
                return
            except Exception:  # metrics never break a job
                log.warning("could not count a job outcome in Redis")
    with _local_lock:
        _local_jobs[(queue, outcome)] += 1


class _ScrapeCollector:
    """Values read at scrape time: queues and job counts (Redis), outbox, domains (DB)."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterable[Metric]:
        yield from self._jobs()
        yield from self._outbox()
        for source in _SOURCES:
            try:
                yield from source()
            except Exception:
                log.exception("metrics source %s failed", getattr(source, "__name__", source))

    def _jobs(self) -> Iterable[Metric]:
        from app.core.queue import QUEUES, redis_connection

        jobs = CounterMetricFamily("racik_jobs", "Jobs run to an outcome",
                                   labels=("queue", "outcome"))
        depth = GaugeMetricFamily("racik_queue_jobs", "RQ jobs by queue and state",
                                  labels=("queue", "state"))
        client = redis_connection(self.app) if self.app.config.get(
            "JOBS_MODE_ACTIVE") == "rq" else None
        counts: dict[tuple[str, str], float] = {}
        with _local_lock:
            counts.update({key: float(value) for key, value in _local_jobs.items()})
        if client is not None:
            try:
                from rq import Queue

                for field, tally in client.hgetall(_JOBS_KEY).items():
                    key = field.decode() if isinstance(field, bytes) else field
                    name, _, outcome = key.partition("|")
                    counts[(name, outcome)] = counts.get((name, outcome), 0) + float(tally)
                for name in QUEUES:
                    queue = Queue(name, connection=client)
                    depth.add_metric([name, "queued"], queue.count)
                    depth.add_metric([name, "started"], queue.started_job_registry.count)
                    depth.add_metric([name, "scheduled"], queue.scheduled_job_registry.count)
                    depth.add_metric([name, "failed"], queue.failed_job_registry.count)
            except Exception:
                log.warning("metrics: Redis unavailable")
        for (name, outcome), value in sorted(counts.items()):
            jobs.add_metric([name, outcome], value)
        yield jobs
        yield depth

    def _outbox(self) -> Iterable[Metric]:
        from app.core.health import outbox_backlog

        try:
            backlog = outbox_backlog()
        except Exception:
            log.warning("metrics: outbox unavailable")
            return
        states = GaugeMetricFamily("racik_outbox_messages", "Email outbox rows by status",
                                   labels=("status",))
        for status, count in sorted(backlog["counts"].items()):
            states.add_metric([status], count)
        yield states
        yield GaugeMetricFamily("racik_outbox_oldest_due_seconds",
                                "Age of the oldest email waiting to be sent",
                                value=backlog["oldest_due_seconds"] or 0)


class _ThisProcess:
    """The default registry's samples (single-process mode)."""

    def collect(self) -> Iterable[Metric]:
        yield from REGISTRY.collect()


_POOL_READERS = (("checked_out", "checkedout"), ("checked_in", "checkedin"),
                 ("overflow", "overflow"), ("size", "size"))
# (process id, state): (its gauge child, the value last set). By process: a gunicorn
# worker forked after a sample must still write its own first values.
_pool_last: dict[tuple[int, str], tuple[Any, float | None]] = {}


def _pool_sample() -> None:
    """The pool's gauges, written only when a value changed (each write of a multi-process
    gauge is a write to this process's file)."""
    from app.extensions import db

    pool = db.engine.pool
    pid = os.getpid()
    for state, reader in _POOL_READERS:
        value = getattr(pool, reader, None)
        if not callable(value):
            continue
        now = value()
        last = _pool_last.get((pid, state))
        if last is None:
            last = (DB_POOL.labels(state), None)
        elif last[1] == now:
            continue
        last[0].set(now)
        _pool_last[(pid, state)] = (last[0], now)


def metrics_text(app: Flask) -> bytes:
    """The exposition of every process of this node plus the scrape-time values."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(_ScrapeCollector(app))
    return generate_latest(registry)


def gunicorn_child_exit(server, worker) -> None:
    """Gunicorn `child_exit` hook: forget the live gauges of a worker process that ended."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)


def init_metrics(app: Flask) -> None:
    """Time every request; serve /metrics (see the module docstring for who may read)."""

    @app.after_request
    def _observe(response: Response) -> Response:
        started = request.environ.get("racik.started") or g.get("_started")
        if started is not None:
            REQUEST_LATENCY.labels(request.endpoint or "unmatched", request.method,
                                   str(response.status_code)).observe(
                time.perf_counter() - started)
        try:
            _pool_sample()
        except Exception:  # a metric never breaks an answer
            log.debug("pool sample failed", exc_info=True)
        return response

    def metrics():
        if not internal_request():
            abort(404)
        response = Response(metrics_text(current_app_object()),
                            mimetype=CONTENT_TYPE_LATEST)
        response.headers["Cache-Control"] = "no-store"
        return response

    app.add_url_rule("/metrics", "core.metrics", metrics)
