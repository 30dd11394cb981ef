"""A local stand-in for Midtrans' Core API (MIDTRANS_API_URL): the production app's own
midtrans adapter charges through it over HTTP, and the test plays Midtrans' notification
side (a signed POST to /payments/notify/midtrans through nginx).

    POST /v2/charge                 a bank transfer answered with a VA number (pending)
    GET  /v2/<order_id>/status      the transaction as the test last set it, signed
"""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from app.payments.gateways.base import midtrans_signature
from tests.live import serving_thread


class FakeMidtrans:
    def __init__(self, server_key: str) -> None:
        self.server_key = server_key
        self.charges: dict[str, dict] = {}  # order_id -> transaction
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path != "/v2/charge":
                    self._answer(404, {"status_code": "404"})
                    return
                details = body["transaction_details"]
                transaction = {
                    "order_id": details["order_id"],
                    "gross_amount": f"{int(details['gross_amount'])}.00",
                    "transaction_id": str(uuid.uuid4()),
                    "payment_type": body["payment_type"],
                    "transaction_status": "pending", "status_code": "201",
                    "fraud_status": "accept",
                }
                with fake.lock:
                    fake.charges[details["order_id"]] = transaction
                bank = (body.get("bank_transfer") or {}).get("bank", "bca")
                self._answer(200, {**transaction, "status_message": "Success",
                                   "va_numbers": [{"bank": bank,
                                                   "va_number": "8800123456789"}]})

            def do_GET(self) -> None:
                parts = self.path.strip("/").split("/")
                with fake.lock:
                    transaction = fake.charges.get(parts[1]) if len(parts) == 3 else None
                if transaction is None:
                    self._answer(404, {"status_code": "404", "status_message": "not found"})
                    return
                self._answer(200, fake.signed(transaction))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = serving_thread(self.server, "fake-midtrans")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def signed(self, transaction: dict) -> dict:
        return {**transaction, "signature_key": midtrans_signature(
            transaction["order_id"], transaction["status_code"], transaction["gross_amount"],
            self.server_key)}

    def settle(self, order_id: str) -> dict:
        """Mark a charge paid; returns the notification Midtrans would POST."""
        with self.lock:
            transaction = self.charges[order_id]
            transaction.update(transaction_status="settlement", status_code="200")
            return self.signed(dict(transaction))
