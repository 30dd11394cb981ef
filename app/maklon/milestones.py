"""The payment schedule of a signed maklon order: DP, mid-process and final payment.

    milestones_create(request=req, quote=quote)        # at signing (app.maklon.contracts)
    payment = milestone_payment_start(milestone=m, payer=user, method="va_bca")
    milestone_settled(payment)                         # a payment settled (payment_settled)
    milestone_refunded(payment)                        # its money went back at the gateway

The payable kind "milestone" and its handlers of app.payments.signals are connected when
the maklon blueprint is registered (`payment_news_connect`).

Amounts are whole Rupiah: each milestone takes floor(total x percent / 100), the last one the
remainder, so they always add up to the quote's total exactly. Each milestone unlocks a
production stage (`UNLOCKS`; the production board's gates read `MilestonePayment.status`).
A milestone is paid through the payments module: a `Payment` with `milestone_id` (a new one
when the previous one expired), reference `MS-<request id>-<kind>-<random>`. Settling marks
the milestone PAID once (conditional UPDATE), audits it, queues its invoice and emails the
client; a payment that expires leaves the milestone unpaid (pay again). When the gateway
sends all of a milestone's money back, the milestone is unpaid again (the stage it unlocks
is locked until it is paid anew), audited, and client and admins are told.
"""

from __future__ import annotations

import logging
import secrets

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from app.accounts.models import Role, RoleName, User
from app.audit.services import audit_record
from app.core.clock import utcnow
from app.core.db import rowcount
from app.core.http import app_path, public_url
from app.core.mail import mail_queue
from app.core.money import format_rupiah
from app.core.notices import N_, notice_kind, notice_send
from app.core.queue import enqueue_after_commit
from app.extensions import db
from app.maklon.labels import STAGE_LABELS
from app.maklon.models import (
    MaklonRequest,
    MilestoneKind,
    MilestonePayment,
    MilestoneStatus,
    Quote,
    RequestStatus,
    Stage,
)
from app.payments.gateways.base import METHODS
from app.payments.models import Invoice, Payment, PayStatus
from app.payments.services import payment_create, payment_method_refusal
from app.payments.signals import (
    payable_kind_register,
    payment_closed,
    payment_refunded,
    payment_settled,
)

log = logging.getLogger(__name__)

UNLOCKS: dict[str, str] = {
    MilestoneKind.DP: Stage.MATERIAL_PURCHASE, MilestoneKind.MID: Stage.FORMULATION,
    MilestoneKind.FINAL: Stage.SHIPPING_SCHEDULED}
POSITIONS: dict[str, int] = {MilestoneKind.DP: 1, MilestoneKind.MID: 2, MilestoneKind.FINAL: 3}
KIND_BY_SLUG = {kind: kind for kind in MilestoneKind.ALL}
INVOICE_LINE_NAMES = {MilestoneKind.DP: "Termin DP", MilestoneKind.MID: "Termin Tengah",
                      MilestoneKind.FINAL: "Termin Pelunasan"}


MILESTONE_REFUNDED_NOTICE = "milestone_refunded"
notice_kind(MILESTONE_REFUNDED_NOTICE,
            N_("Dana %(amount)s untuk %(kind)s pesanan %(number)s dikembalikan lewat gateway "
               "pembayaran; termin ini belum lunas lagi."))


def milestone_due_stage(milestone: MilestonePayment) -> str:
    """The production stage from which `milestone` is due: the one just before the stage
    it unlocks (DP at concept approval, i.e. right after signing; the mid payment once raw
    materials are being bought; the final payment at packaging)."""
    return Stage.ALL[max(Stage.ALL.index(milestone.unlocks_stage) - 1, 0)]


def milestone_is_due(milestone: MilestonePayment, request: MaklonRequest) -> bool:
    """Whether the client may pay `milestone` now: the order is signed and production has
    reached the milestone's due stage (an earlier milestone's gate keeps a later one from
    coming due before the earlier one is paid)."""
    if request.status != RequestStatus.SIGNED or request.stage not in Stage.ALL:
        return False
    return Stage.ALL.index(request.stage) >= Stage.ALL.index(milestone_due_stage(milestone))


class MilestoneError(Exception):
    """Paying a milestone refused (409/422); nothing was changed."""

    def __init__(self, message: object, *, status: int = 409, field: str = ""):
        super().__init__(str(message))
        self.message = str(message)
        self.status = status
        self.field = field


def milestone_amounts(total: int, split: dict[str, int]) -> dict[str, int]:
    """Whole Rupiah per milestone in DP, mid, final order; the last takes the remainder."""
    kinds = [kind for kind in MilestoneKind.ALL if kind in split]
    amounts: dict[str, int] = {}
    for kind in kinds[:-1]:
        amounts[kind] = total * int(split[kind]) // 100
    amounts[kinds[-1]] = total - sum(amounts.values())
    return amounts


