"""CRM blueprint (mounted at /crm, staff and admin only) and the public interest form.

URL table:
    GET      /crm/                              leads board (Kanban), move buttons
    GET      /crm/prospek                       leads list (search, filters, pages);
                                                ?arsip=1 on every list: the archived ones
    GET/POST /crm/prospek/baru                  new lead
    GET      /crm/prospek/<id>                  lead detail + timeline
    GET/POST /crm/prospek/<id>/ubah             edit lead
    POST     /crm/prospek/<id>/status           pipeline move (409 when illegal)
    GET      /crm/perusahaan                    companies (search, filters, pages)
    GET/POST /crm/perusahaan/baru               new company
    GET      /crm/perusahaan/<id>               company detail + timeline
    GET/POST /crm/perusahaan/<id>/ubah          edit company
    GET      /crm/perusahaan/ekspor.csv         export companies
    GET      /crm/kontak                        contacts (search, pages)
    GET/POST /crm/kontak/baru                   new contact
    GET      /crm/kontak/<id>                   contact detail + timeline
    GET/POST /crm/kontak/<id>/ubah              edit contact
    GET/POST /crm/kontak/<id>/email             email the contact (outbox) + activity
    GET      /crm/kontak/ekspor.csv             export contacts
    POST     /crm/aktivitas/<type>/<id>         log a call/meeting/email/note on a record
    GET      /crm/tugas                         my tasks (overdue highlighted); ?semua=1 all
    GET/POST /crm/tugas/baru                    new task (fair auto-assignment)
    GET      /crm/tugas/<id>                    task detail
    GET/POST /crm/tugas/<id>/ubah               edit task (a new assignee: task_assigned)
    POST     /crm/tugas/<id>/status             task status (409 when illegal)
    GET/POST /crm/aktivitas/<id>/ubah           edit a hand-logged activity
    GET/POST /crm/<type>/<id>/arsipkan          confirm, archive (type: perusahaan, kontak,
                                                prospek, tugas)
    POST     /crm/<type>/<id>/pulihkan          restore an archived record (admin)
    GET/POST /crm/<type>/<id>/hapus             confirm, delete (audited; also aktivitas);
                                                409 when a rule keeps the record
    GET/POST /crm/impor                         CSV upload -> preview with per-row errors
    POST     /crm/impor/konfirmasi              import (all rows, or only the valid ones)
    GET      /crm/tim                           team positions (admin)
    POST     /crm/tim/<user_id>                 set a staff member's position (admin)
    GET/POST /crm/pengaturan                    CRM settings (admin)
    GET/POST /ajukan-maklon                     public interest form (rate-limited, honeypot)
    GET      /ajukan-maklon/terima-kasih        thank-you page
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC
from typing import TypeVar

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import or_, select
from werkzeug.wrappers import Response as WerkzeugResponse
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # in WTForms 3.2, missing from its stubs

from app.accounts.models import Company, RoleName, User
from app.core.clock import WIB, utcnow
from app.core.forms import required_data
from app.core.http import (
    form_status,
    is_htmx,
    render_error,
    render_page,
    see_other,
    streamed_response,
)
from app.core.security import owned_or_404, role_required, safe_next_url
from app.core.settings import setting_get
from app.core.templating import NavItem, nav_on_register
from app.crm import queries
from app.crm.assignment import assignment_note, reassign_threshold
from app.crm.csv_io import (
    CsvFileError,
    CsvRowsInvalid,
    csv_decode,
    csv_export,
    csv_import,
    csv_preview,
    csv_token,
    csv_token_load,
)
from app.crm.forms import (
    ACTIVITY_LABELS,
    POSITION_LABELS,
    PRIORITY_LABELS,
    SOURCE_LABELS,
    ActivityForm,
    CompanyForm,
    ConfirmForm,
    ContactEmailForm,
    ContactForm,
    ImportConfirmForm,
    ImportForm,
    InterestForm,
    LeadForm,
    LeadMoveForm,
    PositionForm,
    SettingsForm,
    TaskEditForm,
    TaskForm,
    TaskMoveForm,
    int_or_none,
)
from app.crm.models import (
    LEAD_TRANSITIONS,
    TASK_TRANSITIONS,
    Activity,
    ActivityKind,
    Contact,
    Lead,
    LeadSource,
    LeadStatus,
    Task,
)
from app.crm.services import (
    ARCHIVABLE,
    LEAD_STATUS_LABELS,
    TASK_STATUS_LABELS,
    CrmError,
    DeleteRefused,
    ManagerOnly,
    RecordGone,
    TaskDetails,
    TransitionRefused,
    activity_log_on,
    activity_update,
    company_save,
    contact_email_send,
    contact_save,
    crm_manager,
    crm_settings_save,
    interest_submit,
    lead_create,
    lead_move,
    lead_update,
    record_archive,
    record_delete,
    record_delete_check,
    record_restore,
    staff_position_set,
    task_create,
    task_move,
    task_update,
    wib_today,
)
from app.crm.webhooks import SETTING_SECRET, SETTING_URL
from app.extensions import db, limiter

log = logging.getLogger(__name__)
bp = Blueprint("crm", __name__)
public_bp = Blueprint("crm_public", __name__)

STAFF = (RoleName.STAFF, RoleName.ADMIN)
T = TypeVar("T")


@bp.context_processor
def _labels() -> dict:
    return {
        "lead_status_labels": LEAD_STATUS_LABELS,
        "task_status_labels": TASK_STATUS_LABELS,
        "source_labels": SOURCE_LABELS,
        "priority_labels": PRIORITY_LABELS,
        "activity_labels": ACTIVITY_LABELS,
        "position_labels": POSITION_LABELS,
        "lead_transitions": LEAD_TRANSITIONS,
        "task_transitions": TASK_TRANSITIONS,
        "pipeline": LeadStatus.PIPELINE,
        "today": wib_today(),
        "assignment_note": assignment_note,
        "crm_manager": crm_manager(current_user),
    }


def _field_error(form, error: CrmError) -> None:
    field = getattr(form, error.field or "", None)
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        flash(error.message, "error")


def _form_saved(form, save: Callable[[], T], *, target: Callable[[T], str],
                message: str | Callable[[T], tuple[str, str]]) -> WerkzeugResponse | None:
    """When `form` validates, run `save()`: a CrmError becomes a message at its field
    (nothing written, None: show the form again); success commits, flashes `message` (or
    `message(result)` -> (text, category)) and redirects to `target(result)`."""
    if not form.validate_on_submit():
        return None
    try:
        result = save()
    except CrmError as error:
        db.session.rollback()
        _field_error(form, error)
        return None
    db.session.commit()
    text, category = message(result) if callable(message) else (message, "success")
    flash(text, category)
    return see_other(target(result))


def _page() -> int:
    return max(1, request.args.get("page", 1, type=int) or 1)


def _company_choices(empty_label: str, keep: int | None = None) -> list[SelectChoice]:
    """The companies a record can be put under: the active ones, and the one it is under
    now (`keep`) even when that one is archived."""
    companies = db.session.execute(
        select(Company.id, Company.name)
        .where(or_(Company.archived_at.is_(None), Company.id == keep))
        .order_by(Company.name))
    return [SelectChoice("", empty_label)] + [SelectChoice(str(cid), name)
                                              for cid, name in companies]


def _user_choices(empty_label: str) -> list[SelectChoice]:
    return [SelectChoice("", empty_label)] + [SelectChoice(str(u.id), u.name)
                                              for u in queries.assignable_users()]


def _form_page(form, *, title: str, action: str, submit: str, cancel: str, status: int = 200,
               intro: str = ""):
    return render_page("crm/form.html", "crm/_form.html", status, form=form, title=title,
                       action=action, submit=submit, cancel=cancel, intro=intro)


# -- leads --------------------------------------------------------------------------------

@bp.route("/")
@role_required(*STAFF)
def board():
    mine = request.args.get("milik") == "saya"
    q = request.args.get("q", "").strip()
    columns = queries.lead_board(owner_id=current_user.id if mine else None, q=q)
    return render_page("crm/board.html", "crm/_board.html", columns=columns, mine=mine, q=q)


def _archived_filter() -> bool:
    """`?arsip=1`: the list shows the archived records instead of the live ones."""
    return request.args.get("arsip") == "1"


@bp.route("/prospek")
@role_required(*STAFF)
def leads():
    args = request.args
    stmt = queries.lead_search(q=args.get("q", "").strip(), status=args.get("status", ""),
                               owner_id=args.get("owner", type=int),
                               source=args.get("source", ""), archived=_archived_filter())
    pager = db.paginate(stmt, page=_page(), per_page=queries.PAGE_SIZE, error_out=False)
    return render_page("crm/leads.html", "crm/_lead_rows.html", pager=pager,
                       owners=queries.assignable_users(), sources=LeadSource.ALL)


def _lead_form(form: LeadForm, keep_company: int | None = None) -> LeadForm:
    form.company_id.choices = _company_choices(_("— Belum terdaftar —"), keep_company)
    form.owner_id.choices = _user_choices(_("— Belum ada —"))
    return form


@bp.route("/prospek/baru", methods=["GET", "POST"])
@role_required(*STAFF)
def lead_new():
    form = _lead_form(LeadForm())
    if request.method == "GET":
        form.owner_id.data = str(current_user.id)
        form.company_id.data = request.args.get("company_id", "")
    done = _form_saved(form, lambda: lead_create(details=form.details(), actor=current_user),
                       message=_("Prospek disimpan."),
                       target=lambda lead: url_for("crm.lead_detail", lead_id=lead.id))
    if done:
        return done
    return _form_page(form, title=_("Prospek baru"), action=url_for("crm.lead_new"),
                      submit=_("Simpan"), cancel=url_for("crm.board"), status=form_status())


def _lead_or_404(lead_id: int) -> Lead:
    return owned_or_404(select(Lead).where(Lead.id == lead_id))


@bp.route("/prospek/<int:lead_id>")
@role_required(*STAFF)
def lead_detail(lead_id: int):
    lead = _lead_or_404(lead_id)
    return _lead_detail_page(lead, LeadMoveForm(), ActivityForm())


def _lead_detail_page(lead: Lead, move_form: LeadMoveForm, activity_form: ActivityForm,
                      status: int = 200):
    return render_page("crm/lead_detail.html", None, status, lead=lead, move_form=move_form,
                       activity_form=activity_form,
                       entries=queries.timeline(lead_id=lead.id))


@bp.route("/prospek/<int:lead_id>/ubah", methods=["GET", "POST"])
@role_required(*STAFF)
def lead_edit(lead_id: int):
    lead = _lead_or_404(lead_id)
    form = LeadForm(obj=lead) if request.method == "GET" else LeadForm()
    _lead_form(form, keep_company=lead.company_id)
    if request.method == "GET":
        form.company_id.data = str(lead.company_id or "")
        form.owner_id.data = str(lead.owner_id or "")
    done = _form_saved(form, lambda: lead_update(
                           lead=lead, details=form.details(contact_id=lead.contact_id)),
                       message=_("Prospek disimpan."),
                       target=lambda _: url_for("crm.lead_detail", lead_id=lead.id))
    if done:
        return done
    return _form_page(form, title=_("Ubah prospek"),
                      action=url_for("crm.lead_edit", lead_id=lead.id), submit=_("Simpan"),
                      cancel=url_for("crm.lead_detail", lead_id=lead.id),
                      status=form_status())


@bp.route("/prospek/<int:lead_id>/status", methods=["POST"])
@role_required(*STAFF)
def lead_status(lead_id: int):
    """Move a lead. From the board (`view=board`) htmx gets the board back; 409 for a
    move LEAD_TRANSITIONS forbids; 422 for Lost without a reason."""
    lead = _lead_or_404(lead_id)
    form = LeadMoveForm()
    from_board = request.form.get("view") == "board"
    if form.validate_on_submit():
        try:
            lead_move(lead=lead, status=required_data(form.status), actor=current_user,
                      lost_reason=form.lost_reason.data or "")
        except TransitionRefused as error:
            db.session.rollback()
            return render_error(409, error.message)
        except CrmError as error:
            db.session.rollback()
            _field_error(form, error)
        else:
            db.session.commit()
            if from_board and is_htmx():  # the board again, with the filters it had
                mine = request.form.get("milik") == "saya"
                q = request.form.get("q", "").strip()
                columns = queries.lead_board(owner_id=current_user.id if mine else None, q=q)
                return render_page("crm/board.html", "crm/_board.html", columns=columns,
                                   mine=mine, q=q)
            flash(_("Prospek dipindah ke %(status)s.",
                    status=LEAD_STATUS_LABELS[lead.status]), "success")
            if from_board:
                return see_other(url_for("crm.board"))
            return see_other(url_for("crm.lead_detail", lead_id=lead.id))
    db.session.rollback()
    if from_board:
        return render_error(422, "; ".join(str(e) for errors in form.errors.values()
                                           for e in errors))
    return _lead_detail_page(lead, form, ActivityForm(formdata=None), status=422)


# -- companies ----------------------------------------------------------------------------

@bp.route("/perusahaan")
@role_required(*STAFF)
def companies():
    args = request.args
    stmt = queries.company_search(q=args.get("q", "").strip(), city=args.get("city", ""),
                                  business_type=args.get("type", ""),
                                  client=args.get("client", ""),
                                  archived=_archived_filter())
    pager = db.paginate(stmt, page=_page(), per_page=queries.PAGE_SIZE, error_out=False)
    return render_page("crm/companies.html", "crm/_company_rows.html", pager=pager,
                       cities=queries.company_cities(),
                       business_types=queries.company_business_types())


@bp.route("/perusahaan/baru", methods=["GET", "POST"])
@role_required(*STAFF)
def company_new():
    form = CompanyForm()
    done = _form_saved(form, lambda: company_save(details=form.details()),
                       message=_("Perusahaan disimpan."),
                       target=lambda company: url_for("crm.company_detail",
                                                      company_id=company.id))
    if done:
        return done
    return _form_page(form, title=_("Perusahaan baru"), action=url_for("crm.company_new"),
                      submit=_("Simpan"), cancel=url_for("crm.companies"),
                      status=form_status())


def _company_or_404(company_id: int) -> Company:
    company = queries.company_get(company_id)  # the API's lookup too
    if company is None:
        abort(404)
    return company


@bp.route("/perusahaan/<int:company_id>")
@role_required(*STAFF)
def company_detail(company_id: int):
    detail = queries.company_detail(company_id)
    if detail is None:
        return render_error(404)
    company = detail.company
    return render_page("crm/company_detail.html", company=company, contacts=detail.contacts,
                       leads=detail.leads, activity_form=ActivityForm(),
                       entries=queries.timeline(company_id=company.id))


@bp.route("/perusahaan/<int:company_id>/ubah", methods=["GET", "POST"])
@role_required(*STAFF)
def company_edit(company_id: int):
    company = _company_or_404(company_id)
    form = CompanyForm(obj=company)
    done = _form_saved(form, lambda: company_save(details=form.details(),
                                                  company=company),
                       message=_("Perusahaan disimpan."),
                       target=lambda _: url_for("crm.company_detail", company_id=company.id))
    if done:
        return done
    return _form_page(form, title=_("Ubah perusahaan"),
                      action=url_for("crm.company_edit", company_id=company.id),
                      submit=_("Simpan"),
                      cancel=url_for("crm.company_detail", company_id=company.id),
                      status=form_status())


def _csv_response(kind: str, filename: str) -> Response:
    response = streamed_response(csv_export(kind), content_type="text/csv; charset=utf-8")
    stamp = utcnow().astimezone(WIB).strftime("%Y%m%d")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}-{stamp}.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/perusahaan/ekspor.csv")
@role_required(*STAFF)
def companies_export():
    return _csv_response("companies", "perusahaan")


# -- contacts -----------------------------------------------------------------------------

@bp.route("/kontak")
@role_required(*STAFF)
def contacts():
    stmt = queries.contact_search(q=request.args.get("q", "").strip(),
                                  company_id=request.args.get("company", type=int),
                                  archived=_archived_filter())
    pager = db.paginate(stmt, page=_page(), per_page=queries.PAGE_SIZE, error_out=False)
    return render_page("crm/contacts.html", "crm/_contact_rows.html", pager=pager)


@bp.route("/kontak/baru", methods=["GET", "POST"])
@role_required(*STAFF)
def contact_new():
    form = ContactForm()
    form.company_id.choices = _company_choices(_("— Tanpa perusahaan —"))
    if request.method == "GET":
        form.company_id.data = request.args.get("company_id", "")
    done = _form_saved(form, lambda: contact_save(details=form.details()),
                       message=_("Kontak disimpan."),
                       target=lambda contact: url_for("crm.contact_detail",
                                                      contact_id=contact.id))
    if done:
        return done
    return _form_page(form, title=_("Kontak baru"), action=url_for("crm.contact_new"),
                      submit=_("Simpan"), cancel=url_for("crm.contacts"),
                      status=form_status())


def _contact_or_404(contact_id: int) -> Contact:
    return owned_or_404(select(Contact).where(Contact.id == contact_id))


@bp.route("/kontak/<int:contact_id>")
@role_required(*STAFF)
def contact_detail(contact_id: int):
    contact = _contact_or_404(contact_id)
    return render_page("crm/contact_detail.html", contact=contact,
                       activity_form=ActivityForm(),
                       entries=queries.timeline(contact_id=contact.id))


@bp.route("/kontak/<int:contact_id>/ubah", methods=["GET", "POST"])
@role_required(*STAFF)
def contact_edit(contact_id: int):
    contact = _contact_or_404(contact_id)
    form = ContactForm(obj=contact)
    form.company_id.choices = _company_choices(_("— Tanpa perusahaan —"), contact.company_id)
    if request.method == "GET":
        form.company_id.data = str(contact.company_id or "")
    done = _form_saved(form, lambda: contact_save(details=form.details(),
                                                  contact=contact),
                       message=_("Kontak disimpan."),
                       target=lambda _: url_for("crm.contact_detail", contact_id=contact.id))
    if done:
        return done
    return _form_page(form, title=_("Ubah kontak"),
                      action=url_for("crm.contact_edit", contact_id=contact.id),
                      submit=_("Simpan"),
                      cancel=url_for("crm.contact_detail", contact_id=contact.id),
                      status=form_status())


@bp.route("/kontak/<int:contact_id>/email", methods=["GET", "POST"])
@role_required(*STAFF)
def contact_email(contact_id: int):
    contact = _contact_or_404(contact_id)
    form = ContactEmailForm()
    done = _form_saved(
        form, lambda: contact_email_send(contact=contact, subject=required_data(form.subject),
                                         body=required_data(form.body), actor=current_user),
        message=_("Email dijadwalkan untuk dikirim ke %(email)s.", email=contact.email),
        target=lambda _: url_for("crm.contact_detail", contact_id=contact.id))
    if done:
        return done
    intro = (_("Kepada: %(name)s <%(email)s>", name=contact.name, email=contact.email)
             if contact.email else _("Kontak ini belum memiliki alamat email."))
    return _form_page(form, title=_("Kirim email"),
                      action=url_for("crm.contact_email", contact_id=contact.id),
                      submit=_("Kirim"),
                      cancel=url_for("crm.contact_detail", contact_id=contact.id),
                      status=form_status(), intro=intro)


@bp.route("/kontak/ekspor.csv")
@role_required(*STAFF)
def contacts_export():
    return _csv_response("contacts", "kontak")


# -- activities ---------------------------------------------------------------------------

RECORD_TYPES: dict[str, type[Company | Contact | Lead | Task]] = {
    "perusahaan": Company, "kontak": Contact, "prospek": Lead, "tugas": Task}


def _record_url(record) -> str:
    if isinstance(record, Company):
        return url_for("crm.company_detail", company_id=record.id)
    if isinstance(record, Contact):
        return url_for("crm.contact_detail", contact_id=record.id)
    if isinstance(record, Lead):
        return url_for("crm.lead_detail", lead_id=record.id)
    return url_for("crm.task_detail", task_id=record.id)


@bp.route("/aktivitas/<record_type>/<int:record_id>", methods=["POST"])
@role_required(*STAFF)
def activity_new(record_type: str, record_id: int):
    model = RECORD_TYPES.get(record_type)
    if model is None:
        return render_error(404)
    record = owned_or_404(select(model).where(model.id == record_id))
    form = ActivityForm()
    if form.validate_on_submit():
        occurred_at = None
        if form.occurred_at.data:
            occurred_at = form.occurred_at.data.replace(tzinfo=WIB).astimezone(UTC)
        activity_log_on(record=record, kind=form.kind.data, author=current_user,
                        subject=required_data(form.subject), body=form.body.data or "",
                        occurred_at=occurred_at)
        db.session.commit()
        flash(_("Aktivitas dicatat."), "success")
        return see_other(_record_url(record))
    return render_page("crm/activity_form.html", "crm/_activity_form.html", 422,
                       activity_form=form, record_type=record_type, record_id=record_id,
                       back_url=_record_url(record))


# -- tasks --------------------------------------------------------------------------------

@bp.route("/tugas")
@role_required(*STAFF)
def tasks():
    show_all = request.args.get("semua") == "1"
    status = request.args.get("status", "active")
    stmt = queries.task_list(assignee_id=None if show_all else current_user.id, status=status,
                             archived=_archived_filter())
    pager = db.paginate(stmt, page=_page(), per_page=50, error_out=False)
    return render_page("crm/tasks.html", "crm/_task_rows.html", pager=pager, show_all=show_all,
                       status_filter=status, threshold=reassign_threshold(),
                       active_counts=queries.active_task_counts())


@bp.route("/tugas/baru", methods=["GET", "POST"])
@role_required(*STAFF)
def task_new():
    form = TaskForm()
    counts = queries.active_task_counts()
    form.assignee_id.choices = [SelectChoice("", _("— Pilih —"))] + [
        SelectChoice(str(user.id), _("%(name)s (%(count)s tugas aktif)", name=user.name,
                                     count=counts.get(user.id, 0)))
        for user in queries.assignable_users()
    ]
    if request.method == "GET":
        form.assignee_id.data = str(current_user.id)
        for name in ("company_id", "contact_id", "lead_id"):
            getattr(form, name).data = request.args.get(name, "")

    def save() -> Task:
        return task_create(
            title=required_data(form.title), description=form.description.data or "",
            due_date=form.due_date.data, priority=form.priority.data,
            assignee=db.session.get(User, int(form.assignee_id.data)), actor=current_user,
            company_id=int_or_none(form.company_id.data),
            contact_id=int_or_none(form.contact_id.data),
            lead_id=int_or_none(form.lead_id.data),
        )

    def created(task: Task) -> tuple[str, str]:
        note = assignment_note(task)
        if note:
            return note, "info"
        return _("Tugas dibuat untuk %(name)s.", name=task.assignee.name), "success"

    done = _form_saved(form, save, message=created,
                       target=lambda task: url_for("crm.task_detail", task_id=task.id))
    if done:
        return done
    return _form_page(form, title=_("Tugas baru"), action=url_for("crm.task_new"),
                      submit=_("Simpan"), cancel=url_for("crm.tasks"), status=form_status(),
                      intro=_task_related_label(form))


def _task_related_label(form: TaskForm) -> str:
    """"Terkait: <record>" for a task started from a company, contact or lead page."""
    for name, model, attribute in (("company_id", Company, "name"),
                                   ("contact_id", Contact, "name"), ("lead_id", Lead, "title")):
        record_id = int_or_none(getattr(form, name).data)
        record = db.session.get(model, record_id) if record_id else None
        if record is not None:
            return _("Terkait: %(record)s", record=getattr(record, attribute))
    return ""


def _task_or_404(task_id: int) -> Task:
    return owned_or_404(select(Task).where(Task.id == task_id))


@bp.route("/tugas/<int:task_id>")
@role_required(*STAFF)
def task_detail(task_id: int):
    task = _task_or_404(task_id)
    return render_page("crm/task_detail.html", task=task, activity_form=ActivityForm(),
                       entries=queries.timeline(task_id=task.id))


@bp.route("/tugas/<int:task_id>/status", methods=["POST"])
@role_required(*STAFF)
def task_status(task_id: int):
    """Change a task's status; htmx from the list gets the row back; 409 when illegal."""
    task = _task_or_404(task_id)
    form = TaskMoveForm()
    if not form.validate_on_submit():
        return render_error(422, _("Status tujuan wajib diisi."))
    try:
        task_move(task=task, status=required_data(form.status), actor=current_user)
    except TransitionRefused as error:
        db.session.rollback()
        return render_error(409, error.message)
    db.session.commit()
    if is_htmx() and request.form.get("view") == "list":
        return render_page("crm/tasks.html", "crm/_task_row.html", task=task,
                           show_all=request.form.get("semua") == "1")
    flash(_("Status tugas: %(status)s.", status=TASK_STATUS_LABELS[task.status]), "success")
    fallback = url_for("crm.task_detail", task_id=task.id)
    return see_other(safe_next_url(request.form.get("next"), fallback))


