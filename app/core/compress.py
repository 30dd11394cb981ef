"""gzip for text responses, for deployments without a compressing proxy in front.

On with COMPRESS_RESPONSES=true (off by default: docker/nginx.conf compresses, and doing it
twice only costs CPU). A response is compressed when the client accepts gzip, it is text
(HTML, CSS, JS, JSON, SVG, CSV, plain), at least MIN_BYTES long, not already encoded, and
complete in memory: streamed responses (exports, file downloads) pass through untouched, so
they keep streaming.
"""

from __future__ import annotations

import gzip

from flask import Flask, Response, request

MIN_BYTES = 1024
TEXT_TYPES = frozenset({
    "text/html", "text/css", "text/plain", "text/csv", "text/javascript",
    "application/javascript", "application/json", "application/problem+json",
    "image/svg+xml",
})


def _accepts_gzip() -> bool:
    return any(value.strip().lower() == "gzip" and quality > 0
               for value, quality in request.accept_encodings)


def compress_response(response: Response) -> Response:
    if (response.direct_passthrough or response.is_streamed
            or response.status_code < 200 or response.status_code in (204, 206, 304)
            or "Content-Encoding" in response.headers
            or response.mimetype not in TEXT_TYPES or request.method == "HEAD"):
        return response
    response.vary.add("Accept-Encoding")
    if not _accepts_gzip():
        return response
    data = response.get_data()
    if len(data) < MIN_BYTES:
        return response
    response.set_data(gzip.compress(data, compresslevel=5))
    response.headers["Content-Encoding"] = "gzip"
    tag, _weak = response.get_etag()
    if tag:  # a strong ETag names the uncompressed bytes
        response.set_etag(tag, weak=True)
    return response


def init_compression(app: Flask) -> None:
    app.after_request(compress_response)
