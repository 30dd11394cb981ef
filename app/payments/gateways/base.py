"""The one small interface every payment gateway adapter implements.

    gateway = gateway_get()                  # "sandbox" | "midtrans": gateway_name()
    charge = gateway.charge(reference=..., amount=..., method="va_bca", expires_at=...)
    note = gateway.verify(payload)           # a received notification, or NotificationRejected
    note = gateway.status(reference)         # the gateway's view now (reconciliation)
    result = gateway.refund(reference=..., amount=..., refund_key=..., reason=...)

Notifications follow Midtrans's shape: strings for `status_code` and `gross_amount`
("10000.00"), `transaction_status`, `fraud_status`, `payment_type`, `signature_key` =
SHA512(order_id + status_code + gross_amount + server_key) over the exact received strings.
"""

from __future__ import annotations

import hashlib
import hmac
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import current_app

from app.core.settings import setting_get

# Settings (edited on /admin/pengaturan); the config values are their defaults.
SETTING_GATEWAY = "payment.gateway"
SETTING_VA_EXPIRY = "payment.va_expiry_minutes"
SETTING_EWALLET_EXPIRY = "payment.ewallet_expiry_minutes"
SETTING_CSTORE_EXPIRY = "payment.cstore_expiry_minutes"
GATEWAYS = ("sandbox", "midtrans")

@dataclass(frozen=True)
class MethodSpec:
    """How one of our payment methods (`method_choice.PAYMENT_METHODS`) is charged."""

    payment_type: str  # Midtrans payment_type: bank_transfer, echannel, gopay, qris, cstore
    bank: str = ""  # bank_transfer: bca, bni, bri, permata; echannel: mandiri
    kind: str = "va"  # va | bill | ewallet | qris | cstore: which instructions the buyer sees
    store: str = ""  # cstore: alfamart | indomaret (Midtrans `cstore.store`)


METHODS: dict[str, MethodSpec] = {
    "va_bca": MethodSpec("bank_transfer", "bca"),
    "va_bni": MethodSpec("bank_transfer", "bni"),
    "va_bri": MethodSpec("bank_transfer", "bri"),
    "va_permata": MethodSpec("bank_transfer", "permata"),
    "va_mandiri": MethodSpec("echannel", "mandiri", kind="bill"),
    "gopay": MethodSpec("gopay", kind="ewallet"),
    "ovo": MethodSpec("ovo", kind="ewallet"),
    "dana": MethodSpec("dana", kind="ewallet"),
    "shopeepay": MethodSpec("shopeepay", kind="ewallet"),
    "qris": MethodSpec("qris", kind="qris"),
    # Retail outlets ("over the counter"): a payment code the buyer shows at the cashier.
    "alfamart": MethodSpec("cstore", kind="cstore", store="alfamart"),
    "indomaret": MethodSpec("cstore", kind="cstore", store="indomaret"),
}
CSTORES = tuple(spec.store for spec in METHODS.values() if spec.kind == "cstore")


def method_spec(method: str) -> MethodSpec:
    return METHODS[method]


def expiry_minutes(method: str) -> int:
    """How long the buyer has to pay: settings `payment.va_expiry_minutes` (VA and bill),
    `payment.ewallet_expiry_minutes` (e-wallet and QRIS) and
    `payment.cstore_expiry_minutes` (Alfamart, Indomaret), by default the config's
    PAYMENT_VA_EXPIRY_MINUTES (24 h), PAYMENT_EWALLET_EXPIRY_MINUTES (15 min) and
    PAYMENT_CSTORE_EXPIRY_MINUTES (24 h, Midtrans's own default for retail outlets)."""
    config = current_app.config
    kind = METHODS[method].kind
    if kind == "cstore":
        return int(setting_get(SETTING_CSTORE_EXPIRY,
                               config["PAYMENT_CSTORE_EXPIRY_MINUTES"]))
    if kind in ("va", "bill"):
        return int(setting_get(SETTING_VA_EXPIRY, config["PAYMENT_VA_EXPIRY_MINUTES"]))
    return int(setting_get(SETTING_EWALLET_EXPIRY, config["PAYMENT_EWALLET_EXPIRY_MINUTES"]))


