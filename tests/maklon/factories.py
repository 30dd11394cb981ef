"""Maklon objects for tests: companies with clients, raw materials, encrypted formulas,
requests in any status. They add and flush; the test commits when it needs to."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from app.accounts.models import Company, User
from app.core.clock import to_wib, utcnow
from app.extensions import db
from app.maklon.formula_crypto import FormulaLine, encrypt_lines
from app.maklon.models import (
    Formula,
    FormulaChoice,
    MaklonRequest,
    MaterialOrigin,
    Packaging,
    ProductType,
    RawMaterial,
    RequestStatus,
)
from app.maklon.requests import request_number
from tests.factories import make_user


def wib_today() -> date:
    """Today on the WIB calendar, the one the app judges dates by (the machine's own date
    is UTC: from 17:00 UTC it is already tomorrow in Jakarta)."""
    return to_wib(utcnow()).date()

_sequence = itertools.count(1)


def make_company(*, name: str | None = None) -> Company:
    n = next(_sequence)
    company = Company(name=name or f"PT Brand {n}", npwp="01.234.567.8-901.000",
                      address=f"Jl. Merdeka {n}, Bandung", is_client=True)
    db.session.add(company)
    db.session.flush()
    return company


def make_maklon_client(*, company: Company | None = None, roles: tuple[str, ...] = ("client",),
                       **kwargs) -> User:
    """A client user belonging to `company` (a new one by default)."""
    user = make_user(roles=roles, **kwargs)
    user.company_id = (company or make_company()).id
    db.session.flush()
    return user


def make_raw_material(*, name: str | None = None, unit: str = "g", on_hand: int = 100_000,
                      unit_cost: str = "0.5", origin: str = MaterialOrigin.LOCAL,
                      reorder_level: int = 1_000) -> RawMaterial:
    n = next(_sequence)
    material = RawMaterial(code=f"RM-{n:04d}", name=name or f"Bahan {n}", unit=unit,
                           on_hand=on_hand, reserved=0, reorder_level=reorder_level,
                           origin=origin, unit_cost=Decimal(unit_cost))
    db.session.add(material)
    db.session.flush()
    return material


def make_formula(*, company: Company, lines: list[tuple[RawMaterial, str]],
                 name: str | None = None) -> Formula:
    """A formula of `company` with `lines` [(material, amount per unit)], encrypted."""
    formula = Formula(company_id=company.id, name=name or f"Formula {next(_sequence)}",
                      product_type=ProductType.SKINCARE, composition="", key_id="")
    db.session.add(formula)
    db.session.flush()
    formula.composition, formula.key_id = encrypt_lines(
        formula.id, [FormulaLine(material_id=m.id, amount=Decimal(a)) for m, a in lines])
    db.session.flush()
    return formula


def make_maklon_request(*, client: User, status: str = RequestStatus.SUBMITTED,
                        quantity: int = 2_000, size: int = 30,
                        formula: Formula | None = None, **kwargs) -> MaklonRequest:
    """A complete, valid request of `client`'s company in `status`."""
    n = next(_sequence)
    values = dict(
        number=request_number(), company_id=client.company_id,
        client_id=client.id, status=status, product_type=ProductType.SKINCARE,
        product_name=f"Serum Uji {n}", packaging=Packaging.BOTTLE, size=size,
        size_unit="ml", quantity=quantity,
        formula_choice=FormulaChoice.STORED if formula else FormulaChoice.DEVELOP,
        formula_id=formula.id if formula else None,
        desired_date=wib_today() + timedelta(days=90), notes="",
        submitted_at=None if status == RequestStatus.DRAFT else utcnow())
    values.update(kwargs)
    request = MaklonRequest(**values)
    db.session.add(request)
    db.session.flush()
    return request


