"""Errors go to Sentry (when SENTRY_DSN is set) without passwords, tokens or formulas."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.live import serving_thread
from tests.ops.sentry_client import SECRETS
from tests.ops.workers import ROOT


class _Ingest(BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        encoding = (self.headers.get("Content-Encoding") or "").lower()
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        elif encoding == "br":
            import brotli

            body = brotli.decompress(body)
        self.received.append(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args) -> None:
        pass


def _events(bodies: list[bytes]) -> list[dict]:
    events = []
    for body in bodies:
        lines = body.split(b"\n")
        for header, payload in zip(lines[1::2], lines[2::2], strict=False):
            if json.loads(header).get("type") == "event":
                events.append(json.loads(payload))
    return events


@pytest.mark.redis
def test_errors_reach_sentry_without_secrets(redis_url, tmp_path):
    _Ingest.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ingest)
    thread = serving_thread(server)
    thread.start()
    try:
        env = {"PATH": "/usr/bin:/bin", "REDIS_URL": redis_url,
               "SENTRY_DSN": f"http://key@127.0.0.1:{server.server_port}/1"}
        run = subprocess.run([sys.executable, "-m", "tests.ops.sentry_client", str(tmp_path)],
                             cwd=ROOT, env=env, timeout=120, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr[-3000:]
    finally:
        server.shutdown()
        server.server_close()
    raw = b"\n".join(_Ingest.received)
    events = _events(_Ingest.received)
    messages = [value.get("value", "") for event in events
                for value in (event.get("exception") or {}).get("values", [])]
    assert any("failed for" in message for message in messages), messages
    assert any("job failed" in message for message in messages), messages
    for name, secret in SECRETS.items():
        assert secret.encode() not in raw, f"{name} reached Sentry"


def test_sentry_is_not_started_without_a_dsn(app):
    import sentry_sdk

    assert not app.config["SENTRY_DSN"]
    assert not sentry_sdk.get_client().is_active()
