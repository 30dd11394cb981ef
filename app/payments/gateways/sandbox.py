"""The sandbox gateway: offline, and shaped like Midtrans's Core API so the real adapter is a
drop-in.

It keeps its own book (`SandboxTransaction`, what Midtrans would know). A charge answers
with a virtual-account number per bank, a Mandiri bill key, an e-wallet deeplink (to the
simulator page, standing in for the wallet app), a QRIS string or an Alfamart / Indomaret
payment code (16 and 12 digits, as in Midtrans's published samples). The simulator
(`/sandbox/bayar/<reference>`, off in production) pays, expires, denies or cancels the
transaction through `sandbox_simulate`, which then notifies our own webhook with
Midtrans-shaped, Midtrans-signed JSON: strings for `status_code` and `gross_amount`
(".00"), `transaction_status`, `fraud_status`, `payment_type`, `va_numbers`,
`transaction_id`, `signature_key` — twice, and/or with a stale "pending" after the final
status, when asked.
"""

from __future__ import annotations

import json
import logging
import secrets
import urllib.error
import urllib.request
import uuid
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import select

from app.core.clock import to_wib, utcnow
from app.core.db import add_once
from app.core.http import app_path
from app.core.queue import enqueue_after_commit
from app.extensions import db
from app.payments.gateways.base import (
    Charge,
    Gateway,
    GatewayError,
    Notification,
    RefundResult,
    gross_amount_text,
    method_spec,
    midtrans_signature,
    notification_from_payload,
)
from app.payments.models import SandboxTransaction

log = logging.getLogger(__name__)

# Midtrans's status codes per transaction status in notifications; a status answer
# (`GET /v2/{order_id}/status`) says 407 for an expired transaction instead of 202.
STATUS_CODES = {
    "pending": "201", "settlement": "200", "capture": "200", "expire": "202",
    "deny": "202", "cancel": "200", "refund": "200", "partial_refund": "200",
}
STATUS_ANSWER_CODES = {**STATUS_CODES, "expire": "407"}
# Simulator actions -> the transaction status they produce.
ACTIONS = {"pay": "settlement", "expire": "expire", "deny": "deny", "cancel": "cancel"}
VA_PREFIX = {"bca": "70012", "bni": "8808", "bri": "26215", "permata": "8778"}
MANDIRI_BILLER_CODE = "70012"
# Retail-outlet payment codes: Alfamart's 16 digits, Indomaret's 12 (Midtrans's samples).
CSTORE_CODE_DIGITS = {"alfamart": 16, "indomaret": 12}
MERCHANT_NAME = "RACIK"


class SandboxError(Exception):
    """A simulator action the transaction's state does not allow (shown to the tester)."""


def _digits(count: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(count))


def _crc16(data: str) -> str:
    """CRC-16/CCITT-FALSE, as EMVCo QR codes (QRIS) end with."""
    crc = 0xFFFF
    for byte in data.encode():
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return f"{crc:04X}"


def _tlv(tag: str, value: str) -> str:
    return f"{tag}{len(value):02d}{value}"


def qris_string(reference: str, amount: int) -> str:
    """A dynamic QRIS payload (EMVCo TLV with CRC) for the amount."""
    body = (_tlv("00", "01") + _tlv("01", "12")
            + _tlv("26", _tlv("00", "ID.CO.RACIK.SANDBOX") + _tlv("01", "936000000000000001"))
            + _tlv("52", "5999") + _tlv("53", "360") + _tlv("54", str(amount))
            + _tlv("58", "ID") + _tlv("59", MERCHANT_NAME) + _tlv("60", "JAKARTA")
            + _tlv("62", _tlv("01", reference[:25])) + "6304")
    return body + _crc16(body)


