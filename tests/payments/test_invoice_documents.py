"""Invoice and report documents as the world gets them: downloaded over real HTTP from the
live server (logged in with a cookie jar and the form's CSRF token), read back with
poppler's `pdftotext -layout` and `pdffonts`.

Numbers unique platform-wide and gapless per store; LUNAS on a paid invoice and
DIKEMBALIKAN after a refund (the original archived unchanged); the maklon company's legal
identity from the settings; the verification code on one line; every glyph of Indonesian
names printed in embedded DejaVu Sans (invoices, contracts, reports); file names from the
document's own number and the WIB date, RFC 6266 `Content-Disposition`.
"""

from __future__ import annotations

import hashlib
import http.cookiejar
import re
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from app.core.settings import setting_set
from app.core.storage import storage_path
from app.extensions import db as _db
from app.maklon.models import ContractSignature, MilestonePayment
from app.payments import invoices as invoices_module
from app.payments.models import Invoice
from tests.conftest import CSRF_INPUT, UNDER_CI
from tests.factories import DEFAULT_PASSWORD, make_order, make_product, make_user
from tests.maklon.factories import make_signed_request, pay_milestone_sandbox

DISPOSITION = re.compile(r"attachment; filename=\"([^\"]+)\"; filename\*=UTF-8''(\S+)")


# --- a small browser over real HTTP --------------------------------------------------------
class Browser:
    """A logged-in browser against the live server: a cookie jar, the CSRF token of the
    page's form sent with every POST, redirects followed; answers are (status, headers,
    body) with the whole body read. Used inside the `db` fixture's app context."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.token = ""

    def get(self, path: str) -> tuple[int, dict[str, str], bytes]:
        return self._open(urllib.request.Request(self.base_url + path))  # noqa: S310

    def post(self, path: str, data: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        body = urllib.parse.urlencode({"csrf_token": self.token, **data}).encode()
        return self._open(urllib.request.Request(  # noqa: S310 (the live server's http URL)
            self.base_url + path, data=body, method="POST"))

    def log_in(self, email: str) -> Browser:
        status, _, page = self.get("/masuk")
        assert status == 200
        self.token = CSRF_INPUT.search(page.decode()).group(1)
        status, _, page = self.post("/masuk", {"email": email, "password": DEFAULT_PASSWORD})
        assert status == 200 and b'name="password"' not in page, page[:500]
        status, _, page = self.get("/")  # the logged-in session's token (base.html's forms)
        self.token = CSRF_INPUT.search(page.decode()).group(1)
        return self

    def _open(self, request: urllib.request.Request) -> tuple[int, dict[str, str], bytes]:
        # The test's own session commits first: its open transaction would hold SQLite's
        # write lock against the server's requests (and rows it arranged must be visible).
        _db.session.commit()
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, dict(response.headers.items()), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers.items()), error.read()


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if UNDER_CI:
            pytest.fail(f"{name} (poppler-utils) is required under CI=true")
        pytest.skip(f"{name} (poppler-utils) is not installed")
    return path


def pdf_text(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / f"doc-{hashlib.sha256(data).hexdigest()[:12]}.pdf"
    path.write_bytes(data)
    return subprocess.run([_tool("pdftotext"), "-layout", str(path), "-"],
                          capture_output=True, text=True, check=True).stdout


def pdf_fonts(data: bytes, tmp_path: Path) -> list[dict[str, str]]:
    """pdffonts' table: name, type and "emb" per font of the file."""
    path = tmp_path / f"fonts-{hashlib.sha256(data).hexdigest()[:12]}.pdf"
    path.write_bytes(data)
    lines = subprocess.run([_tool("pdffonts"), str(path)], capture_output=True, text=True,
                           check=True).stdout.splitlines()[2:]
    fonts = []
    for line in lines:
        # name, type (may contain spaces: "TrueType (CID)"), encoding, emb, sub, uni, id
        match = re.match(r"(\S+)\s+(.+?)\s{2,}(\S+)\s+(yes|no)\s+(yes|no)\s+(yes|no)", line)
        assert match, line
        fonts.append({"name": match.group(1), "type": match.group(2),
                      "emb": match.group(4)})
    return fonts


