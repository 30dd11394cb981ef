"""Their own history for maklon clients and sellers: filtered lists and their exports.

URL table:
    GET  /maklon/riwayat                the client's company's maklon requests and orders,
                                        filtered (?dari=&sampai= WIB, status, status_bayar
                                        lunas|tertunda|bertahap, jenis), a page (?hal=) and
                                        the totals of every filtered row; htmx: the results
    GET  /maklon/riwayat/ekspor         that filtered list as a file (?format=csv|pdf and
                                        the same filters): CSV streamed, PDF with the
                                        filters and totals; 422 with the page and the
                                        message for a bad filter or format
    GET  /seller/pesanan/riwayat        the seller's store's orders, filtered (dates,
                                        status, metode), paged, with totals
    GET  /seller/pesanan/riwayat/ekspor the same as a CSV or PDF file

The owner (the client's company, the seller's store) comes from the logged-in user, so
another company's or store's rows never appear (`app.reports.history`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Response, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.accounts.current import my_store
from app.accounts.models import RoleName
from app.core.filters import page_arg
from app.core.http import render_page, streamed_response
from app.core.security import role_required
from app.maklon.labels import PRODUCT_TYPE_LABELS, REQUEST_STATUS_LABELS
from app.maklon.models import ProductType, RequestStatus
from app.orders.checkout import PAYMENT_METHODS
from app.orders.lifecycle import ORDER_STATUS_LABELS
from app.orders.models import OrderStatus
from app.reports.exports import (
    ExportError,
    csv_chunks,
    export_check,
    export_filename,
    report_pdf,
)
from app.reports.history import (
    MAKLON_HISTORY,
    MAKLON_PAYMENT_LABELS,
    MAKLON_PAYMENT_STATUSES,
    SELLER_HISTORY,
    HistoryFilters,
    history_described,
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
          http_status: int = 200, export_error: str = ""):
    page = page_arg(request.args, problems)
    choices = _choices(report)
    args = filters.as_args()
    return render_page(
        "reports/history.html", "reports/_history_results.html", http_status=http_status,
        report=report, filters=filters, problems=problems, choices=choices,
        listing=report.page(filters, page), totals=report.totals(filters),
        export_error=export_error,
        export_csv=url_for(choices["export_endpoint"], format="csv", **args),
        export_pdf=url_for(choices["export_endpoint"], format="pdf", **args))


def _export(report: Report, parse: Parse) -> Response | tuple[str, int]:
    """The filtered list as a file; 422 with the page and the message for a bad filter (a
    file must hold exactly what the user asked for), a format other than CSV/PDF or a PDF
    that is too long."""
    problems: list[str] = []
    filters = parse(request.args, problems)
    fmt = request.args.get("format", "")
    try:
        if problems:
            raise ExportError(_("Perbaiki filter di atas sebelum mengunduh."))
        export_check(report, fmt, report.count(filters))
    except ExportError as error:
        return _page(report, filters, problems, http_status=422, export_error=error.message)
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


@bp.route("/maklon/riwayat/ekspor")
@role_required(RoleName.CLIENT)
def client_history_export():
    return _export(MAKLON_HISTORY, _maklon_parse)


@bp.route("/seller/pesanan/riwayat")
@role_required(RoleName.SELLER)
def seller_history():
    problems: list[str] = []
    return _page(SELLER_HISTORY, _seller_parse(request.args, problems), problems)


@bp.route("/seller/pesanan/riwayat/ekspor")
@role_required(RoleName.SELLER)
def seller_history_export():
    return _export(SELLER_HISTORY, _seller_parse)
