"""The admin payments ledger: filters (status, method, WIB dates) return exactly the expected
payments, totals per WIB day match figures computed by hand (a settlement at 23:30 WIB
belongs to that day), bad filter values are explained, and a flagged payment is decided once:
accepted (its orders become paid) or sent back (refunded, unpaid orders cancelled)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from app.accounts.models import User
from app.catalog.models import Variant
from app.core.filters import wib_bounds
from app.extensions import db as _db
from app.payments.ledger import DayTotal, LedgerFilters, ledger_daily_totals
from app.payments.models import Payment, PaymentEvent, Refund, SandboxTransaction
from app.payments.services import payment_of_checkout
from tests.conftest import log_in
from tests.factories import make_checkout, make_user, pay_checkout
from tests.orders.lifecycle_helpers import get_order, make_shop


def utc(y, mo, d, h, mi=0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


@pytest.fixture
def admin(db) -> str:
    user = make_user(roles=("admin",))
    _db.session.commit()
    return user.email


@pytest.fixture
def ledger(db) -> dict[str, Payment]:
    """Six payments at known UTC instants (WIB = UTC+7), without checkouts.

    ref    method  status    amount   paid     created (WIB)      paid (WIB)
    P1     va_bca  paid      100000   100000   20 Nov 10:00       20 Nov 23:30 (16:30 UTC)
    P2     gopay   paid      250000   250000   21 Nov 00:10       21 Nov 00:20 (20 Nov 17:20 UTC)
    P3     qris    review     80000    75000   21 Nov 12:00       21 Nov 12:05
    P4     va_bca  pending    60000        -   22 Nov 09:00       -
    P5     va_bni  refunded   40000    40000   22 Nov 07:00       22 Nov 08:00 (refunded 40000)
    P6     va_bca  expired    30000        -   19 Nov 12:00       -
    """
    buyer = make_user(name="Sari Pembeli", email="sari@example.test")
    rows = {
        "P1": ("va_bca", "paid", 100_000, 100_000, utc(2026, 11, 20, 3), utc(2026, 11, 20, 16, 30)),
        "P2": ("gopay", "paid", 250_000, 250_000, utc(2026, 11, 20, 17, 10),
               utc(2026, 11, 20, 17, 20)),
        "P3": ("qris", "review", 80_000, 75_000, utc(2026, 11, 21, 5), utc(2026, 11, 21, 5, 5)),
        "P4": ("va_bca", "pending", 60_000, None, utc(2026, 11, 22, 2), None),
        "P5": ("va_bni", "refunded", 40_000, 40_000, utc(2026, 11, 22, 0), utc(2026, 11, 22, 1)),
        "P6": ("va_bca", "expired", 30_000, None, utc(2026, 11, 19, 5), None),
    }
    made = {}
    for ref, (method, status, amount, paid, created, paid_at) in rows.items():
        payment = Payment(
            reference=f"CO-LEDGER-{ref}", payer_id=buyer.id, gateway="sandbox", method=method,
            amount=amount, status=status, paid_amount=paid, paid_at=paid_at,
            created_at=created, expires_at=created + timedelta(days=1),
            refunded_amount=40_000 if ref == "P5" else 0,
            flag_reason="Dibayar Rp 75.000, seharusnya Rp 80.000." if ref == "P3" else "")
        _db.session.add(payment)
        made[ref] = payment
    _db.session.commit()
    return made


def _listed(html: str) -> list[str]:
    return sorted(ref for ref in ("P1", "P2", "P3", "P4", "P5", "P6")
                  if f'data-reference="CO-LEDGER-{ref}"' in html)


def test_wib_day_bounds_are_utc_instants_seven_hours_earlier():
    start, end = wib_bounds(date(2026, 11, 21), date(2026, 11, 21))
    assert (start, end) == (utc(2026, 11, 20, 17), utc(2026, 11, 21, 17))


def test_totals_per_wib_day_match_the_hand_computed_figures(db, ledger):
    totals = ledger_daily_totals(LedgerFilters())
    assert totals.days == [
        DayTotal(date(2026, 11, 22), 1, 40_000, 40_000),  # P5
        DayTotal(date(2026, 11, 21), 2, 325_000, 0),  # P2 (00:20 WIB) + P3 (75.000 received)
        DayTotal(date(2026, 11, 20), 1, 100_000, 0),  # P1 at 23:30 WIB is still the 20th
    ]
    assert (totals.count, totals.received, totals.refunded) == (4, 465_000, 40_000)


def test_totals_follow_the_status_method_and_date_filters(db, ledger):
    paid = ledger_daily_totals(LedgerFilters(status="paid"))
    assert [(d.day.day, d.count, d.received) for d in paid.days] == [(21, 1, 250_000),
                                                                     (20, 1, 100_000)]
    va_bca = ledger_daily_totals(LedgerFilters(method="va_bca"))
    assert [(d.day.day, d.received) for d in va_bca.days] == [(20, 100_000)]
    one_day = ledger_daily_totals(LedgerFilters(date_from=date(2026, 11, 20),
                                                date_to=date(2026, 11, 20)))
    assert [(d.day.day, d.count, d.received) for d in one_day.days] == [(20, 1, 100_000)]
    assert one_day.received == 100_000


def test_ledger_filters_return_exactly_the_expected_payments(client, db, ledger, admin):
    log_in(client, admin)
    everything = client.get("/admin/pembayaran")
    assert everything.status_code == 200
    assert _listed(everything.get_data(as_text=True)) == ["P1", "P2", "P3", "P4", "P5", "P6"]
    cases = {
        "?status=paid": ["P1", "P2"],
        "?status=review": ["P3"],
        "?metode=va_bca": ["P1", "P4", "P6"],
        "?metode=va_bca&status=pending": ["P4"],
        # Created on 21 Nov WIB: P2 at 00:10 WIB (20 Nov 17:10 UTC) and P3.
        "?dari=2026-11-21&sampai=2026-11-21": ["P2", "P3"],
        "?dari=2026-11-21": ["P2", "P3", "P4", "P5"],
        "?sampai=2026-11-20": ["P1", "P6"],
    }
    for query, expected in cases.items():
        html = client.get(f"/admin/pembayaran{query}").get_data(as_text=True)
        assert _listed(html) == expected, query


def test_ledger_page_shows_the_daily_totals_and_the_grand_total(client, db, ledger, admin):
    log_in(client, admin)
    html = client.get("/admin/pembayaran").get_data(as_text=True)
    assert '<tr data-day="2026-11-20"><td>' in html
    day_20 = html.split('data-day="2026-11-20"')[1].split("</tr>")[0]
    assert "<td>1</td><td>Rp\u00a0100.000</td><td>Rp\u00a00</td>" in day_20
    grand = html.split('data-testid="grand-total"')[1].split("</tr>")[0]
    assert "<th>4</th><th>Rp\u00a0465.000</th><th>Rp\u00a040.000</th>" in grand


def test_flagged_payment_shows_its_reason_in_the_ledger(client, db, ledger, admin):
    log_in(client, admin)
    html = client.get("/admin/pembayaran?status=review").get_data(as_text=True)
    assert "Dibayar Rp 75.000, seharusnya Rp 80.000." in html
    assert "Perlu diperiksa admin" in html


@pytest.mark.parametrize("query", [
    "?status=lunas-banget", "?metode=cek-mundur", "?dari=2026-13-45", "?sampai=kemarin",
    "?hal=abc", "?hal=0", "?dari=" + "9" * 500,
])
def test_bad_filter_values_are_ignored_with_a_message(client, db, ledger, admin, query):
    log_in(client, admin)
    response = client.get(f"/admin/pembayaran{query}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.count('data-testid="filter-problem"') == 1
    assert _listed(html) == ["P1", "P2", "P3", "P4", "P5", "P6"]


def test_dates_in_the_wrong_order_are_swapped_with_a_message(client, db, ledger, admin):
    log_in(client, admin)
    html = client.get("/admin/pembayaran?dari=2026-11-21&sampai=2026-11-20").get_data(
        as_text=True)
    assert "keduanya ditukar" in html
    assert _listed(html) == ["P1", "P2", "P3"]


def test_htmx_filter_request_gets_the_table_fragment(client, db, ledger, admin):
    log_in(client, admin)
    response = client.get("/admin/pembayaran?status=paid", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert html.lstrip().startswith("{#") is False and 'id="ledger"' in html
    assert _listed(html) == ["P1", "P2"]


def test_ledger_is_for_admins_only(client, db, ledger, login_as):
    assert "/masuk" in client.get("/admin/pembayaran").headers["Location"]
    login_as("customer")
    assert client.get("/admin/pembayaran").status_code == 403
    assert client.get(f"/admin/pembayaran/{ledger['P3'].id}").status_code == 403
    assert client.post(f"/admin/pembayaran/{ledger['P3'].id}/terima").status_code == 403
    _db.session.expire_all()
    assert _db.session.get(Payment, ledger["P3"].id).status == "review"


def test_admin_nav_shows_payments_with_the_count_of_flagged_ones(client, db, ledger, admin):
    log_in(client, admin)
    html = client.get("/admin/pembayaran").get_data(as_text=True)
    link = html.split('data-testid="nav-payments.ledger"')[1].split("</a>")[0]
    assert 'Pembayaran <span class="count">1</span>' in link


# --- flagged payments through the sandbox ---------------------------------------------------


@pytest.fixture
def flagged(db):
    """A checkout of 2 units (Rp 300.000 + shipping) paid Rp 10.000 short: REVIEW."""
    shop = make_shop(price=150_000)
    buyer = _db.session.get(User, shop.buyer_id)
    checkout = make_checkout(buyer=buyer, lines=[(_db.session.get(Variant, shop.variant_id), 2)])
    _db.session.commit()
    pay_checkout(checkout, amount=checkout.total - 10_000)
    _db.session.expire_all()
    payment = payment_of_checkout(checkout.id)
    assert payment.status == "review"
    return shop, payment, checkout.orders[0].number


def test_underpaid_payment_is_listed_as_flagged_with_its_reason(client, db, admin, flagged):
    _, payment, _ = flagged
    log_in(client, admin)
    html = client.get("/admin/pembayaran?status=review").get_data(as_text=True)
    assert f'data-reference="{payment.reference}"' in html
    short = f"Rp {payment.amount - 10_000:,}".replace(",", ".")
    assert f"Dibayar {short}, seharusnya" in html
    detail = client.get(f"/admin/pembayaran/{payment.id}").get_data(as_text=True)
    assert "Terima pembayaran" in detail and "Kembalikan dana" in detail
    assert "settlement" in detail and "flagged" in detail  # the notification as received


def test_admin_accepts_a_flagged_payment_once_and_its_orders_become_paid(
        client, db, admin, flagged):
    _, payment, number = flagged
    log_in(client, admin)
    response = client.post(f"/admin/pembayaran/{payment.id}/terima",
                           data={"note": "Selisih ongkir, pembeli sudah konfirmasi"})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/admin/pembayaran/{payment.id}"
    _db.session.expire_all()
    payment = _db.session.get(Payment, payment.id)
    assert payment.status == "paid"
    assert get_order(number).payment_status == "paid"
    [decision] = _db.session.scalars(select(PaymentEvent).where(
        PaymentEvent.payment_id == payment.id, PaymentEvent.source == "admin")).all()
    assert decision.transaction_status == "admin_accept"
    assert decision.payload["note"] == "Selisih ongkir, pembeli sudah konfirmasi"

    again = client.post(f"/admin/pembayaran/{payment.id}/terima")
    assert again.status_code == 409
    refund = client.post(f"/admin/pembayaran/{payment.id}/kembalikan")
    assert refund.status_code == 409
    _db.session.expire_all()
    assert _db.session.get(Payment, payment.id).status == "paid"
    assert _db.session.scalars(select(Refund)).all() == []


def test_admin_refunds_a_flagged_payment_and_its_unpaid_order_is_cancelled(
        client, db, admin, flagged):
    shop, payment, number = flagged
    received = payment.amount - 10_000
    stock_before = _db.session.get(Variant, shop.variant_id).stock
    log_in(client, admin)
    response = client.post(f"/admin/pembayaran/{payment.id}/kembalikan")
    assert response.status_code == 303

    _db.session.expire_all()
    payment = _db.session.get(Payment, payment.id)
    assert payment.status == "refunded" and payment.refunded_amount == received
    [refund] = _db.session.scalars(select(Refund)).all()
    assert refund.amount == received and refund.status == "done"
    assert refund.refund_key == f"{payment.reference}-review"
    tx = _db.session.scalars(select(SandboxTransaction).where(
        SandboxTransaction.order_id == payment.reference)).one()
    assert tx.refunded_amount == received and tx.transaction_status == "refund"
    order = get_order(number)
    assert order.status == "cancelled" and order.payment_status == "unpaid"
    assert _db.session.get(Variant, shop.variant_id).stock == stock_before + 2

    assert client.post(f"/admin/pembayaran/{payment.id}/kembalikan").status_code == 409
    assert client.post(f"/admin/pembayaran/{payment.id}/terima").status_code == 409
    _db.session.expire_all()
    assert len(_db.session.scalars(select(Refund)).all()) == 1


def test_a_decision_note_over_300_characters_is_refused_at_the_field(client, db, admin,
                                                                      flagged):
    _, payment, _ = flagged
    log_in(client, admin)
    response = client.post(f"/admin/pembayaran/{payment.id}/terima", data={"note": "x" * 301})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Maksimal 300 karakter." in html and 'id="note-error"' in html
    _db.session.expire_all()
    assert _db.session.get(Payment, payment.id).status == "review"


def test_unknown_payment_answers_404(client, db, admin):
    log_in(client, admin)
    assert client.get("/admin/pembayaran/999999").status_code == 404
    assert client.post("/admin/pembayaran/999999/terima").status_code == 404
    assert client.post("/admin/pembayaran/pengembalian/999999/coba-lagi").status_code == 404
