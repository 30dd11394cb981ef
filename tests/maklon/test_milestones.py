"""Milestone payments: amounts, paying through the sandbox gateway, idempotent settlement,
one invoice per milestone, paying again after an expiry, the payment page."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.core.models import EmailOutbox
from app.maklon.invoicing import milestone_invoice_issue
from app.maklon.milestones import milestone_amounts, milestone_payment_start
from app.maklon.models import MilestonePayment, MilestoneStatus, Stage
from app.payments.gateways.sandbox import sandbox_simulate
from app.payments.models import Invoice, Payment, PayStatus
from app.payments.services import payment_charge
from tests.factories import DEFAULT_PASSWORD
from tests.maklon.factories import (
    make_maklon_client,
    make_signed_request,
    pay_milestone_sandbox,
    reach_stage,
)


def _milestone(db, kind: str = "dp") -> MilestonePayment:
    return db.session.scalars(select(MilestonePayment).where(
        MilestonePayment.kind == kind)).one()


@pytest.mark.parametrize(("total", "split"), [
    (15_132_001, {"dp": 30, "mid": 40, "final": 30}),
    (100, {"dp": 33, "mid": 33, "final": 34}),
    (999_999_999, {"dp": 1, "mid": 1, "final": 98}),
    (7, {"dp": 30, "mid": 40, "final": 30}),
])
def test_milestone_amounts_are_whole_rupiah_summing_exactly_to_the_total(total, split):
    amounts = milestone_amounts(total, split)
    assert list(amounts) == ["dp", "mid", "final"]
    assert sum(amounts.values()) == total
    assert amounts["dp"] == total * split["dp"] // 100


def test_the_signed_schedule_sums_to_the_quote_total(db):
    req = make_signed_request()
    rows = db.session.scalars(select(MilestonePayment)).all()
    assert sum(m.amount for m in rows) == req.quotes[-1].total
    assert [m.percent for m in sorted(rows, key=lambda m: m.position)] == [30, 40, 30]


def test_a_settlement_delivered_twice_pays_the_milestone_once_with_one_invoice(db):
    make_signed_request()
    payment = pay_milestone_sandbox(_milestone(db), twice=True)
    db.session.expire_all()
    milestone = _milestone(db)
    assert milestone.status == MilestoneStatus.PAID and milestone.paid_at is not None
    assert db.session.get(Payment, payment.id).status == PayStatus.PAID
    assert payment.reference.startswith(f"MS-{milestone.request_id}-DP-")
    invoices = db.session.scalars(select(Invoice)).all()
    assert len(invoices) == 1
    invoice = invoices[0]
    assert invoice.milestone_id == milestone.id and invoice.issuer == "maklon"
    assert invoice.total == milestone.amount and invoice.number.endswith("/000001")
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "maklon.milestone_paid")) == 1
    assert db.session.scalar(select(func.count()).select_from(EmailOutbox).where(
        EmailOutbox.template == "maklon_milestone_paid")) == 1
    # The invoice job running again issues nothing more.
    assert milestone_invoice_issue(milestone.id)["created"] is False
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Invoice)) == 1


def test_an_expired_payment_leaves_the_milestone_unpaid_and_a_new_payment_can_follow(db):
    reach_stage(make_signed_request(), Stage.MATERIAL_PURCHASE)  # the mid payment is due
    db.session.commit()
    milestone = _milestone(db, "mid")
    first, created = milestone_payment_start(milestone=milestone,
                                             payer=milestone.request.client, method="qris")
    assert created
    db.session.commit()
    payment_charge(first)
    sandbox_simulate(reference=first.reference, action="expire")
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Payment, first.id).status == PayStatus.EXPIRED
    milestone = _milestone(db, "mid")
    assert milestone.status == MilestoneStatus.UNPAID
    second = pay_milestone_sandbox(milestone)
    assert second.id != first.id
    db.session.expire_all()
    assert _milestone(db, "mid").status == MilestoneStatus.PAID


def test_starting_twice_reuses_the_open_payment(db):
    make_signed_request()
    milestone = _milestone(db)
    first, _ = milestone_payment_start(milestone=milestone, payer=milestone.request.client,
                                       method="va_bca")
    again, created = milestone_payment_start(milestone=milestone,
                                             payer=milestone.request.client, method="va_bni")
    assert again.id == first.id and created is False


def test_the_client_pays_through_the_page_and_the_status_block_stops_when_paid(db, client,
                                                                               login_as):
    req = make_signed_request()
    login_as(req.client)
    page = client.get(f"/maklon/{req.number}/pembayaran")
    assert page.status_code == 200 and 'data-testid="milestone-dp"' in page.get_data(
        as_text=True)
    bad = client.post(f"/maklon/{req.number}/pembayaran/dp", data={"method": "cek"})
    assert bad.status_code == 422
    response = client.post(f"/maklon/{req.number}/pembayaran/dp", data={"method": "qris"})
    assert response.status_code == 303
    payment = db.session.scalars(select(Payment)).one()
    pay_page = client.get(response.headers["Location"])
    html = pay_page.get_data(as_text=True)
    assert pay_page.status_code == 200 and 'data-testid="pay-instructions"' in html
    assert f"/maklon/{req.number}/pembayaran/bayar/{payment.reference}/status" in html
    status_url = f"/maklon/{req.number}/pembayaran/bayar/{payment.reference}/status"
    first = client.get(status_url)
    assert first.status_code == 200
    assert client.get(status_url, headers={"If-None-Match": first.headers["ETag"]}
                      ).status_code == 304
    sandbox = client.post(f"/sandbox/bayar/{payment.reference}", data={"action": "pay"})
    assert sandbox.status_code == 303
    assert sandbox.headers["Location"].endswith(response.headers["Location"])
    assert client.get(status_url).status_code == 286
    invoice = db.session.scalars(select(Invoice)).one()
    download = client.get(f"/invoice/{invoice.id}.pdf")
    assert download.status_code == 200 and download.data.startswith(b"%PDF")


def test_another_company_cannot_download_a_milestone_invoice(db, client, login_as):
    make_signed_request()
    pay_milestone_sandbox(_milestone(db))
    invoice = db.session.scalars(select(Invoice)).one()
    stranger = make_maklon_client()
    db.session.commit()
    login_as(stranger)
    assert client.get(f"/invoice/{invoice.id}.pdf").status_code == 404


def test_a_colleague_of_the_same_company_may_download_it(db, client, login_as):
    req = make_signed_request()
    pay_milestone_sandbox(_milestone(db))
    invoice = db.session.scalars(select(Invoice)).one()
    colleague = make_maklon_client(company=req.company)
    db.session.commit()
    login_as(colleague)
    assert client.get(f"/invoice/{invoice.id}.pdf").status_code == 200


# --- only a due milestone is offered and accepted (over real HTTP) ---------------------------
def _pay_controls(html: str) -> dict[str, bool]:
    """Which milestone rows carry a pay form, and which say when they fall due."""
    rows = {}
    for kind in ("dp", "mid", "final"):
        start = html.index(f'data-testid="milestone-{kind}"')
        end = html.find("</li>", start)
        row = html[start:end]
        rows[kind] = ('data-testid="milestone-pay"' in row, "Jatuh tempo saat" in row)
    return rows


def test_after_signing_only_the_dp_is_payable_and_an_early_final_payment_is_409(db, live_url):
    from tests.live import LiveBrowser

    req = make_signed_request()
    number, email = req.number, req.client.email
    db.session.commit()  # end the test's transaction: the server writes next
    browser = LiveBrowser(live_url)
    browser.log_in(email)
    page = browser.get(f"/maklon/{number}/pembayaran")
    assert page.status == 200
    html = page.text()
    assert _pay_controls(html) == {"dp": (True, False), "mid": (False, True),
                                   "final": (False, True)}
    assert "Jatuh tempo saat Pembelian Bahan Baku" in html
    assert "Jatuh tempo saat Pengemasan" in html

    early = browser.post(f"/maklon/{number}/pembayaran/final", {"method": "va_bca"})
    assert early.status == 409
    assert "Termin ini belum jatuh tempo" in early.text()
    assert "Pengemasan" in early.text()
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0


def test_the_mid_payment_becomes_payable_once_production_reaches_its_stage(db, live_url):
    from tests.live import LiveBrowser

    req = make_signed_request()
    number, email = req.number, req.client.email
    db.session.commit()  # end the test's transaction: the server writes next
    browser = LiveBrowser(live_url)
    browser.log_in(email)
    refused = browser.post(f"/maklon/{number}/pembayaran/mid", {"method": "va_bca"})
    assert refused.status == 409 and "belum jatuh tempo" in refused.text()

    pay_milestone_sandbox(_milestone(db, "dp"))
    reach_stage(db.session.get(type(req), req.id), Stage.MATERIAL_PURCHASE)
    db.session.commit()
    html = browser.get(f"/maklon/{number}/pembayaran").text()
    assert _pay_controls(html)["mid"] == (True, False)
    assert _pay_controls(html)["final"] == (False, True)
    response = browser.post(f"/maklon/{number}/pembayaran/mid", {"method": "va_bca"})
    assert response.status == 303
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Payment).where(
        Payment.milestone_id == _milestone(db, "mid").id)) == 1


def test_the_api_refuses_a_milestone_that_is_not_due_with_409(db, live_url):
    import json

    from tests.live import raw_request

    req = make_signed_request()
    number, email = req.number, req.client.email
    db.session.commit()
    login = raw_request(live_url, "/api/v1/auth/login", method="POST",
                        body=json.dumps({"email": email,
                                         "password": DEFAULT_PASSWORD}).encode(),
                        headers={"Content-Type": "application/json"})
    assert login.status == 200, login.text()
    token = json.loads(login.body)["access_token"]
    response = raw_request(
        live_url, f"/api/v1/maklon/requests/{number}/milestones/final/payments",
        method="POST", body=json.dumps({"method": "va_bca"}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}",
                 "Accept-Language": "id"})
    assert response.status == 409
    assert "belum jatuh tempo" in json.loads(response.body)["error"]["message"]
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0
