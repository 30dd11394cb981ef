"""A local fake of the Telegram Bot API over real HTTP, for the adapter's tests.

    with FakeTelegram() as fake:
        app.config["TELEGRAM_API_URL"] = fake.url
        fake.answers.append((429, {"ok": False, "error_code": 429,
                                   "parameters": {"retry_after": 1}}))
        ...
        fake.requests  # [Recorded(method, token, body, at), ...]

It listens on a free port of 127.0.0.1, records every request (`/bot<token>/<method>`,
its JSON body and the time it arrived) and answers from `answers` (first in, first out),
then `{"ok": true, ...}` like Telegram once they are used up.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.live import serving_thread


@dataclass
class Recorded:
    method: str
    token: str
    body: dict[str, Any]
    at: float


class FakeTelegram:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.answers: list[tuple[int, dict[str, Any]]] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"_raw": raw.decode(errors="replace")}
                _, _, rest = self.path.partition("/bot")
                token, _, method = rest.partition("/")
                with fake._lock:
                    fake.requests.append(Recorded(method, token, body, time.time()))
                    status, answer = (fake.answers.pop(0) if fake.answers
                                      else (200, fake._ok(method, body)))
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = serving_thread(self.server)

    @staticmethod
    def _ok(method: str, body: dict[str, Any]) -> dict[str, Any]:
        if method == "sendMessage":
            return {"ok": True, "result": {"message_id": 1, "chat": {"id": body.get("chat_id")},
                                           "text": body.get("text")}}
        return {"ok": True, "result": True}

    def sent(self, method: str = "sendMessage") -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.method == method]

    def __enter__(self) -> FakeTelegram:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


BLOCKED = (403, {"ok": False, "error_code": 403,
                 "description": "Forbidden: bot was blocked by the user"})
SERVER_ERROR = (500, {"ok": False, "error_code": 500, "description": "Internal Server Error"})


def too_many(retry_after: int) -> tuple[int, dict[str, Any]]:
    return (429, {"ok": False, "error_code": 429,
                  "description": f"Too Many Requests: retry after {retry_after}",
                  "parameters": {"retry_after": retry_after}})
