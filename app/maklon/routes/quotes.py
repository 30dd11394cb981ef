"""Quotes and negotiation ("Penawaran" tab).

URL table:
    GET   /maklon/<number>/penawaran                         versions (newest first, diffs
                                                             highlighted) + thread + staff form
    POST  /maklon/<number>/penawaran                         staff: a new version (422 at
                                                             the field; 409 not quotable)
    POST  /maklon/<number>/penawaran/v<version>/setujui      admin: approve the latest
    POST  /maklon/<number>/pesan                             client or staff: a message with
                                                             an optional counter-proposal
                                                             (htmx: the thread fragment)

The request is loaded with `request_or_404`: another company's client gets 404.
"""

from __future__ import annotations

from datetime import timedelta

from flask import flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from app.accounts.models import RoleName
from app.core.clock import to_wib, utcnow
from app.core.http import is_htmx, render_error, render_page, see_other
from app.core.security import owned_or_404, role_required
from app.extensions import db
from app.maklon.access import is_maklon_staff, request_or_404
from app.maklon.labels import (
    DIFF_LABELS,
    MILESTONE_LABELS,
    PRICE_LINE_LABELS,
    QUOTE_STATUS_LABELS,
)
from app.maklon.models import MaklonRequest, Quote
from app.maklon.quotes import (
    DEFAULT_SPLIT,
    QUOTABLE,
    QuoteError,
    latest_quote,
    message_parse,
    message_post,
    messages_of,
    quote_approve,
    quote_create,
    quote_unacceptable,
    quotes_of,
    terms_parse,
)
from app.maklon.routes import bp


def _default_form(req: MaklonRequest) -> dict[str, str]:
    today = to_wib(utcnow()).date()
    latest = latest_quote(req.id)
    split = latest.milestone_split if latest else DEFAULT_SPLIT
    delivery = (latest.delivery_date if latest else None) or req.desired_date \
        or today + timedelta(days=60)
    return {"quantity": "", "margin_pct": "", "discount_pct": "",
            "delivery_date": delivery.isoformat(),
            "valid_until": (today + timedelta(days=14)).isoformat(),
            **{f"split_{kind}": str(pct) for kind, pct in split.items()}, "note": ""}


def _page(req: MaklonRequest, *, status: int = 200, errors: dict | None = None,
          typed: dict | None = None, message_errors: dict | None = None,
          message_typed: dict | None = None):
    quotes = quotes_of(req.id)
    latest = quotes[0] if quotes else None
    return render_page(
        "maklon/quotes.html", http_status=status, req=req, quotes=quotes, latest=latest,
        messages=messages_of(req.id), is_staff=is_maklon_staff(current_user),
        is_admin=current_user.has_role(RoleName.ADMIN),
        can_quote=is_maklon_staff(current_user) and req.status in QUOTABLE,
        thread_open=req.status in QUOTABLE,
        unacceptable=quote_unacceptable(latest) if latest else None,
        errors=errors or {}, typed=typed or _default_form(req),
        message_errors=message_errors or {}, message_typed=message_typed or {},
        status_labels=QUOTE_STATUS_LABELS, line_labels=PRICE_LINE_LABELS, diff_labels=DIFF_LABELS,
        milestone_labels=MILESTONE_LABELS)


@bp.route("/maklon/<number>/penawaran")
@login_required
def quotes(number: str):
    req = request_or_404(current_user, number)
    return _page(req)


@bp.route("/maklon/<number>/penawaran", methods=["POST"])
@role_required(RoleName.STAFF, RoleName.ADMIN)
def quote_create_route(number: str):
    req = request_or_404(current_user, number)
    typed = {key: request.form.get(key, "") for key in _default_form(req)}
    try:
        terms = terms_parse(request.form)
        quote = quote_create(request=req, actor=current_user, terms=terms)
    except QuoteError as error:
        db.session.rollback()
        if error.status != 422:
            return render_error(error.status, error.message)
        req = request_or_404(current_user, number)
        return _page(req, status=422, errors=error.errors, typed=typed)
    db.session.commit()
    flash(_("Penawaran v%(version)s dibuat dan menunggu persetujuan admin.",
            version=quote.version), "success")
    return see_other(url_for("maklon.quotes", number=number))


@bp.route("/maklon/<number>/penawaran/v<int:version>/setujui", methods=["POST"])
@role_required(RoleName.ADMIN)
def quote_approve_route(number: str, version: int):
    req = request_or_404(current_user, number)
    quote = owned_or_404(select(Quote).where(Quote.request_id == req.id,
                                             Quote.version == version))
    try:
        quote_approve(quote=quote, actor=current_user)
    except QuoteError as error:
        db.session.rollback()
        return render_error(error.status, error.message)
    db.session.commit()
    flash(_("Penawaran v%(version)s disetujui; klien sudah diberi tahu.", version=version),
          "success")
    return see_other(url_for("maklon.quotes", number=number))


@bp.route("/maklon/<number>/pesan", methods=["POST"])
@login_required
def quote_message(number: str):
    req = request_or_404(current_user, number)
    fields = ("body", "counter_unit_price", "counter_quantity", "counter_date")
    typed = {key: request.form.get(key, "") for key in fields}
    try:
        values = message_parse(request.form)
        message_post(request=req, author=current_user, **values)
    except QuoteError as error:
        db.session.rollback()
        if error.status != 422:
            return render_error(error.status, error.message)
        req = request_or_404(current_user, number)
        if is_htmx():
            return render_page("maklon/_thread.html", http_status=422, req=req,
                               messages=messages_of(req.id), thread_open=True,
                               message_errors=error.errors, message_typed=typed)
        return _page(req, status=422, message_errors=error.errors, message_typed=typed)
    db.session.commit()
    if is_htmx():
        return render_page("maklon/_thread.html", req=req, messages=messages_of(req.id),
                           thread_open=True, message_errors={}, message_typed={})
    flash(_("Pesan terkirim."), "success")
    return see_other(url_for("maklon.quotes", number=number) + "#negosiasi")
