"""Reports and exports: the screen, the CSV and the PDF hold exactly the filtered rows;
the CSV has a BOM and defuses formulas; a large export goes through the job on queue
`reports` and its file downloads; every export is audited; bad input never errors."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.core.models import JobRecord, JobStatus
from app.orders.models import OrderStatus, PaymentStatus
from tests.factories import make_category, make_order, make_product, make_user
from tests.maklon.factories import make_maklon_client, make_signed_order


@pytest.fixture
def orders(db):
    """Store A (named like a formula) has three orders, store B one; one of A's is
    unpaid, one was placed the day before the range (23:30 WIB)."""
    face = make_category(name="Wajah")
    body = make_category(name="Tubuh", name_en="Body")
    seller_a = make_user(roles=("seller",), store_name="=HYPERLINK(\"x\")")
    seller_b = make_user(roles=("seller",), store_name="Toko B")
    buyer = make_user()
    serum = make_product(store=seller_a.store, category=face, stock=50).variants[0]
    lotion = make_product(store=seller_a.store, category=body, name="Lotion", stock=50).variants[0]
    other = make_product(store=seller_b.store, category=face, stock=50).variants[0]
    rows = {}
    for name, variant, at, paid in (
            ("a1", serum, datetime(2026, 11, 10, 3, 0, tzinfo=UTC), True),
            ("a2", lotion, datetime(2026, 11, 11, 3, 0, tzinfo=UTC), False),
            ("a_before", serum, datetime(2026, 11, 9, 16, 30, tzinfo=UTC), True),  # 9 Nov 23:30 WIB
            ("b1", other, datetime(2026, 11, 10, 4, 0, tzinfo=UTC), True)):
        order = make_order(buyer=buyer, variant=variant)
        order.created_at = at
        order.payment_status = PaymentStatus.PAID if paid else PaymentStatus.UNPAID
        order.status = OrderStatus.PROCESSING if paid else OrderStatus.PENDING
        rows[name] = order
    db.session.flush()
    built = {"numbers": {k: o.number for k, o in rows.items()},
             "totals": {k: o.total for k, o in rows.items()},
             "store_a": seller_a.store.id, "face": face.id}
    db.session.commit()
    return built


def _query(orders) -> dict:
    return {"laporan": "pesanan", "dari": "2026-11-10", "sampai": "2026-11-30",
            "toko": str(orders["store_a"])}


def test_screen_shows_the_filtered_rows_and_totals(client, login_as, orders):
    login_as("admin")
    html = client.get("/admin/laporan", query_string=_query(orders)).get_data(as_text=True)
    numbers = orders["numbers"]
    assert numbers["a1"] in html and numbers["a2"] in html
    assert numbers["a_before"] not in html and numbers["b1"] not in html
    assert html.count('data-testid="report-row"') == 2
    paid_only = client.get("/admin/laporan", query_string={
        **_query(orders), "status_bayar": "paid", "kategori": str(orders["face"])}
    ).get_data(as_text=True)
    assert paid_only.count('data-testid="report-row"') == 1 and numbers["a1"] in paid_only


def test_bad_filters_are_ignored_with_a_message(client, login_as, orders):
    login_as("admin")
    response = client.get("/admin/laporan", query_string={
        "laporan": "nope", "dari": "kemarin", "status": "lost", "toko": "x", "hal": "-1"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.count('data-testid="filter-problem"') == 4
    assert html.count('data-testid="report-row"') == 4  # every order, nothing filtered


def _export(client, orders, fmt: str, buffered: bool = True):
    return client.post("/admin/laporan/ekspor", data={**_query(orders), "format": fmt},
                       buffered=buffered)


def test_csv_holds_exactly_the_filtered_rows_with_bom_and_no_formulas(client, login_as, db,
                                                                       orders):
    login_as("admin")
    response = _export(client, orders, "csv", buffered=False)
    assert response.status_code == 200
    assert response.is_streamed  # a generator, not a string built in memory
    assert response.mimetype == "text/csv"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    assert "private" in response.headers["Cache-Control"]
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][0] == "Nomor"
    numbers = orders["numbers"]
    assert sorted(r[0] for r in rows[1:]) == sorted([numbers["a1"], numbers["a2"]])
    assert {r[2] for r in rows[1:]} == {"'=HYPERLINK(\"x\")"}
    assert [int(r[-1]) for r in rows[1:]] == [orders["totals"]["a1"], orders["totals"]["a2"]]
    entry = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "report.export")).one()
    assert entry.after["format"] == "csv" and entry.after["rows"] == 2


def _pdf_text(data: bytes, tmp_path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    path = tmp_path / "report.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout


def test_pdf_holds_exactly_the_filtered_rows_filters_and_totals(client, login_as, orders,
                                                                tmp_path):
    login_as("admin")
    response = _export(client, orders, "pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = _pdf_text(response.get_data(), tmp_path)
    numbers = orders["numbers"]
    assert numbers["a1"] in text and numbers["a2"] in text
    assert numbers["a_before"] not in text and numbers["b1"] not in text
    assert "2026-11-10 - 2026-11-30" in text and '=HYPERLINK("x")' in text
    total = orders["totals"]["a1"] + orders["totals"]["a2"]
    assert f"{total:,}".replace(",", ".") in text


def test_unknown_format_is_422_and_not_audited(client, login_as, db, orders):
    login_as("admin")
    response = _export(client, orders, "xlsx")
    assert response.status_code == 422
    assert 'data-testid="export-error"' in response.get_data(as_text=True)
    assert db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "report.export")).first() is None


def test_large_export_runs_as_a_job_and_its_file_downloads(app, client, login_as, db,
                                                           orders, monkeypatch):
    monkeypatch.setitem(app.config, "EXPORT_INLINE_MAX", 1)
    login_as("admin")
    response = _export(client, orders, "csv")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "job-status" in html
    job = db.session.scalars(select(JobRecord)).one()
    assert job.queue == "reports" and job.name == "jobs.reports.export_report"
    assert job.status == JobStatus.FINISHED, job.error
    status = client.get(f"/pekerjaan/{job.id}/status").get_data(as_text=True)
    download = job.result["download"]
    assert download.startswith("/admin/laporan/unduh/reports/") and download in status
    file = client.get(download)
    assert file.status_code == 200 and file.mimetype == "text/csv"
    assert file.headers["Content-Disposition"].startswith("attachment;")
    rows = list(csv.reader(io.StringIO(file.get_data().decode("utf-8-sig"))))
    assert len(rows) == 3 and orders["numbers"]["a1"] in {r[0] for r in rows}
    assert db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "report.export")).one().after["background"] is True


def test_export_download_refuses_other_keys_and_other_roles(client, login_as, make_client):
    login_as("admin")
    assert client.get("/admin/laporan/unduh/invoices/2026/01/x.pdf").status_code == 404
    assert client.get("/admin/laporan/unduh/reports/2026/01/missing.csv").status_code == 404
    other = make_client()
    login_as("staff", other)
    assert other.get("/admin/laporan/unduh/reports/2026/01/missing.csv").status_code == 403


def test_finance_reports_invoices_payments_and_balances(client, login_as, db):
    from app.maklon.models import MilestonePayment
    from tests.maklon.factories import pay_milestone_sandbox

    maklon_client = make_maklon_client()
    order = make_signed_order(client=maklon_client, total=10_000_000)
    db.session.commit()
    dp = db.session.scalar(select(MilestonePayment).where(
        MilestonePayment.request_id == order.id, MilestonePayment.kind == "dp"))
    number = order.number
    pay_milestone_sandbox(dp, payer=maklon_client)
    db.session.commit()
    login_as("admin")
    invoices = client.get("/admin/laporan?laporan=faktur").get_data(as_text=True)
    assert invoices.count('data-testid="report-row"') == 1 and number in invoices
    payments = client.get("/admin/laporan?laporan=pembayaran").get_data(as_text=True)
    assert payments.count('data-testid="report-row"') == 1 and "Rp\u00a03.000.000" in payments
    balances = client.get("/admin/laporan?laporan=piutang").get_data(as_text=True)
    assert number in balances and "Rp\u00a07.000.000" in balances
    export = client.post("/admin/laporan/ekspor", data={"laporan": "piutang", "format": "csv"})
    rows = list(csv.reader(io.StringIO(export.get_data().decode("utf-8-sig"))))
    assert [r[0] for r in rows[1:]] == [number] and rows[1][-1] == "7000000"


def test_htmx_filtering_returns_the_partial_with_the_filters_for_export(client, login_as,
                                                                        orders):
    login_as("admin")
    response = client.get("/admin/laporan", query_string=_query(orders),
                          headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert f'name="toko" value="{orders["store_a"]}"' in html
    assert 'name="dari" value="2026-11-10"' in html


def test_large_pdf_export_runs_as_a_job_too(app, client, login_as, db, orders, monkeypatch,
                                            tmp_path):
    monkeypatch.setitem(app.config, "EXPORT_INLINE_MAX", 1)
    login_as("admin")
    assert _export(client, orders, "pdf").status_code == 200
    job = db.session.scalars(select(JobRecord)).one()
    assert job.status == JobStatus.FINISHED, job.error
    file = client.get(job.result["download"])
    assert file.status_code == 200 and file.mimetype == "application/pdf"
    text = _pdf_text(file.get_data(), tmp_path)
    assert orders["numbers"]["a2"] in text and orders["numbers"]["b1"] not in text
