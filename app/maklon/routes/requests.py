"""The client's quote requests: list, form (draft / submit / estimate), detail, files.

URL table:
    GET      /maklon                                the client's (company's) requests; ?status=
    GET/POST /maklon/baru                           new request: save a draft, submit, or
                                                    "Hitung perkiraan" (re-render with the
                                                    estimate); 422 with field messages
    POST     /maklon/perkiraan                      the estimate partial (htmx, on change)
    GET/POST /maklon/<number>/ubah                  edit a draft (409 once submitted)
    GET      /maklon/<number>                       tab "Ringkasan": spec, files, estimate
    POST     /maklon/<number>/batal                 cancel (client, before signing; else 409)
    POST     /maklon/<number>/berkas                attach a file (client, before signing)
    GET      /maklon/<number>/berkas/<file_id>      download a file (attachment)
    GET      /maklon/staf                           every submitted request (staff, admin)

Clients create and edit; staff and admins read. Another company's request is a 404.
"""

from __future__ import annotations

from typing import Any

from flask import flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.datastructures import FileStorage
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # in WTForms 3.2, missing from its stubs

from app.accounts.models import RoleName
from app.core.http import form_status, is_htmx, render_error, render_page, see_other
from app.core.security import owned_or_404, role_required
from app.core.storage import storage_download
from app.extensions import db
from app.maklon.access import (
    formulas_visible,
    is_maklon_staff,
    request_or_404,
    requests_listed,
    requests_visible,
)
from app.maklon.capability import capability, earliest_feasible_date
from app.maklon.forms import FileUploadForm, RequestForm
from app.maklon.labels import (
    FILE_KIND_LABELS,
    FORMULA_CHOICE_LABELS,
    PACKAGING_LABELS,
    PRICE_LINE_LABELS,
    PRODUCT_TYPE_LABELS,
    REQUEST_STATUS_LABELS,
)
from app.maklon.models import MaklonFile, MaklonRequest, RequestStatus
from app.maklon.otdr import otdr_latest
from app.maklon.requests import (
    CANCELLABLE,
    Estimate,
    RequestConflict,
    RequestInvalid,
    Upload,
    request_cancel,
    request_estimate,
    request_file_add,
    request_save,
    request_submit,
)
from app.maklon.routes import bp
from app.maklon.tabs import tabs_for

CLIENT = RoleName.CLIENT
STAFF = (RoleName.STAFF, RoleName.ADMIN)
PAGE_SIZE = 20
PAGE_MAX = 10_000
STAFF_STATUSES = tuple(s for s in RequestStatus.ALL if s != RequestStatus.DRAFT)


@bp.context_processor
def _maklon_context() -> dict[str, Any]:
    return {
        "maklon_tabs": tabs_for,
        "request_status_labels": REQUEST_STATUS_LABELS,
        "product_type_labels": PRODUCT_TYPE_LABELS,
        "packaging_labels": PACKAGING_LABELS,
        "formula_choice_labels": FORMULA_CHOICE_LABELS,
        "price_line_labels": PRICE_LINE_LABELS,
        "file_kind_labels": FILE_KIND_LABELS,
    }


def _page_arg() -> int:
    page = request.args.get("hal", 1, type=int) or 1
    return min(max(1, page), PAGE_MAX)


def _status_arg(allowed: tuple[str, ...]) -> str:
    status = request.args.get("status", "")
    return status if status in allowed else ""


# -- lists ----------------------------------------------------------------------------------

@bp.route("/maklon")
@role_required(CLIENT)
def requests():
    status = _status_arg(RequestStatus.ALL)
    stmt = requests_visible(current_user)
    if status:
        stmt = stmt.where(MaklonRequest.status == status)
    listing = db.paginate(stmt.order_by(MaklonRequest.updated_at.desc(), MaklonRequest.id.desc()),
                        page=_page_arg(), per_page=PAGE_SIZE, error_out=False)
    return render_page("maklon/requests.html", "maklon/_request_list.html", listing=listing,
                       list_args={"status": status}, statuses=RequestStatus.ALL,
                       list_endpoint="maklon.requests", staff_view=False,
                       otdr=otdr_latest(current_user.company_id)
                       if current_user.company_id else None)