def _related_choices(task: Task) -> list[SelectChoice]:
    """The records a task may relate to: live companies, contacts and leads (and the one it
    relates to now, archived or not)."""
    choices = [SelectChoice("", _("— Tidak ada —"))]
    for kind, model, label, prefix in (
            ("company", Company, Company.name, _("Perusahaan")),
            ("contact", Contact, Contact.name, _("Kontak")),
            ("lead", Lead, Lead.title, _("Prospek"))):
        current = getattr(task, f"{kind}_id")
        rows = db.session.execute(
            select(model.id, label).where((model.archived_at.is_(None)) | (model.id == current))
            .order_by(label, model.id))
        choices += [SelectChoice(f"{kind}:{rid}", f"{prefix}: {name}") for rid, name in rows]
    return choices


def _task_related_value(task: Task) -> str:
    for kind in ("company", "contact", "lead"):
        if getattr(task, f"{kind}_id"):
            return f"{kind}:{getattr(task, f'{kind}_id')}"
    return ""


@bp.route("/tugas/<int:task_id>/ubah", methods=["GET", "POST"])
@role_required(*STAFF)
def task_edit(task_id: int):
    """Edit every field of a task; a new assignee is told through `task_assigned` after the
    commit. 422 with the message at the field (a changed due date before today...)."""
    task = _task_or_404(task_id)
    form = TaskEditForm(obj=task) if request.method == "GET" else TaskEditForm()
    form.assignee_id.choices = _user_choices(_("— Pilih —"))
    if task.assignee_id not in {user.id for user in queries.assignable_users()}:
        form.assignee_id.choices.append(SelectChoice(str(task.assignee_id), task.assignee.name))
    form.related.choices = _related_choices(task)
    if request.method == "GET":
        form.assignee_id.data = str(task.assignee_id)
        form.related.data = _task_related_value(task)

    def save() -> Task:
        task_update(task=task, details=TaskDetails(
            title=required_data(form.title), assignee_id=int(form.assignee_id.data),
            description=form.description.data or "", due_date=form.due_date.data,
            priority=form.priority.data, **form.related_ids()), actor=current_user)
        return task

    done = _form_saved(form, save, message=_("Tugas disimpan."),
                       target=lambda _: url_for("crm.task_detail", task_id=task.id))
    if done:
        return done
    return _form_page(form, title=_("Ubah tugas"),
                      action=url_for("crm.task_edit", task_id=task.id), submit=_("Simpan"),
                      cancel=url_for("crm.task_detail", task_id=task.id),
                      status=form_status())


