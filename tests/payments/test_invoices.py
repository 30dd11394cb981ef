"""Invoices: one per paid order (job run twice: still one), gapless numbers per store and
year under 20 concurrent jobs, no gap after a failed job, the PDF's text (pdftotext) with
the PPN lines exactly as computed, the email with the PDF attached, who may download it,
the public verification page, and the NPWP / PKP settings."""

from __future__ import annotations

import email
import hashlib
import os
import shutil
import subprocess
import threading
from email import policy
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

import jobs.payments
from app.accounts.models import Store, User
from app.core.clock import to_wib
from app.core.models import EmailOutbox
from app.core.queue import execute_job
from app.core.settings import setting_set
from app.core.storage import storage_path, storage_root
from app.extensions import db as _db
from app.orders.invoicing import order_invoice_issue as invoice_issue
from app.orders.models import Order
from app.payments import invoices as invoices_module
from app.payments.invoices import invoice_tax
from app.payments.models import Invoice, InvoiceCounter, Payment
from tests.conftest import UNDER_CI, log_in
from tests.factories import make_order, make_product, make_user

JOB = "jobs.payments.invoice_issue"


# --- helpers -------------------------------------------------------------------------------
def _shop(*, pkp: bool = False, shipping: int = 0, price: int = 150_000, stock: int = 50,
          npwp: str = "", address: str = "") -> tuple[User, object]:
    seller = make_user(roles=("seller",), store_name="Toko Racik Jaya")
    store = seller.store
    store.shipping_cost, store.pkp, store.npwp, store.address = shipping, pkp, npwp, address
    product = make_product(store=store, name="Serum Vitamin C", price=price, stock=stock,
                           options={"Ukuran": ["30 ml"]})
    _db.session.commit()
    return seller, product


def _paid_order(product, buyer: User | None = None) -> Order:
    buyer = buyer or make_user()
    return make_order(buyer=buyer, variant=product.variants[0], paid=True)


def _invoices() -> list[Invoice]:
    _db.session.expire_all()
    return list(_db.session.scalars(select(Invoice).order_by(Invoice.sequence)))


def _invoice_mails() -> list[EmailOutbox]:
    return list(_db.session.scalars(select(EmailOutbox).where(
        EmailOutbox.template == "invoice").order_by(EmailOutbox.id)))


def _paid_year(order: Order) -> int:
    payment = _db.session.scalars(select(Payment).where(
        Payment.checkout_id == order.checkout_id)).one()
    return to_wib(payment.paid_at).year


def _number(store: Store, year: int, sequence: int) -> str:
    """The store's invoice number: its code (TK + id) in it, unique platform-wide."""
    return f"INV/TK{store.id}/{year}/{sequence:06d}"


def _counter(store: Store, year: int) -> int | None:
    return _db.session.scalars(select(InvoiceCounter.last_number).where(
        InvoiceCounter.issuer == f"store:{store.id}", InvoiceCounter.year == year)).first()


def _pdf_text(invoice: Invoice, tmp_path: Path) -> str:
    if shutil.which("pdftotext") is None:
        if UNDER_CI:
            pytest.fail("pdftotext (poppler-utils) is required under CI=true")
        pytest.skip("pdftotext (poppler-utils) is not installed")
    path = tmp_path / "invoice.pdf"
    path.write_bytes(storage_path(invoice.file_key).read_bytes())
    result = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                            text=True, check=True)
    return result.stdout


def _run_job(app, order_id: int) -> dict:
    """Run the invoice job as a worker would, in its own app context and session. The test's
    session commits first: on SQLite its open transaction holds the write lock."""
    _db.session.commit()
    return execute_job(app, JOB, (order_id,), {})


def _stored_invoice_files() -> list[Path]:
    folder = storage_root() / "invoices"
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


