"""Production capability: every kind of unrealistic request is refused with a clear
message at its field, the settings change the limits, and the earliest feasible date
grows with the signed load."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.core.settings import setting_set
from app.maklon.capability import (
    SETTING_LEAD_DAYS,
    SETTING_MOQ,
    SETTING_SIZE_MAX,
    SETTING_WEEKLY_CAPACITY,
    capability,
    earliest_feasible_date,
    request_validate,
)
from app.maklon.models import RequestStatus
from tests.maklon.factories import (
    make_company,
    make_formula,
    make_maklon_client,
    make_maklon_request,
    make_raw_material,
)

TODAY = date(2026, 6, 1)


def valid(**overrides) -> dict:
    values = {"product_name": "Serum", "product_type": "skincare", "packaging": "bottle",
              "size": 30, "size_unit": "ml", "length_mm": None, "width_mm": None,
              "height_mm": None, "quantity": 2_000, "formula_choice": "develop",
              "formula_id": None, "desired_date": TODAY + timedelta(days=60),
              "notes": "", "company_id": 1, "has_spec_file": False}
    values.update(overrides)
    return values


def test_a_realistic_request_passes(db):
    assert request_validate(valid(), today=TODAY) == {}


CUSTOM = {"packaging": "custom", "size": 100, "length_mm": 50, "width_mm": 50,
          "height_mm": 100}


@pytest.mark.parametrize(("overrides", "field", "words"), [
    ({"product_name": ""}, "product_name", "wajib"),
    ({"product_name": "   "}, "product_name", "wajib"),
    ({"product_type": ""}, "product_type", "Pilih jenis produk"),
    ({"product_type": "racun"}, "product_type", "Pilih jenis produk"),
    ({"quantity": None}, "quantity", "jumlah unit"),
    ({"quantity": 0}, "quantity", "jumlah unit"),
    ({"quantity": -5}, "quantity", "jumlah unit"),
    ({"quantity": 999}, "quantity", "1.000 unit"),  # below the skincare MOQ, says it
    ({"product_type": "supplement", "quantity": 1_500}, "quantity", "2.000 unit"),
    ({"quantity": 50_000_000}, "quantity", "kapasitas produksi setahun"),
    ({"packaging": "drum"}, "packaging", "kemasan"),
    ({"size": None}, "size", "ukuran"),
    ({"size": 5}, "size", "antara 10 dan 1.000"),  # a 5 ml bottle
    ({"packaging": "sachet", "size": 250}, "size", "antara 1 dan 50"),
    ({"size_unit": "kg"}, "size_unit", "ml atau g"),
    ({**CUSTOM, "length_mm": None}, "length_mm", "kemasan khusus"),
    ({**CUSTOM, "width_mm": 2}, "width_mm", "antara 10 dan 300 mm"),
    ({**CUSTOM, "height_mm": 5_000}, "height_mm", "antara 10 dan 300 mm"),
    ({**CUSTOM, "length_mm": 300, "width_mm": 300, "height_mm": 300}, "height_mm",
     "melebihi batas"),
    ({**CUSTOM, "size": 500, "length_mm": 50, "width_mm": 50, "height_mm": 50}, "size",
     "tidak muat"),
    ({"formula_choice": "curi"}, "formula_choice", "sumber formula"),
    ({"formula_choice": "stored"}, "formula_id", "formula tersimpan"),
    ({"formula_choice": "upload"}, "spec_file", "spesifikasi"),
    ({"desired_date": None}, "desired_date", "tanggal"),
    ({"desired_date": TODAY + timedelta(days=3)}, "desired_date", "Paling cepat 22 Juni 2026"),
    ({"desired_date": TODAY + timedelta(days=2_000)}, "desired_date", "dua tahun"),
])
def test_each_unrealistic_input_is_refused_at_its_field(db, overrides, field, words):
    errors = request_validate(valid(**overrides), today=TODAY)
    assert field in errors, errors
    assert words.lower() in errors[field].lower(), errors[field]


def test_all_violations_come_back_at_once(db):
    errors = request_validate(valid(product_name="", quantity=1, size=0,
                                    desired_date=None), today=TODAY)
    assert {"product_name", "quantity", "size", "desired_date"} <= set(errors)


def test_a_formula_must_belong_to_the_clients_company(db):
    mine, other = make_company(), make_company()
    material = make_raw_material()
    own = make_formula(company=mine, lines=[(material, "1")])
    foreign = make_formula(company=other, lines=[(material, "1")])
    ok = request_validate(valid(formula_choice="stored", formula_id=own.id,
                                company_id=mine.id), today=TODAY)
    assert ok == {}
    refused = request_validate(valid(formula_choice="stored", formula_id=foreign.id,
                                     company_id=mine.id), today=TODAY)
    assert "perusahaan Anda" in refused["formula_id"]


def test_upload_with_a_spec_file_passes(db):
    assert request_validate(valid(formula_choice="upload", has_spec_file=True),
                            today=TODAY) == {}


def test_settings_change_the_limits(db):
    setting_set(key=SETTING_MOQ, value={"skincare": 5_000})
    setting_set(key=SETTING_SIZE_MAX, value={"bottle": 20, "jar": "rusak"})
    errors = request_validate(valid(quantity=2_000, size=30), today=TODAY)
    assert "5.000 unit" in errors["quantity"]
    assert "antara 10 dan 20" in errors["size"]
    assert capability().moq["skincare"] == 5_000
    assert capability().moq["supplement"] == 2_000  # not stored: the default
    assert capability().size_range["jar"] == (5, 500)  # unreadable: the default


def test_earliest_date_grows_with_the_signed_load(db):
    setting_set(key=SETTING_WEEKLY_CAPACITY, value=10_000)
    setting_set(key=SETTING_LEAD_DAYS, value=14)
    assert earliest_feasible_date(TODAY) == TODAY + timedelta(days=14)
    client = make_maklon_client()
    # Not load: drafts, submitted, completed and cancelled requests.
    for status in (RequestStatus.DRAFT, RequestStatus.SUBMITTED, RequestStatus.COMPLETED,
                   RequestStatus.CANCELLED):
        make_maklon_request(client=client, status=status, quantity=50_000)
    assert earliest_feasible_date(TODAY) == TODAY + timedelta(days=14)
    make_maklon_request(client=client, status=RequestStatus.SIGNED, quantity=5_000)
    assert earliest_feasible_date(TODAY) == TODAY + timedelta(days=14 + 7)  # 0.5 -> 1 week
    make_maklon_request(client=client, status=RequestStatus.SIGNED, quantity=20_000)
    assert earliest_feasible_date(TODAY) == TODAY + timedelta(days=14 + 21)  # 2.5 -> 3
    errors = request_validate(valid(desired_date=TODAY + timedelta(days=30)), today=TODAY)
    assert "Paling cepat" in errors["desired_date"]


def test_a_broken_setting_falls_back_to_the_default(db):
    setting_set(key=SETTING_WEEKLY_CAPACITY, value="banyak")
    assert capability().weekly_capacity == 20_000


# --- the admin settings sections ("Kapasitas maklon", "Harga maklon") ----------------------
CAPABILITY_FORM = {
    "weekly_capacity": "30.000", "lead_time_days": "10", "dimension_min_mm": "20",
    "dimension_max_mm": "250", "max_volume_ml": "2000",
    **{f"moq-{kind}": "1000" for kind in ("skincare", "body_care", "hair_care", "decorative",
                                         "supplement", "other")},
    **{f"size_min-{kind}": "5" for kind in ("bottle", "jar", "tube", "airless", "sachet",
                                           "pouch", "custom")},
    **{f"size_max-{kind}": "500" for kind in ("bottle", "jar", "tube", "airless", "sachet",
                                             "pouch", "custom")},
}


def _admin(db, client):
    from tests.conftest import log_in
    from tests.factories import make_user

    admin = make_user(roles=("admin",))
    db.session.commit()
    log_in(client, admin.email)
    return admin


def _setting_audits(db) -> list:
    from sqlalchemy import select

    from app.audit.models import AuditEntry

    db.session.expire_all()
    return list(db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "settings.change").order_by(AuditEntry.id)))


def test_admin_page_shows_the_maklon_sections_with_defaults(db, client):
    _admin(db, client)
    html = client.get("/admin/pengaturan").get_data(as_text=True)
    assert 'id="pengaturan-maklon-kapasitas"' in html and 'id="pengaturan-maklon-harga"' in html
    assert 'name="moq-supplement"' in html and 'value="2000"' in html
    assert 'name="discount_tiers"' in html and "1000:3, 5000:7, 10000:12" in html


def test_admin_saves_capability_audited_and_validation_reads_it(db, client):
    admin = _admin(db, client)
    data = {**CAPABILITY_FORM, "moq-skincare": "3000"}
    response = client.post("/admin/pengaturan/maklon-kapasitas", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    cap = capability()
    assert cap.moq["skincare"] == 3_000 and cap.weekly_capacity == 30_000
    assert cap.size_range["bottle"] == (5, 500) and cap.dimension_mm == (20, 250)
    audits = _setting_audits(db)
    assert {row.object_id for row in audits} >= {SETTING_MOQ, SETTING_WEEKLY_CAPACITY}
    assert all(row.actor_id == admin.id for row in audits)
    moq_row = next(row for row in audits if row.object_id == SETTING_MOQ)
    assert moq_row.after["value"]["skincare"] == 3_000
    assert "3.000 unit" in request_validate(valid(quantity=2_000), today=TODAY)["quantity"]
    again = client.post("/admin/pengaturan/maklon-kapasitas", data=data)
    assert again.status_code == 303 and len(_setting_audits(db)) == len(audits)


@pytest.mark.parametrize(("change", "field_id"), [
    ({"weekly_capacity": "0"}, "weekly_capacity"),
    ({"weekly_capacity": "banyak"}, "weekly_capacity"),
    ({"lead_time_days": "-1"}, "lead_time_days"),
    ({"moq-skincare": ""}, "moq-skincare"),
    ({"moq-skincare": "99999999999999"}, "moq-skincare"),
    ({"size_max-bottle": "2"}, "size_max-bottle"),  # below its minimum of 5
    ({"dimension_max_mm": "10"}, "dimension_max_mm"),  # below the minimum side of 20
])
def test_admin_bad_capability_is_422_and_saves_nothing(db, client, change, field_id):
    _admin(db, client)
    response = client.post("/admin/pengaturan/maklon-kapasitas",
                           data={**CAPABILITY_FORM, **change})
    assert response.status_code == 422
    assert f'id="{field_id}-errors"' in response.get_data(as_text=True)
    assert _setting_audits(db) == []
