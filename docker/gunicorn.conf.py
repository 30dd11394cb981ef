"""Gunicorn settings for the production image: `gunicorn -c docker/gunicorn.conf.py wsgi:app`.

Everything here can be tuned from the environment without rebuilding:

    WEB_CONCURRENCY        worker processes (default 2 * cores + 1)
    GUNICORN_THREADS       threads per worker (default 4; gthread worker class)
    GUNICORN_TIMEOUT       seconds before a silent worker is killed and replaced (default 30)
    GUNICORN_KEEPALIVE     seconds an idle keep-alive connection from nginx stays open
                           (default 75: longer than nginx's upstream keepalive_timeout 60s,
                           so gunicorn never closes a connection nginx is about to reuse)
    FORWARDED_ALLOW_IPS    proxies trusted for X-Forwarded-Proto (default 127.0.0.1,::1;
                           docker-compose.yml sets "*" because only nginx can reach `web`)
    PORT                   listening port (default 8000)

Mind the database: each worker's SQLAlchemy pool holds up to one connection per busy thread,
so web replicas * WEB_CONCURRENCY * GUNICORN_THREADS should stay well below PostgreSQL's
max_connections (100 by default), leaving room for the RQ workers and cron.
"""

from __future__ import annotations

import os


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
worker_class = "gthread"
threads = _int("GUNICORN_THREADS", 4)

timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 75)

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
