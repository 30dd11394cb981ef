"""Gateway adapters without a network: Midtrans's signature over the exact received strings
(the documentation's published example), the charge/status/refund requests the Midtrans
adapter sends and how it reads the answers, and the sandbox's Midtrans-shaped payloads."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest

from app.core.clock import utcnow
from app.payments.gateways.base import (
    GatewayError,
    NotificationRejected,
    midtrans_signature,
    notification_from_payload,
    parse_gross_amount,
)
from app.payments.gateways.midtrans import MidtransGateway
from app.payments.gateways.sandbox import _crc16, qris_string

# Published in Midtrans's "HTTP(S) Notification / Webhooks" documentation.
DOC_ORDER_ID = "Postman-1578568851"
DOC_STATUS_CODE = "200"
DOC_GROSS_AMOUNT = "10000.00"
DOC_SERVER_KEY = "VT-server-HJMpl9HLr_ntOKt5mRONdmKj"
DOC_SIGNATURE = ("e78e2223638cb60dbdbc88d23deb9b927ac41be7263ab38758605bac834dc254"
                 "25705543707504bfef0802914cfa3f5f538fa308d1f9086211c420e7892ba2ba")


def doc_notification(**changes) -> dict:
    payload = {
        "transaction_time": "2020-01-09 18:27:19", "transaction_status": "settlement",
        "transaction_id": "57d5293c-e65f-4a29-95e4-5959c3fa335b",
        "status_message": "midtrans payment notification", "status_code": DOC_STATUS_CODE,
        "signature_key": DOC_SIGNATURE, "payment_type": "bank_transfer",
        "order_id": DOC_ORDER_ID, "merchant_id": "G141532850",
        "gross_amount": DOC_GROSS_AMOUNT, "fraud_status": "accept", "currency": "IDR",
        "va_numbers": [{"bank": "bca", "va_number": "490526303019299"}],
    }
    payload.update(changes)
    return payload


def test_the_signature_of_the_documentation_example() -> None:
    assert midtrans_signature(DOC_ORDER_ID, DOC_STATUS_CODE, DOC_GROSS_AMOUNT,
                              DOC_SERVER_KEY) == DOC_SIGNATURE


def test_a_valid_notification_is_read_with_its_exact_strings() -> None:
    note = notification_from_payload("midtrans", doc_notification(), DOC_SERVER_KEY)
    assert (note.order_id, note.status_code, note.gross_amount) == (
        DOC_ORDER_ID, "200", "10000.00")
    assert note.amount == 10_000
    assert note.transaction_status == "settlement" and note.fraud_status == "accept"
    assert "signature_key" not in note.payload


def test_the_wrong_server_key_is_refused_with_401() -> None:
    with pytest.raises(NotificationRejected) as refused:
        notification_from_payload("midtrans", doc_notification(), "VT-server-someone-else")
    assert refused.value.status == 401


def test_a_tampered_amount_is_refused_with_401() -> None:
    with pytest.raises(NotificationRejected) as refused:
        notification_from_payload("midtrans", doc_notification(gross_amount="1000000.00"),
                                  DOC_SERVER_KEY)
    assert refused.value.status == 401


def test_10000_and_10000_00_sign_differently() -> None:
    plain = midtrans_signature(DOC_ORDER_ID, "200", "10000", DOC_SERVER_KEY)
    assert plain != DOC_SIGNATURE
    # The signature is over the received string: "10000" signed as "10000" is valid ...
    note = notification_from_payload(
        "midtrans", doc_notification(gross_amount="10000", signature_key=plain), DOC_SERVER_KEY)
    assert note.amount == 10_000
    # ... but the documented signature does not cover "10000".
    with pytest.raises(NotificationRejected) as refused:
        notification_from_payload("midtrans", doc_notification(gross_amount="10000"),
                                  DOC_SERVER_KEY)
    assert refused.value.status == 401


def test_a_tampered_status_keeps_the_signature_valid_but_it_is_another_event() -> None:
    # transaction_status is not signed by Midtrans: our event key still tells them apart.
    settled = notification_from_payload("midtrans", doc_notification(), DOC_SERVER_KEY)
    pending = notification_from_payload(
        "midtrans", doc_notification(transaction_status="pending"), DOC_SERVER_KEY)
    assert settled.event_key != pending.event_key
    again = notification_from_payload("midtrans", doc_notification(), DOC_SERVER_KEY)
    assert again.event_key == settled.event_key


@pytest.mark.parametrize("payload", [
    None, [], "text", {}, doc_notification(order_id=""), doc_notification(status_code=200),
    {k: v for k, v in doc_notification().items() if k != "signature_key"},
    doc_notification(order_id="x" * 201),
])
def test_a_malformed_notification_is_refused_with_400(payload) -> None:
    with pytest.raises(NotificationRejected) as refused:
        notification_from_payload("midtrans", payload, DOC_SERVER_KEY)
    assert refused.value.status == 400


def test_a_signed_but_non_numeric_amount_is_400() -> None:
    payload = doc_notification(gross_amount="sepuluh ribu",
                               signature_key=midtrans_signature(DOC_ORDER_ID, "200",
                                                                "sepuluh ribu", DOC_SERVER_KEY))
    with pytest.raises(NotificationRejected) as refused:
        notification_from_payload("midtrans", payload, DOC_SERVER_KEY)
    assert refused.value.status == 400


@pytest.mark.parametrize("text,amount", [
    ("10000.00", 10000), ("10000", 10000), ("0.00", 0), ("10000.50", None), ("-5.00", None),
    ("abc", None), ("NaN", None), ("Infinity", None), ("", None),
])
def test_gross_amounts_are_whole_rupiah(text, amount) -> None:
    assert parse_gross_amount(text) == amount


class FakeMidtrans:
    """Records requests and answers with the documentation's example bodies."""

    def __init__(self, answers: dict[str, tuple[int, dict]]):
        self.answers = answers
        self.requests: list[dict] = []

    def __call__(self, method, url, headers, body):
        self.requests.append({"method": method, "url": url, "headers": headers,
                              "body": json.loads(body) if body else None})
        for suffix, answer in self.answers.items():
            if url.endswith(suffix):
                return answer
        return 404, {"status_code": "404", "status_message": "not found"}


