"""Formulas: saved encrypted, read only by those allowed (each read audited), cost per unit,
key rotation by the CLI."""

from __future__ import annotations

import base64
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from app.accounts.models import Company
from app.audit.models import AuditEntry
from app.maklon.formula_crypto import composition_decrypt
from app.maklon.models import Formula, MaterialOrigin
from tests.factories import make_user
from tests.maklon.factories import (
    make_company,
    make_formula,
    make_maklon_client,
    make_raw_material,
)

KEY_A = "ka:" + base64.b64encode(b"a" * 32).decode()
KEY_B = "kb:" + base64.b64encode(b"b" * 32).decode()


def _audits(db, action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                   .order_by(AuditEntry.id)))


def _stored(db, formula_id: int) -> str:
    return db.session.execute(text("SELECT composition FROM formulas WHERE id = :id"),
                              {"id": formula_id}).scalar_one()


@pytest.fixture
def owner(db):
    user = make_maklon_client()
    db.session.commit()
    return user


@pytest.fixture
def materials(db):
    niacin = make_raw_material(name="Niacinamide", unit_cost="2.5", origin=MaterialOrigin.IMPORT)
    water = make_raw_material(name="Air demineral", unit="ml", unit_cost="0.02")
    db.session.commit()
    return niacin, water


def _company(db, user) -> Company:
    return db.session.get(Company, user.company_id)


# Saving -------------------------------------------------------------------------------------
def test_a_client_saves_a_formula_encrypted_and_the_column_holds_no_plaintext(
        client, db, login_as, owner, materials):
    niacin, water = materials
    login_as(owner)
    response = client.post("/maklon/formula/baru", data={
        "nama": "Serum Cerah", "jenis": "skincare",
        "bahan": [str(niacin.id), str(water.id), ""], "jumlah": ["0,3", "25.1234", ""]})
    assert response.status_code == 303
    formula = db.session.scalars(select(Formula)).one()
    assert formula.company_id == owner.company_id and formula.name == "Serum Cerah"
    stored = _stored(db, formula.id)
    for plain in ("material_id", "0.3000", "25.1234", "amount", f'"{niacin.id}"'):
        assert plain not in stored
    assert stored.startswith(formula.key_id + ":")
    lines = composition_decrypt(formula.id, stored)
    assert [(x.material_id, x.amount) for x in lines] == [
        (niacin.id, Decimal("0.3000")), (water.id, Decimal("25.1234"))]
    [saved] = _audits(db, "formula.save")
    assert saved.object_id == str(formula.id)
    assert set(saved.after) == {"name", "product_type", "key_id", "created"}  # no lines


@pytest.mark.parametrize(("data", "message"), [
    ({"nama": "", "jenis": "skincare", "bahan": ["M1"], "jumlah": ["1"]}, "Wajib diisi."),
    ({"nama": "X", "jenis": "skincare", "bahan": [""], "jumlah": [""]},
     "Isi paling sedikit satu bahan."),
    ({"nama": "X", "jenis": "skincare", "bahan": ["M1", "M1"], "jumlah": ["1", "2"]},
     "Bahan ini sudah ada di baris lain."),
    ({"nama": "X", "jenis": "skincare", "bahan": ["M1"], "jumlah": ["0,12345"]},
     "paling banyak 4 desimal"),
    ({"nama": "X", "jenis": "skincare", "bahan": ["M1"], "jumlah": ["0"]},
     "lebih dari 0"),
    ({"nama": "X", "jenis": "skincare", "bahan": ["M1"], "jumlah": ["-1"]},
     "lebih dari 0"),
    ({"nama": "X", "jenis": "skincare", "bahan": ["INACTIVE"], "jumlah": ["1"]},
     "Pilih bahan baku."),
    ({"nama": "X", "jenis": "skincare", "bahan": ["999999"], "jumlah": ["1"]},
     "Pilih bahan baku."),
    ({"nama": "X", "jenis": "rocket", "bahan": ["M1"], "jumlah": ["1"]},
     "Pilih jenis produk."),
    ({"nama": "X" * 121, "jenis": "skincare", "bahan": ["M1"], "jumlah": ["1"]},
     "Maksimal 120 karakter."),
])
def test_bad_formula_input_is_refused_at_the_field_and_nothing_is_saved(
        client, db, login_as, owner, materials, data, message):
    niacin, _water = materials
    inactive = make_raw_material(name="Lama")
    inactive.active = False
    db.session.commit()
    ids = {"M1": str(niacin.id), "INACTIVE": str(inactive.id)}
    data = {**data, "bahan": [ids.get(v, v) for v in data["bahan"]]}
    login_as(owner)
    response = client.post("/maklon/formula/baru", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Formula)) == 0
    assert _audits(db, "formula.save") == []


