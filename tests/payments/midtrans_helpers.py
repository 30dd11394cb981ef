"""Midtrans from outside: its published sample bodies (tests/payments/midtrans_samples/),
re-signed for our own payments, and a fake Midtrans API server (a tiny `http.server` in a
thread on a free port) that the adapter reaches over real HTTP."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from app.payments.gateways.base import gross_amount_text, midtrans_signature
from tests.live import RawResponse, raw_request, serving_thread

SAMPLES = Path(__file__).parent / "midtrans_samples"
# Our test server key (the signatures of the samples are recomputed with it).
SERVER_KEY = "SB-Mid-server-racik-test-key"


def sample(name: str) -> dict[str, Any]:
    """A published Midtrans body, as stored (a fresh copy)."""
    return json.loads((SAMPLES / f"{name}.json").read_text(encoding="utf-8"))


def signed(payload: dict[str, Any], key: str) -> dict[str, Any]:
    """`payload` with signature_key = SHA512(order_id + status_code + gross_amount + key)."""
    payload = dict(payload)
    payload["signature_key"] = midtrans_signature(
        payload["order_id"], payload["status_code"], payload["gross_amount"], key)
    return payload


def for_payment(name: str, *, order_id: str, amount: int, key: str = SERVER_KEY,
                transaction_id: str | None = None, **changes: Any) -> dict[str, Any]:
    """The published sample `name` about our transaction `order_id` of `amount` (whole
    Rupiah, written "150000.00" like Midtrans), with `changes`, signed with `key`."""
    payload = sample(name)
    payload.update(order_id=order_id, gross_amount=gross_amount_text(amount))
    if transaction_id is not None:
        payload["transaction_id"] = transaction_id
    for refund in payload.get("refunds") or []:
        refund["refund_amount"] = gross_amount_text(amount)
    if "refund_amount" in payload:
        payload["refund_amount"] = gross_amount_text(amount)
    payload.update(changes)
    return signed(payload, key)


def notify(base_url: str, gateway: str, payload: dict[str, Any]) -> RawResponse:
    """POST `payload` as JSON to our webhook over real HTTP, like Midtrans's notifier."""
    return raw_request(base_url, f"/payments/notify/{gateway}", method="POST",
                       body=json.dumps(payload).encode(),
                       headers={"Content-Type": "application/json",
                                "User-Agent": "Veritrans"})


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None


@dataclass
class FakeMidtrans:
    """Midtrans's Core API on 127.0.0.1: `answers[(method, path)] = (http_status, body)`;
    every request it received is in `seen`. An unknown path answers the published 404
    status body."""

    answers: dict[tuple[str, str], tuple[int, dict[str, Any]]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    url: str = ""

    def status_answer(self, order_id: str, name: str, *, amount: int,
                      http_status: int = 200, **changes: Any) -> None:
        """Answer `GET /v2/{order_id}/status` with the published sample `name`."""
        body = sample(name)
        if "order_id" in body:
            body = for_payment(name, order_id=order_id, amount=amount, **changes)
        self.answers[("GET", f"/v2/{order_id}/status")] = (http_status, body)

    def __enter__(self) -> FakeMidtrans:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                fake.seen.append(Seen(self.command, self.path, dict(self.headers), body))
                status, answer = fake.answers.get(
                    (self.command, self.path), (200, sample("status_not_found")))
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer

            def log_message(self, *args: Any) -> None:  # quiet test output
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = serving_thread(self._server)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def requests_to(self, method: str, path: str) -> list[Seen]:
        return [s for s in self.seen if s.method == method and s.path == path]
