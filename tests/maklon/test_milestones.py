"""Milestone payments: amounts, paying through the sandbox gateway, idempotent settlement,
one invoice per milestone, paying again after an expiry, the payment page."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.core.models import EmailOutbox
from app.maklon.milestones import milestone_amounts, milestone_payment_start
from app.maklon.models import MilestonePayment, MilestoneStatus
from app.payments.gateways.sandbox import sandbox_simulate
from app.payments.invoices import milestone_invoice_issue
from app.payments.models import Invoice, Payment, PayStatus
from app.payments.services import payment_charge
from tests.maklon.factories import make_maklon_client, make_signed_request, pay_milestone_sandbox


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
    make_signed_request()
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