def test_adding_a_row_redraws_the_form_without_saving(client, db, login_as, owner, materials):
    login_as(owner)
    response = client.post("/maklon/formula/baru", data={
        "nama": "Draf", "jenis": "skincare", "bahan": ["", ""], "jumlah": ["", ""],
        "tambah_baris": "1"})
    assert response.status_code == 200
    assert response.get_data(as_text=True).count('data-testid="formula-row-input"') == 3
    assert db.session.scalar(select(func.count()).select_from(Formula)) == 0


def test_editing_re_encrypts_and_audits_the_read_for_edit(client, db, login_as, owner,
                                                          materials):
    niacin, water = materials
    formula = make_formula(company=_company(db, owner), lines=[(niacin, "1")], name="Lama")
    db.session.commit()
    old = _stored(db, formula.id)
    login_as(owner)
    page = client.get(f"/maklon/formula/{formula.id}/ubah")
    assert page.status_code == 200 and 'value="1"' in page.get_data(as_text=True)
    response = client.post(f"/maklon/formula/{formula.id}/ubah", data={
        "nama": "Baru", "jenis": "body_care", "bahan": [str(water.id)], "jumlah": ["2,5"]})
    assert response.status_code == 303
    db.session.expire_all()
    assert _stored(db, formula.id) != old
    assert [(x.material_id, x.amount) for x in composition_decrypt(
        formula.id, _stored(db, formula.id))] == [(water.id, Decimal("2.5000"))]
    assert [e.after["purpose"] for e in _audits(db, "formula.decrypt")] == ["edit"]


# Who may read -----------------------------------------------------------------------------
def test_the_owner_sees_composition_and_cost_per_unit_and_each_view_is_audited(
        client, db, login_as, owner, materials):
    niacin, water = materials
    formula = make_formula(company=_company(db, owner), lines=[(niacin, "0.3"),
                                                               (water, "25")])
    db.session.commit()
    login_as(owner)
    for _ in range(2):
        body = client.get(f"/maklon/formula/{formula.id}").get_data(as_text=True)
        assert "Niacinamide" in body and "komposisi rahasia" not in body
    # 0.3 x 2.5 = 0.75 (imported) + 25 x 0.02 = 0.5 (local) = 1.25 per unit
    assert "Rp 1,25" in body and "Rp 0,75" in body and "Rp 0,5" in body
    entries = _audits(db, "formula.decrypt")
    assert [(e.object_id, e.after["purpose"], e.actor_id) for e in entries] == [
        (str(formula.id), "view", owner.id)] * 2


@pytest.mark.parametrize(("roles", "readable"), [
    (("staff",), False),
    (("staff", "production_manager"), True),
    (("admin",), True),
])
def test_staff_see_the_name_only_unless_production_manager_or_admin(
        client, db, login_as, materials, roles, readable):
    niacin, _water = materials
    formula = make_formula(company=make_company(), lines=[(niacin, "0.3")],
                           name="Rahasia Dapur")
    user = make_user(roles=roles)
    db.session.commit()
    login_as(user)
    response = client.get(f"/maklon/formula/{formula.id}")
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "Rahasia Dapur" in body
    assert ("Niacinamide" in body) is readable
    assert ("komposisi rahasia" in body) is not readable
    assert len(_audits(db, "formula.decrypt")) == (1 if readable else 0)
    listing = client.get("/maklon/formula").get_data(as_text=True)
    assert "Rahasia Dapur" in listing


def test_another_companys_client_gets_404_and_no_decrypt(client, db, login_as, owner,
                                                         materials):
    niacin, _water = materials
    formula = make_formula(company=make_company(), lines=[(niacin, "1")], name="Milik Lain")
    db.session.commit()
    login_as(owner)
    assert client.get(f"/maklon/formula/{formula.id}").status_code == 404
    assert client.get(f"/maklon/formula/{formula.id}/ubah").status_code == 404
    assert client.post(f"/maklon/formula/{formula.id}/ubah", data={
        "nama": "Curian", "jenis": "skincare", "bahan": [str(niacin.id)],
        "jumlah": ["1"]}).status_code == 404
    assert "Milik Lain" not in client.get("/maklon/formula").get_data(as_text=True)
    assert _audits(db, "formula.decrypt") == []
    db.session.expire_all()
    assert db.session.get(Formula, formula.id).name == "Milik Lain"


@pytest.mark.parametrize("roles", [("customer",), ("seller",)])
def test_buyers_and_sellers_may_not_open_formulas(client, db, login_as, materials, roles):
    niacin, _water = materials
    formula = make_formula(company=make_company(), lines=[(niacin, "1")])
    user = make_user(roles=roles)
    db.session.commit()
    login_as(user)
    assert client.get("/maklon/formula").status_code == 403
    assert client.get(f"/maklon/formula/{formula.id}").status_code == 403