# --- issuing -------------------------------------------------------------------------------
def test_paid_order_gets_one_invoice_numbered_1_and_one_email_with_the_pdf(db, mail_dir):
    seller, product = _shop(shipping=12_000)
    order = _paid_order(product)
    year = _paid_year(order)

    [invoice] = _invoices()
    assert invoice.order_id == order.id
    assert invoice.issuer == f"store:{seller.store.id}"
    assert (invoice.year, invoice.sequence) == (year, 1)
    assert invoice.number == _number(seller.store, year, 1)
    assert (invoice.subtotal, invoice.shipping, invoice.total) == (150_000, 12_000, 162_000)
    assert (invoice.pkp, invoice.dpp, invoice.ppn) == (False, 0, 0)
    assert invoice.payment_method == "va_bca"
    assert len(invoice.verification_code) == 16
    data = storage_path(invoice.file_key).read_bytes()
    assert data.startswith(b"%PDF-")
    assert invoice.file_key.startswith("invoices/")
    assert (invoice.sha256, invoice.size) == (hashlib.sha256(data).hexdigest(), len(data))
    assert _counter(seller.store, year) == 1

    [mail] = _invoice_mails()
    assert mail.to_address == order.buyer.email
    assert mail.attachments == [{"key": invoice.file_key,
                                 "filename": f"INV-TK{seller.store.id}-{year}-000001.pdf",
                                 "content_type": "application/pdf"}]
    assert mail.status == "sent"
    assert invoice.number in mail.subject and order.number in mail.subject
    message = email.message_from_bytes((mail_dir / f"{mail.id:08d}-invoice.eml").read_bytes(),
                                       policy=policy.default)
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == f"INV-TK{seller.store.id}-{year}-000001.pdf"
    assert attachment.get_content() == data
    assert invoice.verification_code in message.get_body(("plain",)).get_content()


def test_running_the_invoice_job_again_issues_nothing_more(app, db):
    seller, product = _shop()
    order = _paid_order(product)
    year = _paid_year(order)
    [first] = _invoices()

    assert invoice_issue(order.id) == {"invoice_id": first.id, "number": first.number,
                                       "created": False}
    assert _run_job(app, order.id)["created"] is False  # through the job runner, as RQ

    [invoice] = _invoices()
    assert (invoice.id, invoice.number, invoice.sha256) == (first.id, first.number,
                                                            first.sha256)
    assert len(_invoice_mails()) == 1
    assert _counter(seller.store, year) == 1
    assert invoice.file_key == first.file_key


def test_an_unpaid_order_gets_no_invoice(db):
    _, product = _shop()
    order = make_order(buyer=make_user(), variant=product.variants[0])
    _db.session.commit()
    assert invoice_issue(order.id) == {"invoice_id": None, "number": None, "created": False}
    assert _invoices() == []


def test_twenty_concurrent_invoice_jobs_take_numbers_1_to_20_without_gaps(app, db,
                                                                       monkeypatch):
    seller, product = _shop(stock=100)
    buyer = make_user()
    _db.session.commit()
    # Pay 20 orders without issuing their invoices, then run the 20 jobs at once.
    with monkeypatch.context() as patch:
        patch.setattr(jobs.payments, "invoice_issue", lambda order_id: {})
        order_ids = [_paid_order(product, buyer).id for _ in range(20)]
    assert _invoices() == []
    year = _paid_year(_db.session.get(Order, order_ids[0]))
    _db.session.commit()  # the test's transaction would hold SQLite's write lock

    barrier = threading.Barrier(len(order_ids), timeout=30)
    errors: list[BaseException] = []
    results: dict[int, dict] = {}

    def run(order_id: int) -> None:
        try:
            barrier.wait()
            results[order_id] = execute_job(app, JOB, (order_id,), {})
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(oid,)) for oid in order_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert all(result["created"] for result in results.values())

    issued = _invoices()
    assert sorted(i.sequence for i in issued) == list(range(1, 21))
    assert sorted(i.number for i in issued) == [_number(seller.store, year, n)
                                                for n in range(1, 21)]
    assert sorted(i.order_id for i in issued) == sorted(order_ids)
    assert len({i.verification_code for i in issued}) == 20
    assert {results[i.order_id]["number"] for i in issued} == {i.number for i in issued}
    assert _counter(seller.store, year) == 20
    assert len(_invoice_mails()) == 20