def assert_only_embedded_dejavu(data: bytes, tmp_path: Path) -> None:
    fonts = pdf_fonts(data, tmp_path)
    assert fonts, "no fonts in the PDF"
    for font in fonts:
        assert re.fullmatch(r"[A-Z]{6}\+DejaVuSans(-Bold)?", font["name"]), fonts
        assert font["type"].startswith("TrueType") and font["emb"] == "yes", fonts


def file_name(headers: dict[str, str]) -> str:
    """The file name of an RFC 6266 attachment: the ASCII name and `filename*` agree."""
    match = DISPOSITION.fullmatch(headers["Content-Disposition"])
    assert match, headers["Content-Disposition"]
    assert urllib.parse.unquote(match.group(2)) == match.group(1)
    return match.group(1)


def _lines(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines()]


# --- arrangements --------------------------------------------------------------------------
def _store(name: str, *, price: int = 150_000):
    seller = make_user(roles=("seller",), store_name=name)
    product = make_product(store=seller.store, name="Serum Vitamin C", price=price, stock=50)
    _db.session.commit()
    return seller, product


def _invoice_of(order) -> Invoice:
    _db.session.expire_all()
    return _db.session.scalars(select(Invoice).where(Invoice.order_id == order.id)).one()


# --- numbers -------------------------------------------------------------------------------
def test_two_stores_invoices_downloaded_have_numbers_unique_on_the_platform_and_gapless(
        live_url, db, tmp_path):
    seller_a, product_a = _store("Toko Anggrek")
    seller_b, product_b = _store("Toko Bakung")
    buyer = make_user(name="Rina Wulandari")
    _db.session.commit()
    a1 = make_order(buyer=buyer, variant=product_a.variants[0], paid=True)
    b1 = make_order(buyer=buyer, variant=product_b.variants[0], paid=True)
    a2 = make_order(buyer=buyer, variant=product_a.variants[0], paid=True)
    a3 = make_order(buyer=buyer, variant=product_a.variants[0], paid=True)
    _db.session.commit()
    orders = {"a1": a1, "b1": b1, "a2": a2, "a3": a3}
    invoices = {key: _invoice_of(order) for key, order in orders.items()}

    browser = Browser(live_url).log_in(buyer.email)
    printed: dict[str, str] = {}
    for key, invoice in invoices.items():
        status, headers, body = browser.get(f"/invoice/{invoice.id}.pdf")
        assert status == 200 and headers["Content-Type"] == "application/pdf"
        assert file_name(headers) == invoice.number.replace("/", "-") + ".pdf"
        text = pdf_text(body, tmp_path)
        assert orders[key].number in text
        [printed[key]] = re.findall(r"INV/\S+", text.split("Tanggal invoice")[0])

    assert printed == {key: invoice.number for key, invoice in invoices.items()}
    assert len(set(printed.values())) == 4  # no two invoices share a number
    assert printed["a1"] != printed["b1"]  # both stores' first invoice
    year = invoices["a1"].year
    a_numbers = [printed[k] for k in ("a1", "a2", "a3")]
    assert [int(n.rsplit("/", 1)[1]) for n in a_numbers] == [1, 2, 3]  # gapless per store
    assert int(printed["b1"].rsplit("/", 1)[1]) == 1
    prefix_a = {n.rsplit("/", 1)[0] for n in a_numbers}
    assert prefix_a == {f"INV/TK{seller_a.store.id}/{year}"}
    assert printed["b1"].rsplit("/", 1)[0] == f"INV/TK{seller_b.store.id}/{year}"


