"""Their own history for maklon clients and sellers: filtered lists and their exports.

URL table:
    GET  /maklon/riwayat                the client's company's maklon requests and orders,
                                        filtered (?dari=&sampai= WIB, status, status_bayar
                                        lunas|tertunda|bertahap, jenis), a page (?hal=) and
                                        the totals of every filtered row; htmx: the results
    POST /maklon/riwayat/ekspor         that filtered list as a file (form: format csv|pdf
                                        and the same filters): up to EXPORT_INLINE_MAX
                                        rows the file itself (CSV streamed, PDF with the
                                        filters and totals); more, a job on queue
                                        `reports` and its self-polling status; 422 with
                                        the page and the message for a bad filter or format
    GET  /seller/pesanan/riwayat        the seller's store's orders, filtered (dates,
                                        status, metode), paged, with totals
    POST /seller/pesanan/riwayat/ekspor the same as a CSV or PDF file (or a job)
    GET  /riwayat/unduh/<key>           the file of one's own finished export job (404 for
                                        anyone else's)

The owner (the client's company, the seller's store) comes from the logged-in user, so
another company's or store's rows never appear (`app.reports.history`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Response, abort, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from app.accounts.current import my_store
from app.accounts.models import RoleName
from app.core.filters import page_arg
from app.core.http import render_page, streamed_response
from app.core.models import JobRecord, JobStatus
from app.core.security import role_required
from app.core.storage import storage_download, storage_folder, storage_stat
from app.extensions import db
from app.maklon.labels import PRODUCT_TYPE_LABELS, REQUEST_STATUS_LABELS
from app.maklon.models import ProductType, RequestStatus
from app.orders.lifecycle import ORDER_STATUS_LABELS
from app.orders.models import OrderStatus
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
from app.reports.history import (
    EXPORT_JOB,
    MAKLON_HISTORY,
    MAKLON_PAYMENT_LABELS,
    MAKLON_PAYMENT_STATUSES,
    SELLER_HISTORY,
    HistoryFilters,
    history_described,
    history_export_enqueue,
    maklon_history_filters,
    seller_history_filters,
)
from app.reports.routes import bp
from app.reports.routes.exports import _download_headers
from app.reports.tables import Report

Parse = Callable[[Mapping[str, str], list[str]], HistoryFilters]


def _maklon_parse(args: Mapping[str, str], problems: list[str]) -> HistoryFilters:
    return maklon_history_filters(args, problems, company_id=current_user.company_id)


def _seller_parse(args: Mapping[str, str], problems: list[str]) -> HistoryFilters:
    return seller_history_filters(args, problems, store_id=my_store().id)


def _choices(report: Report) -> dict[str, Any]:
    if report is MAKLON_HISTORY:
        return {"statuses": [(s, REQUEST_STATUS_LABELS[s]) for s in RequestStatus.ALL],
                "payment_statuses": [(s, MAKLON_PAYMENT_LABELS[s])
                                     for s in MAKLON_PAYMENT_STATUSES],
                "product_types": [(t, PRODUCT_TYPE_LABELS[t]) for t in ProductType.ALL],
                "list_endpoint": "reports.client_history",
                "export_endpoint": "reports.client_history_export"}
    return {"statuses": [(s, ORDER_STATUS_LABELS.get(s, s)) for s in OrderStatus.ALL],
            "methods": list(PAYMENT_METHODS.items()),
            "list_endpoint": "reports.seller_history",
            "export_endpoint": "reports.seller_history_export"}


def _page(report: Report, filters: HistoryFilters, problems: list[str], *,
          http_status: int = 200, export_error: str = "", job: JobRecord | None = None):
    page = page_arg(request.args, problems)
    choices = _choices(report)
    return render_page(
        "reports/history.html", "reports/_history_results.html", http_status=http_status,
        report=report, filters=filters, problems=problems, choices=choices,
        listing=report.page(filters, page), totals=report.totals(filters),
        export_error=export_error, job=job, inline_max=inline_max(),
        export_url=url_for(choices["export_endpoint"]))


def _export(report: Report, parse: Parse) -> Response | tuple[str, int]:
    """The filtered list as a file, or a job when it has more than EXPORT_INLINE_MAX rows;
    422 with the page and the message for a bad filter (a file must hold exactly what the
    user asked for), a format other than CSV/PDF or a PDF that is too long."""
    problems: list[str] = []
    filters = parse(request.form, problems)
    fmt = request.form.get("format", "")
    rows = report.count(filters)
    try:
        if problems:
            raise ExportError(_("Perbaiki filter di atas sebelum mengunduh."))
        export_check(report, fmt, rows)
    except ExportError as error:
        return _page(report, filters, problems, http_status=422, export_error=error.message)
    if rows > inline_max():
        job = history_export_enqueue(report=report, fmt=fmt, filters=filters,
                                     owner_id=current_user.id, rows=rows,
                                     locale=str(get_locale() or "id"))
        db.session.commit()
        db.session.refresh(job)
        return _page(report, filters, [], job=job)
    filename = export_filename(report, fmt)
    if fmt == "csv":
        response = streamed_response(csv_chunks(report, filters),
                                     content_type="text/csv; charset=utf-8")
    else:
        response = Response(report_pdf(report, filters, history_described(filters)),
                            mimetype="application/pdf")
    return _download_headers(response, filename)


@bp.route("/maklon/riwayat")
@role_required(RoleName.CLIENT)
def client_history():
    problems: list[str] = []
    return _page(MAKLON_HISTORY, _maklon_parse(request.args, problems), problems)


@bp.route("/maklon/riwayat/ekspor", methods=["POST"])
@role_required(RoleName.CLIENT)
def client_history_export():
    return _export(MAKLON_HISTORY, _maklon_parse)


@bp.route("/seller/pesanan/riwayat")
@role_required(RoleName.SELLER)
def seller_history():
    problems: list[str] = []
    return _page(SELLER_HISTORY, _seller_parse(request.args, problems), problems)


@bp.route("/seller/pesanan/riwayat/ekspor", methods=["POST"])
@role_required(RoleName.SELLER)
def seller_history_export():
    return _export(SELLER_HISTORY, _seller_parse)


@bp.route("/riwayat/unduh/<path:key>")
@login_required
def history_download(key: str):
    """The file of one of the user's own finished history export jobs; 404 otherwise (a
    key alone, even a real one, is not enough)."""
    if storage_folder(key) != FOLDER or not key.endswith((".csv", ".pdf")):
        abort(404)
    results = db.session.scalars(select(JobRecord.result).where(
        JobRecord.owner_id == current_user.id, JobRecord.name == EXPORT_JOB,
        JobRecord.status == JobStatus.FINISHED))
    written = next((r for r in results if r and r.get("key") == key), None)
    if written is None or storage_stat(key) is None:
        abort(404)
    fmt = key.rsplit(".", 1)[1]
    response = storage_download(key, mimetype="text/csv" if fmt == "csv" else "application/pdf",
                                filename=written["filename"])
    return _download_headers(response, written["filename"])
