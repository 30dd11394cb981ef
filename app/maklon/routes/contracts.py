"""The contract ("Kontrak" tab), signing it, and the public verification page.

URL table:
    GET   /maklon/<number>/kontrak             summary of the quote to sign (or the signed
                                               evidence), the sign form for the client
    GET   /maklon/<number>/kontrak.pdf         the contract PDF: the signed one once signed,
                                               else the draft of the latest quote
    POST  /maklon/<number>/kontrak/setuju      client: sign ("Setuju") with the password
                                               (or TOTP code); 422 wrong, 409 not signable
    GET   /kontrak/verifikasi                  public: the form (PDF + code)
    POST  /kontrak/verifikasi                  public, rate-limited per IP: valid, or what
                                               does not match
"""

from __future__ import annotations

import logging

from flask import abort, current_app, flash, make_response, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.accounts.models import RoleName
from app.accounts.totp import totp_enabled
from app.core.http import content_disposition, render_error, render_page, see_other
from app.core.security import role_required
from app.core.storage import storage_download, storage_exists
from app.extensions import db, limiter
from app.maklon.access import is_maklon_staff, request_or_404
from app.maklon.contracts import (
    PDF_MAX_BYTES,
    ContractError,
    SignContext,
    contract_by_code,
    contract_draft_pdf,
    contract_filename,
    contract_of,
    contract_sign,
    contract_verify,
    seal_key_label,
)
from app.maklon.labels import MILESTONE_LABELS, SIGN_METHOD_LABELS, STAGE_LABELS
from app.maklon.milestones import UNLOCKS, milestone_amounts
from app.maklon.models import MaklonRequest, MilestoneKind
from app.maklon.quotes import latest_quote, quote_unacceptable
from app.maklon.routes import bp
from app.maklon.sign_limit import sign_rate_limit

log = logging.getLogger(__name__)

VERIFY_LIMIT_DEFAULT = "20 per hour"


def _page(req: MaklonRequest, *, status: int = 200, errors: dict | None = None):
    row = contract_of(req.id)
    quote = row.quote if row is not None else latest_quote(req.id)
    schedule = []
    if quote is not None:
        amounts = milestone_amounts(quote.total, quote.milestone_split)
        schedule = [(MILESTONE_LABELS[kind], quote.milestone_split[kind], amounts[kind],
                     STAGE_LABELS[UNLOCKS[kind]]) for kind in MilestoneKind.ALL]
    problem = quote_unacceptable(quote) if row is None else None
    can_sign = (row is None and quote is not None and problem is None
                and current_user.has_role(RoleName.CLIENT) and not is_maklon_staff(current_user))
    return render_page(
        "maklon/contract.html", http_status=status, req=req, row=row, quote=quote,
        schedule=schedule, problem=problem, can_sign=can_sign,
        uses_totp=totp_enabled(current_user), sign_method_labels=SIGN_METHOD_LABELS,
        errors=errors or {})


@bp.route("/maklon/<number>/kontrak")
@login_required
def contract(number: str):
    return _page(request_or_404(current_user, number))


@bp.route("/maklon/<number>/kontrak.pdf")
@login_required
def contract_download(number: str):
    """The signed contract as stored (its SHA-256 is the evidence), else a draft."""
    req = request_or_404(current_user, number)
    row = contract_of(req.id)
    if row is not None:
        if not storage_exists(row.pdf_key):
            log.error("contract %s: stored file %s is missing", req.number, row.pdf_key)
            abort(404)
        name = contract_filename(req)
        return storage_download(row.pdf_key, mimetype="application/pdf", filename=name,
                                etag=row.pdf_sha256)
    quote = latest_quote(req.id)
    if quote is None:
        abort(404)
    response = make_response(contract_draft_pdf(req, quote))
    response.mimetype = "application/pdf"
    name = f"Draf-Kontrak-{req.number}-v{quote.version}.pdf"
    response.headers["Content-Disposition"] = content_disposition(name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.cache_control.private = True
    response.cache_control.public = False
    return response


@bp.route("/maklon/<number>/kontrak/setuju", methods=["POST"])
@role_required(RoleName.CLIENT)
@sign_rate_limit
def contract_sign_route(number: str):
    req = request_or_404(current_user, number)
    try:
        contract_sign(request=req, client=current_user, secret=request.form.get("secret", ""),
                      context=SignContext(ip=request.remote_addr or "",
                                          user_agent=request.user_agent.string or ""))
    except ContractError as error:
        db.session.rollback()
        if error.status == 422:
            return _page(request_or_404(current_user, number), status=422,
                         errors={error.field or "secret": error.message})
        return render_error(error.status, error.message)
    db.session.commit()
    flash(_("Kontrak ditandatangani. Salinannya sudah dikirim ke email Anda."), "success")
    return see_other(url_for("maklon.milestones", number=number))


def _verify_ip_key() -> str:
    from flask_limiter.util import get_remote_address

    return "contract-verify-ip:" + (get_remote_address() or "")


@bp.route("/kontrak/verifikasi", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config.get("CONTRACT_VERIFY_LIMIT_PER_IP",
                                              VERIFY_LIMIT_DEFAULT),
               key_func=_verify_ip_key, methods=["POST"], scope="contract-verify-ip")
def contract_verify_page():
    """Public: is this PDF the contract signed under this code, unchanged?"""
    code = (request.form.get("kode") if request.method == "POST"
            else request.args.get("kode", "")) or ""
    code = code.strip()[:40]
    if request.method == "GET":
        return render_page("maklon/contract_verify.html", code=code, errors={}, result=None)
    errors: dict[str, str] = {}
    upload = request.files.get("pdf")
    data = upload.read(PDF_MAX_BYTES + 1) if upload else b""
    if not code:
        errors["kode"] = _("Isi kode verifikasi yang tercetak di kontrak.")
    if not data:
        errors["pdf"] = _("Pilih berkas PDF kontrak.")
    elif len(data) > PDF_MAX_BYTES:
        errors["pdf"] = _("Berkas terlalu besar (maksimal 5 MB).")
    row = contract_by_code(code) if code and not errors.get("kode") else None
    if code and row is None and "kode" not in errors:
        errors["kode"] = _("Kode verifikasi tidak dikenal. Periksa kembali kode di kontrak.")
    if errors:
        return render_page("maklon/contract_verify.html", http_status=422, code=code,
                           errors=errors, result=None)
    assert row is not None  # no code, or an unknown one, is an error above
    problems = contract_verify(row, data)
    return render_page("maklon/contract_verify.html", code=code, errors={},
                       result={"valid": not problems, "problems": problems, "row": row,
                               "number": row.request.number,
                               "key": seal_key_label(row.seal_key_id)})
