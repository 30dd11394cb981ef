"""The admin's reports over real HTTP (a live server on a free port): every inline CSV
export downloads whole (the body streams after the request's teardown), in the admin's
language, and the reports show the labels users read elsewhere (order status, payment
status, payment method, the issuing store's name), never the stored codes; the CSV keeps
each code in its own column."""

from __future__ import annotations

import csv
import io
import re
from html import unescape

import pytest
from sqlalchemy import select

from app.core.company import SETTING_NAME
from app.core.settings import setting_set
from app.maklon.models import MilestonePayment
from app.orders.models import OrderStatus
from app.payments.models import Invoice, Payment, PayStatus
from tests.factories import DEFAULT_PASSWORD, make_order, make_product, make_user
from tests.live import LiveBrowser
from tests.maklon.factories import make_maklon_client, make_signed_order, pay_milestone_sandbox

ROW = re.compile(r'<tr data-testid="report-row">(.*?)</tr>', re.S)
CELL = re.compile(r"<td[^>]*>(.*?)</td>", re.S)


@pytest.fixture
def world(db):
    """A delivered paid order (BCA VA, so invoiced by its store) and a pending unpaid one;
    a signed maklon order whose DP was paid by GoPay (invoiced by the platform company,
    two milestones still owed). Returns what the tests compare with (read before the
    commit: the live server's requests must not wait for this session's lock)."""
    setting_set(key=SETTING_NAME, value="PT Racik Maklon Nusantara")
    admin = make_user(roles=("admin",))
    seller = make_user(roles=("seller",), store_name="Toko Melati")
    buyer = make_user()
    variant = make_product(store=seller.store, stock=10).variants[0]
    delivered = make_order(buyer=buyer, variant=variant, paid=True)
    delivered.status = OrderStatus.DELIVERED
    pending = make_order(buyer=buyer, variant=variant)
    maklon_client = make_maklon_client()
    maklon = make_signed_order(client=maklon_client, total=10_000_000)
    db.session.commit()
    dp = db.session.scalar(select(MilestonePayment).where(
        MilestonePayment.request_id == maklon.id, MilestonePayment.kind == "dp"))
    pay_milestone_sandbox(dp, payer=maklon_client, method="gopay")
    invoices = {i.order_id or "maklon": i for i in db.session.scalars(select(Invoice))}
    facts = {
        "admin": admin.email, "delivered": delivered.number, "pending": pending.number,
        "maklon": maklon.number,
        "store_invoice": invoices[delivered.id].number,
        "store_issuer_code": invoices[delivered.id].issuer,
        "maklon_invoice": invoices["maklon"].number,
        "maklon_issuer_code": invoices["maklon"].issuer,
        "paid_references": {p.reference: p.method for p in db.session.scalars(
            select(Payment).where(Payment.status == PayStatus.PAID))},
    }
    db.session.commit()
    db.session.close()
    return facts


def _admin_browser(live_url: str, world: dict, language: str) -> LiveBrowser:
    browser = LiveBrowser(live_url)
    browser.log_in(world["admin"], DEFAULT_PASSWORD)
    if language != "id":
        assert browser.set_language(language).status == 303
    return browser


def _download_csv(browser: LiveBrowser, kind: str) -> list[dict[str, str]]:
    """POST the export form of report `kind` (format CSV) and read the whole streamed
    body: 200, a CSV, the BOM first. Returns the rows keyed by the header's cells."""
    response = browser.post_form("/admin/laporan/ekspor", {"laporan": kind, "format": "csv"},
                                 csrf_from=f"/admin/laporan?laporan={kind}")
    assert response.status == 200, response.text()[:500]
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    assert response.body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.body.decode("utf-8-sig"))))
    header = rows[0]
    assert len(set(header)) == len(header), header
    return [dict(zip(header, row, strict=True)) for row in rows[1:]]


# Header cells of strings the English catalogue already translates (the code columns are
# new strings; their English lives in app/translations/pending/docs.po until the merge).
HEADERS = {
    "id": {"pesanan": ["Nomor", "Toko", "Status", "Pembayaran", "Total"],
           "faktur": ["Nomor", "Sumber", "Penerbit", "Metode", "Total"],
           "pembayaran": ["Referensi", "Untuk", "Metode", "Jumlah"],
           "piutang": ["Pesanan maklon", "Perusahaan", "Terutang"]},
    "en": {"pesanan": ["Number", "Store", "Status", "Payment", "Total"],
           "faktur": ["Number", "Source", "Issuer", "Method", "Total"],
           # The catalogue's English today for "Referensi", "Jumlah", "Perusahaan" (shared
           # with other screens' msgids; better words are for the translation pass).
           "pembayaran": ["Referral", "For", "Method", "Quantity"],
           "piutang": ["Maklon order", "Companies", "Outstanding"]},
}
LABELS = {  # what the rest of the app shows for these codes, per language
    "id": {"delivered": "Selesai", "pending": "Menunggu diproses", "paid": "Lunas",
           "unpaid": "Belum dibayar", "va_bca": "Virtual Account BCA", "gopay": "GoPay"},
    "en": {"delivered": "Done", "pending": "Awaiting processing", "paid": "Paid",
           "unpaid": "Unpaid", "va_bca": "BCA Virtual Account", "gopay": "GoPay"},
}


