"""Raw-material stock: every change of `on_hand` is a row of the shared stock ledger
(`StockMovement` with `raw_material_id`), made by a conditional UPDATE so stock never goes
negative under any concurrency. `reserved` is what signed orders have set aside.

    material_change(material=m, delta=+5000, reason=StockReason.RESTOCK, actor=user)
    batch_needs(request, actor=user)      # {material_id: whole base units}, audited read
    materials_reserve(request, actor)     # entering "Pembelian Bahan Baku"
    materials_consume(request, actor)     # entering "Proses Formulasi": raises Shortage

Services flush, never commit.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update

from app.core.clock import utcnow
from app.extensions import db
from app.inventory.models import StockMovement, StockReason
from app.maklon.models import (
    FormulaChoice,
    MaklonRequest,
    MaterialReservation,
    RawMaterial,
    ReservationStatus,
)

log = logging.getLogger(__name__)

MAX_ON_HAND = 10**12  # base units; a typo guard for restocks


class MaterialError(Exception):
    """A raw-material change refused (HTTP 409/422); nothing was changed."""

    def __init__(self, message: object):
        super().__init__(str(message))
        self.message = str(message)


@dataclass(frozen=True)
class ShortageLine:
    material: RawMaterial
    needed: int
    on_hand: int

    @property
    def missing(self) -> int:
        return self.needed - self.on_hand


class Shortage(MaterialError):
    """Not enough on hand to consume a batch's materials; `lines` says what is missing."""

    def __init__(self, lines: list[ShortageLine]):
        from flask_babel import gettext as _

        super().__init__(_("Stok bahan baku tidak cukup."))
        self.lines = lines


def material_change(*, material: RawMaterial, delta: int, reason: str, actor: Any,
                    reference: str = "") -> StockMovement:
    """Add `delta` (negative: take) to `material.on_hand` with one conditional UPDATE and
    a ledger row. Refuses (MaterialError) when it would go below zero or above the cap."""
    from flask_babel import gettext as _

    if delta == 0:
        raise MaterialError(_("Jumlah tidak boleh nol."))
    stmt = (update(RawMaterial).where(RawMaterial.id == material.id)
            .values(on_hand=RawMaterial.on_hand + delta, updated_at=utcnow())
            .returning(RawMaterial.on_hand)
            .execution_options(synchronize_session=False))
    if delta < 0:
        stmt = stmt.where(RawMaterial.on_hand >= -delta)
    else:
        stmt = stmt.where(RawMaterial.on_hand <= MAX_ON_HAND - delta)
    after = db.session.execute(stmt).scalar_one_or_none()
    if after is None:
        db.session.refresh(material)
        if delta < 0:
            raise MaterialError(_("Stok %(name)s tinggal %(left)s %(unit)s.",
                                  name=material.name, left=material.on_hand,
                                  unit=material.unit))
        raise MaterialError(_("Jumlah terlalu besar."))
    movement = StockMovement(raw_material_id=material.id, delta=delta, stock_after=after,
                             reason=reason, reference=reference[:120],
                             user_id=getattr(actor, "id", None), created_at=utcnow())
    db.session.add(movement)
    db.session.flush()
    db.session.refresh(material)
    return movement


def batch_needs(request: MaklonRequest, *, actor: Any, purpose: str) -> dict[int, int]:
    """{raw material id: whole base units} the batch of `request` needs: each formula line's
    amount per unit x quantity, rounded up. Empty when the order has no stored formula.
    Reads the composition (audited)."""
    from app.maklon.formula_crypto import composition_read

    if request.formula_choice != FormulaChoice.STORED or request.formula is None:
        return {}
    needs: dict[int, int] = {}
    for line in composition_read(request.formula, actor=actor, purpose=purpose):
        amount = line.amount * Decimal(request.quantity)
        needs[line.material_id] = needs.get(line.material_id, 0) + math.ceil(amount)
    return {material_id: qty for material_id, qty in needs.items() if qty > 0}


def _reservations(request: MaklonRequest, status: str) -> list[MaterialReservation]:
    return list(db.session.scalars(select(MaterialReservation).where(
        MaterialReservation.request_id == request.id, MaterialReservation.status == status)
        .order_by(MaterialReservation.raw_material_id)))


def materials_reserve(request: MaklonRequest, *, actor: Any) -> list[MaterialReservation]:
    """Set the batch's materials aside (`reserved` += need). Idempotent: an order that
    already has reservations keeps them. Reserving more than is on hand is allowed (the
    purchase stage is where the factory buys what is missing)."""
    existing = list(db.session.scalars(select(MaterialReservation).where(
        MaterialReservation.request_id == request.id)))
    if existing:
        return existing
    rows = []
    for material_id, quantity in sorted(batch_needs(request, actor=actor,
                                                    purpose="reserve").items()):
        db.session.execute(update(RawMaterial).where(RawMaterial.id == material_id)
                           .values(reserved=RawMaterial.reserved + quantity)
                           .execution_options(synchronize_session=False))
        row = MaterialReservation(request_id=request.id, raw_material_id=material_id,
                                  quantity=quantity, status=ReservationStatus.RESERVED)
        db.session.add(row)
        rows.append(row)
    db.session.flush()
    log.info("maklon %s: %s materials reserved", request.number, len(rows))
    return rows


def shortages(request: MaklonRequest) -> list[ShortageLine]:
    """What the reserved batch would miss if consumed now."""
    lines = []
    for row in _reservations(request, ReservationStatus.RESERVED):
        material = db.session.get_one(RawMaterial, row.raw_material_id)
        db.session.refresh(material)
        if material.on_hand < row.quantity:
            lines.append(ShortageLine(material=material, needed=row.quantity,
                                      on_hand=material.on_hand))
    return lines


def materials_consume(request: MaklonRequest, *, actor: Any) -> int:
    """Use up the reserved materials (ledger reason "consume", reference the order number):
    all or nothing. Raises Shortage listing every missing material; nothing is written
    then (each take is a conditional UPDATE inside a savepoint). Returns lines consumed."""
    rows = _reservations(request, ReservationStatus.RESERVED)
    missing = shortages(request)
    if missing:
        raise Shortage(missing)
    try:
        with db.session.begin_nested():
            for row in rows:
                material = db.session.get_one(RawMaterial, row.raw_material_id)
                material_change(material=material, delta=-row.quantity,
                                reason=StockReason.CONSUME, actor=actor,
                                reference=request.number)
                db.session.execute(
                    update(RawMaterial).where(RawMaterial.id == material.id,
                                              RawMaterial.reserved >= row.quantity)
                    .values(reserved=RawMaterial.reserved - row.quantity)
                    .execution_options(synchronize_session=False))
                row.status = ReservationStatus.CONSUMED
            db.session.flush()
    except MaterialError:
        # Another batch took the stock between the check and the take.
        raise Shortage(shortages(request)) from None
    log.info("maklon %s: %s materials consumed", request.number, len(rows))
    return len(rows)
