"""Whole answers of shared public pages, given before Flask runs.

A public page whose HTML comes from the data cache for a visitor it may be shared with
(`core.cache.page_entry`: the home page, search, product and store pages; no user, no
session, no cookie set, a 200) is the same answer — status, headers, body — for everyone
who sends the same request. `SharedAnswers`, the WSGI layer right around Flask (inside
ProxyFix and the request-id layer), keeps that whole answer in the data cache beside the
HTML, valid under the same tag versions and for as long, and gives it to the next request
that may share it without running Flask: no request context, session, Flask-Login, locale
negotiation, limiter, CSRF, template or after-request hooks (about two thirds of the CPU of
an anonymous home page that the HTML cache already served).

Which requests may share one (everything else goes to Flask, as before):

- a GET with no Cookie and no Authorization header (a session, a remember-me cookie, a
  chosen language or a token could make the answer personal), no conditional or Range
  header (Flask answers 304s and ranges), and no htmx header but HX-Request /
  HX-Current-URL;
- the key is everything of the request the page can read for such a visitor: scheme, host,
  port, script root, path, query string, Accept, Accept-Language, Accept-Encoding and
  HX-Request.

A form page for an anonymous first visit (`core.cache.anonymous_form_page`: log-in and
registration, no query string) is kept the same way with placeholders where its CSRF token
and session cookie go: each answer given gets a new seed in a new session cookie, signed by
the app's session interface with the attributes Flask wrote, and the form token Flask-WTF
would have made for it (`core.cache.csrf_seed_and_token`), so the POST is checked exactly
as before. Not kept: another cookie, an expiring (permanent) session, a compressed body.

What a given answer still gets per request: its own X-Request-ID (the outer layer), the
request-latency metric under the page's endpoint, `X-Racik-Cache: hit`. An invalidated tag
makes the next request a miss that Flask renders and offers again; a cache outage only
sends every request to Flask. `SHARED_ANSWERS = False` turns the layer off.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask

from app.core.cache import (
    CSRF_PLACEHOLDER,
    FORM_ANSWER,
    RENDER_GENERATION,
    SHARED_ANSWER,
    cache,
    csrf_seed_and_token,
    entry_get,
    entry_set,
)
from app.core.metrics import REQUEST_LATENCY

log = logging.getLogger(__name__)

# Like the HTML it carries, an answer belongs to the running code (core.cache's render
# generation): a deploy never gives one that the previous code stored in a shared Redis.
_ANSWER_PREFIX = f"answer:{RENDER_GENERATION}:"
# A request carrying one of these may be personal or needs Flask's handling.
_PASS_THROUGH = ("HTTP_COOKIE", "HTTP_AUTHORIZATION", "HTTP_IF_NONE_MATCH",
                 "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_MATCH", "HTTP_IF_UNMODIFIED_SINCE",
                 "HTTP_IF_RANGE", "HTTP_RANGE")
_HTMX_SHAREABLE = frozenset({"HTTP_HX_REQUEST", "HTTP_HX_CURRENT_URL"})
# The request headers a shared page reads (besides the URL): content negotiation, the
# language, gzip (COMPRESS_RESPONSES) and whether htmx asked for the fragment.
_KEYED = ("HTTP_ACCEPT", "HTTP_ACCEPT_LANGUAGE", "HTTP_ACCEPT_ENCODING", "HTTP_HX_REQUEST")
# Headers of the answer that belong to one request, never kept.
_PER_REQUEST = frozenset({"x-request-id", "date", "x-racik-cache"})
_TOKEN = CSRF_PLACEHOLDER.encode()  # where a kept form page's CSRF token goes


def answer_key(environ: dict[str, Any]) -> str | None:
    """The key of the request's shared answer, or None when it may not share one."""
    if environ.get("REQUEST_METHOD") != "GET":
        return None
    for name in _PASS_THROUGH:
        if name in environ:
            return None
    for name in environ:
        if name.startswith("HTTP_HX_") and name not in _HTMX_SHAREABLE:
            return None
    host = environ.get("HTTP_HOST") or (f"{environ.get('SERVER_NAME', '')}:"
                                        f"{environ.get('SERVER_PORT', '')}")
    return "\x1f".join((
        environ.get("wsgi.url_scheme", "http"), host, environ.get("SERVER_PORT", ""),
        environ.get("SCRIPT_NAME", ""), environ.get("PATH_INFO", ""),
        environ.get("QUERY_STRING", ""), *(environ.get(name, "") for name in _KEYED)))