def midtrans(fake: FakeMidtrans, key: str = "SB-Mid-server-TEST") -> MidtransGateway:
    return MidtransGateway(server_key=key, transport=fake)


def test_a_bca_va_charge_request_and_answer(app) -> None:
    fake = FakeMidtrans({"/v2/charge": (200, {
        "status_code": "201", "status_message": "Success, Bank Transfer transaction is created",
        "transaction_id": "be03df7d-2f97-4c8c-a53c-8959f1b67295", "order_id": "CO-1",
        "gross_amount": "44000.00", "payment_type": "bank_transfer",
        "transaction_status": "pending", "fraud_status": "accept",
        "va_numbers": [{"bank": "bca", "va_number": "812785002530231"}]})})
    with app.app_context():
        charge = midtrans(fake).charge(reference="CO-1", amount=44_000, method="va_bca",
                                       expires_at=utcnow() + timedelta(hours=24),
                                       customer={"first_name": "Budi", "email": "b@x.id",
                                                 "phone": ""})
    sent = fake.requests[0]
    assert sent["method"] == "POST" and sent["url"] == "https://api.sandbox.midtrans.com/v2/charge"
    assert sent["headers"]["Authorization"] == "Basic " + base64.b64encode(
        b"SB-Mid-server-TEST:").decode()
    assert sent["body"]["payment_type"] == "bank_transfer"
    assert sent["body"]["bank_transfer"] == {"bank": "bca"}
    assert sent["body"]["transaction_details"] == {"order_id": "CO-1", "gross_amount": 44000}
    assert sent["body"]["customer_details"] == {"first_name": "Budi", "email": "b@x.id"}
    assert sent["body"]["custom_expiry"]["unit"] == "minute"
    assert sent["body"]["custom_expiry"]["expiry_duration"] in (1439, 1440)
    assert (charge.transaction_id, charge.va_number, charge.bank) == (
        "be03df7d-2f97-4c8c-a53c-8959f1b67295", "812785002530231", "bca")


