"""The maklon core: formula encryption at rest, the pricing function, raw-material stock."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from app.accounts.models import Company
from app.audit.models import AuditEntry
from app.inventory.models import StockMovement, StockReason
from app.maklon.formula_crypto import (
    CompositionUnreadable,
    FormulaKeyError,
    composition_decrypt,
    composition_read,
)
from app.maklon.materials import (
    MaterialError,
    Shortage,
    material_change,
    materials_consume,
    materials_reserve,
)
from app.maklon.models import MaterialOrigin, Packaging, RawMaterial, ReservationStatus
from app.maklon.pricing import (
    LINE_DEVELOPMENT,
    LINE_IMPORT,
    LINE_LOCAL,
    PriceParams,
    PricingInputs,
    discount_pct,
    price,
)
from tests.maklon.factories import (
    make_company,
    make_formula,
    make_maklon_client,
    make_maklon_request,
    make_raw_material,
)

PARAMS = PriceParams(
    import_surcharge_pct=Decimal("25"), margin_pct=Decimal("30"), labour_per_batch=1_000_000,
    labour_per_unit=1_000, development_fee=5_000_000,
    packaging_cost={Packaging.BOTTLE: 3_000}, material_rate={"skincare": Decimal("100")},
    tiers=((1_000, Decimal("3")), (5_000, Decimal("7")), (10_000, Decimal("12"))))


def _inputs(quantity: int, *, local: str = "1000", imported: str = "0",
            develop: bool = False) -> PricingInputs:
    return PricingInputs(product_type="skincare", packaging=Packaging.BOTTLE, size=30,
                         quantity=quantity, local_cost_per_unit=Decimal(local),
                         import_cost_per_unit=Decimal(imported), develop_formula=develop)


@pytest.mark.parametrize(("quantity", "tier"), [(999, "0"), (1_000, "3"), (4_999, "3"),
                                                (5_000, "7"), (9_999, "7"), (10_000, "12"),
                                                (250_000, "12")])
def test_the_largest_reached_tier_gives_the_discount(quantity, tier):
    assert discount_pct(quantity, PARAMS.tiers) == Decimal(tier)


def test_a_batch_price_adds_up_line_by_line():
    result = price(_inputs(2_000, local="1000", imported="400"), PARAMS)
    amounts = {line.key: line.amount for line in result.lines}
    assert amounts[LINE_LOCAL] == 2_000_000
    assert amounts[LINE_IMPORT] == 1_000_000  # 400 x 2000 x 1.25
    assert result.cost == 2_000_000 + 1_000_000 + 6_000_000 + 3_000_000
    assert result.margin == 3_600_000
    assert result.discount == 468_000  # 3 % of 15.6 M
    assert result.total == result.cost + result.margin - result.discount == 15_132_000
    assert result.unit_price == 7_566


def test_imported_materials_cost_more_than_the_same_local_ones():
    local = price(_inputs(1_000, local="500"), PARAMS)
    imported = price(_inputs(1_000, local="0", imported="500"), PARAMS)
    assert imported.total > local.total


def test_developing_the_formula_adds_the_fee_once_and_rounding_is_half_up():
    result = price(_inputs(3, local="0.5", develop=True), PARAMS)
    amounts = {line.key: line.amount for line in result.lines}
    assert amounts[LINE_DEVELOPMENT] == 5_000_000
    assert amounts[LINE_LOCAL] == 2  # 1.5 rounds half-up
    assert price(_inputs(1, local="0.49"), PARAMS).lines[0].amount == 0


def test_a_quantity_of_zero_is_refused():
    with pytest.raises(ValueError):
        price(_inputs(0), PARAMS)


def test_the_composition_column_holds_no_plaintext_and_decrypts(app, db):
    material = make_raw_material(name="Niacinamide", unit_cost="2.5")
    formula = make_formula(company=make_company(), lines=[(material, "0.3000")])
    db.session.commit()
    stored = db.session.execute(text("SELECT composition FROM formulas WHERE id = :id"),
                                {"id": formula.id}).scalar_one()
    assert "0.3000" not in stored and "material_id" not in stored
    assert stored.startswith(formula.key_id + ":")
    lines = composition_decrypt(formula.id, stored)
    assert lines[0].material_id == material.id and lines[0].amount == Decimal("0.3000")


def test_a_composition_moved_to_another_formula_or_damaged_does_not_decrypt(app, db):
    material = make_raw_material()
    company = make_company()
    first = make_formula(company=company, lines=[(material, "1")])
    second = make_formula(company=company, lines=[(material, "2")])
    with pytest.raises(CompositionUnreadable):
        composition_decrypt(second.id, first.composition)
    damaged = first.composition[:-6] + ("A" if first.composition[-6] != "A" else "B") \
        + first.composition[-5:]
    with pytest.raises(CompositionUnreadable):
        composition_decrypt(first.id, damaged)


def test_an_unknown_key_id_is_named(app, db):
    material = make_raw_material()
    formula = make_formula(company=make_company(), lines=[(material, "1")])
    with pytest.raises(FormulaKeyError, match="old"):
        composition_decrypt(formula.id, "old:" + formula.composition.split(":", 1)[1])


def test_every_read_is_audited(app, db):
    material = make_raw_material()
    formula = make_formula(company=make_company(), lines=[(material, "1")])
    decrypts = select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "formula.decrypt")
    assert db.session.scalar(decrypts) == 0
    composition_read(formula, actor=None, purpose="view")
    composition_read(formula, actor=None, purpose="pricing")
    db.session.flush()
    entries = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "formula.decrypt").order_by(AuditEntry.id)).all()
    assert [(e.object_id, e.after["purpose"]) for e in entries] == [
        (str(formula.id), "view"), (str(formula.id), "pricing")]
    assert set(entries[0].after) == {"purpose", "key_id"}  # never the composition


def test_material_change_never_drives_stock_negative(app, db):
    material = make_raw_material(on_hand=100)
    with pytest.raises(MaterialError):
        material_change(material=material, delta=-101, reason=StockReason.USAGE, actor=None)
    assert material.on_hand == 100
    material_change(material=material, delta=-100, reason=StockReason.USAGE, actor=None)
    assert material.on_hand == 0
    rows = db.session.scalars(select(StockMovement).where(
        StockMovement.raw_material_id == material.id)).all()
    assert [(r.delta, r.stock_after, r.reason) for r in rows] == [(-100, 0, "usage")]


def test_reserve_then_consume_a_batch_and_refuse_a_shortage_whole(app, db):
    client = make_maklon_client()
    plenty = make_raw_material(name="Aqua", unit="ml", on_hand=100_000)
    scarce = make_raw_material(name="Hyaluronic", on_hand=500, origin=MaterialOrigin.IMPORT)
    company_formula = make_formula(company=db.session.get(Company, client.company_id),
                                   lines=[(plenty, "25"), (scarce, "0.3333")])
    request = make_maklon_request(client=client, quantity=2_000, formula=company_formula)
    rows = materials_reserve(request, actor=None)
    assert {r.raw_material_id: r.quantity for r in rows} == {plenty.id: 50_000,
                                                             scarce.id: 667}  # ceil
    assert materials_reserve(request, actor=None) == rows  # idempotent
    db.session.refresh(scarce)
    assert scarce.reserved == 667
    with pytest.raises(Shortage) as refused:
        materials_consume(request, actor=None)
    assert [(line.material.name, line.missing) for line in refused.value.lines] == [
        ("Hyaluronic", 167)]
    db.session.refresh(plenty)
    assert plenty.on_hand == 100_000  # nothing taken
    material_change(material=scarce, delta=1_000, reason=StockReason.RESTOCK, actor=None)
    assert materials_consume(request, actor=None) == 2
    for material, left in ((plenty, 50_000), (scarce, 833)):
        db.session.refresh(material)
        assert (material.on_hand, material.reserved) == (left, 0)
    assert {r.status for r in rows} == {ReservationStatus.CONSUMED}
    consumed = db.session.scalars(select(StockMovement).where(
        StockMovement.reason == "consume")).all()
    assert {m.reference for m in consumed} == {request.number}


def test_raw_material_rows_are_checked_by_the_database(app, db):
    from sqlalchemy.exc import IntegrityError

    material = make_raw_material(on_hand=5)
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.execute(text("UPDATE raw_materials SET on_hand = -1 WHERE id = :id"),
                           {"id": material.id})
    assert db.session.get(RawMaterial, material.id) is not None
