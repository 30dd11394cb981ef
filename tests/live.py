"""Outside-in testing: the app served over real HTTP on a free port of 127.0.0.1.

`serve(application)` runs werkzeug's threaded server for the duration of a `with` block.
The `live_url` fixture (tests/conftest.py) serves the suite's own `app`, so a test can
arrange rows with `db` (committed), then drive the app with `urllib`/`http.client` exactly
as a browser, a gateway or `curl --path-as-is` would: raw paths, streamed bodies read to
the end, real headers.
"""

from __future__ import annotations

import html
import http.client
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from werkzeug.serving import make_server

from tests.factories import DEFAULT_PASSWORD

# How often serve_forever looks for shutdown(): its default, 0.5 s, made every stop of a
# test's server (the live app, a fake gateway, fake Telegram) wait up to half a second.
POLL_INTERVAL = 0.02


def serving_thread(server, name: str = "test-server") -> threading.Thread:
    """A daemon thread running `server.serve_forever` that stops soon after shutdown()
    (see POLL_INTERVAL); not started."""
    return threading.Thread(target=server.serve_forever, args=(POLL_INTERVAL,), name=name,
                            daemon=True)


@contextmanager
def serve(application) -> Iterator[str]:
    """Serve `application` over HTTP on a free port of 127.0.0.1; yields the base URL and
    stops the server (and its database connections) afterwards."""
    server = make_server("127.0.0.1", 0, application, threaded=True)
    thread = serving_thread(server, "live-server")
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


_CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token_of(page: str) -> str:
    """The CSRF token of a page's first form; AssertionError when it has none."""
    match = _CSRF_INPUT.search(page)
    if match is None:
        raise AssertionError("no csrf_token in the page")
    return html.unescape(match.group(1))


class LiveBrowser:
    """A browser against a live server: keeps its cookies (name → value, as Set-Cookie
    sent them), reads the CSRF token from the pages and sends it with every form POST.

        browser = LiveBrowser(live_url)
        browser.log_in(user.email)
        browser.post_form("/admin/laporan/ekspor", {"laporan": "pesanan", "format": "csv"})

    Every response's body is read to the end (`raw_request`), so a streamed answer that
    breaks midway fails the request, as it would in a browser."""

    def __init__(self, base_url: str, *, accept_language: str | None = None) -> None:
        self.base_url = base_url
        self.cookies: dict[str, str] = {}
        self.accept_language = accept_language
        self.page_token = ""  # the CSRF token of the last page that had a form

    def request(self, path: str, *, method: str = "GET", body: bytes | None = None,
                headers: dict[str, str] | None = None) -> RawResponse:
        sent = {"Accept-Language": self.accept_language} if self.accept_language else {}
        sent.update(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = raw_request(self.base_url, path, method=method, body=body, headers=sent)
        for name, value in response.cookies.items():
            if value:
                self.cookies[name] = value
            else:  # an emptied cookie is a deleted one
                self.cookies.pop(name, None)
        match = _CSRF_INPUT.search(response.text())
        if match:
            self.page_token = html.unescape(match.group(1))
        return response

    def get(self, path: str, headers: dict[str, str] | None = None) -> RawResponse:
        return self.request(path, headers=headers)

    def csrf_token(self, path: str = "/masuk") -> str:
        """The CSRF token of the form on `path` (the login page, or once logged in and
        redirected away from it, the home page)."""
        response = self.get(path)
        if path == "/masuk" and _CSRF_INPUT.search(response.text()) is None:
            response = self.get("/")
        return csrf_token_of(response.text())

    def post_form(self, path: str, data: dict[str, str], *, csrf_from: str = "/masuk",
                  headers: dict[str, str] | None = None) -> RawResponse:
        """POST `data` as a urlencoded form, with the CSRF token read from `csrf_from`."""
        fields = {"csrf_token": self.csrf_token(csrf_from), **data}
        return self.request(path, method="POST", body=urlencode(fields).encode(), headers={
            "Content-Type": "application/x-www-form-urlencoded", **(headers or {})})

    def post(self, path: str, data: dict[str, str] | None = None, *,
             headers: dict[str, str] | None = None, csrf_from: str = "/") -> RawResponse:
        """POST `data` as a form, as the page just read would (its CSRF token, `Origin`
        and `Referer`); the token is read from `csrf_from` when no page gave one yet."""
        if not self.page_token:
            self.get(csrf_from)
        body = urlencode({"csrf_token": self.page_token, **(data or {})}).encode()
        return self.request(path, method="POST", body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded", "Origin": self.base_url,
            "Referer": self.base_url + path, **(headers or {})})

    def post_multipart(self, path: str, fields: dict[str, str],
                       files: dict[str, tuple[str, bytes, str]]) -> RawResponse:
        """POST a multipart/form-data form with the CSRF token: `files` maps a field to
        (file name, bytes, content type)."""
        if not self.page_token:
            self.get(path)
        boundary = "----racik-live-boundary"
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"'
                 f"\r\n\r\n{value}\r\n".encode()
                 for name, value in {"csrf_token": self.page_token, **fields}.items()]
        for name, (filename, data, content_type) in files.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                         f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'
                         .encode() + data + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return self.request(path, method="POST", body=body, headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Origin": self.base_url, "Referer": self.base_url + path})

    def log_in(self, email: str, password: str = DEFAULT_PASSWORD) -> RawResponse:
        """Log in through the login form; AssertionError unless it redirects (303)."""
        response = self.post_form("/masuk", {"email": email, "password": password})
        if response.status != 303:
            raise AssertionError(f"login of {email} answered {response.status}: "
                                 f"{response.text()[:300]}")
        self.page_token = ""  # logging in rotates the session: forms need a fresh token
        return response

    def set_language(self, language: str) -> RawResponse:
        """Switch the UI language the way the language menu does: POST /bahasa with the
        page's token, or on a shared anonymous page (no token) its link."""
        if _CSRF_INPUT.search(self.get("/").text()) is None:
            return self.get(f"/bahasa/{language}?next=/")
        return self.post_form("/bahasa", {"lang": language, "next": "/"}, csrf_from="/")


def live_log_in(base_url: str, email: str, password: str = DEFAULT_PASSWORD) -> LiveBrowser:
    """A `LiveBrowser` logged in as `email` through the login form."""
    browser = LiveBrowser(base_url)
    browser.log_in(email, password)
    return browser
