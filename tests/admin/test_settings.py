"""The admin settings page (/admin/pengaturan): each section saves on its own and is read
back by the code that uses it (invoice PDF and PPN, a new store's low-stock threshold, a new
payment's expiry and gateway, CRM reassignment); bad input is a 422 with the message at the
field and nothing of the section saved; one audit row per changed value; the logo is
checked like a product photo; htmx swaps the section; only admins get in."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import threading
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from app.accounts.models import RoleName, User
from app.audit.models import AuditEntry
from app.core.company import company_identity
from app.core.models import Setting
from app.core.storage import storage_path, storage_root
from app.crm.assignment import reassign_threshold
from app.payments.invoices import invoice_tax
from app.payments.models import Invoice, Payment
from tests.conftest import UNDER_CI, log_in
from tests.factories import make_checkout, make_order, make_product, make_user

PAGE = "/admin/pengaturan"
COMPANY = {"name": "PT Racik Kosmetika Nusantara", "address": "Jl. Industri No. 7\nBekasi",
           "npwp": "01.234.567.8-901.000", "pkp": "y"}
TAX = {"ppn_rate": "11,5", "dpp_fraction": "0,9"}
STOCK = {"low_stock_default": "25"}
PAYMENT = {"va_expiry": "60", "ewallet_expiry": "5", "cstore_expiry": "1440",
           "gateway": "sandbox"}
CRM = {"reassign_threshold": "3"}


# --- helpers --------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _no_logo_files(app):
    """Stored files outlive the test's rows: start each test without logo files."""
    with app.app_context():
        shutil.rmtree(storage_root() / "company", ignore_errors=True)

def _admin(db, client) -> User:
    admin = make_user(email="admin@example.test", name="Admin Utama", roles=(RoleName.ADMIN,))
    db.session.commit()
    log_in(client, admin.email)
    return admin


def _table(db) -> dict[str, tuple]:
    """The settings table as it is: key -> (value, updated_at, updated_by_id)."""
    db.session.expire_all()
    return {row.key: (row.value, row.updated_at, row.updated_by_id)
            for row in db.session.scalars(select(Setting))}


def _values(db) -> dict[str, object]:
    return {key: value for key, (value, _, _) in _table(db).items()}


def _audits(db) -> list[AuditEntry]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "settings.change").order_by(AuditEntry.id)))


