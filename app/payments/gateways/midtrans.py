"""Midtrans Core API adapter: charge (bank_transfer, echannel, gopay, shopeepay, qris,
cstore),
status lookup, refund, and notification verification.

    POST {base}/v2/charge               create the transaction
    GET  {base}/v2/{order_id}/status    its current status (reconciliation)
    POST {base}/v2/{order_id}/refund    pay back (e-wallets, QRIS; not bank transfers)

Authentication is HTTP Basic with the server key (MIDTRANS_SERVER_KEY, from the
environment) as user name and an empty password. Notifications are trusted only when
`signature_key == SHA512(order_id + status_code + gross_amount + server_key)` over the exact
received strings. The HTTP call is a replaceable `transport` so tests run with the
documentation's example answers and no network.

OVO and DANA have no Core API charge of their own: they are charged as QRIS, which both
wallets pay.
"""

from __future__ import annotations

import base64
import json
import logging
import unicodedata
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime
from typing import Any

from app.core.clock import to_wib
from app.payments.gateways.base import (
    Charge,
    Gateway,
    GatewayError,
    Notification,
    RefundResult,
    TransactionNotFound,
    method_spec,
    notification_from_payload,
)

log = logging.getLogger(__name__)

SANDBOX_URL = "https://api.sandbox.midtrans.com"
PRODUCTION_URL = "https://api.midtrans.com"
# (method, url, headers, body or None) -> (HTTP status, decoded JSON body)
Transport = Callable[[str, str, dict[str, str], bytes | None], tuple[int, dict[str, Any]]]
# Payment types a refund API call can pay back; bank transfers go back by hand.
REFUNDABLE = {"gopay", "shopeepay", "qris"}
# Mandiri bill payment (echannel): labels (bill_info1, 3, 5, 7) show at most 10 characters,
# values (bill_info2, 4, 6, 8) at most 30 (docs.midtrans.com "E-Channel (Mandiri Bill)
# Object"); Mandiri would cut them anywhere, we cut them ourselves.
BILL_LABEL_MAX = 10
BILL_VALUE_MAX = 30
# Retail outlets (cstore): `message` is the label on the Alfamart / Indomaret cashier's
# screen, at most 20 characters; `alfamart_free_text_1..3` are rows of Alfamart's printed
# receipt, at most 40 each (docs.midtrans.com "Core API Over the Counter Payment
# Integration"; samples in tests/payments/midtrans_samples/).
CSTORE_MESSAGE_MAX = 20
ALFAMART_FREE_TEXT_MAX = 40


def bill_info(*pairs: tuple[str, str]) -> dict[str, str]:
    """echannel bill_info1..8 from up to four (label, value) pairs, each cut to Mandiri's
    limits on printable ASCII (the bank's screens and receipts show nothing else)."""
    info: dict[str, str] = {}
    for index, (label, value) in enumerate(pairs[:4]):
        info[f"bill_info{2 * index + 1}"] = _bill_text(label, BILL_LABEL_MAX)
        info[f"bill_info{2 * index + 2}"] = _bill_text(value, BILL_VALUE_MAX)
    return info


def cstore_details(store: str, reference: str) -> dict[str, str]:
    """The charge's `cstore` object for `store` (alfamart | indomaret): the cashier's label
    and, at Alfamart, a receipt row naming the payment."""
    details = {"store": store, "message": _bill_text(f"RACIK {reference}", CSTORE_MESSAGE_MAX)}
    if store == "alfamart":
        details["alfamart_free_text_1"] = _bill_text(
            f"Pembayaran RACIK {reference}", ALFAMART_FREE_TEXT_MAX)
    return details


def _bill_text(text: str, limit: int) -> str:
    ascii_only = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    printable = "".join(ch for ch in ascii_only if ch.isprintable())
    return " ".join(printable.split())[:limit].rstrip()


