"""Outside-in testing: the app served over real HTTP on a free port of 127.0.0.1.

`serve(application)` runs werkzeug's threaded server for the duration of a `with` block.
The `live_url` fixture (tests/conftest.py) serves the suite's own `app`, so a test can
arrange rows with `db` (committed), then drive the app with `urllib`/`http.client` exactly
as a browser, a gateway or `curl --path-as-is` would: raw paths, streamed bodies read to
the end, real headers.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from werkzeug.serving import make_server


@contextmanager
def serve(application) -> Iterator[str]:
    """Serve `application` over HTTP on a free port of 127.0.0.1; yields the base URL and
    stops the server (and its database connections) afterwards."""
    server = make_server("127.0.0.1", 0, application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        with application.app_context():
            from app.extensions import db

            db.engine.dispose()


@dataclass
class RawResponse:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    cookies: dict[str, str] = field(default_factory=dict)

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def raw_request(base_url: str, path: str, *, method: str = "GET", body: bytes | None = None,
                headers: dict[str, str] | None = None, timeout: float = 30) -> RawResponse:
    """One request with `path` sent byte for byte (no normalisation of `..` or `%2e`, like
    `curl --path-as-is`); the whole body is read, so a streamed answer that fails midway
    fails here. An https base URL is not verified (the tests' self-signed certificates)."""
    parts = urlsplit(base_url)
    if parts.scheme == "https":
        import ssl

        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=timeout, context=context)
    else:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True,
                              skip_host="Host" in (headers or {}))
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        if body is not None:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        data = response.read()
        cookies = {}
        for value in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            cookies[name.strip()] = rest.split(";", 1)[0]
        return RawResponse(response.status, response.headers, data, cookies)
    finally:
        connection.close()



class LiveSession:
    """A browser's cookie jar over `raw_request`: every answer's cookies are kept and sent
    with the next request (the session cookie changes as the app writes to the session)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.cookies: dict[str, str] = {}

    def request(self, path: str, *, headers: dict[str, str] | None = None,
                **options) -> RawResponse:
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        response = raw_request(self.base_url, path, headers=sent, **options)
        self.cookies.update(response.cookies)
        return response

    def post_form(self, path: str, data: dict[str, str], *,
                  headers: dict[str, str] | None = None) -> RawResponse:
        """POST `data` as a form (put the page's `csrf_token_of` in it)."""
        from urllib.parse import urlencode

        return self.request(path, method="POST", body=urlencode(data).encode(), headers={
            **(headers or {}), "Content-Type": "application/x-www-form-urlencoded"})


def csrf_token_of(html: str) -> str:
    """The CSRF token of a page's first form."""
    import re

    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def live_log_in(base_url: str, email: str, password: str | None = None) -> LiveSession:
    """Log in over HTTP as a browser does (the login page, then its form with the CSRF
    token); returns the session that carries the cookie on later requests."""
    from tests.factories import DEFAULT_PASSWORD

    session = LiveSession(base_url)
    page = session.request("/masuk")
    answer = session.post_form("/masuk", {"csrf_token": csrf_token_of(page.text()),
                                          "email": email,
                                          "password": password or DEFAULT_PASSWORD})
    assert answer.status == 303, (answer.status, answer.text()[:300])
    return session