def test_mandiri_permata_gopay_and_qris_answers(app) -> None:
    answers = {
        "va_mandiri": {"status_code": "201", "transaction_id": "t1", "bill_key": "990000000260",
                       "biller_code": "70012"},
        "va_permata": {"status_code": "201", "transaction_id": "t2",
                       "permata_va_number": "263001404217498"},
        "gopay": {"status_code": "201", "transaction_id": "t3", "actions": [
            {"name": "generate-qr-code", "method": "GET", "url": "https://x/qr"},
            {"name": "deeplink-redirect", "method": "GET", "url": "gojek://gopay/merchant"}]},
        "qris": {"status_code": "201", "transaction_id": "t4",
                 "qr_string": "00020101021226620014COM.GO-JEK.WWW"},
    }
    bodies = {}
    with app.app_context():
        for method, answer in answers.items():
            fake = FakeMidtrans({"/v2/charge": (200, answer)})
            charge = midtrans(fake).charge(reference="CO-2", amount=10_000, method=method,
                                           expires_at=utcnow() + timedelta(minutes=15),
                                           customer={})
            bodies[method] = (fake.requests[0]["body"], charge)
    body, charge = bodies["va_mandiri"]
    assert body["payment_type"] == "echannel" and "echannel" in body
    assert (charge.bill_key, charge.biller_code) == ("990000000260", "70012")
    body, charge = bodies["va_permata"]
    assert body["bank_transfer"] == {"bank": "permata"}
    assert (charge.va_number, charge.bank) == ("263001404217498", "permata")
    body, charge = bodies["gopay"]
    assert body["payment_type"] == "gopay" and charge.deeplink_url == "gojek://gopay/merchant"
    body, charge = bodies["qris"]
    assert body["payment_type"] == "qris" and charge.qr_string.startswith("000201")


def test_a_refused_charge_raises_gateway_error(app) -> None:
    fake = FakeMidtrans({"/v2/charge": (200, {"status_code": "406",
                                              "status_message": "order_id has been used"})})
    with app.app_context(), pytest.raises(GatewayError, match="406"):
        midtrans(fake).charge(reference="CO-3", amount=10_000, method="va_bni",
                              expires_at=utcnow() + timedelta(hours=1), customer={})


def test_a_missing_server_key_never_calls_out(app) -> None:
    fake = FakeMidtrans({})
    with app.app_context(), pytest.raises(GatewayError, match="MIDTRANS_SERVER_KEY"):
        midtrans(fake, key="").status("CO-4")
    assert fake.requests == []


def test_status_lookup_verifies_the_answer(app) -> None:
    answer = doc_notification(status_message="Success, transaction is found")
    fake = FakeMidtrans({f"/v2/{DOC_ORDER_ID}/status": (200, answer)})
    with app.app_context():
        note = midtrans(fake, key=DOC_SERVER_KEY).status(DOC_ORDER_ID)
        assert note.transaction_status == "settlement" and note.amount == 10_000
        assert fake.requests[0]["method"] == "GET"
        forged = FakeMidtrans({f"/v2/{DOC_ORDER_ID}/status": (200, answer)})
        with pytest.raises(GatewayError, match="unverifiable"):
            midtrans(forged, key="VT-server-other").status(DOC_ORDER_ID)


def test_refund_request(app) -> None:
    fake = FakeMidtrans({"/refund/online/direct": (200, {
        "status_code": "200", "status_message": "Success, refund request is approved",
        "refund_key": "RCK-1-return", "refund_amount": 5000})})
    with app.app_context():
        result = midtrans(fake).refund(reference="CO-5", amount=5_000,
                                       refund_key="RCK-1-return", reason="Retur")
    assert fake.requests[0]["url"].endswith("/v2/CO-5/refund/online/direct")
    assert fake.requests[0]["body"] == {"refund_key": "RCK-1-return", "amount": 5000,
                                        "reason": "Retur"}
    assert result.done and result.reference == "RCK-1-return"


def test_qris_strings_end_with_a_valid_crc() -> None:
    # CRC-16/CCITT-FALSE check value from the standard: "123456789" -> 29B1.
    assert _crc16("123456789") == "29B1"
    text = qris_string("CO-20261130-000001", 150_000)
    assert text.startswith("000201") and "5406150000" in text
    assert text[-4:] == _crc16(text[:-4])
