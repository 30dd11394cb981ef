"""What the buyer's payment page shows (reads only): the steps for the chosen method, the
virtual-account number in groups of four, the QRIS code, the countdown to the deadline and
the state of the self-polling status block.

    view = pay_view(payment)   # view.kind: va | bill | ewallet | qris | cstore;
                               # view.final stops polling
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from flask import Response, current_app
from flask_babel import gettext as _
from markupsafe import Markup

from app.core.clock import utcnow
from app.core.money import format_rupiah
from app.core.polling import poll_answer, poll_etag
from app.core.qr import qr_svg
from app.payments.gateways.base import METHODS
from app.payments.method_choice import MARKS
from app.payments.models import Payment, PayStatus

BANK_NAMES = {"bca": "BCA", "bni": "BNI", "bri": "BRI", "permata": "Permata",
              "mandiri": "Mandiri"}
BANK_APPS = {"bca": "BCA mobile", "bni": "BNI Mobile Banking", "bri": "BRImo",
             "permata": "PermataMobile X", "mandiri": "Livin' by Mandiri"}
WALLET_NAMES = {"gopay": "GoPay", "ovo": "OVO", "dana": "DANA", "shopeepay": "ShopeePay"}
STORE_NAMES = {"alfamart": "Alfamart", "indomaret": "Indomaret"}
# The status block stops polling (HTTP 286) once the payment can no longer change by itself.
# REVIEW waits for an admin: it keeps polling, slowly.
FINAL = (PayStatus.PAID, PayStatus.EXPIRED, PayStatus.CANCELLED, PayStatus.DENIED,
         PayStatus.REFUNDED)
POLL_SECONDS = 5  # PAYMENT_POLL_SECONDS in the config overrides it (the browser tests)
REVIEW_POLL_SECONDS = 60


def group_digits(number: str, size: int = 4) -> str:
    """`7001234567890123` -> `7001 2345 6789 0123` (easier to read out and type)."""
    return " ".join(number[i:i + size] for i in range(0, len(number), size))


@dataclass(frozen=True)
class Countdown:
    deadline: datetime
    seconds_left: int  # 0 once passed
    total_seconds: int  # from creation to the deadline (for the progress bar)

    @property
    def passed(self) -> bool:
        return self.seconds_left <= 0

    @property
    def hours(self) -> int:
        return self.seconds_left // 3600

    @property
    def minutes(self) -> int:
        return self.seconds_left % 3600 // 60

    def text(self) -> str:
        """"23 jam 59 menit", "14 menit", "kurang dari 1 menit"."""
        if self.seconds_left < 60:
            return _("kurang dari 1 menit")
        if self.hours:
            return _("%(hours)d jam %(minutes)d menit", hours=self.hours, minutes=self.minutes)
        return _("%(minutes)d menit", minutes=self.minutes)


def countdown(payment: Payment, now: datetime | None = None) -> Countdown:
    now = now or utcnow()
    left = int((payment.expires_at - now).total_seconds())
    total = int((payment.expires_at - payment.created_at).total_seconds())
    return Countdown(deadline=payment.expires_at, seconds_left=max(0, left),
                     total_seconds=max(1, total))


@dataclass(frozen=True)
class Steps:
    title: str
    items: list[str]


def _va_steps(bank: str, number: str, amount: str) -> list[Steps]:
    name, app = BANK_NAMES[bank], BANK_APPS[bank]
    return [
        Steps(_("Lewat ATM %(bank)s", bank=name), [
            _("Masukkan kartu ATM dan PIN Anda."),
            _("Pilih menu Transfer, lalu Virtual Account (di ATM %(bank)s kadang di bawah "
              "\"Transaksi Lainnya\").", bank=name),
            _("Masukkan nomor virtual account %(number)s.", number=number),
            _("Periksa nama penerima (RACIK) dan jumlah %(amount)s, lalu konfirmasi.",
              amount=amount),
        ]),
        Steps(_("Lewat %(app)s", app=app), [
            _("Buka aplikasi %(app)s dan masuk.", app=app),
            _("Pilih Transfer, lalu Virtual Account."),
            _("Masukkan nomor virtual account %(number)s.", number=number),
            _("Periksa jumlah %(amount)s, lalu masukkan PIN Anda.", amount=amount),
        ]),
    ]


def _bill_steps(biller_code: str, bill_key: str, amount: str) -> list[Steps]:
    app = BANK_APPS["mandiri"]
    return [
        Steps(_("Lewat ATM Mandiri"), [
            _("Masukkan kartu ATM dan PIN Anda."),
            _("Pilih Bayar/Beli, lalu Multipayment."),
            _("Masukkan kode perusahaan %(code)s.", code=biller_code),
            _("Masukkan kode bayar %(key)s.", key=bill_key),
            _("Periksa jumlah %(amount)s, lalu konfirmasi.", amount=amount),
        ]),
        Steps(_("Lewat %(app)s", app=app), [
            _("Buka aplikasi %(app)s dan masuk.", app=app),
            _("Pilih Bayar, lalu cari penyedia jasa dengan kode %(code)s.", code=biller_code),
            _("Masukkan kode bayar %(key)s.", key=bill_key),
            _("Periksa jumlah %(amount)s, lalu masukkan PIN Anda.", amount=amount),
        ]),
    ]


def _ewallet_steps(wallet: str, amount: str) -> list[Steps]:
    return [Steps(_("Lewat aplikasi %(wallet)s", wallet=wallet), [
        _("Tekan tombol \"Buka %(wallet)s\" di atas.", wallet=wallet),
        _("Periksa jumlah %(amount)s di aplikasi, lalu setujui pembayaran.", amount=amount),
        _("Kembali ke halaman ini: statusnya berubah sendiri setelah pembayaran diterima."),
    ])]


def _qris_steps(amount: str) -> list[Steps]:
    return [Steps(_("Lewat aplikasi bank atau e-wallet mana pun yang mendukung QRIS"), [
        _("Buka aplikasi, pilih Bayar atau Scan QR."),
        _("Pindai kode QR di atas."),
        _("Periksa nama merchant (RACIK) dan jumlah %(amount)s, lalu setujui.", amount=amount),
    ])]


def _cstore_steps(store: str, code: str, amount: str) -> list[Steps]:
    """At the cashier: Alfamart (also Alfamidi and DAN+DAN) or Indomaret."""
    if store == "alfamart":
        return [Steps(_("Di kasir Alfamart, Alfamidi, atau DAN+DAN"), [
            _("Datang ke gerai Alfamart, Alfamidi, atau DAN+DAN terdekat sebelum batas waktu."),
            _("Katakan kepada kasir bahwa Anda ingin membayar tagihan Midtrans untuk "
              "RACIK."),
            _("Tunjukkan atau sebutkan kode pembayaran %(code)s.", code=code),
            _("Periksa nama merchant (RACIK) dan jumlah %(amount)s di layar kasir, lalu "
              "bayar tunai atau dengan kartu debit.", amount=amount),
            _("Simpan struk pembayaran. Status di halaman ini berubah sendiri setelah "
              "pembayaran diterima."),
        ])]
    return [Steps(_("Di kasir Indomaret"), [
        _("Datang ke gerai Indomaret terdekat sebelum batas waktu."),
        _("Katakan kepada kasir bahwa Anda ingin membayar tagihan Midtrans untuk RACIK."),
        _("Tunjukkan atau sebutkan kode pembayaran %(code)s.", code=code),
        _("Periksa nama merchant (RACIK) dan jumlah %(amount)s di layar kasir, lalu bayar.",
          amount=amount),
        _("Simpan struk pembayaran. Status di halaman ini berubah sendiri setelah "
          "pembayaran diterima."),
    ])]


@dataclass
class PayView:
    """Everything the payment page and its status block need about one payment."""

    payment: Payment
    kind: str  # va | bill | ewallet | qris | cstore
    charged: bool
    final: bool
    countdown: Countdown
    bank_name: str = ""
    wallet_name: str = ""
    va_grouped: str = ""
    bill_grouped: str = ""
    store: str = ""  # cstore: alfamart | indomaret
    store_name: str = ""
    store_mark: str = ""  # the initials drawn in its tile (method_choice.MARKS)
    code_grouped: str = ""  # cstore: the payment code in groups of four
    qr: Markup | None = None
    steps: list[Steps] = field(default_factory=list)

    @property
    def poll_seconds(self) -> int:
        if self.payment.status == PayStatus.REVIEW:
            return REVIEW_POLL_SECONDS
        return int(current_app.config.get("PAYMENT_POLL_SECONDS", POLL_SECONDS))

    @property
    def awaiting(self) -> bool:
        """Pending and the buyer has the instructions: waiting for their money."""
        return self.payment.status == PayStatus.PENDING and self.charged


def pay_view(payment: Payment, *, with_instructions: bool = True,
             now: datetime | None = None) -> PayView:
    """The payment page's view of `payment`; `with_instructions=False` for the status block
    alone (no QR drawing, no steps)."""
    spec = METHODS[payment.method]
    view = PayView(payment=payment, kind=spec.kind, charged=payment.charged_at is not None,
                   final=payment.status in FINAL, countdown=countdown(payment, now),
                   bank_name=BANK_NAMES.get(spec.bank, ""),
                   wallet_name=WALLET_NAMES.get(spec.payment_type, ""),
                   store=spec.store, store_name=STORE_NAMES.get(spec.store, ""),
                   store_mark=MARKS.get(payment.method, "") if spec.store else "")
    if not with_instructions or not view.awaiting:
        return view
    amount = format_rupiah(payment.amount)
    if spec.kind == "va":
        view.va_grouped = group_digits(payment.va_number)
        view.steps = _va_steps(spec.bank, view.va_grouped, amount)
    elif spec.kind == "bill":
        view.bill_grouped = group_digits(payment.bill_key)
        view.steps = _bill_steps(payment.biller_code, view.bill_grouped, amount)
    elif spec.kind == "ewallet":
        view.steps = _ewallet_steps(view.wallet_name, amount)
    elif spec.kind == "qris" and payment.qr_string:
        view.qr = qr_svg(payment.qr_string,
                         label=_("Kode QR QRIS untuk membayar %(amount)s", amount=amount))
        view.steps = _qris_steps(amount)
    elif spec.kind == "cstore":
        view.code_grouped = group_digits(payment.payment_code)
        view.steps = _cstore_steps(spec.store, view.code_grouped, amount)
    return view


def pay_status_answer(view: PayView, render: Callable[[], object]) -> Response:
    """The polled payment status block (checkout and maklon milestone alike): 304 while
    unchanged, 286 once `view.final` (app.core.polling). The countdown's minute is part of
    the ETag: the block shows "sisa ... menit"."""
    payment = view.payment
    etag = poll_etag(payment.reference, payment.status, payment.updated_at, view.charged,
                     view.countdown.seconds_left // 60)
    return poll_answer(etag=etag, final=view.final, render=render)
