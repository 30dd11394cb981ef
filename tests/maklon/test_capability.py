"""Production capability: every kind of unrealistic request is refused with a clear
message at its field, the settings change the limits, and the earliest feasible date
grows with the signed load."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.core.settings import setting_set
from app.maklon.capability import (
    SETTING_LEAD_DAYS,
    SETTING_WEEKLY_CAPACITY,
    capability,
    earliest_feasible_date,
    request_validate,
    setting_moq,
    setting_size_max,
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
    setting_set(key=setting_moq("skincare"), value=5_000)
    setting_set(key=setting_size_max("bottle"), value=20)
    errors = request_validate(valid(quantity=2_000, size=30), today=TODAY)
    assert "5.000 unit" in errors["quantity"]
    assert "antara 10 dan 20" in errors["size"]
    assert capability().moq["skincare"] == 5_000


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