@bp.route("/aktivitas/<int:activity_id>/ubah", methods=["GET", "POST"])
@role_required(*STAFF)
def activity_edit(activity_id: int):
    """Edit a hand-logged activity; status and assignment history answer 409."""
    activity = owned_or_404(select(Activity).where(Activity.id == activity_id))
    back = _activity_back_url(activity)
    if activity.kind not in ActivityKind.LOGGED:
        return render_error(409, _("Riwayat status dan penugasan tidak dapat diubah."))
    form = ActivityForm(obj=activity) if request.method == "GET" else ActivityForm()
    if request.method == "GET":
        form.occurred_at.data = activity.occurred_at.astimezone(WIB).replace(tzinfo=None)

    def save() -> Activity:
        occurred_at = None
        if form.occurred_at.data:
            occurred_at = form.occurred_at.data.replace(tzinfo=WIB).astimezone(UTC)
        return activity_update(activity=activity, kind=form.kind.data,
                               subject=required_data(form.subject), body=form.body.data or "",
                               occurred_at=occurred_at)

    done = _form_saved(form, save, message=_("Aktivitas disimpan."), target=lambda _: back)
    if done:
        return done
    return _form_page(form, title=_("Ubah aktivitas"),
                      action=url_for("crm.activity_edit", activity_id=activity.id),
                      submit=_("Simpan"), cancel=back, status=form_status())