def gateway_name() -> str:
    """The gateway that charges new payments: setting `payment.gateway`, by default the
    config's PAYMENT_GATEWAY. A payment keeps the gateway it was created with."""
    return str(setting_get(SETTING_GATEWAY, current_app.config["PAYMENT_GATEWAY"]))


def midtrans_signature(order_id: str, status_code: str, gross_amount: str,
                       server_key: str) -> str:
    """SHA512(order_id + status_code + gross_amount + server_key), hex: over the exact
    strings received ("10000" and "10000.00" sign differently)."""
    data = f"{order_id}{status_code}{gross_amount}{server_key}".encode()
    return hashlib.sha512(data).hexdigest()


def gross_amount_text(amount: int) -> str:
    """Whole Rupiah as Midtrans writes gross_amount: 150000 -> "150000.00"."""
    return f"{int(amount)}.00"


def parse_gross_amount(text: str) -> int | None:
    """"150000.00" -> 150000; None for anything that is not whole Rupiah."""
    try:
        value = Decimal(str(text).strip())
    except (InvalidOperation, ValueError):
        return None
    if not value.is_finite() or value != value.to_integral_value() or value < 0:
        return None
    return int(value)


class GatewayError(Exception):
    """The gateway could not be reached or refused the request (the caller retries)."""


class TransactionNotFound(GatewayError):
    """The gateway does not know the transaction (Midtrans status_code 404)."""


