"""Logging: every line carries the request id (or the job id inside a worker)."""

from __future__ import annotations

import contextvars
import logging
import re
import uuid

from flask import Flask, g, has_request_context, request

# Outside a request (jobs, CLI) the job runner sets this so its lines are traceable too.
current_log_id: contextvars.ContextVar[str] = contextvars.ContextVar("log_id", default="-")

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
LOG_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"


class RequestIdFilter(logging.Filter):
    """Adds `record.request_id` to every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context() and getattr(g, "request_id", None):
            record.request_id = g.request_id
        else:
            record.request_id = current_log_id.get()
        return True


def configure_logging(level: str) -> None:
    """Install one handler on the root logger whose lines include the request id."""
    root = logging.getLogger()
    for handler in root.handlers:
        if getattr(handler, "_racik", False):
            handler.setLevel(level)
            return
    handler = logging.StreamHandler()
    handler._racik = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(RequestIdFilter())
    handler.setLevel(level)
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.getLevelName(level):
        root.setLevel(level)


def init_request_id(app: Flask) -> None:
    """Take a well-formed X-Request-ID from the proxy or make one; echo it back."""

    @app.before_request
    def _assign_request_id() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex

    @app.after_request
    def _echo_request_id(response):
        request_id = getattr(g, "request_id", None)
        if request_id:
            response.headers["X-Request-ID"] = request_id
        return response