def urllib_transport(timeout: float) -> Transport:
    def send(method: str, url: str, headers: dict[str, str],
             body: bytes | None) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(  # noqa: S310 - https base URL from config
            url, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            try:
                return error.code, json.loads(error.read() or b"{}")
            except ValueError:
                return error.code, {}
        except (urllib.error.URLError, TimeoutError, ValueError) as error:
            raise GatewayError(f"Midtrans unreachable: {error}") from error
    return send


class MidtransGateway(Gateway):
    name = "midtrans"
    confirms_by_status = True

    def __init__(self, *, server_key: str, base_url: str = SANDBOX_URL,
                 transport: Transport | None = None, timeout: float = 15):
        self.server_key = server_key
        self.base_url = base_url.rstrip("/")
        self.transport = transport or urllib_transport(timeout)

    @classmethod
    def from_config(cls, config: Any) -> MidtransGateway:
        default = PRODUCTION_URL if config["MIDTRANS_IS_PRODUCTION"] else SANDBOX_URL
        return cls(server_key=config["MIDTRANS_SERVER_KEY"],
                   base_url=config.get("MIDTRANS_API_URL") or default,
                   timeout=config["MIDTRANS_TIMEOUT"])

    # The HTTP side ------------------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        token = base64.b64encode(f"{self.server_key}:".encode()).decode()
        return {"Accept": "application/json", "Content-Type": "application/json",
                "Authorization": f"Basic {token}"}

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None, *,
              accept: frozenset[str] = frozenset()) -> dict[str, Any]:
        """One API call; the decoded answer. Midtrans answers HTTP 200 with its own
        status_code in the body: like the official midtransclient, an HTTP status or a
        body status_code of 400 or more raises GatewayError (TransactionNotFound for
        404), except the codes in `accept` (a status lookup accepts 407, "expired")."""
        if not self.server_key:
            raise GatewayError("MIDTRANS_SERVER_KEY is not set")
        data = json.dumps(body).encode() if body is not None else None
        status, answer = self.transport(method, f"{self.base_url}{path}", self._headers(),
                                        data)
        code = str(answer.get("status_code", status))
        message = answer.get("status_message") or answer.get("error_messages") or ""
        if code in accept and status < 400:
            return answer
        if not code.isdigit():
            raise GatewayError(f"Midtrans answered an unreadable status_code {code!r}")
        if code == "404" or status == 404:
            raise TransactionNotFound(f"Midtrans 404: {message}")
        if status >= 400 or int(code) >= 400:
            raise GatewayError(f"Midtrans {code}: {message}")
        return answer

    # The interface ------------------------------------------------------------------------
    def charge_body(self, *, reference: str, amount: int, method: str,
                    expires_at: datetime, customer: dict[str, str]) -> dict[str, Any]:
        spec = method_spec(method)
        payment_type = "qris" if spec.payment_type in ("ovo", "dana") else spec.payment_type
        now = datetime.now(expires_at.tzinfo)
        minutes = max(1, int((expires_at - now).total_seconds() // 60))
        body: dict[str, Any] = {
            "payment_type": payment_type,
            "transaction_details": {"order_id": reference, "gross_amount": int(amount)},
            "customer_details": {k: v for k, v in customer.items() if v},
            "custom_expiry": {"order_time": f"{to_wib(now):%Y-%m-%d %H:%M:%S} +0700",
                              "expiry_duration": minutes, "unit": "minute"},
        }
        if payment_type == "bank_transfer":
            body["bank_transfer"] = {"bank": spec.bank}
        elif payment_type == "echannel":
            body["echannel"] = bill_info(("Pembayaran", reference))
        elif payment_type == "gopay":
            body["gopay"] = {"enable_callback": False}
        elif payment_type == "qris":
            body["qris"] = {"acquirer": "gopay"}
        elif payment_type == "cstore":
            body["cstore"] = cstore_details(spec.store, reference)
        return body

    def charge(self, *, reference: str, amount: int, method: str, expires_at: datetime,
               customer: dict[str, str]) -> Charge:
        answer = self._call("POST", "/v2/charge", self.charge_body(
            reference=reference, amount=amount, method=method, expires_at=expires_at,
            customer=customer))
        result = Charge(transaction_id=str(answer.get("transaction_id", "")),
                        expires_at=expires_at, raw=answer)
        for va in answer.get("va_numbers") or []:
            result.va_number, result.bank = str(va.get("va_number", "")), str(va.get("bank"))
        if answer.get("permata_va_number"):
            result.va_number, result.bank = str(answer["permata_va_number"]), "permata"
        result.bill_key = str(answer.get("bill_key", ""))
        result.biller_code = str(answer.get("biller_code", ""))
        result.qr_string = str(answer.get("qr_string", ""))
        result.payment_code = str(answer.get("payment_code", ""))
        result.store = str(answer.get("store", ""))
        for action in answer.get("actions") or []:
            if action.get("name") in ("deeplink-redirect", "deeplink"):
                result.deeplink_url = str(action.get("url", ""))
        if method_spec(method).kind == "cstore" and not result.payment_code:
            # Without the code the buyer has nothing to show the cashier: a failed charge.
            raise GatewayError("Midtrans cstore answer without payment_code")
        return result

    def verify(self, payload: Any) -> Notification:
        return notification_from_payload(self.name, payload, self.server_key)

    def status(self, reference: str) -> Notification:
        """The transaction's status now. An expired one answers status_code 407 (passed
        on as transaction_status "expire"); an unknown one raises TransactionNotFound;
        anything else unusable raises GatewayError."""
        answer = self._call("GET", f"/v2/{reference}/status", accept=frozenset({"407"}))
        # A status answer usually carries a signature: verified when present (the answer
        # itself came over our authenticated HTTPS call).
        try:
            note = notification_from_payload(self.name, answer, self.server_key,
                                             signed=False)
        except Exception as error:
            raise GatewayError(f"unverifiable status answer: {error}") from error
        if note.order_id != reference:
            raise GatewayError(f"status answer for {note.order_id!r}, not {reference!r}")
        return note

    def refund(self, *, reference: str, amount: int, refund_key: str,
               reason: str) -> RefundResult:
        answer = self._call("POST", f"/v2/{reference}/refund/online/direct",
                            {"refund_key": refund_key, "amount": int(amount),
                             "reason": reason[:255]})
        return RefundResult(done=True, reference=str(answer.get("refund_key", refund_key)),
                            message=str(answer.get("status_message", "")))