# --- payment status ------------------------------------------------------------------------
def test_a_paid_invoice_says_lunas_and_after_the_refund_the_download_says_dikembalikan(
        live_url, db, tmp_path):
    _, product = _store("Toko Cempaka")
    buyer = make_user(name="Budi Pembeli")
    _db.session.commit()
    order = make_order(buyer=buyer, variant=product.variants[0], paid=True)
    _db.session.commit()
    invoice = _invoice_of(order)
    original = storage_path(invoice.file_key).read_bytes()

    browser = Browser(live_url).log_in(buyer.email)
    status, headers, paid_pdf = browser.get(f"/invoice/{invoice.id}.pdf")
    assert status == 200 and paid_pdf == original
    paid_text = pdf_text(paid_pdf, tmp_path)
    assert "LUNAS" in paid_text and "DIKEMBALIKAN" not in paid_text
    status, _, page = browser.get(f"/invoice/verifikasi/{invoice.verification_code}")
    assert 'data-testid="invoice-status">Lunas<' in page.decode()

    # The buyer cancels the paid order: the refund goes back through the sandbox gateway.
    status, _, _ = browser.post(f"/pesanan/{order.number}/batal", {})
    assert status == 200
    _db.session.expire_all()
    assert _db.session.get(type(order), order.id).payment_status == "refunded"

    status, headers, refunded_pdf = browser.get(f"/invoice/{invoice.id}.pdf")
    assert status == 200 and headers["Content-Type"] == "application/pdf"
    assert file_name(headers) == invoice.number.replace("/", "-") + ".pdf"
    text = pdf_text(refunded_pdf, tmp_path)
    assert "DIKEMBALIKAN" in text and "LUNAS" not in text
    lines = _lines(text)
    stamp = next(i for i, line in enumerate(lines) if "DIKEMBALIKAN" in line)
    assert "Rp 150.000" in lines[stamp + 1]  # the amount that went back, under the stamp
    assert invoice.number in text and order.number in text
    # The original stays archived as issued, and the copy names it.
    assert storage_path(invoice.file_key).read_bytes() == original
    assert hashlib.sha256(original).hexdigest() == invoice.sha256
    assert invoice.sha256 in "".join(text.split())
    status, _, page = browser.get(f"/invoice/verifikasi/{invoice.verification_code}")
    assert 'data-testid="invoice-status">Dikembalikan<' in page.decode()
    assert invoice.sha256 in page.decode()


# --- maklon --------------------------------------------------------------------------------
def test_a_maklon_invoice_names_the_maklon_company_with_address_and_npwp_from_settings(
        live_url, db, tmp_path):
    setting_set(key="company.name", value="PT Sinar Maklon Nusantara")
    setting_set(key="company.address", value="Jl. Soekarno-Hatta No. 10\nBandung 40286")
    setting_set(key="company.npwp", value="019876543210000")
    request = make_signed_request()
    dp = _db.session.scalars(select(MilestonePayment).where(
        MilestonePayment.request_id == request.id, MilestonePayment.kind == "dp")).one()
    pay_milestone_sandbox(dp)
    invoice = _db.session.scalars(select(Invoice).where(Invoice.milestone_id == dp.id)).one()

    browser = Browser(live_url).log_in(request.client.email)
    status, headers, body = browser.get(f"/invoice/{invoice.id}.pdf")
    assert status == 200
    name = file_name(headers)
    assert name == invoice.number.replace("/", "-") + ".pdf"
    assert name == f"INV-MAKLON-{invoice.year}-000001.pdf"  # not to be read as an MK- number
    text = pdf_text(body, tmp_path)
    lines = _lines(text)
    assert any(line.startswith("Penyedia jasa") for line in lines)
    assert any(line.startswith("PT Sinar Maklon Nusantara") for line in lines)
    assert any(line.startswith("Jl. Soekarno-Hatta No. 10") for line in lines)
    assert any(line.startswith("Bandung 40286") for line in lines)
    assert any(line.startswith("NPWP: 01.987.654.3-210.000") for line in lines)
    assert "Diterbitkan oleh PT Sinar Maklon Nusantara" in lines
    assert request.number in text

    status, _, page = Browser(live_url).get(
        f"/invoice/verifikasi/{invoice.verification_code}")
    html = page.decode()
    assert status == 200
    assert 'data-testid="invoice-issuer">PT Sinar Maklon Nusantara<' in html
    assert 'data-testid="invoice-issuer-npwp">01.987.654.3-210.000<' in html
    assert "Racik" not in html.split("<main", 1)[-1].split("</main>")[0]


