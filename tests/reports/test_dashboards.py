"""Dashboards: the admin's figures against a hand-computed fixture (a WIB day edge for
GMV), the client's figures of their own company only, and who may open each page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.backups.models import BackupRecord, BackupStatus
from app.core.models import JobRecord, JobStatus
from app.maklon.models import MilestonePayment, Stage
from app.orders.models import OrderStatus, PaymentStatus
from app.payments.models import Invoice
from app.reports.dashboards import admin_dashboard
from tests.factories import make_order, make_product, make_user
from tests.maklon.factories import (
    make_maklon_client,
    make_maklon_request,
    make_signed_order,
    pay_milestone_sandbox,
)

# 2026-11-30 10:00 WIB.
NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)


def _order(variant, buyer, *, at: datetime, total: int, paid: bool = True,
           status: str = OrderStatus.PROCESSING):
    order = make_order(buyer=buyer, variant=variant)
    order.created_at = at
    order.total = total
    order.status = status
    order.payment_status = PaymentStatus.PAID if paid else PaymentStatus.UNPAID
    return order


@pytest.fixture
def marketplace(db):
    seller = make_user(roles=("seller",))
    buyer = make_user()
    variant = make_product(store=seller.store, stock=100).variants[0]
    # Today in WIB starts at 2026-11-29 17:00 UTC.
    # 00:30 WIB today, then 23:30 WIB yesterday.
    _order(variant, buyer, at=datetime(2026, 11, 29, 17, 30, tzinfo=UTC), total=100_000)
    _order(variant, buyer, at=datetime(2026, 11, 29, 16, 30, tzinfo=UTC), total=20_000,
           status=OrderStatus.DELIVERED)
    _order(variant, buyer, at=NOW - timedelta(days=8), total=3_000)  # 30-day window only
    _order(variant, buyer, at=NOW - timedelta(days=40), total=400)  # outside every window
    _order(variant, buyer, at=NOW - timedelta(hours=1), total=50_000, paid=False,
           status=OrderStatus.PENDING)  # unpaid: no GMV
    db.session.commit()


def test_gmv_counts_paid_orders_by_wib_day(marketplace, db):
    figures = admin_dashboard(NOW)
    assert figures.gmv == {"today": 100_000, "d7": 120_000, "d30": 123_000}
    assert figures.gmv_orders == {"today": 1, "d7": 2, "d30": 3}
    assert figures.orders_by_status == {OrderStatus.PROCESSING: 3, OrderStatus.DELIVERED: 1,
                                        OrderStatus.PENDING: 1}


def test_new_users_pipeline_jobs_and_no_backup(db):
    old = make_user()
    old.created_at = NOW - timedelta(days=20)
    recent = make_user()
    recent.created_at = NOW - timedelta(days=2)
    make_user().created_at = NOW - timedelta(days=45)
    client = make_maklon_client()
    signed = make_signed_order(client=client)
    moved = make_signed_order(client=client)
    moved.stage = Stage.QC
    make_maklon_request(client=client)  # submitted
    db.session.add_all([
        JobRecord(job_id="j1", name="x", status=JobStatus.FAILED,
                  created_at=NOW - timedelta(days=1)),
        JobRecord(job_id="j2", name="x", status=JobStatus.FAILED,
                  created_at=NOW - timedelta(days=9)),
        JobRecord(job_id="j3", name="x", status=JobStatus.FINISHED, created_at=NOW),
    ])
    db.session.flush()
    client.created_at = NOW - timedelta(days=100)
    db.session.commit()
    figures = admin_dashboard(NOW)
    assert figures.new_users == {"d7": 1, "d30": 2}
    assert figures.stages[Stage.CONCEPT_APPROVED] == 1 and figures.stages[Stage.QC] == 1
    assert figures.requests_by_status["signed"] == 2
    assert figures.requests_by_status["submitted"] == 1
    assert figures.failed_jobs == 1
    assert figures.backup is None
    assert signed.id != moved.id


def test_admin_dashboard_page_shows_last_backup(client, db, login_as):
    login_as("admin")
    assert "Belum ada cadangan" in client.get("/admin/dasbor").get_data(as_text=True)
    db.session.add_all([
        BackupRecord(filename="old.bin", status=BackupStatus.FAILED,
                     created_at=datetime(2026, 11, 1, tzinfo=UTC)),
        BackupRecord(filename="new.bin", status=BackupStatus.VERIFIED,
                     created_at=datetime(2026, 11, 29, 20, 5, tzinfo=UTC),
                     verified_at=datetime(2026, 11, 29, 20, 30, tzinfo=UTC)),
    ])
    db.session.commit()
    page = client.get("/admin/dasbor")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "badge-backup-verified" in html and "03.05" in html  # 20:05 UTC is 03:05 WIB
    assert 'href="/admin/pekerjaan"' in html


@pytest.fixture
def two_companies(db):
    """Company A: a signed order (DP paid, with its invoice); company B: another."""
    client_a = make_maklon_client()
    client_b = make_maklon_client()
    order_a = make_signed_order(client=client_a, total=10_000_000)
    order_b = make_signed_order(client=client_b, total=99_000_000)
    db.session.commit()
    dp = db.session.scalar(select(MilestonePayment).where(
        MilestonePayment.request_id == order_a.id, MilestonePayment.kind == "dp"))
    pay_milestone_sandbox(dp, payer=client_a)
    return {"a": client_a, "b": client_b, "order_a": order_a.number,
            "order_b": order_b.number}


def test_client_dashboard_shows_only_their_company(client, db, login_as, two_companies):
    login_as(two_companies["a"])
    page = client.get("/maklon/dasbor")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert two_companies["order_a"] in html
    assert two_companies["order_b"] not in html
    # 10.000.000 split 30/40/30: DP paid, 7.000.000 outstanding.
    assert "Rp\u00a07.000.000" in html and "Rp\u00a099.000.000" not in html
    assert html.count('data-testid="upcoming-milestone"') == 2
    assert f'href="/maklon/{two_companies["order_a"]}/pembayaran"' in html
    assert 'data-testid="stage-progress"' in html
    invoice = db.session.scalars(select(Invoice).where(Invoice.milestone_id.is_not(None))).one()
    assert f"/invoice/{invoice.id}.pdf" in html


def test_client_of_another_company_sees_nothing_of_a(client, db, login_as, two_companies):
    login_as(two_companies["b"])
    html = client.get("/maklon/dasbor").get_data(as_text=True)
    assert two_companies["order_a"] not in html
    assert "/invoice/" not in html
    assert "Rp\u00a099.000.000" in html  # B's own balance (nothing paid)


def test_client_without_company_gets_an_explanation(client, login_as):
    login_as("client")
    page = client.get("/maklon/dasbor")
    assert page.status_code == 200
    assert "belum terhubung ke perusahaan" in page.get_data(as_text=True)


@pytest.mark.parametrize(("role", "url", "status"), [
    ("customer", "/maklon/dasbor", 403), ("staff", "/maklon/dasbor", 403),
    ("client", "/admin/dasbor", 403), ("staff", "/admin/dasbor", 403),
    ("seller", "/admin/laporan", 403), ("admin", "/admin/dasbor", 200),
])
def test_dashboards_by_role(client, login_as, role, url, status):
    login_as(role)
    assert client.get(url).status_code == status


def test_dashboards_need_login(client):
    for url in ("/maklon/dasbor", "/admin/dasbor", "/admin/laporan"):
        response = client.get(url)
        assert response.status_code == 302 and "/masuk" in response.headers["Location"]


def test_admin_payments_figures_count_settled_and_pending(db, two_companies):
    from app.maklon.milestones import milestone_payment_start
    from app.maklon.models import MaklonRequest, Stage
    from tests.maklon.factories import reach_stage

    # B's mid payment falls due once production buys the raw materials.
    reach_stage(db.session.scalar(select(MaklonRequest).where(
        MaklonRequest.number == two_companies["order_b"])), Stage.MATERIAL_PURCHASE)
    mid = db.session.scalar(select(MilestonePayment).join(MilestonePayment.request).where(
        MilestonePayment.kind == "mid", MilestonePayment.request.has(
            number=two_companies["order_b"])))
    milestone_payment_start(milestone=mid, payer=two_companies["b"], method="va_bca")
    db.session.commit()
    figures = admin_dashboard()
    # A's DP (30% of 10.000.000) settled; B's mid (40% of 99.000.000) waiting.
    assert figures.payments == {"pending_count": 1, "pending_sum": 39_600_000,
                                "paid_count": 1, "paid_sum": 3_000_000}
