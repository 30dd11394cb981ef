"""The raw-material inventory page's writes and reads (the ledger itself is
app.maklon.materials.material_change).

    material = material_create(values=..., actor=user)        # audited "material.update"
    material_update(material=m, values=..., actor=user)      # name, origin, reorder, cost
    material_move(material=m, direction="restock", quantity=500, actor=user)
                                                             # ledger row + "material.adjust"
    page = materials_page(q="nia", low_only=True, page=1)
    page = material_movements(material_id, page=1)

Inputs arrive as text from the form; `material_values_parse` turns them into values or
{field: message} (422). Services flush, never commit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from app.audit.services import audit_changes, audit_record
from app.core.forms import NumberInputError, read_whole_number
from app.core.pagination import Page
from app.extensions import db
from app.inventory.models import StockMovement, StockReason
from app.maklon.materials import MAX_ON_HAND, MaterialError, material_change
from app.maklon.models import MaterialOrigin, RawMaterial

UNITS = ("g", "ml", "pcs")
PER_PAGE = 50
MOVEMENTS_PER_PAGE = 30
MAX_MOVE = 1_000_000_000  # base units in one restock or usage
MAX_UNIT_COST = Decimal("9999999999.9999")  # Numeric(14, 4)
_CODE = re.compile(r"^[A-Z0-9][A-Z0-9._-]{0,29}$")
_COST = re.compile(r"^(\d{1,10})(?:[.,](\d{1,4}))?$")

DIRECTION_RESTOCK = "restock"
DIRECTION_USAGE = "usage"


class MaterialInputError(Exception):
    """Bad input for a raw material (HTTP 422); `errors` maps a field to its message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def unit_cost_parse(text: str | None) -> Decimal | None:
    """Rupiah per base unit, >= 0 with up to 4 decimals (`0,045`, `1250`), else None."""
    match = _COST.match((text or "").strip())
    if match is None:
        return None
    return Decimal(f"{match.group(1)}.{match.group(2) or '0'}")


@dataclass
class MaterialValues:
    name: str
    origin: str
    reorder_level: int
    unit_cost: Decimal
    code: str = ""
    inci_name: str = ""
    unit: str = ""
    initial: int = 0


def material_values_parse(form: dict[str, str], *, creating: bool) -> MaterialValues:
    """The form's text as values; raises MaterialInputError with every field message."""
    errors: dict[str, str] = {}
    name = (form.get("nama") or "").strip()
    if not name:
        errors["nama"] = _("Wajib diisi.")
    elif len(name) > 120:
        errors["nama"] = _("Maksimal %(max)d karakter.", max=120)
    origin = form.get("asal") or ""
    if origin not in MaterialOrigin.ALL:
        errors["asal"] = _("Pilih impor atau lokal.")
    reorder = None
    try:
        reorder = read_whole_number(form.get("batas"), maximum=MAX_ON_HAND)
    except NumberInputError as error:
        errors["batas"] = error.message
    cost = unit_cost_parse(form.get("harga"))
    if cost is None or cost > MAX_UNIT_COST:
        errors["harga"] = _("Tulis harga per satuan dalam Rupiah, paling banyak 4 desimal, "
                            "misalnya 0,045 atau 1250.")
    values = MaterialValues(name=name, origin=origin, reorder_level=reorder or 0,
                            unit_cost=cost or Decimal(0))
    if creating:
        code = (form.get("kode") or "").strip().upper()
        if not _CODE.match(code):
            errors["kode"] = _("Kode 1-30 huruf, angka, titik atau tanda hubung, misalnya "
                               "RM-NIA-01.")
        elif db.session.scalar(select(RawMaterial.id).where(RawMaterial.code == code)):
            errors["kode"] = _("Kode ini sudah dipakai.")
        inci = (form.get("inci") or "").strip()
        if len(inci) > 200:
            errors["inci"] = _("Maksimal %(max)d karakter.", max=200)
        unit = form.get("satuan") or ""
        if unit not in UNITS:
            errors["satuan"] = _("Pilih satuan g, ml atau pcs.")
        initial = None
        try:
            initial = read_whole_number(form.get("stok_awal") or "0", maximum=MAX_MOVE)
        except NumberInputError as error:
            errors["stok_awal"] = error.message
        values.code, values.inci_name, values.unit = code, inci, unit
        values.initial = initial or 0
    if errors:
        raise MaterialInputError(errors)
    return values


def _snapshot(material: RawMaterial) -> dict[str, Any]:
    return {"name": material.name, "origin": material.origin,
            "reorder_level": material.reorder_level, "unit_cost": str(material.unit_cost)}


