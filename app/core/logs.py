"""Logging: every line carries the request id, and inside a job also the job id.

The request id is decided before anything else looks at the request (CSRF, login, the
database): `RequestIdMiddleware` wraps the whole WSGI app, takes a well-formed
`X-Request-ID` from the proxy or makes one, and keeps it in a context variable for the
length of the request, so the lines of a CSRF 400 or of an error that escapes Flask carry
it too, and the answer echoes it. A job enqueued by a request keeps that request's id in
its RQ meta; the worker's lines then carry both (`request_id`, `job_id`).

`LOG_FORMAT=json` writes one JSON object per line (time, level, logger, message,
request_id, job_id; `exc_info` when there is a traceback).
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from flask import Flask, g, has_request_context

# The request id of this request (web) or of the request that queued this job (worker).
current_log_id: contextvars.ContextVar[str] = contextvars.ContextVar("log_id", default="-")
# The job id while a job runs.
current_job_id: contextvars.ContextVar[str] = contextvars.ContextVar("job_id", default="-")

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
ENVIRON_KEY = "racik.request_id"
LOG_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"
# Inside a job: the job id beside the enqueuing request's id.
JOB_LOG_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s job=%(job_id)s] %(name)s: %(message)s"


def request_id_from(header: str | None) -> str:
    """The proxy's X-Request-ID when it is well formed, otherwise a new one."""
    return header if header and _SAFE_REQUEST_ID.match(header) else uuid.uuid4().hex


def current_request_id() -> str:
    """This request's id ("-" outside a request and a job)."""
    if has_request_context() and getattr(g, "request_id", None):
        return g.request_id
    return current_log_id.get()


class RequestIdFilter(logging.Filter):
    """Adds `record.request_id` and `record.job_id` to every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        record.job_id = current_job_id.get()
        return True


class TextFormatter(logging.Formatter):
    """The classic line; a job's lines also name the job."""

    def __init__(self) -> None:
        super().__init__(LOG_FORMAT)
        self._job = logging.Formatter(JOB_LOG_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        if getattr(record, "job_id", "-") != "-":
            return self._job.format(record)
        return super().format(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            "job_id": getattr(record, "job_id", "-"),
        }
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str, fmt: str = "text") -> None:
    """Install one handler on the root logger whose lines include the request id."""
    root = logging.getLogger()
    formatter = JsonFormatter() if fmt == "json" else TextFormatter()
    for handler in root.handlers:
        if getattr(handler, "_racik", False):
            handler.setLevel(level)
            handler.setFormatter(formatter)
            return
    handler = logging.StreamHandler()
    handler._racik = True  # type: ignore[attr-defined]
    handler.setFormatter(formatter)
    handler.addFilter(RequestIdFilter())
    handler.setLevel(level)
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.getLevelName(level):
        root.setLevel(level)


class RequestIdMiddleware:
    """Outermost WSGI layer: the request id exists before Flask runs anything, every
    answer echoes it, and an error that escapes the app is logged with it and answered
    with a plain 500 that names it (instead of the server's anonymous one)."""

    def __init__(self, wsgi_app: Callable) -> None:
        self.wsgi_app = wsgi_app
        self.log = logging.getLogger("racik.request")

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request_id = request_id_from(environ.get("HTTP_X_REQUEST_ID"))
        environ[ENVIRON_KEY] = request_id
        environ["racik.started"] = time.perf_counter()  # request latency (core.metrics)
        current_log_id.set(request_id)
        started = False

        def start(status: str, headers: list, exc_info=None):
            nonlocal started
            started = True
            if not any(name.lower() == "x-request-id" for name, _ in headers):
                headers.append(("X-Request-ID", request_id))
            return start_response(status, headers, exc_info)

        try:
            body = self.wsgi_app(environ, start)
        except Exception:
            self.log.exception("unhandled error outside the app's handlers on %s %s",
                               environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
            payload = f"Internal Server Error (request id {request_id})\n".encode()
            # With exc_info, a server that already sent the headers raises again (PEP 3333).
            start_response("500 INTERNAL SERVER ERROR", [
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Length", str(len(payload))), ("X-Request-ID", request_id),
                ("Cache-Control", "no-store")], sys.exc_info() if started else None)
            current_log_id.set("-")
            return [payload]
        return _ClosingBody(body, request_id)


class _ClosingBody:
    """Keeps the request id in the logging context while the body streams; forgets it
    when the server closes the body (a server thread serves the next request next)."""

    def __init__(self, body: Iterable[bytes], request_id: str) -> None:
        self.body = body
        self.request_id = request_id

    def __iter__(self):
        current_log_id.set(self.request_id)
        yield from self.body

    def close(self) -> None:
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            current_log_id.set("-")


def init_request_id(app: Flask) -> None:
    """Wrap the app in `RequestIdMiddleware`; expose the id as `g.request_id`; echo it."""
    # Flask's documented way to add WSGI middleware; its typing calls wsgi_app a method.
    app.wsgi_app = RequestIdMiddleware(app.wsgi_app)  # type: ignore[method-assign]

    def _assign_request_id() -> None:
        from flask import request

        g.request_id = request.environ.get(ENVIRON_KEY) or request_id_from(
            request.headers.get("X-Request-ID"))
        current_log_id.set(g.request_id)

    # First of all before_request functions: CSRF (Flask-WTF) and the rest run after it.
    app.before_request_funcs.setdefault(None, []).insert(0, _assign_request_id)

    @app.after_request
    def _echo_request_id(response):
        request_id = getattr(g, "request_id", None)
        if request_id:
            response.headers["X-Request-ID"] = request_id
        return response
