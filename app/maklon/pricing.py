"""Maklon pricing: a pure function of (inputs, parameters), and where both come from.

    inputs = pricing_inputs(request, actor=user)      # reads the formula (audited)
    result = price(inputs, price_params())            # pure: no database, no clock
    result.total, result.unit_price, result.lines     # whole Rupiah

The computation, in `Decimal`, each line rounded half-up to whole Rupiah:
    local materials   = local material cost per unit x quantity
    imported materials= imported material cost per unit x quantity x (1 + import surcharge)
    packaging         = packaging cost per unit (by packaging type) x quantity
    labour & overhead = per-batch setup + per-unit labour x quantity
    development       = the formula development fee, when the provider develops the formula
    cost              = sum of the lines above
    margin            = cost x margin %
    discount          = (cost + margin) x the tier % of the largest tier ≤ quantity
    total             = cost + margin - discount; unit price = total / quantity (rounded)

Material cost per unit comes from the chosen formula's lines (amount per unit x the raw
material's unit cost, split by origin) or, when the formula is to be developed or given as
an uploaded specification, from a default rate per ml/g of content by product type (local).
A quote stores `inputs.as_dict()` and `result.as_dict()`, so it can always be explained.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from app.core.settings import setting_get
from app.maklon.models import FormulaChoice, MaklonRequest, MaterialOrigin, Packaging, ProductType

# Settings keys (admin: /admin/pengaturan, section maklon pricing) and their defaults.
SETTING_IMPORT_SURCHARGE = "maklon.price.import_surcharge_pct"
SETTING_MARGIN = "maklon.price.margin_pct"
SETTING_LABOUR_BATCH = "maklon.price.labour_per_batch"
SETTING_LABOUR_UNIT = "maklon.price.labour_per_unit"
SETTING_DEVELOPMENT_FEE = "maklon.price.development_fee"
SETTING_PACKAGING_COST = "maklon.price.packaging_cost"  # {packaging: Rupiah per unit}
SETTING_DEFAULT_RATE = "maklon.price.material_rate"  # {product type: Rupiah per ml/g}
SETTING_TIERS = "maklon.price.discount_tiers"  # [[min quantity, percent], ...]

DEFAULTS: dict[str, Any] = {
    SETTING_IMPORT_SURCHARGE: "25",
    SETTING_MARGIN: "30",
    SETTING_LABOUR_BATCH: 5_000_000,
    SETTING_LABOUR_UNIT: 1_500,
    SETTING_DEVELOPMENT_FEE: 7_500_000,
    SETTING_PACKAGING_COST: {Packaging.BOTTLE: 3_500, Packaging.JAR: 4_000,
                             Packaging.TUBE: 2_800, Packaging.AIRLESS: 9_000,
                             Packaging.SACHET: 600, Packaging.POUCH: 1_800,
                             Packaging.CUSTOM: 12_000},
    SETTING_DEFAULT_RATE: {ProductType.SKINCARE: "120", ProductType.BODY_CARE: "45",
                           ProductType.HAIR_CARE: "60", ProductType.DECORATIVE: "150",
                           ProductType.SUPPLEMENT: "200", ProductType.OTHER: "80"},
    SETTING_TIERS: [[1_000, "3"], [5_000, "7"], [10_000, "12"]],
}

# The breakdown's lines, in order (labels: app.maklon.labels.PRICE_LINE_LABELS).
LINE_LOCAL = "materials_local"
LINE_IMPORT = "materials_import"
LINE_PACKAGING = "packaging"
LINE_LABOUR = "labour"
LINE_DEVELOPMENT = "development"

ONE = Decimal(1)
HUNDRED = Decimal(100)


def rupiah(value: Decimal) -> int:
    """Whole Rupiah, rounded half-up."""
    return int(value.quantize(ONE, rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class PricingInputs:
    product_type: str
    packaging: str
    size: int  # ml or g per unit
    quantity: int  # units
    local_cost_per_unit: Decimal  # raw materials, Rupiah per unit, before surcharge
    import_cost_per_unit: Decimal
    develop_formula: bool = False

    def as_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["local_cost_per_unit"] = str(self.local_cost_per_unit)
        values["import_cost_per_unit"] = str(self.import_cost_per_unit)
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> PricingInputs:
        return cls(product_type=values["product_type"], packaging=values["packaging"],
                   size=int(values["size"]), quantity=int(values["quantity"]),
                   local_cost_per_unit=Decimal(str(values["local_cost_per_unit"])),
                   import_cost_per_unit=Decimal(str(values["import_cost_per_unit"])),
                   develop_formula=bool(values.get("develop_formula")))


@dataclass(frozen=True)
class PriceParams:
    import_surcharge_pct: Decimal
    margin_pct: Decimal
    labour_per_batch: int
    labour_per_unit: int
    development_fee: int
    packaging_cost: dict[str, int]
    material_rate: dict[str, Decimal]  # Rupiah per ml/g of content, by product type
    tiers: tuple[tuple[int, Decimal], ...]  # (minimum quantity, discount %), ascending

    def as_dict(self) -> dict[str, Any]:
        return {"import_surcharge_pct": str(self.import_surcharge_pct),
                "margin_pct": str(self.margin_pct),
                "labour_per_batch": self.labour_per_batch,
                "labour_per_unit": self.labour_per_unit,
                "development_fee": self.development_fee,
                "packaging_cost": dict(self.packaging_cost),
                "material_rate": {k: str(v) for k, v in self.material_rate.items()},
                "tiers": [[minimum, str(pct)] for minimum, pct in self.tiers]}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> PriceParams:
        return cls(
            import_surcharge_pct=Decimal(str(values["import_surcharge_pct"])),
            margin_pct=Decimal(str(values["margin_pct"])),
            labour_per_batch=int(values["labour_per_batch"]),
            labour_per_unit=int(values["labour_per_unit"]),
            development_fee=int(values["development_fee"]),
            packaging_cost={k: int(v) for k, v in values["packaging_cost"].items()},
            material_rate={k: Decimal(str(v)) for k, v in values["material_rate"].items()},
            tiers=tuple(sorted((int(minimum), Decimal(str(pct)))
                               for minimum, pct in values["tiers"])))


@dataclass(frozen=True)
class PriceLine:
    key: str  # LINE_*
    amount: int


@dataclass(frozen=True)
class PriceResult:
    lines: tuple[PriceLine, ...]
    cost: int
    margin_pct: Decimal
    margin: int
    discount_pct: Decimal
    discount: int
    total: int
    quantity: int
    unit_price: int
    params: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"lines": [{"key": line.key, "amount": line.amount} for line in self.lines],
                "cost": self.cost, "margin_pct": str(self.margin_pct), "margin": self.margin,
                "discount_pct": str(self.discount_pct), "discount": self.discount,
                "total": self.total, "quantity": self.quantity,
                "unit_price": self.unit_price, "params": self.params}


def discount_pct(quantity: int, tiers: tuple[tuple[int, Decimal], ...]) -> Decimal:
    """The percent of the largest tier whose minimum `quantity` reaches (0 below all)."""
    pct = Decimal(0)
    for minimum, tier_pct in sorted(tiers):
        if quantity >= minimum:
            pct = tier_pct
    return pct


def price(inputs: PricingInputs, params: PriceParams) -> PriceResult:
    """The price of a batch: pure, deterministic, whole Rupiah (see the module docstring).
    `inputs.quantity` must be positive (validation refuses a request without one)."""
    if inputs.quantity <= 0:
        raise ValueError("quantity must be positive")
    qty = Decimal(inputs.quantity)
    surcharge = ONE + params.import_surcharge_pct / HUNDRED
    lines = [
        PriceLine(LINE_LOCAL, rupiah(inputs.local_cost_per_unit * qty)),
        PriceLine(LINE_IMPORT, rupiah(inputs.import_cost_per_unit * qty * surcharge)),
        PriceLine(LINE_PACKAGING,
                  rupiah(Decimal(params.packaging_cost.get(inputs.packaging, 0)) * qty)),
        PriceLine(LINE_LABOUR, rupiah(Decimal(params.labour_per_batch)
                                      + Decimal(params.labour_per_unit) * qty)),
    ]
    if inputs.develop_formula:
        lines.append(PriceLine(LINE_DEVELOPMENT, params.development_fee))
    cost = sum(line.amount for line in lines)
    margin = rupiah(Decimal(cost) * params.margin_pct / HUNDRED)
    tier = discount_pct(inputs.quantity, params.tiers)
    discount = rupiah(Decimal(cost + margin) * tier / HUNDRED)
    total = cost + margin - discount
    return PriceResult(lines=tuple(lines), cost=cost, margin_pct=params.margin_pct,
                       margin=margin, discount_pct=tier, discount=discount, total=total,
                       quantity=inputs.quantity, unit_price=rupiah(Decimal(total) / qty),
                       params=params.as_dict())


# Where the inputs and parameters come from -------------------------------------------------
def price_params() -> PriceParams:
    """The pricing parameters in force (settings, else DEFAULTS)."""
    values = {key: setting_get(key, default) for key, default in DEFAULTS.items()}
    return PriceParams.from_dict({
        "import_surcharge_pct": values[SETTING_IMPORT_SURCHARGE],
        "margin_pct": values[SETTING_MARGIN],
        "labour_per_batch": values[SETTING_LABOUR_BATCH],
        "labour_per_unit": values[SETTING_LABOUR_UNIT],
        "development_fee": values[SETTING_DEVELOPMENT_FEE],
        "packaging_cost": {**DEFAULTS[SETTING_PACKAGING_COST],
                           **values[SETTING_PACKAGING_COST]},
        "material_rate": {**DEFAULTS[SETTING_DEFAULT_RATE], **values[SETTING_DEFAULT_RATE]},
        "tiers": values[SETTING_TIERS],
    })


def material_costs(lines: list[Any], materials: dict[int, Any]) -> tuple[Decimal, Decimal]:
    """(local, imported) raw-material cost per produced unit of formula `lines`
    (FormulaLine), given `materials` {id: RawMaterial}. A line naming an unknown material
    costs nothing here (the formula page flags it)."""
    local = imported = Decimal(0)
    for line in lines:
        material = materials.get(line.material_id)
        if material is None:
            continue
        cost = line.amount * Decimal(str(material.unit_cost))
        if material.origin == MaterialOrigin.IMPORT:
            imported += cost
        else:
            local += cost
    return local, imported


def pricing_inputs(request: MaklonRequest, *, actor: Any, params: PriceParams | None = None
                   ) -> PricingInputs:
    """The inputs of `request` as it stands. A stored formula is decrypted for its material
    costs (`formula.decrypt` audited, purpose "pricing"); otherwise the default rate of the
    product type x size is taken as local material cost."""
    from sqlalchemy import select

    from app.extensions import db
    from app.maklon.formula_crypto import composition_read
    from app.maklon.models import RawMaterial

    params = params or price_params()
    local = imported = Decimal(0)
    if request.formula_choice == FormulaChoice.STORED and request.formula is not None:
        lines = composition_read(request.formula, actor=actor, purpose="pricing")
        ids = {line.material_id for line in lines}
        materials = {m.id: m for m in db.session.scalars(
            select(RawMaterial).where(RawMaterial.id.in_(ids)))} if ids else {}
        local, imported = material_costs(lines, materials)
    else:
        rate = params.material_rate.get(request.product_type or ProductType.OTHER,
                                        params.material_rate.get(ProductType.OTHER,
                                                                 Decimal(0)))
        local = rate * Decimal(request.size or 0)
    return PricingInputs(product_type=request.product_type, packaging=request.packaging,
                         size=request.size or 0, quantity=request.quantity or 0,
                         local_cost_per_unit=local, import_cost_per_unit=imported,
                         develop_formula=request.formula_choice == FormulaChoice.DEVELOP)
