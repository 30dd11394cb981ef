"""The client's maklon history and the seller's order history: filters (dates in WIB,
status, derived payment status, product type, payment method), their exports (CSV with a
BOM, formula-safe, labels; PDF with the filters and totals) and the rule that another
company's or store's rows never appear, whatever the query string says."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from html import unescape
from urllib.parse import parse_qsl

import pytest
from sqlalchemy import select

from app.core.clock import utcnow
from app.maklon.models import MaklonRequest
from app.orders.models import Order, OrderStatus
from tests.factories import make_checkout, make_order, make_product, make_user
from tests.maklon.factories import (
    make_company,
    make_maklon_client,
    make_maklon_request,
    make_signed_order,
)


@pytest.fixture
def maklon_world(db):
    """Company A: a signed order with nothing paid (tertunda), one with the DP paid
    (bertahap), one fully paid (lunas), a submitted request (no milestones), one of them a
    supplement whose name starts like a spreadsheet formula. Company B: one signed order."""
    company_a = make_company(name="PT Alfa")
    client_a = make_maklon_client(company=company_a)
    client_a2 = make_maklon_client(company=company_a)  # a colleague: same company
    client_b = make_maklon_client()
    pending = make_signed_order(client=client_a, total=10_000_000)
    partial = make_signed_order(client=client_a2, total=20_000_000, paid=("dp",))
    lunas = make_signed_order(client=client_a, total=5_000_000, paid=("dp", "mid", "final"),
                              product_type="supplement", product_name="=HYPERLINK(1)")
    submitted = make_maklon_request(client=client_a)
    other = make_signed_order(client=client_b, total=7_000_000)
    db.session.commit()
    return {"client_a": client_a, "client_b": client_b, "pending": pending.number,
            "partial": partial.number, "lunas": lunas.number, "submitted": submitted.number,
            "other": other.number}


def _export(client, url: str):
    """POST the export form the page shows: the query's filters and format as its fields."""
    path, _, query = url.partition("?")
    return client.post(path, data=dict(parse_qsl(query)))


def _csv_rows(body: bytes) -> list[dict[str, str]]:
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def test_client_history_lists_only_the_clients_company(client, login_as, maklon_world):
    login_as(maklon_world["client_a"])
    page = client.get("/maklon/riwayat").get_data(as_text=True)
    for key in ("pending", "partial", "lunas", "submitted"):
        assert maklon_world[key] in page
    assert maklon_world["other"] not in page


@pytest.mark.parametrize(("status", "expected"), [
    ("lunas", {"lunas"}), ("tertunda", {"pending"}), ("bertahap", {"partial"})])
def test_client_history_payment_status_is_derived_from_milestones(client, login_as,
                                                                  maklon_world, status,
                                                                  expected):
    login_as(maklon_world["client_a"])
    response = _export(client, f"/maklon/riwayat/ekspor?format=csv&status_bayar={status}")
    assert response.status_code == 200
    numbers = {row["Nomor"] for row in _csv_rows(response.get_data())}
    assert numbers == {maklon_world[key] for key in expected}


def test_client_csv_has_labels_and_is_formula_safe(client, login_as, maklon_world):
    login_as(maklon_world["client_a"])
    response = _export(client, "/maklon/riwayat/ekspor?format=csv&jenis=supplement")
    assert response.headers["Content-Disposition"].startswith("attachment;")
    rows = _csv_rows(response.get_data())
    assert [row["Nomor"] for row in rows] == [maklon_world["lunas"]]
    row = rows[0]
    assert row["Produk"] == "'=HYPERLINK(1)"
    assert row["Jenis produk"] == "Suplemen"
    assert row["Status"] == "Kontrak ditandatangani"
    assert row["Kode status"] == "signed"
    assert row["Status pembayaran"] == "Lunas"
    assert row["Dibayar"] == "5000000" and row["Sisa"] == "0"


def test_client_export_ignores_an_owner_in_the_query_string(client, login_as, maklon_world,
                                                            db):
    login_as(maklon_world["client_b"])
    company_a = db.session.scalar(select(MaklonRequest.company_id).where(
        MaklonRequest.number == maklon_world["pending"]))
    response = _export(client, f"/maklon/riwayat/ekspor?format=csv&company_id={company_a}"
                          f"&perusahaan={company_a}")
    assert {row["Nomor"] for row in _csv_rows(response.get_data())} == {maklon_world["other"]}