def milestones_create(*, request: MaklonRequest, quote: Quote) -> list[MilestonePayment]:
    """The three milestones of a just-signed order, from the quote's split. Flushes."""
    amounts = milestone_amounts(quote.total, quote.milestone_split)
    rows = []
    for kind in MilestoneKind.ALL:
        row = MilestonePayment(request_id=request.id, kind=kind, position=POSITIONS[kind],
                               percent=int(quote.milestone_split[kind]), amount=amounts[kind],
                               unlocks_stage=UNLOCKS[kind], status=MilestoneStatus.UNPAID,
                               created_at=utcnow())
        db.session.add(row)
        rows.append(row)
    db.session.flush()
    return rows


def milestones_of(request_id: int) -> list[MilestonePayment]:
    return list(db.session.scalars(select(MilestonePayment).where(
        MilestonePayment.request_id == request_id).order_by(MilestonePayment.position)))


def milestone_payments(milestone_id: int) -> list[Payment]:
    """The payments tried for a milestone, newest first."""
    return list(db.session.scalars(select(Payment).where(
        Payment.milestone_id == milestone_id).order_by(Payment.id.desc())))


def milestone_invoice(milestone_id: int) -> Invoice | None:
    return db.session.scalars(select(Invoice).where(
        Invoice.milestone_id == milestone_id)).first()


def open_payment(milestone_id: int) -> Payment | None:
    """A pending payment still within its time, if the client already started one."""
    return db.session.scalars(select(Payment).where(
        Payment.milestone_id == milestone_id, Payment.status == PayStatus.PENDING,
        Payment.expires_at > utcnow()).order_by(Payment.id.desc()).limit(1)).first()


def milestone_payment_start(*, milestone: MilestonePayment, payer: User,
                            method: str) -> tuple[Payment, bool]:
    """The payment for `milestone`: the pending one still open (created False), else a new
    PENDING payment by `method` (created True; the caller commits, then charges it with
    `payment_charge`). Raises MilestoneError: unknown method or one that cannot pay the
    amount (422: a retail outlet above its limit), paid already, the
    order not signed or the milestone not due yet (`milestone_is_due`) (409). Flushes."""
    if method not in METHODS:
        raise MilestoneError(_l("Pilih metode pembayaran."), status=422, field="method")
    # One client at a time per milestone (PostgreSQL row lock; SQLite writers queue).
    milestone = db.session.scalars(
        select(MilestonePayment).where(MilestonePayment.id == milestone.id)
        .with_for_update().execution_options(populate_existing=True)).one()
    if milestone.status == MilestoneStatus.PAID:
        raise MilestoneError(_l("Termin ini sudah lunas."))
    request = db.session.get(MaklonRequest, milestone.request_id)
    if request.status != RequestStatus.SIGNED:
        raise MilestoneError(_l("Pesanan ini tidak menerima pembayaran."))
    if not milestone_is_due(milestone, request):
        raise MilestoneError(_l(
            "Termin ini belum jatuh tempo: dapat dibayar saat produksi mencapai tahap "
            "%(stage)s.", stage=STAGE_LABELS[milestone_due_stage(milestone)]))
    existing = open_payment(milestone.id)
    if existing is not None:
        return existing, False
    refusal = payment_method_refusal(method, milestone.amount)
    if refusal:  # e.g. more than a retail-outlet cashier takes in one payment
        raise MilestoneError(refusal, status=422, field="method")
    waiting = db.session.scalars(select(Payment.id).where(
        Payment.milestone_id == milestone.id,
        Payment.status.in_((PayStatus.PAID, PayStatus.REVIEW)))).first()
    if waiting is not None:
        raise MilestoneError(_l("Pembayaran termin ini sudah masuk dan sedang diproses."))
    payment = payment_create(
        reference=f"MS-{request.id}-{milestone.kind}-{secrets.token_hex(3)}".upper(),
        payer_id=payer.id, method=method, amount=milestone.amount,
        milestone_id=milestone.id)
    log.info("milestone %s of %s: payment %s started", milestone.kind, request.number,
             payment.reference)
    return payment, True


