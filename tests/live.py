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
    fails here."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
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
