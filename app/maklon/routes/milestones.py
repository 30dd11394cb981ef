"""Milestone payments ("Pembayaran" tab) and their payment page.

URL table:
    GET   /maklon/<number>/pembayaran                          schedule: percent, amount,
                                                               unlocked stage, status, invoice
    POST  /maklon/<number>/pembayaran/<kind>                   client: pay it by `method`
                                                               (the open payment, or a new one)
    GET   /maklon/<number>/pembayaran/bayar/<reference>        the payment page (VA/QR/
                                                               deeplink + live status block)
    GET   /maklon/<number>/pembayaran/bayar/<reference>/status the status block, polled:
                                                               304 unchanged, 286 once final
"""

from __future__ import annotations

from typing import TypedDict

from flask import current_app, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from app.accounts.models import RoleName
from app.core.http import render_error, render_page, see_other
from app.core.security import owned_or_404, role_required
from app.extensions import db
from app.maklon.access import is_maklon_staff, request_or_404
from app.maklon.labels import MILESTONE_LABELS, MILESTONE_STATUS_LABELS, STAGE_LABELS
from app.maklon.milestones import (
    MilestoneError,
    milestone_due_stage,
    milestone_invoice,
    milestone_is_due,
    milestone_payment_start,
    milestones_of,
    open_payment,
)
from app.maklon.models import MaklonRequest, MilestoneKind, MilestonePayment
from app.maklon.routes import bp
from app.payments.method_choice import PAYMENT_METHODS, first_available, method_groups
from app.payments.models import Payment
from app.payments.pay_page import pay_status_answer, pay_view
from app.payments.services import PAY_STATUS_LABELS, payment_charge_committed


def _rows(req: MaklonRequest) -> list[dict]:
    return [{"milestone": m, "label": MILESTONE_LABELS[m.kind],
             "unlocks": STAGE_LABELS.get(m.unlocks_stage, m.unlocks_stage),
             "status": MILESTONE_STATUS_LABELS[m.status],
             "due": milestone_is_due(m, req),
             "due_stage": STAGE_LABELS[milestone_due_stage(m)],
             "open": open_payment(m.id), "invoice": milestone_invoice(m.id)}
            for m in milestones_of(req.id)]


def _page(req: MaklonRequest, *, status: int = 200, errors: dict | None = None):
    return render_page(
        "maklon/milestones.html", http_status=status, req=req, rows=_rows(req),
        can_pay=current_user.has_role(RoleName.CLIENT) and not is_maklon_staff(current_user),
        methods=PAYMENT_METHODS, errors=errors or {},
        method_groups_for=lambda amount: method_groups(PAYMENT_METHODS, amount=amount),
        first_method=first_available)


@bp.route("/maklon/<number>/pembayaran")
@login_required
def milestones(number: str):
    return _page(request_or_404(current_user, number))


@bp.route("/maklon/<number>/pembayaran/<kind>", methods=["POST"])
@role_required(RoleName.CLIENT)
def milestone_pay(number: str, kind: str):
    req = request_or_404(current_user, number)
    if kind not in MilestoneKind.ALL:
        return render_error(404)
    milestone = owned_or_404(select(MilestonePayment).where(
        MilestonePayment.request_id == req.id, MilestonePayment.kind == kind))
    try:
        payment, _created = milestone_payment_start(
            milestone=milestone, payer=current_user, method=request.form.get("method", ""))
    except MilestoneError as error:
        db.session.rollback()
        if error.status == 422:
            return _page(request_or_404(current_user, number), status=422,
                         errors={f"method_{kind}": error.message})
        return render_error(error.status, error.message)
    reference = payment.reference
    # Ask the gateway after the payment row is committed (as a checkout does).
    if not payment_charge_committed(payment):
        flash(_("Layanan pembayaran belum dapat dihubungi. Coba lagi beberapa saat lagi."),
              "error")
    return see_other(url_for("maklon.milestone_payment", number=number, reference=reference))


def _payment_of(req: MaklonRequest, reference: str) -> Payment:
    return owned_or_404(select(Payment).join(
        MilestonePayment, MilestonePayment.id == Payment.milestone_id).where(
        MilestonePayment.request_id == req.id, Payment.reference == reference))


@bp.route("/maklon/<number>/pembayaran/bayar/<reference>")
@login_required
def milestone_payment(number: str, reference: str):
    req = request_or_404(current_user, number)
    payment = _payment_of(req, reference)
    # joined on its milestone above (FK, RESTRICT)
    milestone = db.session.get_one(MilestonePayment, payment.milestone_id)
    return render_page(
        "maklon/milestone_pay.html", req=req, payment=payment, milestone=milestone,
        label=MILESTONE_LABELS[milestone.kind], view=pay_view(payment),
        pay_status_labels=PAY_STATUS_LABELS,
        method_label=PAYMENT_METHODS.get(payment.method, payment.method),
        sandbox_enabled=current_app.config["PAYMENT_SANDBOX_ENABLED"]
        and payment.gateway == "sandbox", **_status_urls(req, reference))


@bp.route("/maklon/<number>/pembayaran/bayar/<reference>/status")
@login_required
def milestone_pay_status(number: str, reference: str):
    req = request_or_404(current_user, number)
    payment = _payment_of(req, reference)
    view = pay_view(payment, with_instructions=False)
    return pay_status_answer(view, lambda: render_template(
        "payments/_pay_status.html", payment=payment, view=view, reference=reference,
        oob=True, **_status_urls(req, reference)))


class StatusUrls(TypedDict):
    status_url: str
    page_url: str
    milestone_page: str


def _status_urls(req: MaklonRequest, reference: str) -> StatusUrls:
    return {"status_url": url_for("maklon.milestone_pay_status", number=req.number,
                                  reference=reference),
            "page_url": url_for("maklon.milestone_payment", number=req.number,
                                reference=reference),
            "milestone_page": url_for("maklon.milestones", number=req.number)}

