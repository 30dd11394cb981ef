"""The raw-material inventory page: staff only, search and low-stock filter, click to edit,
restock and usage through the ledger (exact under concurrency), movement history."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.extensions import db as _db
from app.inventory.models import StockMovement
from app.maklon.materials import MaterialError
from app.maklon.models import MaterialOrigin, RawMaterial
from app.maklon.raw_materials import material_move
from tests.factories import make_user
from tests.maklon.factories import make_raw_material

HX = {"HX-Request": "true"}


@pytest.fixture
def staff(client, db, login_as):
    user = make_user(roles=("staff",))
    db.session.commit()
    login_as(user)
    return user


def _ledger(db, material_id: int) -> list[tuple[int, int, str]]:
    return [(m.delta, m.stock_after, m.reason) for m in db.session.scalars(
        select(StockMovement).where(StockMovement.raw_material_id == material_id)
        .order_by(StockMovement.id))]


def test_the_list_searches_and_highlights_low_stock(client, db, staff):
    make_raw_material(name="Niacinamide", on_hand=40_000, reorder_level=10_000)
    low = make_raw_material(name="Asam hialuronat", on_hand=2_500, reorder_level=2_000)
    low.reserved = 600  # available 1.900 <= 2.000: low although on hand is above
    make_raw_material(name="Gliserin", on_hand=1_000, reorder_level=1_000)  # equal: low
    db.session.commit()
    body = client.get("/bahan-baku").get_data(as_text=True)
    assert body.count('data-testid="material-row"') == 3
    assert body.count('class="stock-low') == 2
    assert "1.900" in body  # available, Indonesian grouping
    found = client.get("/bahan-baku?q=niacin").get_data(as_text=True)
    assert "Niacinamide" in found and "Gliserin" not in found
    assert "Niacinamide" in client.get("/bahan-baku?q=RM-").get_data(as_text=True)
    only_low = client.get("/bahan-baku?rendah=1").get_data(as_text=True)
    assert "Asam hialuronat" in only_low and "Gliserin" in only_low
    assert "Niacinamide" not in only_low
    fragment = client.get("/bahan-baku?q=glis", headers=HX).get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="material-table">')
    literal = client.get("/bahan-baku?q=%25").get_data(as_text=True)  # % is no wildcard
    assert 'data-testid="material-row"' not in literal


@pytest.mark.parametrize("roles", [("customer",), ("seller",), ("client",)])
def test_only_staff_and_admins_open_the_page(client, db, login_as, roles):
    material = make_raw_material()
    user = make_user(roles=roles)
    db.session.commit()
    login_as(user)
    assert client.get("/bahan-baku").status_code == 403
    assert client.post(f"/bahan-baku/{material.id}/stok",
                       data={"arah": "restock", "jumlah": "5"}).status_code == 403
    assert _ledger(db, material.id) == []


def test_click_to_edit_swaps_the_row_and_audits_the_change(client, db, staff):
    material = make_raw_material(name="Niacinamide", unit_cost="1.85", reorder_level=10_000)
    db.session.commit()
    form = client.get(f"/bahan-baku/{material.id}/ubah", headers=HX).get_data(as_text=True)
    assert form.lstrip().startswith("<tr") and 'name="harga"' in form
    response = client.post(f"/bahan-baku/{material.id}/ubah", headers=HX, data={
        "nama": "Niacinamide PC", "asal": "import", "batas": "12.000", "harga": "1,9125"})
    assert response.status_code == 200
    row = response.get_data(as_text=True)
    assert "Niacinamide PC" in row and "Rp 1,9125" in row and 'name="harga"' not in row
    db.session.expire_all()
    saved = db.session.get(RawMaterial, material.id)
    assert (saved.name, saved.origin, saved.reorder_level, saved.unit_cost) == (
        "Niacinamide PC", MaterialOrigin.IMPORT, 12_000, Decimal("1.9125"))
    [entry] = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "material.update")).all()
    assert entry.before == {"name": "Niacinamide", "origin": "local",
                            "reorder_level": 10_000, "unit_cost": "1.8500"}
    # Without JS: the list opens with the row in edit mode, the save redirects.
    assert client.get(f"/bahan-baku/{material.id}/ubah").status_code == 303
    page = client.get(f"/bahan-baku?ubah={material.id}").get_data(as_text=True)
    assert 'name="harga"' in page
    plain = client.post(f"/bahan-baku/{material.id}/ubah", data={
        "nama": "Niacinamide", "asal": "local", "batas": "0", "harga": "2"})
    assert plain.status_code == 303


@pytest.mark.parametrize(("field", "value", "message"), [
    ("harga", "1,23456", "paling banyak 4 desimal"),
    ("harga", "-1", "paling banyak 4 desimal"),
    ("harga", "abc", "paling banyak 4 desimal"),
    ("batas", "-5", "Tidak boleh negatif."),
    ("batas", "9" * 25, "Terlalu besar: maksimal 1.000.000.000.000."),
    ("batas", "1,5", "bilangan bulat"),
    ("nama", "", "Wajib diisi."),
    ("asal", "mars", "Pilih impor atau lokal."),
])
def test_bad_edits_are_422_at_the_field_and_change_nothing(client, db, staff, field, value,
                                                          message):
    material = make_raw_material(name="Gliserin", unit_cost="0.045", reorder_level=20)
    db.session.commit()
    data = {"nama": "Gliserin baru", "asal": "local", "batas": "30", "harga": "0,05",
            field: value}
    for headers in (HX, {}):
        response = client.post(f"/bahan-baku/{material.id}/ubah", headers=headers, data=data)
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
    db.session.expire_all()
    saved = db.session.get(RawMaterial, material.id)
    assert (saved.name, saved.reorder_level, saved.unit_cost) == (
        "Gliserin", 20, Decimal("0.0450"))


def test_restock_and_usage_go_through_the_ledger_and_are_audited(client, db, staff):
    material = make_raw_material(name="Panthenol", on_hand=1_000)
    db.session.commit()
    up = client.post(f"/bahan-baku/{material.id}/stok", headers=HX,
                     data={"arah": "restock", "jumlah": "2.500"})
    assert up.status_code == 200 and "3.500" in up.get_data(as_text=True)
    down = client.post(f"/bahan-baku/{material.id}/stok",
                       data={"arah": "usage", "jumlah": "500"})
    assert down.status_code == 303
    assert _ledger(db, material.id) == [(2_500, 3_500, "restock"), (-500, 3_000, "usage")]
    audits = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "material.adjust").order_by(AuditEntry.id)).all()
    assert [(a.before["on_hand"], a.after["on_hand"]) for a in audits] == [
        (1_000, 3_500), (3_500, 3_000)]
    history = client.get(f"/bahan-baku/{material.id}/riwayat").get_data(as_text=True)
    assert history.count('data-testid="movement"') == 2 and "Pemakaian" in history


@pytest.mark.parametrize(("data", "message"), [
    ({"arah": "usage", "jumlah": "1001"}, "tinggal 1000"),
    ({"arah": "usage", "jumlah": "0"}, "Minimal 1."),
    ({"arah": "restock", "jumlah": "-5"}, "Minimal 1."),
    ({"arah": "restock", "jumlah": "lima"}, "Tulis bilangan bulat, misalnya 25."),
    ({"arah": "restock", "jumlah": "9999999999999"}, "Terlalu besar: maksimal 1.000.000.000."),
    ({"arah": "restock", "jumlah": "9" * 25}, "Terlalu besar: maksimal 1.000.000.000."),
    ({"arah": "steal", "jumlah": "5"}, "Pilih tambah stok atau pemakaian."),
])
def test_a_refused_stock_change_is_422_with_the_message_and_writes_nothing(
        client, db, staff, data, message):
    material = make_raw_material(name="Phenoxyethanol", on_hand=1_000)
    db.session.commit()
    for headers in (HX, {}):
        response = client.post(f"/bahan-baku/{material.id}/stok", headers=headers, data=data)
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(RawMaterial, material.id).on_hand == 1_000
    assert _ledger(db, material.id) == []
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "material.adjust")) == 0


def test_creating_a_material_with_starting_stock(client, db, staff):
    response = client.post("/bahan-baku/baru", data={
        "kode": "rm-cen-02", "nama": "Ekstrak pegagan", "inci": "Centella Asiatica Extract",
        "satuan": "ml", "asal": "local", "harga": "0,6", "batas": "5000",
        "stok_awal": "25.000"})
    assert response.status_code == 303
    material = db.session.scalars(select(RawMaterial)).one()
    assert (material.code, material.on_hand, material.unit_cost) == (
        "RM-CEN-02", 25_000, Decimal("0.6000"))
    assert _ledger(db, material.id) == [(25_000, 25_000, "restock")]
    again = client.post("/bahan-baku/baru", data={
        "kode": "RM-CEN-02", "nama": "", "satuan": "kg", "asal": "local", "harga": "x",
        "batas": "1"})
    body = again.get_data(as_text=True)
    assert again.status_code == 422
    for message in ("Kode ini sudah dipakai.", "Wajib diisi.", "Pilih satuan g, ml atau pcs.",
                    "paling banyak 4 desimal"):
        assert message in body
    assert db.session.scalar(select(func.count()).select_from(RawMaterial)) == 1


def test_an_unknown_material_is_404(client, db, staff):
    assert client.get("/bahan-baku/999/riwayat").status_code == 404
    assert client.post("/bahan-baku/999/stok", data={"arah": "restock",
                                                    "jumlah": "1"}).status_code == 404


def test_concurrent_restocks_and_usages_keep_exact_totals(app, db):
    material = make_raw_material(on_hand=50)
    db.session.commit()
    material_id = material.id
    db.session.rollback()
    workers = 12
    barrier = threading.Barrier(workers)
    outcomes: list[str] = []

    def change(direction: str, quantity: int) -> None:
        with app.app_context():
            row = _db.session.get(RawMaterial, material_id)
            _db.session.commit()
            barrier.wait()
            try:
                material_move(material=row, direction=direction, quantity=quantity,
                              actor=None)
                _db.session.commit()
                outcomes.append(direction)
            except MaterialError:
                _db.session.rollback()
                outcomes.append("refused")
            finally:
                _db.session.remove()

    # 4 restocks of 10 and 8 usages of 20: at most 90 can be taken, 160 asked.
    jobs = [("restock", 10)] * 4 + [("usage", 20)] * 8
    threads = [threading.Thread(target=change, args=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert outcomes.count("restock") == 4
    used = outcomes.count("usage")
    assert used + outcomes.count("refused") == 8 and used <= 4
    db.session.expire_all()
    final = db.session.get(RawMaterial, material_id).on_hand
    assert final == 50 + 40 - 20 * used >= 0
    ledger = _ledger(db, material_id)
    assert sum(delta for delta, _after, _reason in ledger) == final - 50
    assert ledger[-1][1] == final  # the running total in the ledger ends at the row's value


def test_the_stock_form_opens_in_the_row_with_or_without_htmx(client, db, staff):
    material = make_raw_material(name="Xanthan gum", on_hand=9_000)
    db.session.commit()
    fragment = client.get(f"/bahan-baku/{material.id}/ubah?stok=1", headers=HX)
    body = fragment.get_data(as_text=True)
    assert body.lstrip().startswith("<tr") and 'name="jumlah"' in body
    plain = client.get(f"/bahan-baku/{material.id}/ubah?stok=1")
    assert plain.status_code == 303 and f"stok={material.id}" in plain.headers["Location"]
    page = client.get(f"/bahan-baku?stok={material.id}").get_data(as_text=True)
    assert 'name="jumlah"' in page and 'value="usage"' in page
    cancel = client.get(f"/bahan-baku/{material.id}", headers=HX).get_data(as_text=True)
    assert 'name="jumlah"' not in cancel and "Xanthan gum" in cancel