def _activity_back_url(activity: Activity) -> str:
    """The page of the most specific record the activity is on."""
    for name, endpoint in (("task_id", "crm.task_detail"), ("lead_id", "crm.lead_detail"),
                           ("contact_id", "crm.contact_detail"),
                           ("company_id", "crm.company_detail")):
        if getattr(activity, name):
            return url_for(endpoint, **{name: getattr(activity, name)})
    return url_for("crm.board")


# -- archive, restore, delete -------------------------------------------------------------

LIFECYCLE_TYPES: dict[str, type[Company | Contact | Lead | Task | Activity]] = {
    **RECORD_TYPES, "aktivitas": Activity}
LIST_ENDPOINTS = {Company: "crm.companies", Contact: "crm.contacts", Lead: "crm.leads",
                  Task: "crm.tasks"}


def _lifecycle_record(record_type: str, record_id: int, *, archivable: bool = False):
    model = LIFECYCLE_TYPES.get(record_type)
    if model is None or (archivable and model not in ARCHIVABLE):
        return None
    return owned_or_404(select(model).where(model.id == record_id))


def _record_title(record) -> str:
    if isinstance(record, Contact):
        return record.full_name
    if isinstance(record, Lead | Task):
        return record.title
    if isinstance(record, Activity):
        return record.subject
    return record.name


