"""The price estimate on the request form: the same numbers as `price()` of the inputs,
with htmx (the partial) and without (the "Hitung perkiraan" button re-renders the form);
an incomplete form says what is missing; the request keeps its last estimate."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.accounts.models import Company
from app.audit.models import AuditEntry
from app.core.money import format_rupiah_shown as format_rupiah  # what the page shows
from app.core.settings import setting_set
from app.maklon.models import MaklonRequest, MaterialOrigin
from app.maklon.pricing import (
    SETTING_MARGIN,
    SETTING_TIERS,
    PricingInputs,
    price,
    price_params,
)
from tests.conftest import log_in
from tests.maklon.factories import make_formula, make_maklon_client, make_raw_material
from tests.maklon.test_requests import valid_form

HTMX = {"HX-Request": "true"}


def _client(db, client):
    user = make_maklon_client()
    db.session.commit()
    log_in(client, user.email)
    return user


def _total(html: str) -> str:
    match = re.search(r'data-testid="estimate-total">([^<]+)<', html)
    assert match, html[:3000]
    return match.group(1).strip()


def _unit(html: str) -> str:
    return re.search(r'data-testid="estimate-unit">([^<]+)<', html).group(1).strip()


def _expected(quantity: int, size: int = 30, *, local: Decimal | None = None,
              imported: Decimal = Decimal(0), develop: bool = True):
    params = price_params()
    if local is None:
        local = params.material_rate["skincare"] * size
    return price(PricingInputs(product_type="skincare", packaging="bottle", size=size,
                               quantity=quantity, local_cost_per_unit=local,
                               import_cost_per_unit=imported, develop_formula=develop),
                 params)


@pytest.mark.parametrize("quantity", [1_000, 5_000, 12_000])
def test_htmx_estimate_equals_the_pricing_function(db, client, quantity):
    _client(db, client)
    response = client.post("/maklon/perkiraan", data=valid_form(quantity=str(quantity)),
                           headers=HTMX)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" not in html  # the partial only
    expected = _expected(quantity)
    assert _total(html) == format_rupiah(expected.total)
    assert _unit(html) == format_rupiah(expected.unit_price)
    assert f"Diskon jumlah {expected.discount_pct}%" in html
    assert "Pengembangan formula" in html and "Margin 30%" in html


def test_plain_estimate_button_rerenders_the_form_with_the_same_numbers(db, client):
    _client(db, client)
    response = client.post("/maklon/baru", data={**valid_form(quantity="5000"),
                                                  "action": "estimate"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'name="product_name"' in html and 'value="Serum Niacinamide 10%"' in html
    assert _total(html) == format_rupiah(_expected(5_000).total)
    assert db.session.scalars(select(MaklonRequest)).first() is None  # nothing saved


def test_estimate_follows_the_price_settings(db, client):
    setting_set(key=SETTING_MARGIN, value="10")
    setting_set(key=SETTING_TIERS, value=[[100, "50"]])
    _client(db, client)
    html = client.post("/maklon/perkiraan", data=valid_form(quantity="2000"),
                       headers=HTMX).get_data(as_text=True)
    assert "Margin 10%" in html and "Diskon jumlah 50%" in html
    assert _total(html) == format_rupiah(_expected(2_000).total)


def test_stored_formula_prices_its_materials_and_the_decryption_is_audited(db, client):
    user = make_maklon_client()
    local = make_raw_material(unit_cost="2", origin=MaterialOrigin.LOCAL)
    imported = make_raw_material(unit_cost="10", origin=MaterialOrigin.IMPORT)
    formula = make_formula(company=db.session.get(Company, user.company_id),
                           lines=[(local, "3"), (imported, "1.5")])
    db.session.commit()
    log_in(client, user.email)
    html = client.post("/maklon/perkiraan", headers=HTMX, data=valid_form(
        quantity="2000", formula_choice="stored",
        formula_id=str(formula.id))).get_data(as_text=True)
    expected = _expected(2_000, local=Decimal(6), imported=Decimal(15), develop=False)
    assert _total(html) == format_rupiah(expected.total)
    assert "Bahan baku impor" in html and "Pengembangan formula" not in html
    assert db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "formula.decrypt")).first() is not None


@pytest.mark.parametrize("data", [
    {},
    {"quantity": "abc"},
    {"quantity": "-1"},
    {"quantity": "99999999999999999999"},
    {"product_type": "racun"},
    {"packaging": "drum", "size": "0"},
    {"formula_choice": "stored", "formula_id": "999999"},
    {"formula_choice": "stored", "formula_id": "abc"},
])
def test_incomplete_or_bad_form_shows_what_is_missing(db, client, data):
    _client(db, client)
    response = client.post("/maklon/perkiraan", data={**valid_form(), **data}
                           if data else {}, headers=HTMX)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'data-testid="estimate-missing"' in html and "Lengkapi" in html
    plain = client.post("/maklon/baru", data={**valid_form(), **data, "action": "estimate"})
    assert plain.status_code in (200, 422)


def test_saved_request_keeps_its_last_estimate_inputs_and_result(db, client):
    _client(db, client)
    assert client.post("/maklon/baru", data={**valid_form(quantity="3000"),
                                              "action": "draft"}).status_code == 303
    req = db.session.scalars(select(MaklonRequest)).one()
    expected = _expected(3_000)
    assert req.estimate["result"]["total"] == expected.total
    assert req.estimate["inputs"]["quantity"] == 3_000
    assert req.estimate["result"]["params"]["margin_pct"] == "30"
    page = client.get(f"/maklon/{req.number}").get_data(as_text=True)
    assert _total(page) == format_rupiah(expected.total)


def test_the_form_wires_htmx_to_the_estimate_endpoint(db, client):
    _client(db, client)
    html = client.get("/maklon/baru").get_data(as_text=True)
    assert 'hx-post="/maklon/perkiraan"' in html and 'hx-target="#estimate"' in html
    assert 'hx-trigger="change' in html and 'value="estimate"' in html


# --- the admin section "Harga maklon" ------------------------------------------------------
PRICE_FORM = {
    "import_surcharge": "30", "margin": "25,5", "labour_per_batch": "Rp 4.000.000",
    "labour_per_unit": "1200", "development_fee": "7500000",
    **{f"packaging_cost-{kind}": "3000" for kind in ("bottle", "jar", "tube", "airless",
                                                    "sachet", "pouch", "custom")},
    **{f"material_rate-{kind}": "100" for kind in ("skincare", "body_care", "hair_care",
                                                  "decorative", "supplement", "other")},
    "discount_tiers": "1000:2, 5.000:5.5, 20000:10",
}


def _admin(db, client):
    from tests.factories import make_user

    admin = make_user(roles=("admin",))
    db.session.commit()
    log_in(client, admin.email)
    return admin


def test_admin_saves_prices_audited_and_the_estimate_uses_them(db, client):
    admin = _admin(db, client)
    response = client.post("/admin/pengaturan/maklon-harga", data=PRICE_FORM)
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    params = price_params()
    assert params.margin_pct == Decimal("25.5") and params.labour_per_batch == 4_000_000
    assert params.tiers == ((1_000, Decimal(2)), (5_000, Decimal("5.5")),
                            (20_000, Decimal(10)))
    assert params.packaging_cost["airless"] == 3_000
    assert params.material_rate["skincare"] == Decimal(100)
    db.session.expire_all()
    rows = list(db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "settings.change")))
    tiers_row = next(row for row in rows if row.object_id == SETTING_TIERS)
    assert tiers_row.actor_id == admin.id
    assert tiers_row.after == {"value": [[1000, "2"], [5000, "5.5"], [20000, "10"]]}
    assert SETTING_MARGIN in {row.object_id for row in rows}


@pytest.mark.parametrize(("change", "field_id"), [
    ({"discount_tiers": "5000:7, 1000:3"}, "discount_tiers"),  # not ascending
    ({"discount_tiers": "1000:7, 5000:3"}, "discount_tiers"),  # discount falls
    ({"discount_tiers": "1000:3, 1000:5"}, "discount_tiers"),  # same quantity twice
    ({"discount_tiers": "1000:150"}, "discount_tiers"),
    ({"discount_tiers": "seribu:3"}, "discount_tiers"),
    ({"discount_tiers": "1000:0"}, "discount_tiers"),
    ({"margin": "-5"}, "margin"),
    ({"margin": "abc"}, "margin"),
    ({"import_surcharge": "1000"}, "import_surcharge"),
    ({"labour_per_batch": "1,5 juta"}, "labour_per_batch"),
    ({"packaging_cost-bottle": ""}, "packaging_cost-bottle"),
    ({"material_rate-skincare": "1.23456"}, "material_rate-skincare"),
])
def test_admin_bad_prices_are_422_and_save_nothing(db, client, change, field_id):
    _admin(db, client)
    response = client.post("/admin/pengaturan/maklon-harga", data={**PRICE_FORM, **change})
    assert response.status_code == 422
    assert f'id="{field_id}-errors"' in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "settings.change")).first() is None


def test_empty_tiers_mean_no_discount(db, client):
    _admin(db, client)
    response = client.post("/admin/pengaturan/maklon-harga",
                           data={**PRICE_FORM, "discount_tiers": ""})
    assert response.status_code == 303
    assert price_params().tiers == ()