def _png(size: tuple[int, int] = (120, 60)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", size, (15, 118, 110, 255)).save(buffer, "PNG")
    return buffer.getvalue()


def _with_file(data: dict, content: bytes, filename: str) -> dict:
    return {**data, "logo": (io.BytesIO(content), filename)}


def _logo_files() -> list[Path]:
    folder = storage_root() / "company"
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def _pdf_text(invoice: Invoice, tmp_path: Path) -> str:
    if shutil.which("pdftotext") is None:
        if UNDER_CI:
            pytest.fail("pdftotext (poppler-utils) is required under CI=true")
        pytest.skip("pdftotext (poppler-utils) is not installed")
    path = tmp_path / "invoice.pdf"
    path.write_bytes(storage_path(invoice.file_key).read_bytes())
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout


def _paid_invoice(db, *, pkp: bool = False, price: int = 150_000) -> Invoice:
    seller = make_user(roles=("seller",), store_name="Toko Racik Jaya")
    seller.store.pkp, seller.store.npwp = pkp, "019876543210000" if pkp else ""
    product = make_product(store=seller.store, price=price, stock=5)
    db.session.commit()
    order = make_order(buyer=make_user(), variant=product.variants[0], paid=True)
    db.session.expire_all()
    return db.session.scalars(select(Invoice).where(Invoice.order_id == order.id)).one()


def _input_value(html: str, name: str) -> str | None:
    tag = re.search(rf'<input [^>]*name="{name}"[^>]*>', html)
    value = re.search(r'value="([^"]*)"', tag.group(0)) if tag else None
    return value.group(1) if value else None


def _errors_at(html: str, field_id: str) -> list[str]:
    block = re.search(rf'<ul class="errors" id="{field_id}-errors">(.*?)</ul>', html, re.S)
    assert block, f"no errors at {field_id}"
    return [e.strip() for e in re.findall(r"<li>(.*?)</li>", block.group(1), re.S)]


# --- the page -------------------------------------------------------------------------------
def test_page_lists_every_section_with_defaults_and_the_nav_entry(db, client):
    _admin(db, client)
    response = client.get(PAGE)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for slug in ("perusahaan", "pajak", "stok", "pembayaran", "crm"):
        assert f'id="pengaturan-{slug}"' in html
        assert f'action="/admin/pengaturan/{slug}"' in html
    assert 'href="/admin/pengaturan"' in html  # the navigation entry
    assert _input_value(html, "ppn_rate") == "12"
    assert _input_value(html, "dpp_fraction") == "11/12"
    assert _input_value(html, "va_expiry") == "1440"
    assert _input_value(html, "ewallet_expiry") == "15"
    assert _input_value(html, "low_stock_default") == "10"
    assert _input_value(html, "reassign_threshold") == "10"
    assert _input_value(html, "name") == "Racik"
    # + maklon (2 sections), backups; the payments section has 4 (with retail outlets)
    assert html.count('data-testid="state-') == 13 + 16 + 3
    assert "Diubah" not in html
    assert _table(db) == {}  # looking changes nothing


def test_changed_value_shows_changed_with_default_who_and_when(db, client):
    _admin(db, client)
    assert client.post(f"{PAGE}/crm", data=CRM).status_code == 303
    html = client.get(PAGE).get_data(as_text=True)
    state = re.search(r'data-testid="state-crm.reassign_threshold">(.*?)</p>', html, re.S)
    assert state is not None
    text = " ".join(state.group(1).split())
    assert "Diubah" in text and "Bawaan: 10" in text and "oleh Admin Utama" in text
    assert "WIB" in text
    untouched = re.search(r'data-testid="state-inventory.low_stock_default">(.*?)</p>', html,
                          re.S).group(1)
    assert "Bawaan" in untouched and "Diubah" not in untouched


def test_unknown_section_is_404(db, client):
    _admin(db, client)
    assert client.post(f"{PAGE}/rahasia", data={}).status_code == 404


# --- company identity -----------------------------------------------------------------------
def test_company_identity_saves_and_the_invoice_pdf_names_the_company(db, client, tmp_path):
    admin = _admin(db, client)
    response = client.post(f"{PAGE}/perusahaan", data=COMPANY)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/admin/pengaturan#pengaturan-perusahaan")
    identity = company_identity()
    assert identity.name == "PT Racik Kosmetika Nusantara"
    assert identity.address == "Jl. Industri No. 7\nBekasi"
    assert (identity.npwp, identity.pkp, identity.logo) == ("012345678901000", True, "")
    table = _table(db)
    assert {k for k in table} == {"company.name", "company.address", "company.npwp",
                                  "company.pkp"}
    assert all(by == admin.id for _, _, by in table.values())

    invoice = _paid_invoice(db)
    text = _pdf_text(invoice, tmp_path)
    assert "Diterbitkan melalui PT Racik Kosmetika Nusantara" in text
    assert "Toko Racik Jaya" in text  # the seller stays the issuer


def test_invoice_pdf_names_racik_by_default(db, tmp_path):
    text = _pdf_text(_paid_invoice(db), tmp_path)
    assert "Diterbitkan melalui Racik" in text


def test_company_text_is_escaped_on_the_page_and_printed_literally(db, client, tmp_path):
    _admin(db, client)
    name = '<script>alert(1)</script><b onmouseover="x()">PT & Co'
    assert client.post(f"{PAGE}/perusahaan", data={**COMPANY, "name": name}).status_code == 303
    html = client.get(PAGE).get_data(as_text=True)
    assert "<script>alert(1)" not in html and "<b onmouseover" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    text = _pdf_text(_paid_invoice(db), tmp_path)
    assert f"Diterbitkan melalui {name}" in " ".join(text.split())


@pytest.mark.parametrize(("change", "field_id", "message"), [
    ({"name": ""}, "name", "Wajib diisi."),
    ({"name": "x" * 201}, "name", "Maksimal 200 karakter."),
    ({"npwp": "12345"}, "npwp", "NPWP terdiri dari 15 atau 16 angka"),
    ({"npwp": ""}, "npwp", "Perusahaan PKP wajib memiliki NPWP."),
    ({"address": "a" * 501}, "address", "Maksimal 500 karakter."),
])
def test_bad_company_input_is_422_at_the_field_and_saves_nothing(db, client, change,
                                                                  field_id, message):
    _admin(db, client)
    assert client.post(f"{PAGE}/stok", data=STOCK).status_code == 303
    before, audits = _table(db), len(_audits(db))
    response = client.post(f"{PAGE}/perusahaan", data={**COMPANY, **change})
    assert response.status_code == 422
    errors = _errors_at(response.get_data(as_text=True), field_id)
    assert len(errors) == 1 and errors[0].startswith(message)
    assert _table(db) == before
    assert len(_audits(db)) == audits


def test_pkp_with_npwp_is_accepted_and_not_pkp_needs_no_npwp(db, client):
    _admin(db, client)
    assert client.post(f"{PAGE}/perusahaan",
                       data={**COMPANY, "npwp": "", "pkp": ""}).status_code == 303
    assert (company_identity().npwp, company_identity().pkp) == ("", False)


# --- the logo -------------------------------------------------------------------------------
def test_png_logo_is_reencoded_stored_shown_printed_and_removed(app, db, client, tmp_path):
    _admin(db, client)
    response = client.post(f"{PAGE}/perusahaan", data=_with_file(COMPANY, _png(), "logo.png"),
                           content_type="multipart/form-data")
    assert response.status_code == 303
    key = company_identity().logo
    assert key.startswith("company/") and key.endswith(".webp")
    data = storage_path(key).read_bytes()
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"  # re-encoded, not the PNG itself
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (120, 60)

    html = client.get(PAGE).get_data(as_text=True)
    src = re.search(r'<img src="([^"]+)"[^>]*data-testid="company-logo"', html).group(1)
    assert src.startswith("/admin/pengaturan/logo?v=")
    served = client.get(src)
    assert served.status_code == 200
    assert served.mimetype == "image/webp" and served.data == data
    assert "private" in served.headers["Cache-Control"]

    invoice = _paid_invoice(db)
    pdf = storage_path(invoice.file_key).read_bytes()
    assert b"/Subtype /Image" in pdf
    assert "Diterbitkan melalui PT Racik Kosmetika Nusantara" in _pdf_text(invoice, tmp_path)

    response = client.post(f"{PAGE}/perusahaan", data={**COMPANY, "logo_remove": "y"})
    assert response.status_code == 303
    assert company_identity().logo == ""
    assert not storage_path(key).exists()  # deleted once the change was committed
    assert client.get("/admin/pengaturan/logo").status_code == 404
    [*_, removed] = _audits(db)
    assert (removed.object_id, removed.before, removed.after) == (
        "company.logo", {"value": key}, {"value": ""})


def test_new_logo_replaces_the_old_file(db, client):
    _admin(db, client)
    client.post(f"{PAGE}/perusahaan", data=_with_file(COMPANY, _png(), "a.png"),
                content_type="multipart/form-data")
    first = company_identity().logo
    client.post(f"{PAGE}/perusahaan", data=_with_file(COMPANY, _png((80, 80)), "b.png"),
                content_type="multipart/form-data")
    second = company_identity().logo
    assert second != first
    assert [p.name for p in _logo_files()] == [Path(second).name]


@pytest.mark.parametrize(("content", "message"), [
    (b"bukan gambar, hanya teks biasa\n", "Berkas ini bukan foto JPG, PNG, atau WebP"),
    (_png() + b"<?php echo 1; ?>", "Foto berisi data tambahan"),
    (b"", "Berkas foto kosong."),
])
def test_logo_that_is_not_an_image_is_refused_and_nothing_saved(db, client, content,
                                                                 message):
    _admin(db, client)
    before, audits = _table(db), len(_audits(db))
    response = client.post(f"{PAGE}/perusahaan",
                           data=_with_file(COMPANY, content, "logo.png"),
                           content_type="multipart/form-data")
    assert response.status_code == 422
    [error] = _errors_at(response.get_data(as_text=True), "logo")
    assert error.startswith(message)
    assert _table(db) == before  # not even the name
    assert len(_audits(db)) == audits
    assert _logo_files() == []


def test_no_file_chosen_saves_the_rest_without_a_logo(db, client):
    _admin(db, client)
    response = client.post(f"{PAGE}/perusahaan", data=_with_file(COMPANY, b"", ""),
                           content_type="multipart/form-data")
    assert response.status_code == 303
    assert company_identity().name == "PT Racik Kosmetika Nusantara"
    assert company_identity().logo == ""
    assert "company.logo" not in _table(db)


def test_logo_route_is_404_without_a_logo(db, client):
    _admin(db, client)
    assert client.get("/admin/pengaturan/logo").status_code == 404


# --- tax ------------------------------------------------------------------------------------
def test_tax_saves_normalised_and_invoices_use_the_new_rate(db, client):
    _admin(db, client)
    assert client.post(f"{PAGE}/pajak", data=TAX).status_code == 303
    values = _values(db)
    assert (values["invoice.ppn_rate"], values["invoice.dpp_fraction"]) == ("11.5", "0.9")
    # k = 11.5 % * 0.9 = 0.1035; ppn = 1.000.000 * 1035 / 11035 = 93.792,47 -> 93.792
    tax = invoice_tax(1_000_000, pkp=True)
    assert (tax.rate, tax.fraction, tax.ppn, tax.price, tax.dpp) == (
        Decimal("11.50"), "9/10", 93_792, 906_208, 815_587)

    invoice = _paid_invoice(db, pkp=True, price=1_000_000)
    assert (invoice.ppn_rate, invoice.ppn, invoice.dpp) == (Decimal("11.50"), 93_792, 815_587)


def test_tax_fraction_and_whole_rate_as_typed(db, client):
    _admin(db, client)
    assert client.post(f"{PAGE}/pajak",
                       data={"ppn_rate": "11.00", "dpp_fraction": "22 / 24"}).status_code == 303
    values = _values(db)
    assert (values["invoice.ppn_rate"], values["invoice.dpp_fraction"]) == ("11", "22/24")
    # k = 11 % * 11/12 = 121/1200; ppn = 1.110.000 * 121 / 1321 = 101.673,0...
    tax = invoice_tax(1_110_000, pkp=True)
    assert (tax.rate, tax.fraction, tax.ppn) == (Decimal("11.00"), "11/12", 101_673)


@pytest.mark.parametrize(("data", "field_id"), [
    ({"ppn_rate": "100"}, "ppn_rate"),
    ({"ppn_rate": "0"}, "ppn_rate"),
    ({"ppn_rate": "12.345"}, "ppn_rate"),
    ({"ppn_rate": "-5"}, "ppn_rate"),
    ({"ppn_rate": "1e1"}, "ppn_rate"),
    ({"ppn_rate": "dua belas"}, "ppn_rate"),
    ({"ppn_rate": ""}, "ppn_rate"),
    ({"dpp_fraction": "0"}, "dpp_fraction"),
    ({"dpp_fraction": "13/12"}, "dpp_fraction"),
    ({"dpp_fraction": "1/0"}, "dpp_fraction"),
    ({"dpp_fraction": "1.5"}, "dpp_fraction"),
    ({"dpp_fraction": "-11/12"}, "dpp_fraction"),
    ({"dpp_fraction": ""}, "dpp_fraction"),
])
def test_bad_tax_input_is_422_at_the_field_and_saves_nothing(db, client, data, field_id):
    _admin(db, client)
    before = _table(db)
    response = client.post(f"{PAGE}/pajak", data={**TAX, **data})
    assert response.status_code == 422
    assert len(_errors_at(response.get_data(as_text=True), field_id)) == 1
    assert _table(db) == before == {}
    assert _audits(db) == []
    assert invoice_tax(1_110_000, pkp=True).ppn == 110_000  # still 12 % of 11/12


# --- stock ----------------------------------------------------------------------------------
def test_low_stock_default_applies_to_new_stores_only(db, client):
    old_store = make_user(roles=("seller",)).store
    db.session.commit()
    _admin(db, client)
    assert client.post(f"{PAGE}/stok", data=STOCK).status_code == 303
    assert _values(db) == {"inventory.low_stock_default": 25}
    new_store = make_user(roles=("seller",)).store
    db.session.commit()
    db.session.expire_all()
    assert (old_store.low_stock_threshold, new_store.low_stock_threshold) == (10, 25)


def test_registering_seller_gets_the_default_threshold(db, client, make_client):
    _admin(db, client)
    client.post(f"{PAGE}/stok", data={"low_stock_default": "0"})
    visitor = make_client()
    response = visitor.post("/daftar", data={
        "account_type": "seller", "name": "Sari", "email": "sari@example.test",
        "password": "kopi-susu-gula-aren-42", "password_confirm": "kopi-susu-gula-aren-42",
        "store_name": "Toko Sari", "store_location": "Solo"})
    assert response.status_code == 303
    db.session.expire_all()
    seller = db.session.scalars(select(User).where(User.email == "sari@example.test")).one()
    assert seller.store.low_stock_threshold == 0


@pytest.mark.parametrize("value", ["-1", "100001", "2,5", "abc", ""])
def test_bad_low_stock_default_is_422_and_saves_nothing(db, client, value):
    _admin(db, client)
    response = client.post(f"{PAGE}/stok", data={"low_stock_default": value})
    assert response.status_code == 422
    assert len(_errors_at(response.get_data(as_text=True), "low_stock_default")) == 1
    assert _table(db) == {}


# --- payments -------------------------------------------------------------------------------
def _new_payment(db, method: str) -> Payment:
    seller = make_user(roles=("seller",))
    product = make_product(store=seller.store, stock=5)
    checkout = make_checkout(buyer=make_user(), lines=[(product.variants[0], 1)],
                             payment_method=method)
    db.session.commit()
    return db.session.scalars(select(Payment).where(
        Payment.checkout_id == checkout.id)).one()


def test_payment_expiry_follows_the_settings(db, client):
    before = _new_payment(db, "va_bca")
    assert before.expires_at - before.created_at == timedelta(minutes=1440)
    _admin(db, client)
    assert client.post(f"{PAGE}/pembayaran", data=PAYMENT).status_code == 303
    assert _values(db) == {"payment.va_expiry_minutes": 60,
                           "payment.ewallet_expiry_minutes": 5}  # sandbox is the default
    for method, minutes in (("va_bca", 60), ("va_mandiri", 60), ("gopay", 5), ("qris", 5)):
        payment = _new_payment(db, method)
        assert payment.expires_at - payment.created_at == timedelta(minutes=minutes), method
        assert payment.gateway == "sandbox"


def test_retail_outlet_expiry_has_its_own_setting(db, client):
    before = _new_payment(db, "alfamart")
    assert before.expires_at - before.created_at == timedelta(minutes=1440)
    _admin(db, client)
    response = client.post(f"{PAGE}/pembayaran", data={**PAYMENT, "cstore_expiry": "180"})
    assert response.status_code == 303
    assert _values(db)["payment.cstore_expiry_minutes"] == 180
    for method, minutes in (("alfamart", 180), ("indomaret", 180), ("va_bca", 60),
                            ("qris", 5)):
        payment = _new_payment(db, method)
        assert payment.expires_at - payment.created_at == timedelta(minutes=minutes), method


def test_midtrans_is_refused_without_a_server_key(app, db, client, monkeypatch):
    monkeypatch.setitem(app.config, "MIDTRANS_SERVER_KEY", "")
    _admin(db, client)
    response = client.post(f"{PAGE}/pembayaran", data={**PAYMENT, "gateway": "midtrans"})
    assert response.status_code == 422
    [error] = _errors_at(response.get_data(as_text=True), "gateway")
    assert "MIDTRANS_SERVER_KEY" in error
    assert _table(db) == {}  # not the expiry minutes either


def test_midtrans_with_a_key_applies_to_new_payments_only(app, db, client, monkeypatch):
    monkeypatch.setitem(app.config, "MIDTRANS_SERVER_KEY", "SB-Mid-server-test")
    existing = _new_payment(db, "va_bca")
    _admin(db, client)
    response = client.post(f"{PAGE}/pembayaran", data={**PAYMENT, "gateway": "midtrans"})
    assert response.status_code == 303
    assert _values(db)["payment.gateway"] == "midtrans"
    assert _new_payment(db, "va_bni").gateway == "midtrans"
    db.session.expire_all()
    assert db.session.get(Payment, existing.id).gateway == "sandbox"


def test_sandbox_is_refused_where_it_is_switched_off(app, db, client, monkeypatch):
    monkeypatch.setitem(app.config, "PAYMENT_SANDBOX_ENABLED", False)
    _admin(db, client)
    response = client.post(f"{PAGE}/pembayaran", data=PAYMENT)
    assert response.status_code == 422
    [error] = _errors_at(response.get_data(as_text=True), "gateway")
    assert error == "Sandbox dimatikan di server ini (produksi)."
    assert _table(db) == {}


@pytest.mark.parametrize(("data", "field_id"), [
    ({"va_expiry": "4"}, "va_expiry"),
    ({"va_expiry": "10081"}, "va_expiry"),
    ({"va_expiry": "1,5"}, "va_expiry"),
    ({"va_expiry": ""}, "va_expiry"),
    ({"ewallet_expiry": "0"}, "ewallet_expiry"),
    ({"ewallet_expiry": "1441"}, "ewallet_expiry"),
    ({"ewallet_expiry": "lima"}, "ewallet_expiry"),
    ({"cstore_expiry": "4"}, "cstore_expiry"),
    ({"cstore_expiry": "10081"}, "cstore_expiry"),
    ({"cstore_expiry": ""}, "cstore_expiry"),
    ({"gateway": "paypal"}, "gateway"),
    ({"gateway": ""}, "gateway"),
])
def test_bad_payment_input_is_422_and_saves_nothing(db, client, data, field_id):
    _admin(db, client)
    response = client.post(f"{PAGE}/pembayaran", data={**PAYMENT, **data})
    assert response.status_code == 422
    assert len(_errors_at(response.get_data(as_text=True), field_id)) == 1
    assert _table(db) == {}
    assert _audits(db) == []


# --- CRM ------------------------------------------------------------------------------------
def test_crm_threshold_saves_and_assignment_reads_it(db, client):
    assert reassign_threshold() == 10
    _admin(db, client)
    assert client.post(f"{PAGE}/crm", data=CRM).status_code == 303
    assert reassign_threshold() == 3


@pytest.mark.parametrize("value", ["0", "1001", "", "tiga"])
def test_bad_crm_threshold_is_422_and_saves_nothing(db, client, value):
    _admin(db, client)
    response = client.post(f"{PAGE}/crm", data={"reassign_threshold": value})
    assert response.status_code == 422
    assert len(_errors_at(response.get_data(as_text=True), "reassign_threshold")) == 1
    assert _table(db) == {}


# --- audit ----------------------------------------------------------------------------------
def test_each_changed_value_writes_one_audit_row_and_an_unchanged_save_none(db, client):
    admin = _admin(db, client)
    response = client.post(f"{PAGE}/pembayaran", data={**PAYMENT, "ewallet_expiry": "15"})
    assert response.status_code == 303
    [row] = _audits(db)
    assert (row.actor_id, row.object_type, row.object_id) == (
        admin.id, "setting", "payment.va_expiry_minutes")
    assert (row.before, row.after) == ({"value": 1440}, {"value": 60})

    follow = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Pembayaran disimpan." in follow
    response = client.post(f"{PAGE}/pembayaran", data={**PAYMENT, "ewallet_expiry": "15"})
    assert response.status_code == 303
    assert "Tidak ada yang berubah." in client.get(PAGE).get_data(as_text=True)
    assert len(_audits(db)) == 1

    client.post(f"{PAGE}/pajak", data=TAX)
    rows = _audits(db)[1:]
    assert [(r.object_id, r.before, r.after) for r in rows] == [
        ("invoice.ppn_rate", {"value": "12"}, {"value": "11.5"}),
        ("invoice.dpp_fraction", {"value": "11/12"}, {"value": "0.9"})]


def test_back_to_the_default_is_a_change_and_shows_as_default(db, client):
    _admin(db, client)
    client.post(f"{PAGE}/crm", data=CRM)
    client.post(f"{PAGE}/crm", data={"reassign_threshold": "10"})
    rows = _audits(db)
    assert [(r.before, r.after) for r in rows] == [({"value": 10}, {"value": 3}),
                                                   ({"value": 3}, {"value": 10})]
    html = client.get(PAGE).get_data(as_text=True)
    state = re.search(r'data-testid="state-crm.reassign_threshold">(.*?)</p>', html,
                      re.S).group(1)
    assert "Bawaan" in state and "Diubah" not in state and "oleh Admin Utama" in state


def test_the_same_change_sent_twice_at_once_is_written_and_audited_once(db, make_client):
    make_user(email="admin@example.test", roles=(RoleName.ADMIN,))
    db.session.commit()
    clients = [make_client(), make_client()]
    for browser in clients:
        log_in(browser, "admin@example.test")
    tokens = [browser.csrf_token() for browser in clients]
    barrier = threading.Barrier(2)
    statuses = [0, 0]

    def worker(index: int) -> None:
        barrier.wait()
        statuses[index] = clients[index].open(
            f"{PAGE}/pembayaran", method="POST", csrf=False,
            data={**PAYMENT, "csrf_token": tokens[index]}).status_code

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [303, 303]
    assert _values(db) == {"payment.va_expiry_minutes": 60,
                           "payment.ewallet_expiry_minutes": 5}
    assert [(r.object_id, r.before, r.after) for r in _audits(db)] == [
        ("payment.va_expiry_minutes", {"value": 1440}, {"value": 60}),
        ("payment.ewallet_expiry_minutes", {"value": 15}, {"value": 5})]


def test_two_different_changes_at_once_chain_their_audit_rows(db, make_client):
    make_user(email="admin@example.test", roles=(RoleName.ADMIN,))
    db.session.commit()
    clients = [make_client(), make_client()]
    for browser in clients:
        log_in(browser, "admin@example.test")
    tokens = [browser.csrf_token() for browser in clients]
    barrier = threading.Barrier(2)

    def worker(index: int) -> None:
        barrier.wait()
        clients[index].open(f"{PAGE}/crm", method="POST", csrf=False,
                            data={"reassign_threshold": str(20 + index),
                                  "csrf_token": tokens[index]})

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    first, second = _audits(db)
    assert first.before == {"value": 10}
    assert second.before == first.after  # the second saw what the first stored
    assert _values(db)["crm.reassign_threshold"] == second.after["value"]


# --- htmx -----------------------------------------------------------------------------------
def test_htmx_swaps_the_section_in_place(db, client):
    _admin(db, client)
    headers = {"HX-Request": "true"}
    response = client.post(f"{PAGE}/stok", data=STOCK, headers=headers)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" not in html
    assert html.lstrip().startswith('<section class="card settings-section" '
                                    'id="pengaturan-stok"')
    assert 'id="pengaturan-stok"' in html and 'id="pengaturan-pajak"' not in html
    assert 'data-testid="section-saved">Stok disimpan.' in html
    assert _input_value(html, "low_stock_default") == "25"

    response = client.post(f"{PAGE}/stok", data={"low_stock_default": "-3"}, headers=headers)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "<html" not in html and 'id="pengaturan-stok"' in html
    assert _errors_at(html, "low_stock_default") == ["Tidak boleh negatif."]
    assert _input_value(html, "low_stock_default") == "-3"  # what was typed stays
    assert _values(db) == {"inventory.low_stock_default": 25}


# --- access ---------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["customer", "seller", "client", "staff"])
def test_settings_are_for_admins_only(db, client, login_as, role):
    login_as(role)
    assert client.get(PAGE).status_code == 403
    assert client.post(f"{PAGE}/stok", data=STOCK).status_code == 403
    assert client.get(f"{PAGE}/logo").status_code == 403
    assert _table(db) == {}


def test_anonymous_is_sent_to_login(db, client):
    for response in (client.get(PAGE), client.post(f"{PAGE}/stok", data=STOCK),
                     client.get(f"{PAGE}/logo")):
        assert response.status_code == 302
        assert "/masuk" in response.headers["Location"]
    assert _table(db) == {}