def _confirm_page(record, record_type: str, action: str, *, status: int = 200,
                  message: str = ""):
    """The confirm step: a page without JavaScript, the `_confirm.html` fragment inline
    for htmx (it replaces the record's action buttons)."""
    back = (_activity_back_url(record) if isinstance(record, Activity)
            else _record_url(record))
    return render_page("crm/confirm.html", "crm/_confirm.html", status, form=ConfirmForm(),
                       record=record, record_type=record_type, action=action,
                       title=_record_title(record), back_url=back, message=message,
                       can_archive=isinstance(record, ARCHIVABLE)
                       and record.archived_at is None)


@bp.route("/<record_type>/<int:record_id>/arsipkan", methods=["GET", "POST"])
@role_required(*STAFF)
def record_archive_route(record_type: str, record_id: int):
    """GET: the confirm step; POST: archive (409 when archived already)."""
    record = _lifecycle_record(record_type, record_id, archivable=True)
    if record is None:
        return render_error(404)
    form = ConfirmForm()
    if request.method == "GET" or not form.validate_on_submit():
        return _confirm_page(record, record_type, "arsipkan",
                             status=422 if request.method == "POST" else 200)
    try:
        record_archive(record=record, actor=current_user)
    except TransitionRefused as error:
        db.session.rollback()
        return render_error(409, error.message)
    db.session.commit()
    flash(_("%(title)s diarsipkan. Admin dapat memulihkannya.",
            title=_record_title(record)), "success")
    return see_other(url_for(LIST_ENDPOINTS[type(record)]))


