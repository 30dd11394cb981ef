"""Outside in: the client's maklon history and the seller's order history downloaded over
real HTTP from a live server (tests/live.py), each body read to its end: the streamed CSV
whole with its BOM, the PDF read back with pdftotext (filters and totals on it), and
another company's or store's rows nowhere in either."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qsl

import pytest

from tests.factories import DEFAULT_PASSWORD, make_order, make_product, make_user
from tests.live import LiveBrowser
from tests.maklon.factories import make_company, make_maklon_client, make_signed_order


@pytest.fixture
def world(db):
    client_a = make_maklon_client(company=make_company(name="PT Alfa"))
    client_b = make_maklon_client(company=make_company(name="PT Beta"))
    ours = [make_signed_order(client=client_a, total=10_000_000, paid=("dp",),
                              product_name="Serum Alfa") for _ in range(3)]
    theirs = make_signed_order(client=client_b, total=9_000_000, paid=("dp",),
                               product_name="Serum Beta")
    seller_a = make_user(roles=("seller",), store_name="Toko Anggrek")
    seller_b = make_user(roles=("seller",), store_name="Toko Bakung")
    buyer = make_user(name="Budi")
    order_a = make_order(buyer=buyer,
                         variant=make_product(store=seller_a.store, stock=9).variants[0])
    order_b = make_order(buyer=buyer,
                         variant=make_product(store=seller_b.store, stock=9).variants[0])
    db.session.commit()
    facts = {"client_a": client_a.email, "client_b": client_b.email,
             "ours": {r.number for r in ours},
             "theirs": theirs.number, "seller_a": seller_a.email, "order_a": order_a.number,
             "order_b": order_b.number}
    db.session.close()
    return facts


def _pdf_text(data: bytes, tmp_path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    path = tmp_path / "history.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout


def _export(browser: LiveBrowser, path: str, query: str):
    """POST the page's export form (its CSRF token from the list page) with these fields."""
    return browser.post_form(path, dict(parse_qsl(query)),
                             csrf_from=path.rsplit("/ekspor", 1)[0])


def _csv(response) -> list[dict[str, str]]:
    assert response.status == 200, response.text().split("<main", 1)[-1][:600]
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    assert response.body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.body.decode("utf-8-sig"))))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def test_client_downloads_own_maklon_history_csv_and_pdf_over_http(live_url, world,
                                                                    tmp_path):
    browser = LiveBrowser(live_url)
    browser.log_in(world["client_a"], DEFAULT_PASSWORD)
    page = browser.get("/maklon/riwayat?status_bayar=bertahap")
    assert page.status == 200
    assert world["theirs"] not in page.text()

    rows = _csv(_export(browser, "/maklon/riwayat/ekspor", "format=csv&status_bayar=bertahap"))
    assert {row["Nomor"] for row in rows} == world["ours"]
    assert {row["Status pembayaran"] for row in rows} == {"Bertahap"}

    pdf = _export(browser, "/maklon/riwayat/ekspor", "format=pdf&status_bayar=bertahap")
    assert pdf.status == 200 and pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.body.startswith(b"%PDF") and pdf.body.rstrip().endswith(b"%%EOF")
    text = _pdf_text(pdf.body, tmp_path)
    for number in world["ours"]:
        assert number in text
    assert world["theirs"] not in text and "Serum Beta" not in text
    assert "Status pembayaran: Bertahap" in text
    assert "Jumlah permintaan: 3" in text
    assert "Nilai termin: Rp 30.000.000" in text
    assert "Dibayar: Rp 9.000.000" in text  # 30 % DP of each


def test_seller_downloads_own_orders_over_http(live_url, world, tmp_path):
    browser = LiveBrowser(live_url)
    browser.log_in(world["seller_a"], DEFAULT_PASSWORD)
    rows = _csv(_export(browser, "/seller/pesanan/riwayat/ekspor", "format=csv"))
    assert [row["Nomor"] for row in rows] == [world["order_a"]]
    pdf = _export(browser, "/seller/pesanan/riwayat/ekspor", "format=pdf&status=pending")
    assert pdf.status == 200
    text = _pdf_text(pdf.body, tmp_path)
    assert world["order_a"] in text and world["order_b"] not in text
    assert "Status: Menunggu diproses" in text and "Jumlah pesanan: 1" in text


def test_simultaneous_downloads_of_two_companies_never_mix_rows(live_url, world):
    """The CSV body streams after the request is torn down, in its own session: two
    companies downloading at the same moment each get only their own rows, every time."""
    # One browser (cookie jar) per download: two threads sharing one jar would race for its
    # session cookie, which is the harness's problem, not the app's.
    browsers = []
    for who in ("client_a", "client_b") * 4:
        browser = LiveBrowser(live_url)
        browser.log_in(world[who], DEFAULT_PASSWORD)
        browser.csrf_token("/maklon/riwayat")
        browsers.append((who, browser))

    def download(entry: tuple[str, LiveBrowser]) -> tuple[str, set[str]]:
        who, browser = entry
        rows = _csv(_export(browser, "/maklon/riwayat/ekspor", "format=csv"))
        return who, {row["Nomor"] for row in rows}

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(download, browsers))
    for who, numbers in results:
        expected = world["ours"] if who == "client_a" else {world["theirs"]}
        assert numbers == expected, who