def test_concurrent_jobs_for_one_order_issue_one_invoice_and_consume_one_number(app, db,
                                                                              monkeypatch):
    seller, product = _shop()
    with monkeypatch.context() as patch:
        patch.setattr(jobs.payments, "invoice_issue", lambda order_id: {})
        order_id = _paid_order(product).id
    year = _paid_year(_db.session.get(Order, order_id))
    _db.session.commit()
    barrier = threading.Barrier(5, timeout=30)
    results: list[dict] = []

    def run() -> None:
        barrier.wait()
        results.append(execute_job(app, JOB, (order_id,), {}))

    threads = [threading.Thread(target=run) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(r["created"] for r in results) == [False, False, False, False, True]
    assert {r["number"] for r in results} == {_number(seller.store, year, 1)}
    assert [i.number for i in _invoices()] == [_number(seller.store, year, 1)]
    assert _counter(seller.store, year) == 1
    assert len(_invoice_mails()) == 1


def test_two_stores_count_their_own_numbers_and_never_share_one(db):
    seller_a, product_a = _shop()
    seller_b = make_user(roles=("seller",), store_name="Toko Lain")
    product_b = make_product(store=seller_b.store, name="Toner", price=90_000)
    _db.session.commit()
    a1, b1, a2 = _paid_order(product_a), _paid_order(product_b), _paid_order(product_a)
    year = _paid_year(a1)
    by_order = {i.order_id: (i.sequence, i.number) for i in _invoices()}
    assert by_order == {a1.id: (1, _number(seller_a.store, year, 1)),
                        b1.id: (1, _number(seller_b.store, year, 1)),
                        a2.id: (2, _number(seller_a.store, year, 2))}


def test_the_database_refuses_a_second_invoice_with_the_same_number(db):
    _, product = _shop()
    _paid_order(product)
    [first] = _invoices()
    twin = Invoice(order_id=None, issuer="store:999999", year=first.year, sequence=1,
                   number=first.number, subtotal=1, shipping=0, total=1,
                   verification_code="X" * 16)
    _db.session.add(twin)
    with pytest.raises(IntegrityError):
        _db.session.flush()
    _db.session.rollback()


def test_a_failed_invoice_job_leaves_no_gap(app, db, monkeypatch):
    seller, product = _shop()
    files_before = set(_stored_invoice_files())

    def broken_pdf(document):
        raise RuntimeError("printer on fire")  # after the number was taken

    with monkeypatch.context() as patch:
        patch.setattr(invoices_module, "invoice_pdf", broken_pdf)
        order = _paid_order(product)  # its invoice job runs now, and fails
        with pytest.raises(RuntimeError, match="printer on fire"):
            _run_job(app, order.id)  # RQ's retry fails the same way
    year = _paid_year(order)
    assert _invoices() == []
    assert _counter(seller.store, year) in (None, 0)
    assert _invoice_mails() == []
    assert set(_stored_invoice_files()) == files_before  # the PDF went with the rollback

    assert _run_job(app, order.id)["number"] == _number(seller.store, year, 1)  # the retry
    second = _paid_order(product)
    numbers = {i.order_id: i.number for i in _invoices()}
    assert numbers == {order.id: _number(seller.store, year, 1),
                       second.id: _number(seller.store, year, 2)}
    assert _counter(seller.store, year) == 2


# --- tax and the PDF -----------------------------------------------------------------------
@pytest.mark.parametrize(("total", "price", "dpp", "ppn"), [
    (1_110_000, 1_000_000, 916_667, 110_000),
    (100_000, 90_090, 82_583, 9_910),
    (1, 1, 1, 0),
])
def test_ppn_is_derived_from_the_total_and_the_lines_add_up(db, total, price, dpp, ppn):
    tax = invoice_tax(total, pkp=True)
    assert (tax.price, tax.dpp, tax.ppn) == (price, dpp, ppn)
    assert tax.price + tax.ppn == total
    assert str(tax.rate) == "12.00" and tax.fraction == "11/12"


def test_ppn_never_drifts_more_than_one_rupiah_from_rate_times_dpp(db):
    from decimal import Decimal

    from app.core.money import round_rupiah

    for total in range(1_000, 400_000, 997):
        tax = invoice_tax(total, pkp=True)
        assert tax.price + tax.ppn == total
        assert abs(tax.ppn - round_rupiah(Decimal(tax.dpp) * Decimal("0.12"))) <= 1


def test_ppn_settings_are_read_from_the_settings_table(db):
    setting_set(key="invoice.ppn_rate", value=11)
    setting_set(key="invoice.dpp_fraction", value="1")
    tax = invoice_tax(1_110_000, pkp=True)
    assert (tax.price, tax.dpp, tax.ppn) == (1_000_000, 1_000_000, 110_000)
    assert invoice_tax(1_110_000, pkp=False).ppn == 0


def test_pdf_of_a_pkp_seller_shows_dpp_and_ppn_exactly_as_computed(db, tmp_path):
    _, product = _shop(pkp=True, shipping=10_000, price=1_100_000,
                       npwp="012345678901000", address="Jl. Braga No. 5\nBandung")
    buyer = make_user(name="Rina Wulandari")
    buyer.npwp = "3273012345678901"
    order = _paid_order(product, buyer)
    [invoice] = _invoices()
    assert (invoice.total, invoice.pkp, invoice.dpp, invoice.ppn) == (1_110_000, True,
                                                                       916_667, 110_000)
    assert str(invoice.ppn_rate) in ("12.00", "12")

    text = _pdf_text(invoice, tmp_path)
    assert "Invoice" in text
    assert "Faktur Pajak" not in text
    assert invoice.number in text
    assert order.number in text
    lines = {" ".join(line.split()) for line in text.splitlines()}
    assert "Subtotal Rp 1.100.000" in lines
    assert "Ongkos kirim Rp 10.000" in lines
    assert "Harga jual sebelum PPN Rp 1.000.000" in lines
    assert "DPP (11/12 × harga jual sebelum PPN) Rp 916.667" in lines
    assert "PPN 12% × DPP Rp 110.000" in lines
    assert "Total (termasuk PPN) Rp 1.110.000" in lines
    assert "NPWP: 01.234.567.8-901.000" in text  # the seller's, formatted
    assert "NPWP: 3273012345678901" in text  # the buyer's
    assert "Jl. Braga No. 5" in text and "Toko Racik Jaya" in text
    assert "Rina Wulandari" in text and "Jl. Merdeka No. 1" in text  # address snapshot
    assert "Serum Vitamin C" in text and "Ukuran: 30 ml" in text
    assert "Virtual Account BCA" in text
    assert invoice.verification_code in text


def test_pdf_of_a_non_pkp_seller_has_no_ppn_line_and_is_titled_invoice(db, tmp_path):
    _, product = _shop(shipping=15_000, price=200_000)
    _paid_order(product)
    [invoice] = _invoices()
    text = _pdf_text(invoice, tmp_path)
    assert text.lstrip().startswith("Invoice")
    assert "Faktur Pajak" not in text and "Faktur" not in text
    assert "PPN" not in text and "DPP" not in text
    lines = {" ".join(line.split()) for line in text.splitlines()}
    assert "Subtotal Rp 200.000" in lines
    assert "Ongkos kirim Rp 15.000" in lines
    assert "Total Rp 215.000" in lines
    assert invoice.number in text


# --- download and verification -------------------------------------------------------------
@pytest.fixture
def issued(db):
    seller, product = _shop()
    buyer = make_user()
    order = _paid_order(product, buyer)
    [invoice] = _invoices()
    issued = {"seller": seller.email, "buyer": buyer.email, "invoice": invoice, "order": order}
    _db.session.commit()  # the requests (and login_as) write in sessions of their own
    return issued


def test_buyer_downloads_the_stored_pdf(client, issued):
    invoice = issued["invoice"]
    log_in(client, issued["buyer"])
    response = client.get(f"/invoice/{invoice.id}.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert hashlib.sha256(response.data).hexdigest() == invoice.sha256
    name = invoice.number.replace("/", "-")
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename=\"{name}.pdf\"; filename*=UTF-8''{name}.pdf")
    assert "private" in response.headers["Cache-Control"]


@pytest.mark.parametrize("who", ["seller", "admin"])
def test_the_seller_and_admins_download_it_too(client, issued, login_as, who):
    if who == "seller":
        log_in(client, issued["seller"])
    else:
        login_as("admin")
    response = client.get(f"/invoice/{issued['invoice'].id}.pdf")
    assert response.status_code == 200
    assert hashlib.sha256(response.data).hexdigest() == issued["invoice"].sha256


@pytest.mark.parametrize("role", ["customer", "seller", "staff", "client"])
def test_anyone_else_gets_404_for_the_invoice(client, issued, login_as, role):
    login_as(role)
    assert client.get(f"/invoice/{issued['invoice'].id}.pdf").status_code == 404
    assert client.get("/invoice/999999.pdf").status_code == 404


def test_anonymous_download_asks_to_log_in(client, issued):
    response = client.get(f"/invoice/{issued['invoice'].id}.pdf")
    assert response.status_code == 302
    assert "/masuk" in response.headers["Location"]


def test_verification_page_shows_the_invoice_without_personal_data(client, issued):
    invoice, order = issued["invoice"], issued["order"]
    response = client.get(f"/invoice/verifikasi/{invoice.verification_code.lower()}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert invoice.number in page
    assert invoice.sha256 in page
    assert "Rp\u00a0150.000" in page
    assert "Toko Racik Jaya" in page
    for private in (order.buyer.name, order.buyer.email, "Jl. Merdeka", order.number):
        assert private not in page


def test_an_unknown_verification_code_is_a_friendly_404(client, db):
    response = client.get("/invoice/verifikasi/AAAABBBBCCCCDDDD")
    assert response.status_code == 404
    assert 'data-testid="invoice-unknown"' in response.get_data(as_text=True)


# --- NPWP and PKP settings -----------------------------------------------------------------
def _store_form(**changes) -> dict:
    return {"name": "Toko Racik Jaya", "location": "Bandung", "description": "",
            "low_stock_threshold": "10", "shipping_cost": "0", "address": "", "npwp": "",
            **changes}


def test_a_seller_saves_address_npwp_and_pkp(client, db):
    seller, _ = _shop()
    log_in(client, seller.email)
    response = client.post("/seller/toko", data=_store_form(
        address="Jl. Braga No. 5, Bandung", npwp="01.234.567.8-901.000", pkp="y"))
    assert response.status_code == 303
    store = _db.session.get(Store, seller.store.id)
    _db.session.refresh(store)
    assert (store.address, store.npwp, store.pkp) == ("Jl. Braga No. 5, Bandung",
                                                      "012345678901000", True)


@pytest.mark.parametrize(("npwp", "pkp", "message"), [
    ("12345", None, "NPWP terdiri dari 15 atau 16 angka"),
    ("01.234.567.8-901.00A", None, "NPWP terdiri dari 15 atau 16 angka"),
    ("12345678901234567", None, "NPWP terdiri dari 15 atau 16 angka"),
    ("", "y", "Toko PKP wajib mengisi NPWP."),
])
def test_a_bad_store_npwp_is_refused_at_the_field(client, db, npwp, pkp, message):
    seller, _ = _shop(npwp="012345678901000")
    log_in(client, seller.email)
    data = _store_form(npwp=npwp)
    if pkp:
        data["pkp"] = pkp
    response = client.post("/seller/toko", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="npwp-errors"' in page and message in page
    store = _db.session.get(Store, seller.store.id)
    _db.session.refresh(store)
    assert (store.npwp, store.pkp) == ("012345678901000", False)


def test_a_buyer_saves_an_npwp_on_the_profile_and_bad_input_is_422(client, db):
    buyer = make_user(name="Rina")
    _db.session.commit()
    log_in(client, buyer.email)
    bad = client.post("/akun", data={"name": "Rina", "phone": "", "locale": "id",
                                     "npwp": "0123"})
    assert bad.status_code == 422
    assert "NPWP terdiri dari 15 atau 16 angka" in bad.get_data(as_text=True)
    good = client.post("/akun", data={"name": "Rina", "phone": "", "locale": "id",
                                      "npwp": "3273 0123 4567 8901"})
    assert good.status_code == 303
    user = _db.session.get(User, buyer.id)
    _db.session.refresh(user)
    assert user.npwp == "3273012345678901"


def test_pdftotext_is_available_under_ci():
    if os.environ.get("CI", "").lower() == "true":
        assert shutil.which("pdftotext"), "make test installs poppler-utils"
