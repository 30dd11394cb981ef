"""A browser over real HTTP for outside-in tests: a cookie jar, the page's CSRF token, form
posts. Built on `tests.live.raw_request` against the `live_url` server.

    browser = LiveBrowser(live_url)
    browser.log_in(email)
    page = browser.get("/keranjang")
    response = browser.post("/keranjang/3", {"quantity": "9" * 25})
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from tests.factories import DEFAULT_PASSWORD
from tests.live import RawResponse, raw_request

CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class LiveBrowser:
    """Cookies kept between requests (like a browser), forms posted url-encoded with the
    CSRF token read from a page of the site."""

    def __init__(self, base_url: str, *, accept_language: str = "id") -> None:
        self.base_url = base_url
        self.cookies: dict[str, str] = {}
        self.accept_language = accept_language
        self.csrf_token = ""

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Host": self.base_url.removeprefix("http://"),
                   "Accept-Language": self.accept_language}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        headers.update(extra or {})
        return headers

    def _keep(self, response: RawResponse) -> RawResponse:
        self.cookies.update(response.cookies)
        match = CSRF_INPUT.search(response.text())
        if match:
            self.csrf_token = match.group(1)
        return response

    def get(self, path: str, headers: dict[str, str] | None = None) -> RawResponse:
        return self._keep(raw_request(self.base_url, path, headers=self._headers(headers)))

    def post(self, path: str, data: dict[str, str] | None = None, *,
             headers: dict[str, str] | None = None, csrf_from: str = "/") -> RawResponse:
        """Post `data` as a form with the CSRF token (read from `csrf_from` if no page
        gave one yet)."""
        if not self.csrf_token:
            self.get(csrf_from)
        body = urlencode({"csrf_token": self.csrf_token, **(data or {})}).encode()
        extra = {"Content-Type": "application/x-www-form-urlencoded",
                 "Origin": self.base_url, "Referer": self.base_url + path, **(headers or {})}
        return self._keep(raw_request(self.base_url, path, method="POST", body=body,
                                      headers=self._headers(extra)))

    def post_multipart(self, path: str, fields: dict[str, str],
                       files: dict[str, tuple[str, bytes, str]]) -> RawResponse:
        """Post a multipart/form-data form (with the CSRF token): `files` maps a field to
        (file name, bytes, content type)."""
        if not self.csrf_token:
            self.get(path)
        boundary = "----racik-live-boundary"
        parts = []
        for name, value in {"csrf_token": self.csrf_token, **fields}.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"'
                         f"\r\n\r\n{value}\r\n".encode())
        for name, (filename, data, content_type) in files.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                         f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'
                         .encode() + data + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        extra = {"Content-Type": f"multipart/form-data; boundary={boundary}",
                 "Origin": self.base_url, "Referer": self.base_url + path}
        return self._keep(raw_request(self.base_url, path, method="POST", body=body,
                                      headers=self._headers(extra)))

    def log_in(self, email: str, password: str = DEFAULT_PASSWORD) -> RawResponse:
        self.get("/masuk")
        response = self.post("/masuk", {"email": email, "password": password})
        assert response.status == 303, response.text()[:500]
        self.csrf_token = ""  # the session changed at login: read a fresh token
        self.get("/")
        return response