@bp.route("/maklon/staf")
@role_required(*STAFF)
def staff_requests():
    status = _status_arg(STAFF_STATUSES)
    stmt = requests_listed(current_user).options(joinedload(MaklonRequest.company))
    if status:
        stmt = stmt.where(MaklonRequest.status == status)
    listing = db.paginate(stmt.order_by(MaklonRequest.submitted_at.desc(),
                                      MaklonRequest.id.desc()),
                        page=_page_arg(), per_page=PAGE_SIZE, error_out=False)
    return render_page("maklon/staff_requests.html", "maklon/_request_list.html", listing=listing,
                       list_args={"status": status}, statuses=STAFF_STATUSES,
                       list_endpoint="maklon.staff_requests", staff_view=True)


# -- the form -------------------------------------------------------------------------------

def _request_form(req: MaklonRequest | None) -> RequestForm:
    """The form (from the posted data, or `req`'s values on GET) with the company's
    formulas as choices."""
    obj = req if request.method == "GET" else None
    form = RequestForm(obj=obj)
    formulas = db.session.scalars(formulas_visible(current_user).order_by("name")).all() \
        if current_user.company_id is not None else []
    form.formula_id.choices = [SelectChoice("", _("— Pilih formula —"))] + [
        SelectChoice(str(f.id), f.name) for f in formulas]
    if obj is not None:
        if obj.formula_id is not None:
            form.formula_id.data = str(obj.formula_id)
        for name in ("size", "quantity"):  # a draft stores "not given yet" as 0
            if not form[name].data:
                form[name].data = None
    form.needs_company = current_user.company_id is None
    return form


def _upload(storage: Any, kind: str) -> Upload | None:
    if not isinstance(storage, FileStorage) or not storage.filename:
        return None
    from app.maklon.requests import _file_max

    return Upload(kind=kind, filename=storage.filename,
                  data=storage.stream.read(_file_max() + 1))


def _uploads(form: RequestForm) -> list[Upload]:
    found = [_upload(form.spec_file.data, "spec"), _upload(form.reference_file.data,
                                                             "reference")]
    return [upload for upload in found if upload is not None]


def _lenient_values(form: RequestForm) -> dict[str, Any]:
    """The form's values with the fields that failed their type checks left empty (what
    an estimate of a half-filled form is made of)."""
    form.validate()
    values = form.values()
    for name in values:
        if name in form and form[name].errors:
            values[name] = None
    return values


def _estimate_now(form: RequestForm) -> Estimate:
    """The estimate of the posted form. Commits: pricing a stored formula decrypts it, and
    that decryption's audit row must be kept although nothing else is saved."""
    estimate = request_estimate(_lenient_values(form), client=current_user)
    db.session.commit()
    return estimate


def _estimate_view(estimate: Estimate | dict | None) -> dict[str, Any] | None:
    """One shape for the estimate partial: {"missing": [...], "result": {...}}."""
    if estimate is None:
        return None
    if isinstance(estimate, dict):
        return {"missing": [], "result": estimate.get("result"),
                "inputs": estimate.get("inputs")} if estimate.get("result") else None
    if estimate.result is None:
        return {"missing": estimate.missing, "result": None, "inputs": None}
    return {"missing": [], "result": estimate.result.as_dict(),
            "inputs": estimate.inputs.as_dict() if estimate.inputs else None}


def _form_page(form: RequestForm, req: MaklonRequest | None, *, estimate=None,
               http_status: int = 200):
    cap = capability()
    return render_page("maklon/request_form.html", http_status=http_status, form=form,
                       req=req, estimate=_estimate_view(estimate), cap=cap,
                       earliest=earliest_feasible_date(cap=cap))


def _field_errors(form: RequestForm, errors: dict[str, str]) -> None:
    for name, message in errors.items():
        target = form._fields.get(name)
        if target is not None:
            target.errors = [*target.errors, message]
        else:
            flash(message, "error")