def test_client_without_company_sees_an_empty_history(client, login_as, maklon_world):
    login_as(make_user(roles=("client",)))
    response = _export(client, "/maklon/riwayat/ekspor?format=csv")
    assert _csv_rows(response.get_data()) == []


def test_history_date_range_is_wib(client, login_as, maklon_world, db):
    """A request made at 18:00 UTC belongs to the next WIB day."""
    request = db.session.scalar(select(MaklonRequest).where(
        MaklonRequest.number == maklon_world["pending"]))
    request.created_at = utcnow().replace(year=2026, month=3, day=9, hour=18, minute=0)
    db.session.commit()
    login_as(maklon_world["client_a"])
    day = _export(client, "/maklon/riwayat/ekspor?format=csv&dari=10/03/2026&sampai=10/03/2026")
    assert [r["Nomor"] for r in _csv_rows(day.get_data())] == [maklon_world["pending"]]
    before = _export(client, "/maklon/riwayat/ekspor?format=csv&dari=09/03/2026&sampai=09/03/2026")
    assert _csv_rows(before.get_data()) == []


@pytest.mark.parametrize("query", ["status=dibuang", "dari=31/02/2026",
                                   "dari=10/03/2026&sampai=01/03/2026", "status_bayar=x",
                                   "jenis=%3Cscript%3E", "hal=abc"])