@bp.route("/<record_type>/<int:record_id>/pulihkan", methods=["POST"])
@role_required(*STAFF)
def record_restore_route(record_type: str, record_id: int):
    """Restore an archived record: a CRM manager (admin) only (403 for staff), 409 when it
    is not archived."""
    record = _lifecycle_record(record_type, record_id, archivable=True)
    if record is None:
        return render_error(404)
    if not ConfirmForm().validate_on_submit():
        return render_error(422, _("Formulir kedaluwarsa. Muat ulang halaman."))
    try:
        record_restore(record=record, actor=current_user)
    except ManagerOnly as error:
        db.session.rollback()
        return render_error(403, error.message)
    except TransitionRefused as error:
        db.session.rollback()
        return render_error(409, error.message)
    db.session.commit()
    flash(_("%(title)s dipulihkan.", title=_record_title(record)), "success")
    return see_other(_record_url(record))


@bp.route("/<record_type>/<int:record_id>/hapus", methods=["GET", "POST"])
@role_required(*STAFF)
def record_delete_route(record_type: str, record_id: int):
    """GET: the confirm step (it says at once when a rule keeps the record); POST: delete,
    audited; 409 with the reason (a company with open leads: archive it instead)."""
    record = _lifecycle_record(record_type, record_id)
    if record is None:
        return render_error(404)
    if isinstance(record, Activity) and record.kind not in ActivityKind.LOGGED:
        return render_error(409, _("Riwayat status dan penugasan tidak dapat dihapus."))
    form = ConfirmForm()
    if request.method == "GET" or not form.validate_on_submit():
        try:
            record_delete_check(record)
        except DeleteRefused as error:
            # The confirm step itself is shown (200: htmx swaps it in place), with the
            # reason instead of the delete button; a POST anyway is the 409.
            return _confirm_page(record, record_type, "hapus",
                                 status=409 if request.method == "POST" else 200,
                                 message=error.message)
        return _confirm_page(record, record_type, "hapus",
                             status=422 if request.method == "POST" else 200)
    title = _record_title(record)
    target = (_activity_back_url(record) if isinstance(record, Activity)
              else url_for(LIST_ENDPOINTS[type(record)]))
    try:
        record_delete(record=record, actor=current_user)
    except RecordGone as error:
        db.session.rollback()
        return render_error(404, error.message)
    except DeleteRefused as error:
        db.session.rollback()
        record = _lifecycle_record(record_type, record_id)
        return _confirm_page(record, record_type, "hapus", status=409, message=error.message)
    db.session.commit()
    flash(_("%(title)s dihapus.", title=title), "success")
    return see_other(target)