def test_staff_may_not_edit_and_a_client_without_company_may_not_create(
        client, db, login_as, make_client, materials):
    niacin, _water = materials
    formula = make_formula(company=make_company(), lines=[(niacin, "1")])
    staff = make_user(roles=("staff", "production_manager"))
    loner = make_user(roles=("client",))
    db.session.commit()
    login_as(staff)
    assert client.get(f"/maklon/formula/{formula.id}/ubah").status_code == 403
    other = make_client()
    login_as(loner, other)
    assert other.get("/maklon/formula/baru").status_code == 403


# Key rotation -------------------------------------------------------------------------------
def _cli(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_rotation_re_encrypts_under_the_new_key_idempotently(app, db, monkeypatch, materials):
    niacin, water = materials
    monkeypatch.setitem(app.config, "FORMULA_KEYS", KEY_A)
    company = make_company()
    formulas = [make_formula(company=company, lines=[(niacin, "0.3"), (water, str(n))])
                for n in range(1, 6)]
    db.session.commit()
    assert {f.key_id for f in formulas} == {"ka"}
    # New key first, old key kept: old ciphertexts still decrypt before rotation.
    monkeypatch.setitem(app.config, "FORMULA_KEYS", f"{KEY_B},{KEY_A}")
    assert composition_decrypt(formulas[0].id, _stored(db, formulas[0].id))[0].amount == \
        Decimal("0.3000")
    result = _cli(app, "formulas", "rotate-key", "--batch-size", "2")
    assert result.exit_code == 0, result.output
    assert "re-encrypted 5, already current 0, failed 0" in result.output
    db.session.expire_all()
    assert set(db.session.scalars(select(Formula.key_id))) == {"kb"}
    # The old key removed: everything still decrypts.
    monkeypatch.setitem(app.config, "FORMULA_KEYS", KEY_B)
    for n, formula in enumerate(formulas, start=1):
        stored = _stored(db, formula.id)
        assert stored.startswith("kb:") and "material_id" not in stored
        lines = composition_decrypt(formula.id, stored)
        assert [(x.material_id, x.amount) for x in lines] == [
            (niacin.id, Decimal("0.3000")), (water.id, Decimal(n))]
    again = _cli(app, "formulas", "rotate-key")
    assert again.exit_code == 0 and "re-encrypted 0, already current 5" in again.output
    rotations = _audits(db, "formula.rotate")
    assert [(r.after["rotated"], r.after["failed"]) for r in rotations] == [(5, 0), (0, 0)]
    assert _audits(db, "formula.decrypt") == []  # the bulk read is the rotate row


def test_a_formula_under_a_key_no_longer_held_is_a_clear_cli_error(app, db, monkeypatch,
                                                                   materials):
    niacin, _water = materials
    monkeypatch.setitem(app.config, "FORMULA_KEYS", KEY_A)
    lost = make_formula(company=make_company(), lines=[(niacin, "1")])
    db.session.commit()
    monkeypatch.setitem(app.config, "FORMULA_KEYS", KEY_B)
    kept = make_formula(company=make_company(), lines=[(niacin, "2")])
    db.session.commit()
    result = _cli(app, "formulas", "rotate-key")
    assert result.exit_code == 1
    assert "Traceback" not in result.output and not isinstance(result.exception, KeyError)
    assert f"formula {lost.id}" in result.output and "'ka'" in result.output
    assert "put the key they name back in FORMULA_KEYS" in result.output
    db.session.expire_all()
    assert db.session.get(Formula, lost.id).key_id == "ka"  # untouched
    assert db.session.get(Formula, kept.id).key_id == "kb"
    monkeypatch.setitem(app.config, "FORMULA_KEYS", "broken")
    broken = _cli(app, "formulas", "rotate-key")
    assert broken.exit_code == 1 and "FORMULA_KEYS" in broken.output
    assert "Traceback" not in broken.output


def test_new_key_prints_an_entry_the_ring_accepts(app, monkeypatch):
    result = _cli(app, "formulas", "new-key", "--id", "k2027")
    assert result.exit_code == 0
    entry = result.output.strip()
    key_id, _, encoded = entry.partition(":")
    assert key_id == "k2027" and len(base64.b64decode(encoded)) == 32
    monkeypatch.setitem(app.config, "FORMULA_KEYS", f"{entry},{KEY_A}")
    with app.app_context():
        from app.maklon.formula_crypto import current_key_id

        assert current_key_id() == "k2027"
