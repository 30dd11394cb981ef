"""Reports with filters, and their exports.

URL table:
    GET   /admin/laporan                   a report (?laporan=pesanan|faktur|pembayaran|
                                           piutang) filtered by the query string: one page
                                           of rows (?hal=) and the totals of every filtered row
    POST  /admin/laporan/ekspor            export the filtered set (form: laporan, format
                                           csv|pdf, the filters): up to EXPORT_INLINE_MAX rows
                                           the file itself (CSV streamed); more, a job on queue
                                           `reports` and its self-polling status
    GET   /admin/laporan/unduh/<key>       a finished export job's file
"""

from __future__ import annotations

from typing import TypeVar

from flask import Response, abort, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from app.accounts.models import RoleName
from app.audit.services import audit_record
from app.core.clock import to_wib
from app.core.filters import page_arg
from app.core.http import content_disposition, render_page, streamed_response
from app.core.queue import enqueue_after_commit
from app.core.security import role_required
from app.core.storage import storage_download, storage_folder, storage_stat
from app.extensions import db
from app.orders.lifecycle import ORDER_PAYMENT_LABELS, ORDER_STATUS_LABELS
from app.payments.method_choice import PAYMENT_METHODS
from app.reports.exports import (
    FOLDER,
    ExportError,
    csv_chunks,
    export_check,
    export_filename,
    inline_max,
    report_pdf,
)
from app.reports.routes import bp
from app.reports.tables import REPORTS, filter_choices, filters_described, report_filters

DEFAULT_REPORT = "pesanan"


def _report_arg(args) -> str:
    kind = args.get("laporan", "")
    return kind if kind in REPORTS else DEFAULT_REPORT


def _page_context(kind: str, args, problems: list[str]) -> dict:
    filters = report_filters(args, problems)
    report = REPORTS[kind]
    return {"report": report, "reports": REPORTS, "filters": filters,
            "listing": report.page(filters, page_arg(args, problems)),
            "totals": report.totals(filters), "choices": filter_choices(),
            "order_status_labels": ORDER_STATUS_LABELS,
            "payment_status_labels": ORDER_PAYMENT_LABELS, "method_labels": PAYMENT_METHODS,
            "inline_max": inline_max()}


@bp.route("/admin/laporan")
@role_required(RoleName.ADMIN)
def reports_page():
    problems: list[str] = []
    context = _page_context(_report_arg(request.args), request.args, problems)
    return render_page("reports/reports.html", "reports/_report_table.html",
                       problems=problems, job=None, export_error="", **context)


_R = TypeVar("_R", bound=BaseResponse)  # a Flask response, or werkzeug's from redirect()


def _download_headers(response: _R, filename: str) -> _R:
    response.headers["Content-Disposition"] = content_disposition(filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.cache_control.private = True
    response.cache_control.public = False
    response.cache_control.no_store = True
    return response


@bp.route("/admin/laporan/ekspor", methods=["POST"])
@role_required(RoleName.ADMIN)
def export():
    """The filtered set as a file, or as a background job when it is large; 422 with the
    page and a message for a format that is not CSV/PDF or a PDF that is too long."""
    problems: list[str] = []
    kind = _report_arg(request.form)
    filters = report_filters(request.form, problems)
    report = REPORTS[kind]
    fmt = request.form.get("format", "")
    rows = report.count(filters)
    try:
        export_check(report, fmt, rows)
    except ExportError as error:
        context = _page_context(kind, request.form, [])
        return render_page("reports/reports.html", http_status=422, problems=problems,
                           job=None, export_error=error.message, **context)
    applied = {str(label): value for label, value in filters_described(filters)}
    audit_record("report.export", object_type="report", object_id=kind,
                 after={"format": fmt, "rows": rows, "filters": applied,
                        "background": rows > inline_max()})
    if rows > inline_max():
        job = enqueue_after_commit(
            "jobs.reports.export_report", kind, fmt, filters.to_json(),
            str(get_locale() or "id"), queue="reports",
            track=True, owner_id=current_user.id, timeout=3600,
            description=_("Ekspor %(title)s (%(format)s, %(rows)s baris)", title=report.title,
                          format=fmt.upper(), rows=rows))
        db.session.commit()
        db.session.refresh(job)
        context = _page_context(kind, request.form, [])
        return render_page("reports/reports.html", problems=problems, job=job,
                           export_error="", **context)
    db.session.commit()
    filename = export_filename(report, fmt)
    if fmt == "csv":
        response = streamed_response(csv_chunks(report, filters),
                                     content_type="text/csv; charset=utf-8")
    else:
        response = Response(report_pdf(report, filters), mimetype="application/pdf")
    return _download_headers(response, filename)


@bp.route("/admin/laporan/unduh/<path:key>")
@role_required(RoleName.ADMIN)
def export_download(key: str):
    """A file written by an export job (keys are random; admins only); 404 otherwise."""
    # The key's shape first, then the (on a local disk resolved) file's folder.
    if storage_folder(key) != FOLDER or not key.endswith((".csv", ".pdf")):
        abort(404)
    stored = storage_stat(key)
    if stored is None:
        abort(404)
    fmt = key.rsplit(".", 1)[1]
    response = storage_download(
        key, mimetype="text/csv" if fmt == "csv" else "application/pdf",
        filename=f"laporan-{to_wib(stored.modified):%Y%m%d}.{fmt}")  # the WIB date
    return _download_headers(response, f"laporan-{to_wib(stored.modified):%Y%m%d}.{fmt}")
