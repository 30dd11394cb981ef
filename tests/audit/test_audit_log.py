"""The audit log: rows are append-only (the database refuses an UPDATE and the DELETE of an
unarchived row; no route writes them), each hooked action writes exactly one row with the
exact before/after values (none when nothing changed), and the admin page filters exactly,
explains bad filter values, escapes every stored value and is for admins only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from app.accounts.models import User
from app.audit.models import AuditEntry
from app.audit.services import audit_record
from app.catalog.models import Product, Variant
from app.catalog.services import (
    OptionGroup,
    ProductData,
    VariantChange,
    product_update,
    variants_update,
)
from app.catalog.stock import stock_change, stock_set
from app.core.settings import SECRET_SHOWN, setting_set
from app.extensions import db as _db
from app.inventory.models import StockReason
from app.orders.lifecycle import order_advance, order_cancel
from app.payments.models import Payment, Refund
from app.payments.services import payment_of_checkout
from tests.conftest import log_in
from tests.factories import make_checkout, make_product, make_user, pay_checkout
from tests.orders.lifecycle_helpers import get_order, make_shop, place_order

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def utc(y, mo, d, h, mi=0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


def rows(action: str) -> list[AuditEntry]:
    _db.session.expire_all()
    return list(_db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                    .order_by(AuditEntry.id)))


def values(entry: AuditEntry) -> tuple:
    return entry.object_type, entry.object_id, entry.before, entry.after, entry.note


@pytest.fixture
def admin(db) -> User:
    user = make_user(roles=("admin",), email="admin-audit@example.test")
    _db.session.commit()
    return user


# --- append-only ------------------------------------------------------------------------


@pytest.fixture
def entry(db) -> AuditEntry:
    row = audit_record("settings.change", actor=None, object_type="setting",
                       object_id="crm.reassign_threshold", before={"value": 10},
                       after={"value": 12}, note="asli")
    _db.session.commit()
    return row


def _unchanged(entry_id: int) -> None:
    _db.session.rollback()
    _db.session.expire_all()
    row = _db.session.get(AuditEntry, entry_id)
    assert (row.note, row.before, row.after) == ("asli", {"value": 10}, {"value": 12})


def test_orm_update_of_an_audit_entry_is_refused_and_changes_nothing(db, entry):
    entry_id = entry.id
    entry.note = "diubah"
    entry.after = {"value": 99}
    with pytest.raises(DBAPIError, match="append-only"):
        _db.session.commit()
    _unchanged(entry_id)


def test_raw_sql_update_of_audit_entries_is_refused(db, entry):
    entry_id = entry.id
    with pytest.raises(DBAPIError, match="append-only"):
        _db.session.execute(text("UPDATE audit_entries SET note = 'diubah'"))
    _unchanged(entry_id)


def test_raw_sql_delete_of_an_unarchived_audit_entry_is_refused(db, entry):
    entry_id = entry.id
    with pytest.raises(DBAPIError, match="append-only"):
        _db.session.execute(text("DELETE FROM audit_entries WHERE id = :id"), {"id": entry_id})
    _unchanged(entry_id)
    assert _db.session.scalar(select(func.count(AuditEntry.id))) == 1


def test_no_audit_route_accepts_a_write_method(app):
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/admin/audit")]
    assert sorted(r.endpoint for r in rules) == ["audit.archive_download", "audit.index"]
    for rule in rules:
        assert rule.methods & WRITE_METHODS == set(), rule.rule


def test_posting_to_the_audit_page_is_not_allowed(client, db, admin, entry):
    log_in(client, admin.email)
    assert client.post("/admin/audit", data={"note": "x"}).status_code == 405
    assert client.delete("/admin/audit").status_code == 405
    _unchanged(entry.id)


# --- hooks ------------------------------------------------------------------------------


def test_setting_change_is_audited_once_with_old_and_new_value(db, admin):
    setting_set(key="crm.reassign_threshold", value=12, actor=admin)
    setting_set(key="crm.reassign_threshold", value=12, actor=admin)  # unchanged: no row
    setting_set(key="crm.reassign_threshold", value=15, actor=admin)
    _db.session.commit()
    first, second = rows("settings.change")
    assert values(first) == ("setting", "crm.reassign_threshold", {"value": None},
                             {"value": 12}, "")
    assert values(second) == ("setting", "crm.reassign_threshold", {"value": 12},
                              {"value": 15}, "")
    assert (first.actor_id, first.actor_label) == (admin.id, admin.email)


def test_a_secret_setting_is_audited_without_its_value(db, admin):
    setting_set(key="crm.webhook_secret", value="rahasia-webhook-0123456789", actor=admin)
    setting_set(key="crm.webhook_secret", value="", actor=admin)
    _db.session.commit()
    first, second = rows("settings.change")
    assert (first.before, first.after) == ({"value": ""}, {"value": SECRET_SHOWN})
    assert (second.before, second.after) == ({"value": SECRET_SHOWN}, {"value": ""})


def _data(product: Product, **changes) -> ProductData:
    values = {"name": product.name, "description": product.description,
              "category_id": product.category_id, "price": product.price,
              "option_groups": [OptionGroup(g["name"], list(g["values"]))
                                for g in product.option_groups]}
    values.update(changes)
    return ProductData(**values)


def test_product_price_change_is_audited_per_sku_and_an_unchanged_save_writes_nothing(db):
    seller = make_user(roles=("seller",))
    product = make_product(store=seller.store, price=150_000)
    sku = product.variants[0].sku
    _db.session.commit()

    product_update(product=product, data=_data(product, name="Serum Baru"), actor=seller)
    _db.session.commit()
    assert rows("product.price") == []

    product_update(product=product, data=_data(product, price=175_000), actor=seller)
    _db.session.commit()
    [entry] = rows("product.price")
    assert values(entry) == ("product", str(product.id), {sku: 150_000}, {sku: 175_000},
                             "Serum Baru")
    assert entry.actor_id == seller.id


def test_variant_prices_saved_audit_only_the_skus_whose_price_changed(db):
    seller = make_user(roles=("seller",))
    product = make_product(store=seller.store, price=50_000, stock=3,
                           options={"Ukuran": ["30 ml", "50 ml"]})
    small, large = sorted(product.variants, key=lambda v: v.position)
    _db.session.commit()

    def change(variant: Variant, price: int) -> VariantChange:
        return VariantChange(variant_id=variant.id, sku=variant.sku, price=price,
                             stock=variant.stock, expected_stock=variant.stock)

    variants_update(product=product, changes=[change(small, 50_000), change(large, 50_000)],
                    actor=seller)
    _db.session.commit()
    assert rows("product.price") == []

    variants_update(product=product, changes=[change(small, 50_000), change(large, 80_000)],
                    actor=seller)
    _db.session.commit()
    [entry] = rows("product.price")
    assert (entry.before, entry.after) == ({large.sku: 50_000}, {large.sku: 80_000})


def test_stock_adjustment_and_restock_by_a_person_are_audited_but_sales_are_not(db):
    seller = make_user(roles=("seller",))
    product = make_product(store=seller.store, stock=20)
    variant = product.variants[0]
    _db.session.commit()
    [initial] = rows("stock.adjust")  # the initial stock is a restock by the seller
    assert (initial.before, initial.after) == (
        {"stock": 0}, {"stock": 20, "delta": 20, "reason": "restock"})

    stock_set(variant=variant, new_stock=25, expected=20, actor=seller,
              reference="hitung ulang gudang")
    stock_change(variant=variant, delta=10, reason=StockReason.RESTOCK, actor=seller)
    stock_set(variant=variant, new_stock=35, actor=seller)  # unchanged: nothing at all
    _db.session.commit()
    buyer = make_user()
    make_checkout(buyer=buyer, lines=[(variant, 2)])  # a sale: no stock.adjust row
    _db.session.commit()

    _, adjusted, restocked = rows("stock.adjust")
    assert values(adjusted) == ("variant", variant.sku, {"stock": 20},
                                {"stock": 25, "delta": 5, "reason": "adjustment"},
                                "hitung ulang gudang")
    assert values(restocked) == ("variant", variant.sku, {"stock": 25},
                                 {"stock": 35, "delta": 10, "reason": "restock"}, "")
    assert adjusted.actor_id == seller.id


def test_order_transitions_are_audited_with_status_side_and_note(db):
    shop = make_shop()
    number = place_order(shop)
    order = get_order(number)
    seller = _db.session.get(User, shop.seller_id)
    order_advance(order=order, actor=seller, from_status="pending")
    _db.session.commit()
    unpaid = place_order(shop, paid=False)
    order_cancel(order=get_order(unpaid), actor=seller, reason="Stok rusak",
                 from_status="pending")
    _db.session.commit()

    processed, cancelled = rows("order.status")
    assert values(processed) == ("order", number, {"status": "pending"},
                                 {"status": "processing", "side": "seller"}, "")
    assert processed.actor_id == seller.id
    assert values(cancelled) == ("order", unpaid, {"status": "pending"},
                                 {"status": "cancelled", "side": "seller"}, "Stok rusak")


def test_payment_status_from_the_gateway_is_audited_as_the_system(db):
    shop = make_shop()
    buyer = _db.session.get(User, shop.buyer_id)
    checkout = make_checkout(buyer=buyer, lines=[(_db.session.get(Variant, shop.variant_id),
                                                  1)])
    _db.session.commit()
    pay_checkout(checkout)
    payment = payment_of_checkout(checkout.id)
    [paid] = rows("payment.status")
    assert values(paid) == ("payment", payment.reference, {"status": "pending"},
                            {"status": "paid", "paid_amount": checkout.total}, "")
    assert (paid.actor_id, paid.actor_label) == (None, "")


@pytest.fixture
def flagged(db):
    """A checkout paid Rp 10.000 short: the payment waits for an admin (REVIEW)."""
    shop = make_shop(price=150_000)
    buyer = _db.session.get(User, shop.buyer_id)
    checkout = make_checkout(buyer=buyer, lines=[(_db.session.get(Variant, shop.variant_id),
                                                  1)])
    _db.session.commit()
    pay_checkout(checkout, amount=checkout.total - 10_000)
    _db.session.expire_all()
    payment = payment_of_checkout(checkout.id)
    assert payment.status == "review"
    return payment


def test_admin_accepting_a_flagged_payment_is_audited_once_with_the_note(
        client, db, admin, flagged):
    log_in(client, admin.email)
    assert client.post(f"/admin/pembayaran/{flagged.id}/terima",
                       data={"note": "Selisih ongkir"}).status_code == 303
    assert client.post(f"/admin/pembayaran/{flagged.id}/terima").status_code == 409
    [decision] = rows("payment.decision")
    assert values(decision) == ("payment", flagged.reference, {"status": "review"},
                                {"status": "paid", "decision": "accept"}, "Selisih ongkir")
    assert (decision.actor_id, decision.actor_label) == (admin.id, admin.email)
    assert decision.ip_address == "127.0.0.1"
    flagged_row, accepted = rows("payment.status")
    assert (flagged_row.after["status"], flagged_row.actor_id) == ("review", None)
    assert (accepted.before, accepted.after, accepted.actor_id) == (
        {"status": "review"}, {"status": "paid"}, admin.id)


def test_admin_refunding_a_flagged_payment_is_audited_as_decision_and_refund(
        client, db, admin, flagged):
    received = flagged.paid_amount
    log_in(client, admin.email)
    assert client.post(f"/admin/pembayaran/{flagged.id}/kembalikan",
                       data={"note": "Pembeli minta batal"}).status_code == 303
    [decision] = rows("payment.decision")
    assert (decision.after, decision.note) == ({"status": "refunded", "decision": "refund"},
                                               "Pembeli minta batal")
    [refund_row] = rows("refund.done")
    refund = _db.session.scalars(select(Refund)).one()
    order_number = get_order_number(refund.order_id)
    assert values(refund_row) == (
        "order", order_number, {"status": "pending"},
        {"status": "done", "amount": received, "via": "gateway",
         "payment": flagged.reference}, refund.refund_key)
    assert refund_row.actor_id == admin.id


def get_order_number(order_id: int) -> str:
    from app.orders.models import Order

    return _db.session.get(Order, order_id).number


def test_refund_by_the_gateway_after_a_cancel_is_audited_as_the_system(client, db):
    shop = make_shop()
    number = place_order(shop)
    log_in(client, shop.buyer_email)
    assert client.post(f"/pesanan/{number}/batal").status_code == 303
    [refund_row] = rows("refund.done")
    order = get_order(number)
    payment = _db.session.scalars(select(Payment)).one()
    assert values(refund_row) == (
        "order", number, {"status": "pending"},
        {"status": "done", "amount": order.total, "via": "gateway",
         "payment": payment.reference}, f"{number}-cancelled")
    assert refund_row.actor_id is None
    [cancelled] = rows("order.status")
    assert (cancelled.after, cancelled.actor_id) == (
        {"status": "cancelled", "side": "buyer"}, shop.buyer_id)


def test_refund_paid_out_by_hand_is_audited_with_the_admin(client, make_client, db, admin):
    from unittest.mock import patch

    from app.payments.gateways.base import GatewayError

    shop = make_shop()
    number = place_order(shop)
    with patch("app.payments.gateways.sandbox.SandboxGateway.refund",
               side_effect=GatewayError("412: saldo kurang")):
        log_in(client, shop.buyer_email)
        assert client.post(f"/pesanan/{number}/batal").status_code == 303
    assert rows("refund.done") == []
    refund = _db.session.scalars(select(Refund)).one()
    staff = make_client()
    log_in(staff, admin.email)
    url = f"/admin/pembayaran/pengembalian/{refund.id}/sudah-ditransfer"
    assert staff.post(url).status_code == 303
    assert staff.post(url).status_code == 409
    [refund_row] = rows("refund.done")
    assert (refund_row.before, refund_row.after["via"], refund_row.after["amount"]) == (
        {"status": "failed"}, "manual", refund.amount)
    assert (refund_row.actor_id, refund_row.actor_label) == (admin.id, admin.email)


# --- the admin page -----------------------------------------------------------------------


@pytest.fixture
def logbook(db, admin) -> dict[str, int]:
    """Five entries at known instants (WIB = UTC+7):

    name     action            actor                 object              created (WIB)
    login    auth.login        Sari@Example.test     user 7              20 Nov 23:59
    price    product.price     seller@example.test   product 12          21 Nov 00:00
    stock    stock.adjust      seller@example.test   variant GN-1        21 Nov 10:00
    order    order.status      (system)              order RCK-1         22 Nov 08:00
    setting  settings.change   admin-audit@…         setting crm.x       23 Nov 12:00
    """
    specs = {
        "login": ("auth.login", "Sari@Example.test", "user", "7", utc(2026, 11, 20, 16, 59),
                  None, None),
        "price": ("product.price", "seller@example.test", "product", "12",
                  utc(2026, 11, 20, 17, 0), {"GN-1": 150_000}, {"GN-1": 175_000}),
        "stock": ("stock.adjust", "seller@example.test", "variant", "GN-1",
                  utc(2026, 11, 21, 3), {"stock": 20}, {"stock": 25}),
        "order": ("order.status", "", "order", "RCK-1", utc(2026, 11, 22, 1),
                  {"status": "pending"}, {"status": "cancelled"}),
        "setting": ("settings.change", admin.email, "setting", "crm.x", utc(2026, 11, 23, 5),
                    {"value": 10}, {"value": 12}),
    }
    made = {}
    for name, (action, actor, object_type, object_id, at, before, after) in specs.items():
        row = AuditEntry(action=action, actor_label=actor, object_type=object_type,
                         object_id=object_id, created_at=at, before=before, after=after,
                         ip_address="10.0.0.9")
        _db.session.add(row)
        _db.session.flush()
        made[name] = row.id
    _db.session.commit()
    return made


def _listed(html: str, logbook: dict[str, int]) -> list[str]:
    return sorted(name for name, entry_id in logbook.items()
                  if f'data-entry="{entry_id}"' in html)


@pytest.mark.parametrize("query, expected", [
    ("", ["login", "order", "price", "setting", "stock"]),
    ("?aksi=stock.adjust", ["stock"]),
    ("?pelaku=sari@example", ["login"]),  # contains, any case
    ("?pelaku=SELLER", ["price", "stock"]),
    ("?pelaku=%25", []),  # a LIKE wildcard is a plain character
    ("?objek=variant&id_objek=GN-1", ["stock"]),
    ("?id_objek=GN-1", ["stock"]),
    ("?dari=2026-11-21", ["order", "price", "setting", "stock"]),  # 00:00 WIB belongs
    ("?sampai=2026-11-20", ["login"]),  # 23:59 WIB belongs
    ("?dari=2026-11-21&sampai=2026-11-22", ["order", "price", "stock"]),
    ("?aksi=order.status&dari=2026-11-22&sampai=2026-11-22", ["order"]),
])
def test_filters_return_exactly_the_expected_entries(client, db, admin, logbook, query,
                                                     expected):
    log_in(client, admin.email)
    response = client.get(f"/admin/audit{query}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert _listed(html, logbook) == expected
    assert 'data-testid="filter-problem"' not in html


def test_entries_are_newest_first_with_time_label_actor_ip_and_changes(client, db, admin,
                                                                       logbook):
    log_in(client, admin.email)
    html = client.get("/admin/audit").get_data(as_text=True)
    positions = [html.index(f'data-entry="{logbook[name]}"')
                 for name in ("setting", "order", "stock", "price", "login")]
    assert positions == sorted(positions)
    assert "Harga diubah" in html and "Sistem" in html and "10.0.0.9" in html
    assert "21 Nov 2026, 00.00 WIB" in html  # the price change, shown in WIB
    assert "<del>150000</del> → <ins>175000</ins>" in html


def test_bad_filter_values_are_ignored_with_a_message(client, db, admin, logbook):
    log_in(client, admin.email)
    response = client.get("/admin/audit?aksi=drop.table&dari=2026-13-45&sampai=kemarin"
                          "&objek=Robert';--&id_objek=" + "x" * 61 + "&hal=-3"
                          "&pelaku=" + "a" * 101)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.count('data-testid="filter-problem"') == 7
    assert "Tindakan &#34;drop.table&#34; tidak dikenal" in html
    assert _listed(html, logbook) == ["login", "order", "price", "setting", "stock"]


def test_swapped_dates_are_exchanged_with_a_message(client, db, admin, logbook):
    log_in(client, admin.email)
    html = client.get("/admin/audit?dari=2026-11-22&sampai=2026-11-21").get_data(as_text=True)
    assert "Tanggal awal sesudah tanggal akhir; keduanya ditukar." in html
    assert _listed(html, logbook) == ["order", "price", "stock"]


def test_htmx_filter_returns_only_the_table(client, db, admin, logbook):
    log_in(client, admin.email)
    response = client.get("/admin/audit?aksi=auth.login", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="audit-log">') or 'id="audit-log"' in html
    assert "<html" not in html and "<form" not in html
    assert _listed(html, logbook) == ["login"]


def test_pages_of_fifty_newest_first(client, db, admin):
    # settings.change, filtered: logging in writes an auth.login row of its own.
    ids = []
    for minute in range(55):
        row = AuditEntry(action="settings.change", actor_label=f"u{minute}@example.test",
                         created_at=utc(2026, 11, 20, 3, minute))
        _db.session.add(row)
        _db.session.flush()
        ids.append(row.id)
    _db.session.commit()
    log_in(client, admin.email)
    first = client.get("/admin/audit?aksi=settings.change").get_data(as_text=True)
    second = client.get("/admin/audit?aksi=settings.change&hal=2").get_data(as_text=True)
    assert [i for i in ids if f'data-entry="{i}"' in first] == ids[5:]
    assert [i for i in ids if f'data-entry="{i}"' in second] == ids[:5]
    assert "55 catatan" in first and "Halaman 1 dari 2" in first


XSS = '<script>alert("x")</script>'


def test_stored_values_render_escaped(client, db, admin):
    row = AuditEntry(action="settings.change", actor_label=f"{XSS}@example.test",
                     object_type="setting", object_id='<img src=x onerror="alert(1)">',
                     before={XSS: XSS}, after={"nested": {"a": XSS}}, note=XSS)
    _db.session.add(row)
    _db.session.commit()
    log_in(client, admin.email)
    html = client.get("/admin/audit").get_data(as_text=True)
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html


@pytest.mark.parametrize("role", ["customer", "seller", "client", "staff"])
def test_the_audit_log_is_for_admins_only(client, db, role):
    user = make_user(roles=(role,))
    _db.session.commit()
    log_in(client, user.email)
    assert client.get("/admin/audit").status_code == 403


def test_anonymous_visitor_is_sent_to_log_in(client, db):
    response = client.get("/admin/audit")
    assert response.status_code == 302 and "/masuk" in response.headers["Location"]


def test_admin_navigation_links_to_the_audit_log(client, db, admin):
    log_in(client, admin.email)
    html = client.get("/").get_data(as_text=True)
    assert 'data-testid="nav-audit.index"' in html and "Log audit" in html