def material_create(*, values: MaterialValues, actor: Any) -> RawMaterial:
    """A new raw material; a starting quantity goes through the ledger (restock)."""
    material = RawMaterial(code=values.code, name=values.name, inci_name=values.inci_name,
                           unit=values.unit, on_hand=0, reserved=0,
                           reorder_level=values.reorder_level, origin=values.origin,
                           unit_cost=values.unit_cost, active=True)
    db.session.add(material)
    db.session.flush()
    audit_record("material.update", actor=actor, object_type="raw_material",
                 object_id=material.code, after={**_snapshot(material), "created": True},
                 note=material.name)
    if values.initial:
        material_move(material=material, direction=DIRECTION_RESTOCK,
                      quantity=values.initial, actor=actor, reference=_("stok awal"))
    return material


def material_update(*, material: RawMaterial, values: MaterialValues, actor: Any) -> bool:
    """Change name, origin, reorder level and unit cost; audits what changed. False when
    nothing did."""
    before = _snapshot(material)
    material.name = values.name
    material.origin = values.origin
    material.reorder_level = values.reorder_level
    material.unit_cost = values.unit_cost
    old, new = audit_changes(before, _snapshot(material))
    if not new:
        return False
    audit_record("material.update", actor=actor, object_type="raw_material",
                 object_id=material.code, before=old, after=new, note=material.name)
    db.session.flush()
    return True


def material_move(*, material: RawMaterial, direction: str, quantity: int | None,
                  actor: Any, reference: str = "") -> StockMovement:
    """Restock (+quantity) or usage (-quantity) through the ledger; usage beyond what is
    on hand is refused (MaterialError, nothing written). Audits "material.adjust"."""
    if direction not in (DIRECTION_RESTOCK, DIRECTION_USAGE):
        raise MaterialError(_("Pilih tambah stok atau pemakaian."))
    if quantity is None or not 0 < quantity <= MAX_MOVE:
        raise MaterialError(_("Tulis jumlah bilangan bulat 1 sampai 1.000.000.000."))
    restock = direction == DIRECTION_RESTOCK
    movement = material_change(material=material, delta=quantity if restock else -quantity,
                               reason=StockReason.RESTOCK if restock else StockReason.USAGE,
                               actor=actor, reference=reference)
    audit_record("material.adjust", actor=actor, object_type="raw_material",
                 object_id=material.code, before={"on_hand": movement.stock_after
                                                  - movement.delta},
                 after={"on_hand": movement.stock_after, "delta": movement.delta,
                        "reason": movement.reason}, note=reference or material.name)
    db.session.flush()
    return movement


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def is_low(material: RawMaterial) -> bool:
    """Available (on hand minus reserved) at or under the reorder level."""
    return material.on_hand - material.reserved <= material.reorder_level


def materials_page(*, q: str = "", low_only: bool = False, page: int = 1
                   ) -> Page[RawMaterial]:
    conditions = []
    q = q.strip()[:100]
    if q:
        pattern = _like(q)
        conditions.append(or_(func.lower(RawMaterial.name).like(pattern, escape="\\"),
                              func.lower(RawMaterial.code).like(pattern, escape="\\"),
                              func.lower(RawMaterial.inci_name).like(pattern, escape="\\")))
    if low_only:
        conditions.append(RawMaterial.on_hand - RawMaterial.reserved
                          <= RawMaterial.reorder_level)
    total = db.session.scalar(select(func.count(RawMaterial.id)).where(*conditions)) or 0
    items = list(db.session.scalars(
        select(RawMaterial).where(*conditions)
        .order_by(RawMaterial.active.desc(), RawMaterial.name, RawMaterial.id)
        .limit(PER_PAGE).offset((page - 1) * PER_PAGE)))
    return Page(items=items, total=total, page=page, per_page=PER_PAGE)


def material_movements(material_id: int, *, page: int = 1) -> Page[StockMovement]:
    condition = StockMovement.raw_material_id == material_id
    total = db.session.scalar(select(func.count(StockMovement.id)).where(condition)) or 0
    items = list(db.session.scalars(
        select(StockMovement).where(condition)
        .order_by(StockMovement.created_at.desc(), StockMovement.id.desc())
        .limit(MOVEMENTS_PER_PAGE).offset((page - 1) * MOVEMENTS_PER_PAGE)))
    return Page(items=items, total=total, page=page, per_page=MOVEMENTS_PER_PAGE)