class SandboxGateway(Gateway):
    name = "sandbox"

    def charge(self, *, reference: str, amount: int, method: str, expires_at: datetime,
               customer: dict[str, str]) -> Charge:
        spec = method_spec(method)
        def existing() -> SandboxTransaction | None:
            return db.session.scalars(select(SandboxTransaction).where(
                SandboxTransaction.order_id == reference)).first()

        tx = existing()
        if tx is None:  # Midtrans answers a repeated order_id with the original
            new = SandboxTransaction(
                transaction_id=str(uuid.uuid4()), order_id=reference,
                payment_type=spec.payment_type, bank=spec.bank, store=spec.store,
                gross_amount=amount, expires_at=expires_at)
            if spec.kind == "va":
                prefix = VA_PREFIX[spec.bank]
                new.va_number = prefix + _digits(16 - len(prefix))
            elif spec.kind == "bill":
                new.bill_key, new.biller_code = _digits(12), MANDIRI_BILLER_CODE
            elif spec.kind == "qris":
                new.qr_string = qris_string(reference, amount)
            elif spec.kind == "cstore":
                new.payment_code = _digits(CSTORE_CODE_DIGITS[spec.store])
            # Several presses of "Bayar" at once charge the same payment: the first insert
            # wins and the others answer its charge (a savepoint, so no 500 from
            # uq_sandbox_transactions_order_id and the caller's transaction goes on).
            tx = add_once(new, existing)[0]
        deeplink = ""
        if spec.kind == "ewallet":
            # app_path, not url_for: charges also happen outside a request (jobs, demo data).
            deeplink = app_path("payments.sandbox_pay", reference=reference,
                                app=spec.payment_type)
        return Charge(transaction_id=tx.transaction_id, expires_at=tx.expires_at,
                      va_number=tx.va_number, bank=tx.bank, bill_key=tx.bill_key,
                      biller_code=tx.biller_code, qr_string=tx.qr_string,
                      deeplink_url=deeplink, payment_code=tx.payment_code, store=tx.store,
                      raw=sandbox_payload(tx))

    def verify(self, payload: Any) -> Notification:
        return notification_from_payload(
            self.name, payload, current_app.config["PAYMENT_SANDBOX_SERVER_KEY"])

    def status(self, reference: str) -> Notification:
        tx = db.session.scalars(select(SandboxTransaction).where(
            SandboxTransaction.order_id == reference)).first()
        if tx is None:
            raise GatewayError(f"404: transaction {reference} not found")
        if tx.transaction_status == "pending" and utcnow() >= tx.expires_at:
            tx.transaction_status = "expire"  # Midtrans expires it at the deadline
            db.session.flush()
        return notification_from_payload(self.name, sandbox_payload(tx, answer=True),
                                          current_app.config["PAYMENT_SANDBOX_SERVER_KEY"])

    def refund(self, *, reference: str, amount: int, refund_key: str,
               reason: str) -> RefundResult:
        tx = db.session.scalars(select(SandboxTransaction).where(
            SandboxTransaction.order_id == reference)).first()
        if tx is None or tx.transaction_status not in ("settlement", "partial_refund"):
            raise GatewayError("412: transaction cannot be refunded in its status")
        paid = tx.paid_amount if tx.paid_amount is not None else tx.gross_amount
        if amount <= 0 or tx.refunded_amount + amount > paid:
            raise GatewayError("412: refund amount exceeds the paid amount")
        tx.refunded_amount += amount
        tx.transaction_status = "refund" if tx.refunded_amount == paid else "partial_refund"
        db.session.flush()
        return RefundResult(done=True, reference=f"RF-{refund_key}")


def sandbox_payload(tx: SandboxTransaction, status: str | None = None, *,
                    answer: bool = False) -> dict[str, Any]:
    """The Midtrans-shaped notification body for `tx` (at `status`), signed; `answer`:
    the body of a status answer instead (an expired transaction says 407, not 202)."""
    status = status or tx.transaction_status
    status_code = (STATUS_ANSWER_CODES if answer else STATUS_CODES).get(status, "200")
    amount = tx.paid_amount if (status == "settlement" and tx.paid_amount is not None) \
        else tx.gross_amount
    gross = gross_amount_text(amount)
    payload: dict[str, Any] = {
        "transaction_time": f"{to_wib(tx.created_at):%Y-%m-%d %H:%M:%S}",
        "transaction_status": status,
        "transaction_id": tx.transaction_id,
        "status_message": "midtrans payment notification",
        "status_code": status_code,
        "payment_type": tx.payment_type,
        "order_id": tx.order_id,
        "merchant_id": "G-RACIK-SANDBOX",
        "gross_amount": gross,
        "fraud_status": tx.fraud_status,
        "currency": "IDR",
        "expiry_time": f"{to_wib(tx.expires_at):%Y-%m-%d %H:%M:%S}",
    }
    if tx.payment_type == "bank_transfer":
        if tx.bank == "permata":
            payload["permata_va_number"] = tx.va_number
        else:
            payload["va_numbers"] = [{"bank": tx.bank, "va_number": tx.va_number}]
    elif tx.payment_type == "echannel":
        payload["bill_key"], payload["biller_code"] = tx.bill_key, tx.biller_code
    elif tx.payment_type == "cstore":
        payload["store"], payload["payment_code"] = tx.store, tx.payment_code
        if status == "settlement" and tx.store == "indomaret":
            # Indomaret's settlement carries the outlet's approval code (Midtrans sample).
            payload["approval_code"] = tx.transaction_id.replace("-", "")[:20].upper()
    if status == "settlement":
        payload["settlement_time"] = f"{to_wib(tx.updated_at or utcnow()):%Y-%m-%d %H:%M:%S}"
    payload["signature_key"] = midtrans_signature(
        tx.order_id, status_code, gross, current_app.config["PAYMENT_SANDBOX_SERVER_KEY"])
    return payload