class NotificationRejected(Exception):
    """A notification that must change nothing: 401 forged (bad signature or token),
    400 malformed."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class Charge:
    """What the buyer needs to pay, from a charge request."""

    transaction_id: str
    expires_at: datetime
    va_number: str = ""
    bank: str = ""
    bill_key: str = ""
    biller_code: str = ""
    qr_string: str = ""
    deeplink_url: str = ""
    payment_code: str = ""  # cstore: what the cashier types in
    store: str = ""  # cstore: alfamart | indomaret
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Notification:
    """One gateway message about a transaction (a notification or a status answer)."""

    gateway: str
    order_id: str
    transaction_status: str
    status_code: str = ""
    gross_amount: str = ""
    transaction_id: str = ""
    fraud_status: str = ""
    payment_type: str = ""
    payload: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def event_key(self) -> str:
        """Identical for the same event delivered again; differs for a new status."""
        parts = (self.gateway, self.order_id, self.transaction_id, self.transaction_status,
                 self.fraud_status, self.status_code, self.gross_amount)
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()

    @property
    def amount(self) -> int | None:
        return parse_gross_amount(self.gross_amount)


@dataclass
class RefundResult:
    done: bool  # False: recorded by the gateway but not final, or to be paid out by hand
    reference: str = ""
    message: str = ""


REQUIRED_FIELDS = ("order_id", "status_code", "gross_amount", "transaction_status",
                   "signature_key")

# The status_code Midtrans documents for each transaction_status, in notifications and in
# `GET /v2/{order_id}/status` answers (docs.midtrans.com "Code 2xx", "Expire API",
# "Cancel API", "HTTP(S) Notification"; samples in tests/payments/midtrans_samples/).
# The signature covers order_id + status_code + gross_amount, not transaction_status: a
# genuine pending (201) or deny (202) message re-labelled "settlement" keeps a valid
# signature, so the pair is checked too. Anything else is rejected (nothing changes).
STATUS_CODES: dict[str, frozenset[str]] = {
    "settlement": frozenset({"200"}),
    "capture": frozenset({"200"}),  # card: paid only with fraud_status accept
    "authorize": frozenset({"200"}),  # card pre-authorisation: changes nothing here
    "pending": frozenset({"201"}),
    "deny": frozenset({"202"}),
    "failure": frozenset({"202"}),
    "cancel": frozenset({"200", "202"}),  # "Success, transaction is canceled" is 200
    "expire": frozenset({"202", "407"}),  # 202 in notifications, 407 in status answers
    "refund": frozenset({"200"}),
    "partial_refund": frozenset({"200"}),
    "chargeback": frozenset({"200"}),
    "partial_chargeback": frozenset({"200"}),
}


def status_code_documented(transaction_status: str, status_code: str) -> bool:
    """True when Midtrans documents `status_code` for `transaction_status`."""
    return status_code in STATUS_CODES.get(transaction_status, frozenset())


def notification_from_payload(gateway: str, payload: Any, server_key: str, *,
                              signed: bool = True) -> Notification:
    """Check a Midtrans-shaped notification and its signature; raise NotificationRejected
    (400 malformed, 401 bad signature). `signed` False (a status answer we fetched
    ourselves over HTTPS): a missing signature_key is accepted, a wrong one is not."""
    if not isinstance(payload, dict):
        raise NotificationRejected(400, "body is not a JSON object")
    if not signed and "signature_key" not in payload:
        payload = {**payload, "signature_key": midtrans_signature(
            str(payload.get("order_id", "")), str(payload.get("status_code", "")),
            str(payload.get("gross_amount", "")), server_key)}
    for name in REQUIRED_FIELDS:
        value = payload.get(name)
        if not isinstance(value, str) or not value or len(value) > 200:
            raise NotificationRejected(400, f"missing or bad field {name}")
    for name in ("transaction_id", "fraud_status", "payment_type"):
        if not isinstance(payload.get(name, ""), str):
            raise NotificationRejected(400, f"bad field {name}")
    if not server_key:
        raise NotificationRejected(401, "no server key configured")
    expected = midtrans_signature(payload["order_id"], payload["status_code"],
                                  payload["gross_amount"], server_key)
    if not hmac.compare_digest(expected, payload["signature_key"].lower()):
        raise NotificationRejected(401, "signature_key does not match")
    if parse_gross_amount(payload["gross_amount"]) is None:
        raise NotificationRejected(400, "gross_amount is not an amount")
    return Notification(
        gateway=gateway, order_id=payload["order_id"],
        transaction_status=payload["transaction_status"],
        status_code=payload["status_code"], gross_amount=payload["gross_amount"],
        transaction_id=payload.get("transaction_id", "") or "",
        fraud_status=payload.get("fraud_status", "") or "",
        payment_type=payload.get("payment_type", "") or "",
        payload={k: v for k, v in payload.items() if k != "signature_key"},
    )


class Gateway(ABC):
    name: str = ""
    # True: a notification that moves money (settlement, capture, refund, deny) is only
    # acted on after `status()` confirms it; the status answer wins.
    confirms_by_status: bool = False

    @abstractmethod
    def charge(self, *, reference: str, amount: int, method: str, expires_at: datetime,
               customer: dict[str, str]) -> Charge:
        """Create the transaction; raise GatewayError when it cannot be created."""

    @abstractmethod
    def verify(self, payload: Any) -> Notification:
        """A received notification, checked; raise NotificationRejected."""

    @abstractmethod
    def status(self, reference: str) -> Notification:
        """The gateway's current view of a transaction; raise GatewayError."""

    @abstractmethod
    def refund(self, *, reference: str, amount: int, refund_key: str,
               reason: str) -> RefundResult:
        """Pay `amount` back; raise GatewayError when refused."""


def gateway_get(name: str | None = None) -> Gateway:
    """The configured gateway adapter (or the one named: a payment's own, a webhook's)."""
    name = name or gateway_name()
    if name == "sandbox":
        from app.payments.gateways.sandbox import SandboxGateway

        if not current_app.config["PAYMENT_SANDBOX_ENABLED"]:
            raise LookupError("the sandbox gateway is off")
        return SandboxGateway()
    if name == "midtrans":
        from app.payments.gateways.midtrans import MidtransGateway

        return MidtransGateway.from_config(current_app.config)
    raise LookupError(f"unknown gateway {name!r}")