def milestone_settled(payment: Payment) -> bool:
    """A milestone's payment settled: mark the milestone PAID (once), audit, queue its
    invoice and email the client. Idempotent: False when it was paid already."""
    now = utcnow()
    changed = rowcount(db.session.execute(
        update(MilestonePayment).where(MilestonePayment.id == payment.milestone_id,
                                       MilestonePayment.status == MilestoneStatus.UNPAID)
        .values(status=MilestoneStatus.PAID, paid_at=payment.paid_at or now)
        .execution_options(synchronize_session=False)))
    if changed != 1:
        return False
    milestone = db.session.get(MilestonePayment, payment.milestone_id)
    db.session.refresh(milestone)
    request = milestone.request
    audit_record("maklon.milestone_paid", actor=None, object_type="maklon_request",
                 object_id=request.number,
                 before={"kind": milestone.kind, "status": MilestoneStatus.UNPAID},
                 after={"kind": milestone.kind, "status": MilestoneStatus.PAID,
                        "amount": milestone.amount, "payment": payment.reference})
    enqueue_after_commit("jobs.payments.milestone_invoice_issue", milestone.id,
                         queue="invoices")
    client = request.client
    mail_queue(to=client.email, template="maklon_milestone_paid", locale=client.locale,
               subject=_l("Pembayaran diterima: %(number)s", number=request.number),
               name=client.name, request=request, milestone=milestone, payment=payment,
               link=public_url("maklon.milestones", number=request.number))
    db.session.flush()
    log.info("milestone %s of %s paid by %s", milestone.kind, request.number,
             payment.reference)
    return True


def milestone_refunded(payment: Payment) -> bool:
    """All of a milestone payment's money went back at the gateway: the milestone it paid
    is UNPAID again (once; the production gate it opens closes, the client may pay
    again), audited ("maklon.milestone_refunded"), client and admins told. Returns False
    when the milestone was not paid (nothing to undo)."""
    changed = rowcount(db.session.execute(
        update(MilestonePayment).where(MilestonePayment.id == payment.milestone_id,
                                       MilestonePayment.status == MilestoneStatus.PAID)
        .values(status=MilestoneStatus.UNPAID, paid_at=None)
        .execution_options(synchronize_session=False)))
    if changed != 1:
        return False
    milestone = db.session.get(MilestonePayment, payment.milestone_id)
    db.session.refresh(milestone)
    request = milestone.request
    audit_record("maklon.milestone_refunded", actor=None, object_type="maklon_request",
                 object_id=request.number,
                 before={"kind": milestone.kind, "status": MilestoneStatus.PAID},
                 after={"kind": milestone.kind, "status": MilestoneStatus.UNPAID,
                        "amount": payment.refunded_amount, "payment": payment.reference})
    params = {"amount": format_rupiah(payment.refunded_amount),
              "kind": INVOICE_LINE_NAMES[milestone.kind], "number": request.number}
    link = app_path("maklon.milestones", number=request.number)
    admins = db.session.scalars(select(User.id).join(User.roles).where(
        Role.name == RoleName.ADMIN, User.active.is_(True))).all()
    for user_id in dict.fromkeys([request.client_id, *admins]):
        notice_send(user_id=user_id, kind=MILESTONE_REFUNDED_NOTICE, params=params, link=link)
    db.session.flush()
    log.info("milestone %s of %s refunded at the gateway (%s)", milestone.kind,
             request.number, payment.reference)
    return True


# The payments' news (app.payments.signals) ---------------------------------------------------
PAYABLE_KIND = "milestone"


def _on_settled(_kind: str, *, payment: Payment) -> dict[str, int]:
    return {"paid": int(milestone_settled(payment)), "refunds": 0}


def _on_closed(_kind: str, *, payment: Payment, expired: bool) -> dict[str, int]:
    """Expired, cancelled or denied: the milestone stays unpaid, the client starts a new
    payment for it (`milestone_payment_start`). Nothing to undo."""
    return {"cancelled": 0}


def _on_refunded(_kind: str, *, payment: Payment, gateway_reference: str) -> None:
    milestone_refunded(payment)


def milestone_pay_page(payment: Payment) -> str:
    """The maklon milestone payment page of `payment`."""
    number = db.session.scalar(
        select(MaklonRequest.number).join(MilestonePayment,
                                          MilestonePayment.request_id == MaklonRequest.id)
        .where(MilestonePayment.id == payment.milestone_id))
    return url_for("maklon.milestone_payment", number=number, reference=payment.reference)


def payment_news_connect() -> None:
    """Register the payable kind "milestone" and connect its handlers (idempotent; called
    when the maklon blueprint is registered)."""
    payable_kind_register(PAYABLE_KIND, column="milestone_id", page_of=milestone_pay_page)
    payment_settled.connect(_on_settled, sender=PAYABLE_KIND, weak=False)
    payment_closed.connect(_on_closed, sender=PAYABLE_KIND, weak=False)
    payment_refunded.connect(_on_refunded, sender=PAYABLE_KIND, weak=False)