# -- CSV import ---------------------------------------------------------------------------

@bp.route("/impor", methods=["GET", "POST"])
@role_required(*STAFF)
def import_upload():
    form = ImportForm()
    if form.validate_on_submit():
        upload = request.files.get("file")
        try:
            if upload is None or not upload.filename:
                raise CsvFileError(_("Pilih berkas CSV."))
            text = csv_decode(upload.stream.read(2 * 1024 * 1024 + 1))
            preview = csv_preview(form.kind.data, text)
        except CsvFileError as error:
            form.file.errors = [*form.file.errors, error.message]
        else:
            confirm = ImportConfirmForm(formdata=None, token=csv_token(form.kind.data, text))
            return render_page("crm/import_preview.html", preview=preview, confirm=confirm)
    return render_page("crm/import.html", form=form, http_status=form_status())


@bp.route("/impor/konfirmasi", methods=["POST"])
@role_required(*STAFF)
def import_confirm():
    confirm = ImportConfirmForm()
    if not confirm.validate_on_submit():
        return render_error(422, _("Pratinjau tidak sah. Unggah berkas lagi."))
    try:
        kind, text = csv_token_load(required_data(confirm.token))
        result = csv_import(kind=kind, text=text, only_valid=confirm.mode.data == "valid")
    except CsvFileError as error:
        db.session.rollback()
        return render_error(422, error.message)
    except CsvRowsInvalid as invalid:
        db.session.rollback()
        flash(_("Tidak ada yang diimpor: perbaiki baris yang salah atau pilih impor baris "
                "yang valid saja."), "error")
        return render_page("crm/import_preview.html", preview=invalid.preview,
                           confirm=confirm, http_status=422)
    db.session.commit()
    flash(_("%(imported)s baris diimpor, %(skipped)s baris dilewati.",
            imported=result.imported, skipped=result.skipped), "success")
    return see_other(url_for("crm.companies" if kind == "companies" else "crm.contacts"))


