"""The framework floor: plain Flask + Jinja, no database, no extensions, no session.

`bench/run.sh` serves it with gunicorn (`bench.floor_app:app`) next to Racik and measures
both the same way; Racik's req/s divided by this app's is how much of the raw
Flask/Jinja/gunicorn throughput the real page keeps. The template renders a page of about
the same size as Racik's home page (~2.9 KB) with a loop and a few `url_for` calls.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, render_template

app = Flask(__name__, template_folder=str(Path(__file__).resolve().parent / "templates"))

LINKS = (("/", "Beranda"), ("/masuk", "Masuk"), ("/daftar", "Daftar"))
CARDS = (
    ("Untuk pemilik merek", "Ajukan penawaran produksi dengan spesifikasi produk, tanda "
     "tangani kontrak secara digital, dan bayar bertahap."),
    ("Untuk penjual", "Buka toko, kelola produk dan stok dari ponsel, dan terima laporan "
     "penjualan mingguan."),
    ("Untuk pembeli", "Satu keranjang untuk banyak toko, pembayaran lewat virtual account, "
     "e-wallet, atau QRIS."),
)


@app.route("/")
def index():
    return render_template("floor.html", title="Beranda", links=LINKS, cards=CARDS)
