"""Gunicorn settings for the production image: `gunicorn -c docker/gunicorn.conf.py wsgi:app`.

Everything here can be tuned from the environment without rebuilding:

    WEB_CONCURRENCY        worker processes (default 2 * cores + 1)
    GUNICORN_THREADS       threads per worker (default 4; gthread worker class)
    GUNICORN_TIMEOUT       seconds before a silent worker is killed and replaced (default 30)
    GUNICORN_KEEPALIVE     seconds an idle keep-alive connection stays open (default 5;
                           docker/nginx.conf opens one connection per request, see there)
    GUNICORN_GRACEFUL_TIMEOUT  seconds a stopping node has to finish its requests (30)
    FORWARDED_ALLOW_IPS    proxies trusted for X-Forwarded-Proto (default 127.0.0.1,::1;
                           docker-compose.yml sets "*" because only nginx can reach `web`)
    PORT                   listening port (default 8000)

Mind the database: each worker's SQLAlchemy pool holds up to one connection per busy thread,
so web replicas * WEB_CONCURRENCY * GUNICORN_THREADS should stay well below PostgreSQL's
max_connections (100 by default), leaving room for the RQ workers and cron.
"""

from __future__ import annotations

import os

from gunicorn.workers.gthread import TConn, ThreadWorker


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # honours the container's cpuset
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


bind = f"0.0.0.0:{_int('PORT', 8000)}"
workers = _int("WEB_CONCURRENCY", 2 * _cores() + 1)


class DrainingThreadWorker(ThreadWorker):
    """gthread, except that a stopping worker stops *listening* at once. Stock gunicorn only
    stops accepting and keeps its copy of the listening socket open until it exits: the
    kernel keeps completing handshakes into the backlog meanwhile, and those requests (a
    POST nginx already sent) were reset when the worker finally exited — a 502 during every
    rolling restart. Here the backlog is accepted and served, then the socket is closed:
    once every worker of the node has done so, new connections are refused, and nginx
    retries a refused connection on the other node (safe even for a POST: nothing was sent).
    """

    def set_accept_enabled(self, enabled: bool) -> None:
        super().set_accept_enabled(enabled)
        if enabled or self.alive:
            return
        for listener in self.sockets:
            while True:  # non-blocking (set when accepting was enabled)
                try:
                    client, address = listener.accept()
                except OSError:
                    break
                self.nr_conns += 1
                client.setblocking(True)
                self.enqueue_req(TConn(self.cfg, client, address, listener.getsockname()))
            listener.close()


worker_class = DrainingThreadWorker
threads = _int("GUNICORN_THREADS", 4)

timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)

# Recycle workers now and then (bounded memory growth); jitter avoids restarting all at once.
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 200)

# The app is created in each worker (no preload): engines, Redis clients and thread pools
# must not be shared across fork.
preload_app = False

# Heartbeat files in memory, not on the container's overlay filesystem.
worker_tmp_dir = "/dev/shm"  # noqa: S108 - tmpfs inside the container, by design
# The control socket would live under $HOME/.gunicorn; nothing in the container uses it.
control_socket_disable = True

forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Logs: access log to stdout, errors to stderr; the request id ties a line to the app's logs.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
access_log_format = (
    '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(f)s" "%(a)s" rid=%({x-request-id}o)s'
)


def child_exit(server, worker) -> None:
    """Multi-process metrics (PROMETHEUS_MULTIPROC_DIR): forget a dead worker's gauges."""
    from app.core.metrics import gunicorn_child_exit

    gunicorn_child_exit(server, worker)
