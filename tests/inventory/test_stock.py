"""Inventory: click-to-edit stock (htmx and plain), quick actions, the ledger, low-stock
alerts, and no negative stock under concurrency."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from app.catalog.models import Variant
from app.catalog.stock import StockError, stock_change
from app.core.models import EmailOutbox, Notice
from app.extensions import db as _db
from app.inventory.models import StockMovement
from tests.factories import make_product, make_user


@pytest.fixture
def seller(db, login_as):
    user = make_user(email="gudang@example.test", roles=("seller",), store_name="Glow")
    db.session.commit()
    login_as(user)
    return user


@pytest.fixture
def variant(db, seller) -> Variant:
    product = make_product(store=seller.store, name="Sabun Sereh", stock=12)
    db.session.commit()
    return product.variants[0]


def _ledger(db, variant_id: int) -> list[tuple[int, int, str]]:
    db.session.expire_all()
    return [(m.delta, m.stock_after, m.reason) for m in db.session.scalars(
        select(StockMovement).where(StockMovement.variant_id == variant_id)
        .order_by(StockMovement.id))]


def test_click_to_edit_works_as_htmx_fragments(client, db, variant):
    editor = client.get(f"/seller/inventaris/{variant.id}/ubah", headers={"HX-Request": "true"})
    body = editor.get_data(as_text=True)
    assert editor.status_code == 200 and "<html" not in body
    assert 'name="stok"' in body and 'name="semula" value="12"' in body
    saved = client.post(f"/seller/inventaris/{variant.id}/stok", headers={"HX-Request": "true"},
                        data={"stok": "30", "semula": "12"})
    row = saved.get_data(as_text=True)
    assert saved.status_code == 200 and row.lstrip().startswith(f'<tr id="v{variant.id}"')
    assert 'data-testid="stock">30<' in row and 'name="stok"' not in row
    assert _ledger(db, variant.id)[1:] == [(18, 30, "adjustment")]
    cancel = client.get(f"/seller/inventaris/{variant.id}", headers={"HX-Request": "true"})
    assert 'data-testid="stock">30<' in cancel.get_data(as_text=True)


def test_click_to_edit_works_without_javascript(client, db, variant):
    editor = client.get(f"/seller/inventaris/{variant.id}/ubah")
    assert editor.status_code == 303
    page = client.get(editor.headers["Location"])
    assert 'name="stok"' in page.get_data(as_text=True)
    saved = client.post(f"/seller/inventaris/{variant.id}/stok",
                        data={"stok": "7", "semula": "12"})
    assert saved.status_code == 303
    assert saved.headers["Location"].endswith(f"/seller/inventaris#v{variant.id}")
    assert _ledger(db, variant.id)[1:] == [(-5, 7, "adjustment")]


def test_quick_actions_add_ten_and_empty_each_write_one_ledger_row(client, db, variant):
    assert client.post(f"/seller/inventaris/{variant.id}/tambah").status_code == 303
    assert client.post(f"/seller/inventaris/{variant.id}/kosongkan",
                       headers={"HX-Request": "true"},
                       data={"konfirmasi": "ya", "semula": "22"}).status_code == 200
    assert _ledger(db, variant.id) == [(12, 12, "restock"), (10, 22, "restock"),
                                       (-22, 0, "adjustment")]
    page = client.get("/seller/inventaris").get_data(as_text=True)
    assert "Habis" in page


@pytest.mark.parametrize("typed, status, message", [
    ("-3", 422, "Stok tidak boleh negatif."),
    ("banyak", 422, "bilangan bulat"),
    ("", 422, "bilangan bulat"),
])
def test_bad_stock_input_is_refused_with_a_message_and_changes_nothing(
        client, db, variant, typed, status, message):
    for headers in ({}, {"HX-Request": "true"}):
        response = client.post(f"/seller/inventaris/{variant.id}/stok", headers=headers,
                               data={"stok": typed, "semula": "12"})
        body = response.get_data(as_text=True)
        assert response.status_code == status and message in body
        assert f'value="{typed}"' in body  # what was typed stays in the box
    assert _ledger(db, variant.id) == [(12, 12, "restock")]


def test_a_stock_changed_meanwhile_is_not_overwritten(client, db, variant):
    response = client.post(f"/seller/inventaris/{variant.id}/stok",
                           headers={"HX-Request": "true"}, data={"stok": "5", "semula": "9"})
    assert response.status_code == 409
    assert "sudah berubah menjadi 12" in response.get_data(as_text=True)
    assert _ledger(db, variant.id) == [(12, 12, "restock")]


def test_low_stock_filter_and_sort(client, db, seller):
    make_product(store=seller.store, name="Banyak", stock=50)
    make_product(store=seller.store, name="Sedikit", stock=3)
    make_product(store=seller.store, name="Kosong", stock=0)
    db.session.commit()
    low = client.get("/seller/inventaris?rendah=1").get_data(as_text=True)
    assert "Sedikit" in low and "Kosong" in low and "Banyak" not in low
    assert "Menipis" in low and "Habis" in low  # text, not colour alone
    by_stock = client.get("/seller/inventaris?urut=stok").get_data(as_text=True)
    assert by_stock.index("Kosong") < by_stock.index("Sedikit") < by_stock.index("Banyak")
    fragment = client.get("/seller/inventaris?rendah=1", headers={"HX-Request": "true"})
    assert 'id="inventory-table"' in fragment.get_data(as_text=True)
    assert "<html" not in fragment.get_data(as_text=True)


def test_variant_page_shows_its_stock_history(client, db, variant):
    client.post(f"/seller/inventaris/{variant.id}/tambah")
    body = client.get(f"/seller/varian/{variant.id}").get_data(as_text=True)
    assert "+10" in body and "+12" in body and "Tambah stok" in body


def _alerts(db) -> tuple[int, int]:
    return (db.session.scalar(select(func.count(EmailOutbox.id))
                              .where(EmailOutbox.template == "low_stock")),
            db.session.scalar(select(func.count(Notice.id))))


def test_low_stock_alert_is_sent_once_per_downward_crossing(client, db, variant, seller):
    post = client.post
    post(f"/seller/inventaris/{variant.id}/stok", data={"stok": "10", "semula": "12"})
    assert _alerts(db) == (0, 0)  # 10 is not under the threshold of 10
    post(f"/seller/inventaris/{variant.id}/stok", data={"stok": "9", "semula": "10"})
    assert _alerts(db) == (1, 1)
    post(f"/seller/inventaris/{variant.id}/stok", data={"stok": "2", "semula": "9"})
    assert _alerts(db) == (1, 1)  # still under: no repeat
    post(f"/seller/inventaris/{variant.id}/tambah")  # 12: back above
    post(f"/seller/inventaris/{variant.id}/kosongkan", data={"konfirmasi": "ya", "semula": "12"})
    assert _alerts(db) == (2, 2)
    mail = db.session.scalars(select(EmailOutbox).order_by(EmailOutbox.id)).first()
    assert mail.to_address == "gudang@example.test" and "Sabun Sereh" in mail.subject
    notices = client.get("/notifikasi").get_data(as_text=True)
    assert "Stok Sabun Sereh" in notices and "tinggal 0" in notices


def test_notices_are_marked_read(client, db, variant):
    client.post(f"/seller/inventaris/{variant.id}/kosongkan",
                data={"konfirmasi": "ya", "semula": "12"})
    assert 'class="count"' in client.get("/notifikasi").get_data(as_text=True)
    assert client.post("/notifikasi/baca").status_code == 303
    assert 'class="count"' not in client.get("/notifikasi").get_data(as_text=True)


def test_stock_never_goes_negative_under_concurrent_decrements(app, db, seller):
    product = make_product(store=seller.store, stock=5)
    db.session.commit()
    variant_id = product.variants[0].id
    db.session.rollback()  # release this session's transaction (SQLite's write lock)
    threads_count = 8
    barrier = threading.Barrier(threads_count)
    outcomes: list[str] = []

    def take_one() -> None:
        with app.app_context():
            variant = _db.session.get(Variant, variant_id)
            _db.session.commit()  # end the read (SQLite: do not hold the write lock)
            barrier.wait()
            try:
                stock_change(variant=variant, delta=-1, reason="sale", actor=None)
                _db.session.commit()
                outcomes.append("ok")
            except StockError:
                _db.session.rollback()
                outcomes.append("refused")
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=take_one) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["ok"] * 5 + ["refused"] * 3
    assert [row[0] for row in _ledger(db, variant_id)] == [5, -1, -1, -1, -1, -1]
    assert db.session.get(Variant, variant_id).stock == 0
    assert db.session.get(Variant, variant_id).product.stock_total == 0
