"""Formula services: save (encrypted), read (audited), cost per unit, key rotation.

    lines, errors = formula_lines_parse(material_ids, amounts)   # the form's rows
    formula = formula_save(formula=None, company_id=..., name=..., product_type=...,
                           lines=lines, actor=user)               # audited "formula.save"
    lines = formula_lines_read(formula, actor=user, purpose="view")  # audited decrypt
    cost = formula_cost(lines)                                    # Rupiah per unit
    result = formulas_rotate(batch_size=200, after_batch=db.session.commit)

The composition exists only inside the ciphertext (app.maklon.formula_crypto); the audit
rows name the formula, never its lines. Services flush, never commit (`formulas_rotate`
calls `after_batch` between batches so a long rotation does not hold one transaction).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from app.audit.services import audit_record
from app.core.clock import utcnow
from app.core.db import rowcount
from app.extensions import db
from app.maklon.formula_crypto import (
    CompositionUnreadable,
    FormulaKeyError,
    FormulaLine,
    composition_decrypt,
    composition_read,
    current_key_id,
    encrypt_lines,
)
from app.maklon.models import Formula, ProductType, RawMaterial
from app.maklon.pricing import material_costs

log = logging.getLogger(__name__)

NAME_MAX = 120
MAX_LINES = 60
# An amount per produced unit: up to 8 whole digits and 4 decimals, dot or comma.
_AMOUNT = re.compile(r"^(\d{1,8})(?:[.,](\d{1,4}))?$")


class FormulaError(Exception):
    """A formula save refused (HTTP 422); `errors` maps a field name to its message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def amount_parse(text: str | None) -> Decimal | None:
    """A positive decimal with at most 4 decimals (`0,3`, `12.5000`), else None."""
    match = _AMOUNT.match((text or "").strip())
    if match is None:
        return None
    value = Decimal(f"{match.group(1)}.{match.group(2) or '0'}")
    return value if value > 0 else None


def active_materials() -> list[RawMaterial]:
    """The raw materials a formula line may name, by name."""
    return list(db.session.scalars(select(RawMaterial).where(RawMaterial.active.is_(True))
                                   .order_by(RawMaterial.name, RawMaterial.id)))


def formula_lines_parse(material_ids: list[str], amounts: list[str]
                        ) -> tuple[list[FormulaLine], dict[str, str]]:
    """The form's rows as lines, and {"line-<i>-material"/"line-<i>-amount"/"lines":
    message} for what is wrong. Rows left wholly empty are skipped; a material may appear
    once; it must be an active raw material."""
    active = {m.id for m in active_materials()}
    lines: list[FormulaLine] = []
    errors: dict[str, str] = {}
    seen: set[int] = set()
    for i in range(max(len(material_ids), len(amounts))):
        raw_id = (material_ids[i] if i < len(material_ids) else "").strip()
        raw_amount = (amounts[i] if i < len(amounts) else "").strip()
        if not raw_id and not raw_amount:
            continue
        material_id = int(raw_id) if raw_id.isdigit() and len(raw_id) < 12 else None
        amount = amount_parse(raw_amount)
        if material_id is None or material_id not in active:
            errors[f"line-{i}-material"] = _("Pilih bahan baku.")
        elif material_id in seen:
            errors[f"line-{i}-material"] = _("Bahan ini sudah ada di baris lain.")
        if amount is None:
            errors[f"line-{i}-amount"] = _("Tulis jumlah lebih dari 0 dengan paling banyak "
                                            "4 desimal, misalnya 0,25.")
        if material_id is not None:
            seen.add(material_id)
        if material_id is not None and amount is not None:
            lines.append(FormulaLine(material_id=material_id, amount=amount))
    if not errors and not lines:
        errors["lines"] = _("Isi paling sedikit satu bahan.")
    if len(lines) > MAX_LINES:
        errors["lines"] = _("Paling banyak %(n)s bahan.", n=MAX_LINES)
    return lines, errors


def formula_save(*, formula: Formula | None, company_id: int, name: str, product_type: str,
                 lines: list[FormulaLine], actor: Any) -> Formula:
    """Create (formula None) or replace a formula of `company_id`; the composition is
    encrypted under the current key. Raises FormulaError (422) on bad input; audits
    "formula.save" with the name and key id only."""
    errors: dict[str, str] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = _("Wajib diisi.")
    elif len(name) > NAME_MAX:
        errors["name"] = _("Maksimal %(max)d karakter.", max=NAME_MAX)
    if product_type not in ProductType.ALL:
        errors["product_type"] = _("Pilih jenis produk.")
    if not lines:
        errors["lines"] = _("Isi paling sedikit satu bahan.")
    ids = [line.material_id for line in lines]
    if len(set(ids)) != len(ids):
        errors["lines"] = _("Setiap bahan hanya boleh muncul sekali.")
    if any(line.amount <= 0 or line.amount.as_tuple().exponent < -4  # type: ignore[operator]
           for line in lines):
        errors["lines"] = _("Jumlah harus lebih dari 0 dengan paling banyak 4 desimal.")
    if errors:
        raise FormulaError(errors)
    created = formula is None
    if formula is None:
        # The ciphertext is bound to the formula's id (associated data): flush for an id.
        formula = Formula(company_id=company_id, composition="", key_id="",
                          created_by_id=getattr(actor, "id", None))
        db.session.add(formula)
    formula.name = name
    formula.product_type = product_type
    db.session.flush()
    normalised = [FormulaLine(material_id=line.material_id,
                              amount=line.amount.quantize(Decimal("0.0001")))
                  for line in lines]
    formula.composition, formula.key_id = encrypt_lines(formula.id, normalised)
    formula.updated_at = utcnow()
    audit_record("formula.save", actor=actor, object_type="formula", object_id=formula.id,
                 after={"name": name, "product_type": product_type, "key_id": formula.key_id,
                        "created": created}, note=name)
    db.session.flush()
    return formula


