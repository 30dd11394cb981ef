"""HTTP helpers: htmx-aware rendering, redirects, and the error pages.

A page includes its partials; the same partial answers the htmx request. Responses to
fragment routes carry `Vary: HX-Request` (added for every HTML response in
`core.security`). Errors are full pages normally and small fragments for htmx.
"""

from __future__ import annotations

import logging
import math
import re
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import quote

from flask import (
    Flask,
    Response,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    stream_with_context,
)
from flask_babel import force_locale, get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.wrappers import Response as WerkzeugResponse

from app.core.db import session_rollback_quietly, set_read_only_transactions
from app.extensions import limiter

log = logging.getLogger(__name__)

ERROR_TITLES = {
    400: _l("Permintaan tidak valid"),
    401: _l("Perlu masuk"),
    403: _l("Akses ditolak"),
    404: _l("Halaman tidak ditemukan"),
    405: _l("Metode tidak diizinkan"),
    409: _l("Terjadi konflik"),
    413: _l("Berkas terlalu besar"),
    422: _l("Data tidak dapat diproses"),
    429: _l("Terlalu banyak percobaan"),
    500: _l("Terjadi kesalahan pada server"),
}
ERROR_MESSAGES = {
    400: _l("Permintaan tidak dapat diproses. Periksa kembali isian Anda."),
    401: _l("Silakan masuk untuk melanjutkan."),
    403: _l("Anda tidak memiliki izin untuk membuka halaman ini."),
    404: _l("Halaman atau data yang Anda cari tidak ada."),
    405: _l("Tindakan ini tidak didukung di alamat ini."),
    409: _l("Tindakan ini tidak dapat dilakukan karena datanya sudah berubah. Muat ulang halaman."),
    413: _l("Berkas yang Anda kirim melebihi batas ukuran."),
    422: _l("Data yang dikirim tidak dapat diproses."),
    429: _l("Terlalu banyak percobaan. Silakan coba lagi nanti."),
    500: _l(
        "Maaf, terjadi kesalahan. Kesalahan ini sudah dicatat untuk tim kami; silakan coba lagi."
    ),
}


def is_htmx() -> bool:
    """True for an htmx request that wants a fragment (not a boosted full-page load)."""
    htmx = getattr(request, "htmx", None)  # htmx-flask's view of the request's headers
    return bool(htmx) and not htmx.boosted


def render_page(page: str, partial: str | None = None, http_status: int = 200,
                **context: Any):
    """Render `partial` for htmx requests and `page` (which includes it) otherwise."""
    template = partial if partial and is_htmx() else page
    return render_template(template, **context), http_status


def form_status() -> int:
    """200 for showing a form, 422 for a submitted form that comes back with messages."""
    return 422 if request.method == "POST" else 200


def see_other(location: str) -> WerkzeugResponse:
    """Redirect after a successful POST: 303 normally, `HX-Redirect` for htmx requests."""
    if is_htmx():
        response = make_response("", 204)
        response.headers["HX-Redirect"] = location
        return response
    return redirect(location, code=303)


def streamed_response(chunks: Iterable[str], *, content_type: str) -> Response:
    """A response whose body `chunks` produces while it is sent (a large CSV).

    Werkzeug reads the body only after Flask has torn the request down: the database
    session is removed, so the logged-in user (`current_user`) is detached and expired, and
    the locale would be looked up again from it. `stream_with_context` pushes the contexts
    back, not that state. So the locale is resolved now, while the request is alive, and
    the body runs under it, in a fresh session that only reads (SQLite: a deferred BEGIN,
    no write lock held while the client downloads)."""
    locale = str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])

    def body() -> Iterator[str]:
        set_read_only_transactions(True)
        try:
            with force_locale(locale):
                yield from chunks
        finally:
            set_read_only_transactions(False)

    return Response(stream_with_context(body()), content_type=content_type)


def render_error(code: int, message: str | None = None, retry_minutes: int | None = None):
    context = {
        "code": code,
        "title": ERROR_TITLES.get(code, ERROR_TITLES[500]),
        "message": message or ERROR_MESSAGES.get(code, ERROR_MESSAGES[500]),
        "retry_minutes": retry_minutes,
    }
    template = "errors/_fragment.html" if is_htmx() else "errors/page.html"
    return render_template(template, **context), code


def _retry_minutes() -> int:
    current = limiter.current_limit
    if current is None:
        return 1
    # reset_at is rounded up to the next whole second by Flask-Limiter; undo that.
    return max(1, math.ceil((current.reset_at - 1 - time.time()) / 60))


# Path prefix -> renderer of HTTP errors, for parts of the site that answer errors in a
# format of their own (the JSON API registers "/api/").
_ERROR_RENDERERS: dict[str, Callable[[HTTPException], Response]] = {}


def error_renderer_register(prefix: str, renderer: Callable[[HTTPException], Response]) -> None:
    _ERROR_RENDERERS[prefix] = renderer


def _own_renderer() -> Callable[[HTTPException], Response] | None:
    return next((renderer for prefix, renderer in _ERROR_RENDERERS.items()
                 if request.path.startswith(prefix)), None)


def init_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf_error(error: CSRFError):
        if (renderer := _own_renderer()) is not None:
            return renderer(error)
        log.info("CSRF rejected: %s", error.description)
        return render_error(
            400,
            str(
                _l("Formulir kedaluwarsa atau tidak sah. Muat ulang halaman lalu coba lagi.")
            ),
        )

    @app.errorhandler(429)
    def _too_many(error: HTTPException):
        if (renderer := _own_renderer()) is not None:
            return renderer(error)
        # Flask-Limiter adds the exact Retry-After header (RATELIMIT_HEADERS_ENABLED).
        return render_error(429, retry_minutes=_retry_minutes())

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        if (renderer := _own_renderer()) is not None:
            return renderer(error)
        response = make_response(*render_error(error.code))
        methods = getattr(error, "valid_methods", None)  # MethodNotAllowed's
        if error.code == 405 and methods:
            response.headers["Allow"] = ", ".join(methods)
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        if isinstance(error, HTTPException):
            return _http_error(error)
        session_rollback_quietly()
        log.exception("unhandled error on %s %s", request.method, request.path)
        if (renderer := _own_renderer()) is not None:
            return renderer(InternalServerError())
        return render_error(500)

    # Flask calls the handler for 500 also when debugging is off and no other matches.
    app.register_error_handler(
        InternalServerError,
        lambda e: renderer(e) if (renderer := _own_renderer()) is not None else render_error(500))


def app_path(endpoint: str, **values: Any) -> str:
    """The path of `endpoint`, also outside a request (jobs have no request to build from)."""
    adapter = current_app.url_map.bind("localhost")
    return adapter.build(endpoint, values)


def public_url(endpoint: str, **values: Any) -> str:
    """The absolute URL for emails: PUBLIC_BASE_URL + the endpoint's path."""
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + app_path(endpoint, **values)


_FILENAME_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """A `Content-Disposition` value per RFC 6266: an ASCII `filename` (anything else made
    `_`, for old clients) and the exact name as `filename*` (RFC 8187, UTF-8)."""
    fallback = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    fallback = _FILENAME_UNSAFE.sub("_", fallback).strip("_.") or "download"
    exact = quote(filename, safe="!#$&+-.^_`|~")
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{exact}"