def test_bad_filter_is_explained_in_indonesian_never_a_500(client, login_as, maklon_world,
                                                           query):
    login_as(maklon_world["client_a"])
    response = client.get(f"/maklon/riwayat?{query}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'data-testid="filter-problem"' in page
    assert "<script>" not in page


def test_export_with_a_bad_filter_is_refused_with_the_reason(client, login_as, maklon_world):
    login_as(maklon_world["client_a"])
    response = _export(client, "/maklon/riwayat/ekspor?format=csv&status=dibuang")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "tidak dikenal" in page and "Perbaiki filter" in page
    unknown = _export(client, "/maklon/riwayat/ekspor?format=xls")
    assert unknown.status_code == 422
    assert "Pilih format CSV atau PDF." in unknown.get_data(as_text=True)


def test_history_htmx_gets_the_results_partial(client, login_as, maklon_world):
    login_as(maklon_world["client_a"])
    response = client.get("/maklon/riwayat?status_bayar=lunas", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith("<div id=\"history-results\">")
    assert maklon_world["lunas"] in body and maklon_world["pending"] not in body
    assert '<input type="hidden" name="status_bayar" value="lunas">' in body


@pytest.mark.parametrize("who", ["customer", "seller", "staff", "admin"])
def test_client_history_is_for_clients_only(client, login_as, who):
    login_as(who)
    assert client.get("/maklon/riwayat").status_code == 403
    assert _export(client, "/maklon/riwayat/ekspor?format=csv").status_code == 403


def test_history_needs_login(client):
    assert client.get("/maklon/riwayat").status_code == 302
    assert _export(client, "/seller/pesanan/riwayat/ekspor?format=csv").status_code == 302


# -- the seller ------------------------------------------------------------------------------

@pytest.fixture
def seller_world(db):
    seller_a = make_user(roles=("seller",), store_name="Toko Anggrek")
    seller_b = make_user(roles=("seller",), store_name="Toko Bakung")
    buyer = make_user(name="Budi")
    variant_a = make_product(store=seller_a.store, stock=50).variants[0]
    variant_b = make_product(store=seller_b.store, stock=50).variants[0]
    paid = make_order(buyer=buyer, variant=variant_a, paid=True)
    gopay = make_checkout(buyer=buyer, lines=[(variant_a, 2)], payment_method="gopay").orders[0]
    other = make_order(buyer=buyer, variant=variant_b)
    db.session.commit()
    return {"seller_a": seller_a, "seller_b": seller_b, "paid": paid.number,
            "gopay": gopay.number, "other": other.number}


def test_seller_history_shows_only_the_sellers_store(client, login_as, seller_world):
    login_as(seller_world["seller_a"])
    page = client.get("/seller/pesanan/riwayat").get_data(as_text=True)
    assert seller_world["paid"] in page and seller_world["gopay"] in page
    assert seller_world["other"] not in page
    rows = _csv_rows(_export(client, "/seller/pesanan/riwayat/ekspor?format=csv").get_data())
    assert {r["Nomor"] for r in rows} == {seller_world["paid"], seller_world["gopay"]}


def test_seller_history_filters_by_method_and_status(client, login_as, seller_world, db):
    order = db.session.scalar(select(Order).where(Order.number == seller_world["paid"]))
    order.status = OrderStatus.PROCESSING
    db.session.commit()
    login_as(seller_world["seller_a"])
    by_method = _csv_rows(_export(
        client, "/seller/pesanan/riwayat/ekspor?format=csv&metode=gopay").get_data())
    assert [(r["Nomor"], r["Metode"], r["Kode metode"]) for r in by_method] == [
        (seller_world["gopay"], "GoPay", "gopay")]
    by_status = _csv_rows(_export(
        client, "/seller/pesanan/riwayat/ekspor?format=csv&status=processing").get_data())
    assert [r["Nomor"] for r in by_status] == [seller_world["paid"]]
    assert by_status[0]["Pembayaran"] == "Lunas"


def test_seller_history_of_a_future_range_is_empty(client, login_as, seller_world):
    login_as(seller_world["seller_a"])
    later = (utcnow() + timedelta(days=30)).strftime("%d/%m/%Y")
    rows = _csv_rows(_export(
        client, f"/seller/pesanan/riwayat/ekspor?format=csv&dari={later}").get_data())
    assert rows == []


@pytest.mark.parametrize("who", ["customer", "client", "staff"])
def test_seller_history_is_for_sellers_only(client, login_as, who):
    login_as(who)
    assert client.get("/seller/pesanan/riwayat").status_code == 403
    assert _export(client, "/seller/pesanan/riwayat/ekspor?format=pdf").status_code == 403


def test_seller_bad_method_is_explained(client, login_as, seller_world):
    login_as(seller_world["seller_a"])
    response = client.get("/seller/pesanan/riwayat?metode=tunai")
    assert response.status_code == 200
    page = unescape(response.get_data(as_text=True))
    assert 'Metode pembayaran "tunai" tidak dikenal; diabaikan.' in page


# -- large exports: a job --------------------------------------------------------------------

def test_large_client_export_runs_as_a_job_whose_file_only_its_owner_downloads(
        app, client, login_as, maklon_world, db, monkeypatch):
    from app.core.models import JobRecord, JobStatus

    monkeypatch.setitem(app.config, "EXPORT_INLINE_MAX", 1)
    login_as(maklon_world["client_a"])
    response = _export(client, "/maklon/riwayat/ekspor?format=csv&status=signed")
    assert response.status_code == 200
    assert "job-status" in response.get_data(as_text=True)
    job = db.session.scalars(select(JobRecord)).one()
    assert (job.queue, job.name) == ("reports", "jobs.reports.export_history")
    assert job.owner_id == maklon_world["client_a"].id
    assert job.status == JobStatus.FINISHED, job.error
    status = client.get(f"/pekerjaan/{job.id}/status", headers={"HX-Request": "true"})
    assert status.status_code == 286  # final: the partial stops polling
    assert job.result["download"] in status.get_data(as_text=True)
    file = client.get(job.result["download"])
    assert file.status_code == 200
    numbers = {row["Nomor"] for row in _csv_rows(file.get_data())}
    assert numbers == {maklon_world[k] for k in ("pending", "partial", "lunas")}
    assert file.headers["Content-Disposition"].startswith("attachment;")

    other = app.test_client()
    login_as(maklon_world["client_b"], other)
    assert other.get(job.result["download"]).status_code == 404
    assert other.get(f"/pekerjaan/{job.id}/status").status_code == 404


def test_large_seller_pdf_export_runs_as_a_job_too(app, client, login_as, seller_world, db,
                                                  monkeypatch):
    from app.core.models import JobRecord, JobStatus

    monkeypatch.setitem(app.config, "EXPORT_INLINE_MAX", 1)
    login_as(seller_world["seller_a"])
    assert _export(client, "/seller/pesanan/riwayat/ekspor?format=pdf").status_code == 200
    job = db.session.scalars(select(JobRecord)).one()
    assert job.status == JobStatus.FINISHED, job.error
    file = client.get(job.result["download"])
    assert file.status_code == 200 and file.get_data().startswith(b"%PDF")
    other = app.test_client()
    login_as(seller_world["seller_b"], other)
    assert other.get(job.result["download"]).status_code == 404


def test_download_of_a_key_that_is_no_job_of_mine_is_404(client, login_as, maklon_world):
    login_as(maklon_world["client_a"])
    assert client.get("/riwayat/unduh/reports/tidak-ada.csv").status_code == 404
    assert client.get("/riwayat/unduh/../instance/x.csv").status_code == 404