# -- admin: team and settings -------------------------------------------------------------

@bp.route("/tim")
@role_required(RoleName.ADMIN)
def team():
    members = queries.staff_members()
    forms = {}
    for member in members:
        form = PositionForm(formdata=None, prefix=f"u{member.id}")
        form.position.data = member.position or ""
        forms[member.id] = form
    return render_page("crm/team.html", members=members, forms=forms,
                       active_counts=queries.active_task_counts(),
                       threshold=reassign_threshold())


@bp.route("/tim/<int:user_id>", methods=["POST"])
@role_required(RoleName.ADMIN)
def team_position(user_id: int):
    member = owned_or_404(select(User).where(User.id == user_id))
    form = PositionForm(prefix=f"u{member.id}")
    if not form.validate_on_submit():
        return render_error(422, "; ".join(str(e) for e in form.position.errors))
    try:
        staff_position_set(user=member, position=form.position.data or None)
    except CrmError as error:
        db.session.rollback()
        return render_error(422, error.message)
    db.session.commit()
    flash(_("Posisi %(name)s disimpan.", name=member.name), "success")
    return see_other(url_for("crm.team"))


@bp.route("/pengaturan", methods=["GET", "POST"])
@role_required(RoleName.ADMIN)
def settings():
    form = SettingsForm()
    if request.method == "GET":
        form.threshold.data = reassign_threshold()
        form.webhook_url.data = setting_get(SETTING_URL, "")
    done = _form_saved(
        form, lambda: crm_settings_save(threshold=required_data(form.threshold),
                                        webhook_url=form.webhook_url.data or "",
                                        webhook_secret=form.webhook_secret.data or None,
                                        actor=current_user),
        message=_("Pengaturan CRM disimpan."), target=lambda _: url_for("crm.settings"))
    if done:
        return done
    intro = (_("Rahasia webhook sudah tersimpan.") if setting_get(SETTING_SECRET, "")
             else _("Belum ada rahasia webhook."))
    return _form_page(form, title=_("Pengaturan CRM"), action=url_for("crm.settings"),
                      submit=_("Simpan"), cancel=url_for("crm.board"), status=form_status(),
                      intro=intro)


# -- public interest form -----------------------------------------------------------------

def _interest_ip_key() -> str:
    from flask_limiter.util import get_remote_address

    return "interest-ip:" + (get_remote_address() or "")


@public_bp.route("/ajukan-maklon", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["INTEREST_LIMIT_PER_IP"],
               key_func=_interest_ip_key, methods=["POST"], scope="interest-ip")
def interest():
    """The public "Ajukan Maklon" form: creates a website lead. A filled honeypot gets the
    same thank-you as a person, and nothing is stored."""
    form = InterestForm()
    if request.method == "GET" and current_user.is_authenticated:
        form.name.data = current_user.name
        form.email.data = current_user.email
        form.phone.data = current_user.phone
    if form.validate_on_submit():
        if form.website.data:
            log.info("interest form: honeypot filled, nothing stored")
            return see_other(url_for("crm_public.interest_thanks"))
        interest_submit(name=required_data(form.name),
                        company_name=required_data(form.company_name),
                        email=required_data(form.email), phone=required_data(form.phone),
                        product_type=form.product_type.data or "",
                        message=form.message.data or "")
        db.session.commit()
        return see_other(url_for("crm_public.interest_thanks"))
    return render_page("crm/interest.html", "crm/_interest_form.html", form_status(),
                       form=form)


@public_bp.route("/ajukan-maklon/terima-kasih")
def interest_thanks():
    return render_page("crm/interest_thanks.html")


# This blueprint's entries in the header (app.core.templating: domains register their
# menu items and badges; `order` is the place in the header).
nav_on_register(
    bp,
    NavItem(_l("Papan CRM"), "crm.board", frozenset({"staff", "admin"}), group="crm",
            order=140),
    NavItem(_l("Tugas saya"), "crm.tasks", frozenset({"staff", "admin"}), group="crm",
            order=150),
)