def sandbox_transaction(reference: str) -> SandboxTransaction | None:
    return db.session.scalars(select(SandboxTransaction).where(
        SandboxTransaction.order_id == reference)).first()


def sandbox_simulate(*, reference: str, action: str, amount: int | None = None,
                     twice: bool = False, out_of_order: bool = False) -> list[dict[str, Any]]:
    """What the tester asked on the simulator page: pay (optionally a different amount),
    expire, deny or cancel a pending transaction. Changes the sandbox's book and, after
    commit, notifies our webhook: each payload twice when `twice`, and followed by a stale
    "pending" when `out_of_order`. Returns the payloads (in delivery order)."""
    tx = sandbox_transaction(reference)
    if tx is None:
        raise SandboxError("transaction not found")
    if action not in ACTIONS:
        raise SandboxError("unknown action")
    if tx.transaction_status != "pending":
        raise SandboxError(f"transaction is {tx.transaction_status}, not pending")
    stale = sandbox_payload(tx, "pending")
    tx.transaction_status = ACTIONS[action]
    if action == "pay":
        tx.paid_amount = amount if amount is not None else tx.gross_amount
    tx.updated_at = utcnow()
    db.session.flush()
    final = sandbox_payload(tx)
    payloads = [final, final] if twice else [final]
    if out_of_order:
        payloads.append(stale)
        if twice:
            payloads.append(stale)
    enqueue_after_commit("jobs.payments.sandbox_deliver", payloads, queue="default",
                         retries=3)
    log.info("sandbox %s: %s (%s notification(s))", reference, tx.transaction_status,
             len(payloads))
    return payloads


def sandbox_deliver(payloads: list[dict[str, Any]]) -> list[int]:
    """POST each payload to our webhook, like Midtrans's notification service; returns the
    HTTP statuses. Raises when one is not answered 200 (the job retries)."""
    statuses = []
    mode = current_app.config["PAYMENT_SANDBOX_DELIVERY"]
    for payload in payloads:
        body = json.dumps(payload).encode()
        if mode == "inprocess":
            with current_app.test_client() as client:
                status = client.post("/payments/notify/sandbox", data=body,
                                     content_type="application/json").status_code
        else:
            base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
            request = urllib.request.Request(  # noqa: S310 - PUBLIC_BASE_URL
                f"{base}/payments/notify/sandbox", data=body, method="POST",
                headers={"Content-Type": "application/json", "User-Agent": "Veritrans"})
            try:
                with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                    status = response.status
            except urllib.error.HTTPError as error:
                status = error.code
        statuses.append(status)
        if status != 200:
            raise GatewayError(f"webhook answered {status}")
    return statuses


def sandbox_pay_now(reference: str) -> None:
    """Demo data: pay a sandbox transaction in full and apply its signed notification in
    this process (no webhook server is listening while `flask demo load` runs)."""
    from app.payments.services import notification_record, payment_settled

    tx = sandbox_transaction(reference)
    if tx is None or tx.transaction_status != "pending":
        return
    tx.transaction_status, tx.paid_amount, tx.updated_at = "settlement", tx.gross_amount, utcnow()
    db.session.flush()
    received = notification_record(SandboxGateway().verify(sandbox_payload(tx)),
                                   source="notification")
    if received.event.payment_id is not None:
        payment_settled(received.event.payment_id)