# --- the verification code -----------------------------------------------------------------
def _paid_invoice_pdf(live_url: str, store: str) -> tuple[Invoice, bytes]:
    """A new buyer's paid order from `store`: its invoice and the PDF the buyer downloads."""
    _, product = _store(store)
    buyer = make_user()
    _db.session.commit()
    order = make_order(buyer=buyer, variant=product.variants[0], paid=True)
    _db.session.commit()
    invoice = _invoice_of(order)
    status, _, body = Browser(live_url).log_in(buyer.email).get(f"/invoice/{invoice.id}.pdf")
    assert status == 200
    return invoice, body


def test_the_verification_code_under_the_qr_code_stays_on_one_line(live_url, db, tmp_path,
                                                                   monkeypatch):
    # The widest letters of the base32 alphabet: any real code is narrower.
    monkeypatch.setattr(invoices_module, "_verification_code", lambda: "MWMWMWMWMWMWMWMW")
    invoice, body = _paid_invoice_pdf(live_url, "Toko Dahlia")
    text = pdf_text(body, tmp_path)
    header = text.split("Tanggal invoice")[0].splitlines()  # title, QR, number and code
    [number_line] = [line for line in header if invoice.number in line]
    assert "MWMWMWMWMWMWMWMW" in "".join(number_line.split())
    assert sum("MW" in line for line in header) == 1, header  # no piece on a second line


def scanned_qr_codes(data: bytes, tmp_path: Path) -> list[str]:
    """What a phone reads off the printed first page: poppler rasterises it at 150 dpi,
    zxing-cpp decodes every QR code on the image."""
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image

    source = tmp_path / f"scan-{hashlib.sha256(data).hexdigest()[:12]}.pdf"
    source.write_bytes(data)
    subprocess.run([_tool("pdftoppm"), "-r", "150", "-f", "1", "-l", "1", "-png",
                    "-singlefile", str(source), str(source.with_suffix(""))], check=True)
    with Image.open(source.with_suffix(".png")) as page:
        return [code.text for code in zxingcpp.read_barcodes(page)
                if code.format == zxingcpp.BarcodeFormat.QRCode]


def test_the_qr_codes_of_an_invoice_and_a_signed_contract_scan_to_their_verify_pages(
        live_url, db, tmp_path):
    invoice, body = _paid_invoice_pdf(live_url, "Toko Melati")
    [scanned] = scanned_qr_codes(body, tmp_path)
    assert scanned.endswith(f"/invoice/verifikasi/{invoice.verification_code}"), scanned

    request = make_signed_request()
    _db.session.commit()
    status, _, contract = Browser(live_url).log_in(request.client.email).get(
        f"/maklon/{request.number}/kontrak.pdf")
    assert status == 200
    [signed_scan] = scanned_qr_codes(contract, tmp_path)
    code = _db.session.scalars(select(ContractSignature.verification_code).where(
        ContractSignature.request_id == request.id)).one()
    assert signed_scan.endswith(f"/kontrak/verifikasi?kode={code}"), signed_scan

    # Anyone holding the paper opens the address on the live server: the invoice's facts,
    # the contract check's form with the code filled in.
    for address, shows in ((scanned, invoice.number), (signed_scan, f'value="{code}"')):
        path = "/" + address.split("/", 3)[3]
        status, _, page = Browser(live_url).get(path)
        assert status == 200 and shows in page.decode(), (path, status)


# --- fonts ---------------------------------------------------------------------------------
def test_every_glyph_of_indonesian_names_prints_in_embedded_dejavu(live_url, db, tmp_path):
    _, product = _store("Toko Kopi Gayō — Aceh")
    product.name = "Serum Ş Çantik é"
    buyer = make_user(name="Çağlar Şükrü Nguyễn")
    _db.session.commit()
    order = make_order(buyer=buyer, variant=product.variants[0], paid=True)
    _db.session.commit()
    invoice = _invoice_of(order)

    status, _, body = Browser(live_url).log_in(buyer.email).get(f"/invoice/{invoice.id}.pdf")
    assert status == 200
    text = pdf_text(body, tmp_path)
    for name in ("Toko Kopi Gayō — Aceh", "Çağlar Şükrü Nguyễn", "Serum Ş Çantik é",
                 "Rp 150.000"):
        assert name in text, name
    assert "\u25a0" not in text  # reportlab's black box for a glyph the font lacks
    assert_only_embedded_dejavu(body, tmp_path)


