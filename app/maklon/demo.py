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
    _demo_orders(client=client, formula=formula)


# product, type, packaging, size, quantity, formula?, what happens to it
DEMO_REQUESTS = (
    ("Body Lotion Kunyit Cerah", "body_care", "bottle", 200, 3_000, False, "draft"),
    ("Sampo Lidah Buaya Segar", "hair_care", "bottle", 250, 5_000, False, "submitted"),
    ("Toner Centella Menenangkan", "skincare", "bottle", 100, 2_000, False, "approved"),
    (DEMO_FORMULA, "skincare", "bottle", 30, 2_000, True, "production"),
    ("Sabun Cair Mawar", "body_care", "bottle", 250, 1_000, False, "completed"),
)


def _demo_orders(*, client: User, formula: Formula) -> None:
    """The demo client's requests, one at each point of the journey: a draft, one waiting
    for a quote, one with an approved quote ready to sign (and a negotiation thread), one
    in formulation (DP and mid paid, materials reserved and consumed) and one completed
    (all paid; its goods can be moved into the client's store). Through the real services,
    so every row (quotes, contract, seal, payments, invoices, stages) is what users make.
    Skipped when the company has requests already."""
    from datetime import timedelta

    from app.core.clock import to_wib, utcnow
    from app.maklon.contracts import SignContext, contract_sign
    from app.maklon.models import MaklonRequest, MilestoneKind, Stage
    from app.maklon.otdr import otdr_compute
    from app.maklon.quotes import DEFAULT_SPLIT, QuoteTerms, quote_approve, quote_create
    from app.maklon.requests import request_save, request_submit
    from app.maklon.stages import GATES, QcResult, stage_advance

    if db.session.scalars(select(MaklonRequest.id).where(
            MaklonRequest.company_id == client.company_id)).first() is not None:
        return
    staff = db.session.scalars(select(User).where(User.email == "staff@racik.test")).one()
    admin = db.session.scalars(select(User).where(User.email == "admin@racik.test")).one()
    today = to_wib(utcnow()).date()
    for product, kind, packaging, size, quantity, stored, fate in DEMO_REQUESTS:
        values = {"product_type": kind, "product_name": product, "packaging": packaging,
                  "size": size, "size_unit": "ml", "quantity": quantity,
                  "formula_choice": "stored" if stored else "develop",
                  "formula_id": formula.id if stored else None,
                  "desired_date": today + timedelta(days=150),
                  "notes": "Aroma lembut, tanpa pewarna buatan. Label menyusul dari tim desain."}
        if fate == "draft":
            request_save(client=client, values={**values, "quantity": None})
            continue
        request = request_submit(client=client, values=values)
        if fate == "submitted":
            continue
        quote = quote_create(request=request, actor=staff, terms=QuoteTerms(
            delivery_date=today + timedelta(days=140), valid_until=today + timedelta(days=21),
            split=dict(DEFAULT_SPLIT), note="Harga sudah termasuk uji stabilitas 2 minggu."))
        quote_approve(quote=quote, actor=admin)
        if fate == "approved":
            from app.maklon.quotes import message_post

            message_post(request=request, author=client, body="Apakah bisa memakai botol "
                         "kaca amber? Kami juga ingin tahu harga untuk 3.000 unit.",
                         counter_quantity=3_000)
            message_post(request=request, author=staff, body="Bisa, botol kaca amber "
                         "menambah sekitar Rp 900 per unit. Penawaran ini untuk botol PET; "
                         "kami siapkan versi baru bila Bapak/Ibu setuju.")
            continue
        from app.accounts.demo import DEMO_PASSWORD

        contract_sign(request=request, client=client, secret=DEMO_PASSWORD,
                      context=SignContext(ip="127.0.0.1", user_agent="Racik demo"))
        paid = ((MilestoneKind.DP, MilestoneKind.MID) if fate == "production"
                else MilestoneKind.ALL)
        milestones = {milestone.kind: milestone for milestone in request.milestones}
        steps = [(Stage.MATERIAL_PURCHASE, "PO bahan baku dikirim ke pemasok.", ""),
                 (Stage.FORMULATION, "Batch dicampur di tangki 500 L.", "")]
        if fate == "completed":
            steps += [(Stage.QC, "Sampel dikirim ke lab QC.", ""),
                      (Stage.PACKAGING, "pH 5,5, viskositas sesuai spesifikasi.",
                       QcResult.PASS),
                      (Stage.SHIPPING_SCHEDULED, "Dijemput kurir Jumat pagi.", ""),
                      (Stage.DONE, "Diterima gudang klien.", "")]
        for to, note, qc in steps:
            if GATES.get(to) in paid:  # each milestone is paid when it falls due
                _demo_pay(milestones[GATES[to]], client)
            stage_advance(request=request, to=to, actor=staff, note=note, qc_result=qc)
    otdr_compute()
    db.session.flush()


def _demo_pay(milestone, client: User) -> None:
    """Pay a milestone through the sandbox gateway, as if the client had transferred."""
    from app.maklon.milestones import milestone_payment_start
    from app.payments.gateways.sandbox import sandbox_pay_now
    from app.payments.services import payment_charge

    payment, _ = milestone_payment_start(milestone=milestone, payer=client, method="va_bca")
    payment_charge(payment)
    sandbox_pay_now(payment.reference)