class SharedAnswers:
    """The WSGI layer (see the module docstring)."""

    def __init__(self, app: Flask, wsgi_app: Callable) -> None:
        self.app = app
        self.wsgi_app = wsgi_app

    def _backend(self) -> Any | None:
        config = self.app.config
        if not config.get("SHARED_ANSWERS", True) or config.get("CACHE_TYPE") == "NullCache":
            return None
        return self.app.extensions.get("cache", {}).get(cache)

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        request_key = answer_key(environ)
        backend = self._backend() if request_key is not None else None
        if request_key is None or backend is None:
            return self.wsgi_app(environ, start_response)
        key = _ANSWER_PREFIX + request_key
        try:
            answer = entry_get(backend, key)
        except Exception:  # a cache outage slows pages down, it never breaks them
            log.warning("shared answers: read failed", exc_info=True)
            return self.wsgi_app(environ, start_response)
        if answer is not None:
            return self._give(environ, start_response, answer)
        return self._offer(backend, key, environ, start_response)

    def _give(self, environ: dict[str, Any], start_response: Callable,
              answer: tuple) -> Iterable[bytes]:
        headers, body, endpoint, cookie = answer
        if cookie is not None:  # a form page: this visitor's own token and session
            body, headers = self._personal(body, headers, cookie)
        start_response("200 OK", [*headers, ("X-Racik-Cache", "hit")])
        stats = self.app.extensions.get("racik_cache_stats")
        if stats is not None:
            stats["hits"] += 1
        started = environ.get("racik.started")
        if started is not None:
            REQUEST_LATENCY.labels(endpoint, "GET", "200").observe(
                time.perf_counter() - started)
        return [body]

    def _personal(self, body: bytes, headers: list, cookie: tuple[str, str]
                  ) -> tuple[bytes, list]:
        """A kept form page made this visitor's: a new CSRF seed in a new session cookie
        (signed by the app's session interface, the cookie's attributes as Flask wrote
        them) and its token in the form, as Flask would have answered a first visit."""
        app = self.app
        field = app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
        seed, token = csrf_seed_and_token(app)
        serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
        name, attributes = cookie
        body = body.replace(_TOKEN, token.encode())
        return body, [*headers, ("Content-Length", str(len(body))),
                      ("Set-Cookie", f"{name}={serializer.dumps({field: seed})}{attributes}")]

    def _offer(self, backend: Any, key: str, environ: dict[str, Any],
               start_response: Callable) -> Iterable[bytes]:
        """Flask answers; an answer it offered (core.cache), always a 200, is kept on the
        way out: its headers but the per-request ones, its body and its endpoint; a form
        page's with placeholders for its token and session cookie."""
        seen: dict[str, Any] = {}

        def start(status: str, headers: list, exc_info: Any = None):
            seen["status"], seen["headers"] = status, headers
            return start_response(status, headers, exc_info)

        body = self.wsgi_app(environ, start)
        shared, form = environ.get(SHARED_ANSWER), environ.get(FORM_ANSWER)
        headers = seen.get("headers") or []
        cookies = [value for name, value in headers if name.lower() == "set-cookie"]
        if seen.get("status") != "200 OK" or not (
                (shared is not None and not cookies) or (form is not None and cookies)):
            return body
        try:
            chunks = b"".join(body)
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
        kept = [(name, value) for name, value in headers if name.lower() not in _PER_REQUEST]
        entry: tuple | None
        if shared is not None:
            versions, timeout, endpoint = shared
            entry = (kept, chunks, endpoint or "unmatched", None)
        else:
            versions, timeout = {}, None  # as the form page's HTML (core.cache)
            entry = self._form_entry(form, kept, chunks, cookies, headers)
            if entry is None:
                return [chunks]
        try:
            entry_set(backend, key, entry, versions=versions, timeout=timeout)
        except Exception:
            log.warning("shared answers: write failed", exc_info=True)
        return [chunks]

    def _form_entry(self, form: tuple[str, str | None] | None, kept: list, chunks: bytes,
                    cookies: list[str], headers: list) -> tuple | None:
        """What is kept of a form page's answer: the body with the placeholder where this
        visitor's token is, the headers but its cookie and length, and the cookie's name
        and attributes; None when it cannot be made again without Flask."""
        cookie = self._form_cookie(cookies, headers)
        if form is None or cookie is None or form[0].encode() not in chunks:
            return None
        token, endpoint = form
        kept = [(name, value) for name, value in kept
                if name.lower() not in ("set-cookie", "content-length")]
        return (kept, chunks.replace(token.encode(), _TOKEN), endpoint or "unmatched", cookie)

    def _form_cookie(self, cookies: list[str], headers: list) -> tuple[str, str] | None:
        """(name, attributes) of a form page's one session cookie, or None when the answer
        cannot be made again without Flask: another cookie, an expiring (permanent)
        session, or a compressed body the token cannot be put into."""
        name = self.app.config["SESSION_COOKIE_NAME"]
        if len(cookies) != 1 or not cookies[0].startswith(f"{name}=") or any(
                header.lower() == "content-encoding" for header, _ in headers):
            return None
        attributes = cookies[0][cookies[0].index(";"):] if ";" in cookies[0] else ""
        if "expires=" in attributes.lower() or "max-age=" in attributes.lower():
            return None
        return name, attributes