def test_contract_and_report_pdfs_embed_dejavu_too(live_url, db, tmp_path):
    request = make_signed_request()
    admin = make_user(roles=("admin",), name="Admin Şahin")
    _db.session.commit()
    status, headers, contract = Browser(live_url).log_in(request.client.email).get(
        f"/maklon/{request.number}/kontrak.pdf")
    assert status == 200 and contract.startswith(b"%PDF")
    assert file_name(headers) == f"Kontrak-{request.number}.pdf"
    assert_only_embedded_dejavu(contract, tmp_path)

    status, _, report = Browser(live_url).log_in(admin.email).post(
        "/admin/laporan/ekspor", {"laporan": "pesanan", "format": "pdf"})
    assert status == 200 and report.startswith(b"%PDF")
    assert_only_embedded_dejavu(report, tmp_path)


# --- report file names ---------------------------------------------------------------------
EVENING_UTC = datetime(2026, 12, 6, 18, 30, tzinfo=UTC)  # 7 December 01:30 WIB


# The inline CSV is item 8 of issue 18 (a 500 while streaming, fixed separately); the
# finished job's CSV below shows its name.
@pytest.mark.parametrize("fmt", ["pdf"])
def test_report_file_names_carry_the_wib_date(live_url, db, monkeypatch, fmt):
    import app.reports.exports as exports

    monkeypatch.setattr(exports, "utcnow", lambda: EVENING_UTC)
    admin = make_user(roles=("admin",))
    _db.session.commit()
    status, headers, body = Browser(live_url).log_in(admin.email).post(
        "/admin/laporan/ekspor", {"laporan": "pesanan", "format": fmt})
    assert status == 200 and body
    assert file_name(headers) == f"laporan-pesanan-20261207.{fmt}"


def test_a_finished_export_job_file_downloads_with_its_wib_date(live_url, db, app):
    import os

    admin = make_user(roles=("admin",))
    _db.session.commit()
    key = "reports/2026/12/" + "ab" * 16 + ".csv"
    path = storage_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\ufeffNomor\nRCK-1\n", encoding="utf-8")
    os.utime(path, (EVENING_UTC.timestamp(), EVENING_UTC.timestamp()))

    status, headers, body = Browser(live_url).log_in(admin.email).get(
        f"/admin/laporan/unduh/{key}")
    assert status == 200 and body.startswith("\ufeff".encode())
    assert file_name(headers) == "laporan-20261207.csv"


# --- missing fonts -------------------------------------------------------------------------
def test_without_dejavu_production_refuses_to_start_and_says_what_to_install(tmp_path,
                                                                            monkeypatch):
    from app import create_app
    from app.config import ProductionConfig
    from app.core.pdf import PdfFontsMissing, pdf_font_files

    monkeypatch.setenv("PDF_FONT_DIR", str(tmp_path))  # no fonts here
    with pytest.raises(PdfFontsMissing, match="fonts-dejavu-core"):
        pdf_font_files()
    with pytest.raises(RuntimeError, match="Refusing to start in production: The PDF fonts"):
        create_app(ProductionConfig, SECRET_KEY="x" * 40, INSTANCE_PATH=str(tmp_path),
                   SQLALCHEMY_DATABASE_URI="sqlite://", REDIS_URL="", JOBS_MODE="sync",
                   RATELIMIT_STORAGE_URI="memory://", MIDTRANS_SERVER_KEY="Mid-server-x",
                   FORMULA_KEYS="k1:" + "A" * 43 + "=", CONTRACT_SEAL_KEY="A" * 43 + "=",
                   BACKUP_KEY="A" * 43 + "=")