def make_signed_order(*, client: User, total: int = 15_000_000,
                      split: tuple[int, int, int] = (30, 40, 30),
                      paid: tuple[str, ...] = (), promised_in_days: int = 60,
                      **kwargs) -> MaklonRequest:
    """A signed maklon order of `client`'s company as signing leaves it: stage
    concept_approved, the three milestones (dp unlocks material_purchase, mid formulation,
    final shipping_scheduled; `paid` lists the kinds already paid) and the first
    ProductionStage row (by the system)."""
    from app.maklon.models import (
        MilestoneKind,
        MilestonePayment,
        MilestoneStatus,
        ProductionStage,
        Stage,
    )

    now = utcnow()
    request = make_maklon_request(client=client, status=RequestStatus.SIGNED,
                                  stage=Stage.CONCEPT_APPROVED, signed_at=now,
                                  promised_date=wib_today() + timedelta(days=promised_in_days),
                                  **kwargs)
    unlocks = {MilestoneKind.DP: Stage.MATERIAL_PURCHASE, MilestoneKind.MID: Stage.FORMULATION,
               MilestoneKind.FINAL: Stage.SHIPPING_SCHEDULED}
    amounts = [total * p // 100 for p in split]
    amounts[-1] = total - sum(amounts[:-1])
    for position, (kind, percent, amount) in enumerate(
            zip(MilestoneKind.ALL, split, amounts, strict=True), start=1):
        is_paid = kind in paid
        db.session.add(MilestonePayment(
            request_id=request.id, kind=kind, position=position, percent=percent,
            amount=amount, unlocks_stage=unlocks[kind],
            status=MilestoneStatus.PAID if is_paid else MilestoneStatus.UNPAID,
            paid_at=now if is_paid else None))
    db.session.add(ProductionStage(request_id=request.id, stage=Stage.CONCEPT_APPROVED,
                                   staff_id=None, staff_name="",
                                   note="Kontrak ditandatangani", entered_at=now))
    db.session.flush()
    return request


def pay_milestone(request: MaklonRequest, kind: str) -> None:
    """Mark one milestone of `request` paid (what the payments module does)."""
    from app.maklon.models import MilestonePayment, MilestoneStatus

    milestone = db.session.scalar(select(MilestonePayment).where(
        MilestonePayment.request_id == request.id, MilestonePayment.kind == kind))
    milestone.status = MilestoneStatus.PAID
    milestone.paid_at = utcnow()
    db.session.flush()

# Quotes, contracts and milestone payments (QUOTE) ------------------------------------------
def make_quote(*, request: MaklonRequest, staff: User | None = None, approve: bool = True,
               split: dict[str, int] | None = None, valid_days: int = 14,
               quantity: int | None = None):
    """A quote version of `request` made through the service; approved by a new admin
    when `approve`. Flushes."""
    from app.maklon.quotes import DEFAULT_SPLIT, QuoteTerms, quote_approve, quote_create

    today = wib_today()
    staff = staff or make_user(roles=("staff",))
    terms = QuoteTerms(delivery_date=today + timedelta(days=60),
                       valid_until=today + timedelta(days=valid_days),
                       split=dict(split or DEFAULT_SPLIT), quantity=quantity)
    quote = quote_create(request=request, actor=staff, terms=terms)
    if approve:
        quote_approve(quote=quote, actor=make_user(roles=("admin",)))
    return quote


def sign_contract(*, request: MaklonRequest, client: User | None = None):
    """Sign `request`'s approved latest quote as `client` (default: its client) with the
    factory password. Flushes."""
    from app.maklon.contracts import SignContext, contract_sign
    from tests.factories import DEFAULT_PASSWORD

    return contract_sign(request=request, client=client or request.client,
                         secret=DEFAULT_PASSWORD,
                         context=SignContext(ip="203.0.113.7", user_agent="pytest"))


def make_signed_request(*, client: User | None = None, **kwargs) -> MaklonRequest:
    """A request with an approved quote, signed (milestones created). Commits."""
    client = client or make_maklon_client()
    request = make_maklon_request(client=client, **kwargs)
    make_quote(request=request)
    sign_contract(request=request)
    db.session.commit()
    return request


def pay_milestone_sandbox(milestone, *, payer: User | None = None, method: str = "va_bca",
                  twice: bool = False):
    """Pay a milestone like the client would, through the sandbox gateway (commits; the
    webhook and the jobs run in the test's thread). Returns the Payment."""
    from app.maklon.milestones import milestone_payment_start
    from app.payments.gateways.sandbox import sandbox_simulate
    from app.payments.services import payment_charge

    payment, _ = milestone_payment_start(milestone=milestone,
                                         payer=payer or milestone.request.client,
                                         method=method)
    db.session.commit()
    payment_charge(payment)
    sandbox_simulate(reference=payment.reference, action="pay", twice=twice)
    db.session.commit()
    return payment


def reach_stage(request: MaklonRequest, stage: str, *, staff: User | None = None) -> None:
    """Move a signed order forward to `stage` as production does: each gating milestone
    marked paid on the way (`pay_milestone`) and each step taken by a staff member through
    `stage_advance`. Flushes."""
    from app.maklon.models import MilestoneStatus
    from app.maklon.stages import GATES, NEXT_STAGE, QcResult, milestone_for, stage_advance

    staff = staff or make_user(roles=("staff",))
    while request.stage != stage:
        to = NEXT_STAGE[request.stage]
        gate = GATES.get(to)
        if gate and milestone_for(request, gate).status != MilestoneStatus.PAID:
            pay_milestone(request, gate)
        stage_advance(request=request, to=to, actor=staff,
                      qc_result=QcResult.PASS if to == "packaging" else "")
        db.session.refresh(request)