def formula_lines_read(formula: Formula, *, actor: Any, purpose: str) -> list[FormulaLine]:
    """The composition, decrypted and audited ("formula.decrypt" with `purpose`). The
    caller has checked `can_read_composition` first."""
    return composition_read(formula, actor=actor, purpose=purpose)


@dataclass(frozen=True)
class FormulaCost:
    """Raw-material cost of one produced unit, Rupiah (before any import surcharge)."""

    local: Decimal
    imported: Decimal
    unknown: tuple[int, ...]  # material ids no longer in the table

    @property
    def total(self) -> Decimal:
        return self.local + self.imported


def materials_by_id(ids: set[int]) -> dict[int, RawMaterial]:
    if not ids:
        return {}
    return {m.id: m for m in db.session.scalars(select(RawMaterial)
                                                 .where(RawMaterial.id.in_(ids)))}


def formula_cost(lines: list[FormulaLine]) -> FormulaCost:
    """What the lines cost per produced unit at today's raw-material unit costs."""
    materials = materials_by_id({line.material_id for line in lines})
    local, imported = material_costs(lines, materials)
    unknown = tuple(line.material_id for line in lines if line.material_id not in materials)
    return FormulaCost(local=local, imported=imported, unknown=unknown)


def line_cost(line: FormulaLine, material: RawMaterial | None) -> Decimal | None:
    if material is None:
        return None
    return line.amount * Decimal(str(material.unit_cost))


# Key rotation -------------------------------------------------------------------------------
@dataclass
class RotationResult:
    key_id: str
    rotated: int = 0
    already_current: int = 0
    failed: list[tuple[int, str]] = field(default_factory=list)  # (formula id, reason)


def formulas_rotate(*, batch_size: int = 200, actor: Any = None,
                    after_batch: Callable[[], None] | None = None) -> RotationResult:
    """Re-encrypt every formula whose key id is not the current key's, `batch_size` at a
    time (ordered by id; `after_batch()` runs after each batch, e.g. a commit). Idempotent:
    a second run finds nothing to do. A formula whose key is missing from FORMULA_KEYS or
    whose ciphertext does not decrypt is left untouched and listed in `failed`. A formula
    saved meanwhile is not overwritten (conditional UPDATE on the old ciphertext). Audits
    "formula.rotate" once with the counts.

    Rotation decrypts with `composition_decrypt` (no audit row per formula): the single
    "formula.rotate" row is the trace of this bulk read, which shows nobody a composition.
    Raises FormulaKeyError when FORMULA_KEYS itself is malformed."""
    key_id = current_key_id()
    result = RotationResult(key_id=key_id)
    result.already_current = db.session.scalar(
        select(func.count()).select_from(Formula).where(Formula.key_id == key_id)) or 0
    last_id = 0
    while True:
        batch = db.session.execute(
            select(Formula.id, Formula.composition, Formula.key_id)
            .where(Formula.key_id != key_id, Formula.id > last_id)
            .order_by(Formula.id).limit(batch_size)).all()
        if not batch:
            break
        for formula_id, stored, old_key in batch:
            last_id = formula_id
            try:
                lines = composition_decrypt(formula_id, stored)
            except (FormulaKeyError, CompositionUnreadable) as error:
                result.failed.append((formula_id, str(error)))
                continue
            composition, new_key = encrypt_lines(formula_id, lines)
            changed = rowcount(db.session.execute(
                update(Formula).where(Formula.id == formula_id,
                                      Formula.composition == stored)
                .values(composition=composition, key_id=new_key)
                .execution_options(synchronize_session=False)))
            if changed:
                result.rotated += 1
                log.info("formula %s re-encrypted: key %s -> %s", formula_id, old_key,
                         new_key)
        if after_batch is not None:
            after_batch()
    audit_record("formula.rotate", actor=actor, object_type="formula", object_id="*",
                 after={"key_id": key_id, "rotated": result.rotated,
                        "already_current": result.already_current,
                        "failed": len(result.failed)})
    db.session.flush()
    return result