@pytest.mark.parametrize("language", ["id", "en"])
def test_every_inline_csv_export_downloads_whole_in_the_admins_language(live_url, world,
                                                                         language):
    browser = _admin_browser(live_url, world, language)
    headers, labels = HEADERS[language], LABELS[language]
    number, store, status, paid, total = headers["pesanan"]

    orders = {row[number]: row for row in _download_csv(browser, "pesanan")}
    assert set(orders) == {world["delivered"], world["pending"]}
    assert orders[world["delivered"]][store] == "Toko Melati"
    assert (orders[world["delivered"]][status], orders[world["delivered"]][paid]) == (
        labels["delivered"], labels["paid"])
    assert (orders[world["pending"]][status], orders[world["pending"]][paid]) == (
        labels["pending"], labels["unpaid"])
    assert all(int(row[total]) > 0 for row in orders.values())

    number, source, issuer, method, total = headers["faktur"]
    invoices = {row[number]: row for row in _download_csv(browser, "faktur")}
    assert set(invoices) == {world["store_invoice"], world["maklon_invoice"]}
    store_invoice, maklon_invoice = (invoices[world["store_invoice"]],
                                     invoices[world["maklon_invoice"]])
    assert (store_invoice[source], store_invoice[issuer], store_invoice[method]) == (
        world["delivered"], "Toko Melati", labels["va_bca"])
    assert (maklon_invoice[source], maklon_invoice[issuer], maklon_invoice[method]) == (
        world["maklon"], "PT Racik Maklon Nusantara", labels["gopay"])

    reference, purpose, method, amount = headers["pembayaran"]
    payments = {row[reference]: row for row in _download_csv(browser, "pembayaran")}
    assert {ref: row[method] for ref, row in payments.items()} == {
        ref: labels[code] for ref, code in world["paid_references"].items()}
    assert [int(row[amount]) for row in payments.values() if row[purpose] == world["maklon"]
            ] == [3_000_000]  # the 30% down payment of 10.000.000

    order, company, owed = headers["piutang"]
    balances = _download_csv(browser, "piutang")
    assert [(row[order], int(row[owed])) for row in balances] == [(world["maklon"], 7_000_000)]
    assert balances[0][company]


def test_csv_keeps_each_code_in_its_own_column_beside_its_label(live_url, world):
    browser = _admin_browser(live_url, world, "id")
    orders = {row["Nomor"]: row for row in _download_csv(browser, "pesanan")}
    delivered = orders[world["delivered"]]
    assert (delivered["Status"], delivered["Kode status"]) == ("Selesai", OrderStatus.DELIVERED)
    assert (delivered["Pembayaran"], delivered["Kode pembayaran"]) == ("Lunas", "paid")
    invoices = {row["Nomor"]: row for row in _download_csv(browser, "faktur")}
    store_invoice = invoices[world["store_invoice"]]
    assert (store_invoice["Penerbit"], store_invoice["Kode penerbit"]) == (
        "Toko Melati", world["store_issuer_code"])
    assert (store_invoice["Metode"], store_invoice["Kode metode"]) == (
        "Virtual Account BCA", "va_bca")
    assert invoices[world["maklon_invoice"]]["Kode penerbit"] == world["maklon_issuer_code"]


def _report_cells(browser: LiveBrowser, kind: str) -> list[list[str]]:
    response = browser.get(f"/admin/laporan?laporan={kind}")
    assert response.status == 200
    return [[unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in CELL.findall(row)]
            for row in ROW.findall(response.text())]


def test_report_pages_show_labels_not_codes(live_url, world):
    browser = _admin_browser(live_url, world, "id")
    codes = {OrderStatus.DELIVERED, OrderStatus.PENDING, "paid", "unpaid", "va_bca", "gopay",
             "checkout", world["store_issuer_code"], world["maklon_issuer_code"]}
    seen: set[str] = set()
    for kind in ("pesanan", "faktur", "pembayaran"):
        rows = _report_cells(browser, kind)
        assert rows, kind
        cells = {cell for row in rows for cell in row}
        assert not cells & codes, (kind, cells & codes)
        seen |= cells
    assert {"Selesai", "Menunggu diproses", "Lunas", "Belum dibayar", "Virtual Account BCA",
            "GoPay", "Toko Melati", "PT Racik Maklon Nusantara"} <= seen
    assert "Kode status" not in browser.get("/admin/laporan?laporan=pesanan").text()


def test_background_export_is_in_the_language_of_the_admin_who_asked(app, db, live_url, world,
                                                                     monkeypatch):
    """The job runs on a worker thread, outside any request (as on an RQ worker): the
    language must travel with it."""
    from concurrent.futures import ThreadPoolExecutor

    from app.core.models import JobRecord, JobStatus

    pool = ThreadPoolExecutor(max_workers=1)
    monkeypatch.setitem(app.config, "JOBS_MODE_ACTIVE", "thread")
    monkeypatch.setitem(app.extensions, "racik_jobs_pool", pool)
    monkeypatch.setitem(app.config, "EXPORT_INLINE_MAX", 1)  # two orders: a job
    browser = _admin_browser(live_url, world, "en")
    page = browser.post_form("/admin/laporan/ekspor", {"laporan": "pesanan", "format": "csv"},
                             csrf_from="/admin/laporan?laporan=pesanan")
    assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
    pool.shutdown(wait=True)
    job = db.session.scalars(select(JobRecord).where(
        JobRecord.name == "jobs.reports.export_report")).one()
    assert job.status == JobStatus.FINISHED, job.error
    download = job.result["download"]
    db.session.commit()
    assert download in browser.get(f"/pekerjaan/{job.id}/status").text()
    response = browser.get(download)
    assert response.status == 200 and response.body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.body.decode("utf-8-sig"))))
    header = rows[0]
    by_number = {row[0]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    assert header[0] == "Number"
    assert (by_number[world["delivered"]]["Status"], by_number[world["delivered"]]["Payment"]
            ) == ("Done", "Paid")