def _form_flow(req: MaklonRequest | None):
    form = _request_form(req)
    if request.method == "GET":
        return _form_page(form, req, estimate=req.estimate if req is not None else None)
    action = request.form.get("action", "draft")
    if action == "estimate":
        return _form_page(form, req, estimate=_estimate_now(form),
                          http_status=200 if not form.errors else 422)
    if not form.validate():
        return _form_page(form, req, estimate=_estimate_now(form),
                          http_status=422)
    service = request_submit if action == "submit" else request_save
    try:
        saved = service(client=current_user, values=form.values(),
                        company=form.company_values(), request=req, uploads=_uploads(form))
    except RequestInvalid as invalid:
        db.session.rollback()
        estimate = _estimate_now(form)
        _field_errors(form, invalid.errors)  # after: validating again clears messages
        return _form_page(form, req, estimate=estimate, http_status=422)
    except RequestConflict as conflict:
        db.session.rollback()
        return render_error(409, conflict.message)
    number = saved.number
    db.session.commit()
    flash(_("Permintaan %(number)s diajukan. Tim kami akan menyiapkan penawaran.",
            number=number) if action == "submit"
          else _("Draf %(number)s disimpan.", number=number), "success")
    return see_other(url_for("maklon.request_detail", number=number))


@bp.route("/maklon/baru", methods=["GET", "POST"])
@role_required(CLIENT)
def request_new():
    return _form_flow(None)


@bp.route("/maklon/<number>/ubah", methods=["GET", "POST"])
@role_required(CLIENT)
def request_edit(number: str):
    req = request_or_404(current_user, number)
    if req.status != RequestStatus.DRAFT:
        return render_error(409, _("Hanya draf yang dapat diubah."))
    return _form_flow(req)


@bp.route("/maklon/perkiraan", methods=["POST"])
@role_required(CLIENT)
def estimate():
    form = _request_form(None)
    result = _estimate_now(form)
    if is_htmx():
        return render_page("maklon/_estimate.html", estimate=_estimate_view(result))
    return _form_page(form, None, estimate=result, http_status=form_status()
                      if form.errors else 200)


# -- one request ----------------------------------------------------------------------------

def _detail(req: MaklonRequest, *, upload_form: FileUploadForm | None = None,
            http_status: int = 200):
    return render_page("maklon/request_detail.html", http_status=http_status, req=req,
                       estimate=_estimate_view(req.estimate),
                       upload_form=upload_form or FileUploadForm(formdata=None),
                       is_owner=_is_owner(req), is_staff=is_maklon_staff(current_user),
                       can_cancel=req.status in CANCELLABLE and _is_owner(req))


def _is_owner(req: MaklonRequest) -> bool:
    """The request's own company's client (who may edit, cancel and attach files)."""
    return current_user.has_role(CLIENT) and req.company_id == current_user.company_id


@bp.route("/maklon/<number>")
@role_required(CLIENT, *STAFF)
def request_detail(number: str):
    return _detail(request_or_404(current_user, number))


@bp.route("/maklon/<number>/batal", methods=["POST"])
@role_required(CLIENT)
def request_cancel_route(number: str):
    req = request_or_404(current_user, number)
    try:
        request_cancel(request=req, actor=current_user)
    except RequestConflict as conflict:
        db.session.rollback()
        return render_error(409, conflict.message)
    db.session.commit()
    flash(_("Permintaan %(number)s dibatalkan.", number=number), "success")
    return see_other(url_for("maklon.request_detail", number=number))


@bp.route("/maklon/<number>/berkas", methods=["POST"])
@role_required(CLIENT)
def request_file_upload(number: str):
    req = request_or_404(current_user, number)
    form = FileUploadForm()
    upload = _upload(form.upload.data, form.kind.data or "reference") \
        if form.validate() else None
    if upload is None:
        if not form.errors:
            form.upload.errors = [_("Pilih berkas untuk diunggah.")]
        return _detail(req, upload_form=form, http_status=422)
    try:
        request_file_add(request=req, upload=upload, actor=current_user)
    except RequestInvalid as invalid:
        db.session.rollback()
        form.upload.errors = list(invalid.errors.values())
        return _detail(req, upload_form=form, http_status=422)
    except RequestConflict as conflict:
        db.session.rollback()
        return render_error(409, conflict.message)
    db.session.commit()
    flash(_("Berkas diunggah."), "success")
    return see_other(url_for("maklon.request_detail", number=number) + "#berkas")


@bp.route("/maklon/<number>/berkas/<int:file_id>")
@role_required(CLIENT, *STAFF)
def request_file(number: str, file_id: int):
    req = request_or_404(current_user, number)
    row = owned_or_404(select(MaklonFile).where(MaklonFile.id == file_id,
                                                MaklonFile.request_id == req.id))
    response = storage_download(row.file_key, mimetype=row.content_type,
                                filename=row.filename)
    response.cache_control.no_store = True
    return response
