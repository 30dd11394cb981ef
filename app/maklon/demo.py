"""Maklon demo data for `make run` (called by app.demo.demo_load; never in production).

The demo client (client@racik.test) belongs to PT Rina Beauty Indonesia, which keeps one
encrypted formula; the factory stocks a dozen raw materials (imported and local, two of
them under their reorder level). The demo staff member is a production manager (may read
compositions). Idempotent: looked up by code / name first.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from app.accounts.models import Company, User
from app.extensions import db
from app.maklon.formula_crypto import FormulaLine, encrypt_lines
from app.maklon.models import Formula, MaterialOrigin, ProductType, RawMaterial

DEMO_COMPANY = "PT Rina Beauty Indonesia"
DEMO_FORMULA = "Serum Niacinamide 10% Brightening"

# code, name, INCI, unit, on hand, reorder level, origin, Rupiah per unit
DEMO_MATERIALS = (
    ("RM-AQU-01", "Air demineral", "Aqua", "ml", 900_000, 100_000, MaterialOrigin.LOCAL,
     "0.02"),
    ("RM-NIA-01", "Niacinamide", "Niacinamide", "g", 40_000, 10_000, MaterialOrigin.IMPORT,
     "1.85"),
    ("RM-GLY-01", "Gliserin nabati", "Glycerin", "g", 150_000, 20_000, MaterialOrigin.LOCAL,
     "0.045"),
    ("RM-HYA-01", "Asam hialuronat", "Sodium Hyaluronate", "g", 1_500, 2_000,
     MaterialOrigin.IMPORT, "28"),
    ("RM-PAN-01", "Panthenol (Pro-Vitamin B5)", "Panthenol", "g", 12_000, 3_000,
     MaterialOrigin.IMPORT, "0.95"),
    ("RM-CEN-01", "Ekstrak pegagan", "Centella Asiatica Extract", "ml", 25_000, 5_000,
     MaterialOrigin.LOCAL, "0.6"),
    ("RM-ALO-01", "Gel lidah buaya", "Aloe Barbadensis Leaf Juice", "ml", 80_000, 10_000,
     MaterialOrigin.LOCAL, "0.08"),
    ("RM-PHE-01", "Phenoxyethanol", "Phenoxyethanol", "g", 4_000, 5_000,
     MaterialOrigin.IMPORT, "0.7"),
    ("RM-XAN-01", "Xanthan gum", "Xanthan Gum", "g", 9_000, 1_000, MaterialOrigin.IMPORT,
     "0.35"),
    ("RM-VCO-01", "Minyak kelapa murni", "Cocos Nucifera Oil", "ml", 60_000, 8_000,
     MaterialOrigin.LOCAL, "0.09"),
    ("RM-KUN-01", "Ekstrak kunyit", "Curcuma Longa Root Extract", "ml", 15_000, 3_000,
     MaterialOrigin.LOCAL, "0.4"),
    ("RM-PAR-01", "Pewangi mawar", "Parfum", "ml", 6_000, 1_000, MaterialOrigin.IMPORT,
     "2.1"),
)

# Per 30 ml bottle.
DEMO_FORMULA_LINES = (("RM-AQU-01", "25.2"), ("RM-NIA-01", "3"), ("RM-GLY-01", "1.2"),
                      ("RM-HYA-01", "0.03"), ("RM-PAN-01", "0.3"), ("RM-PHE-01", "0.27"))


def demo_maklon() -> None:
    """Raw materials, the demo client's company and formula. Flushes."""
    materials = {}
    for code, name, inci, unit, on_hand, reorder, origin, cost in DEMO_MATERIALS:
        material = db.session.scalars(select(RawMaterial).where(RawMaterial.code == code)).first()
        if material is None:
            material = RawMaterial(code=code, name=name, inci_name=inci, unit=unit,
                                   on_hand=on_hand, reserved=0, reorder_level=reorder,
                                   origin=origin, unit_cost=Decimal(cost))
            db.session.add(material)
        materials[code] = material
    db.session.flush()
    company = db.session.scalars(select(Company).where(Company.name == DEMO_COMPANY)).first()
    if company is None:
        company = Company(name=DEMO_COMPANY, business_type="skincare", city="Jakarta Selatan",
                          npwp="09.876.543.2-109.000", is_client=True,
                          address="Jl. Kemang Raya No. 5, Mampang Prapatan\nJakarta Selatan "
                                  "12730")
        db.session.add(company)
        db.session.flush()
    client = db.session.scalars(select(User).where(User.email == "client@racik.test")).one()
    if client.company_id is None:
        client.company_id = company.id
    formula = db.session.scalars(select(Formula).where(Formula.company_id == company.id,
                                                       Formula.name == DEMO_FORMULA)).first()
    if formula is None:
        formula = Formula(company_id=company.id, name=DEMO_FORMULA,
                          product_type=ProductType.SKINCARE, composition="", key_id="",
                          created_by_id=client.id)
        db.session.add(formula)
        db.session.flush()
        formula.composition, formula.key_id = encrypt_lines(formula.id, [
            FormulaLine(material_id=materials[code].id, amount=Decimal(amount))
            for code, amount in DEMO_FORMULA_LINES])
    db.session.flush()
