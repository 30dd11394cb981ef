"""Their own history through the API: the client's maklon requests and orders, the seller's
marketplace orders, with the same filters as the pages.

    GET /maklon/history     the client's company's requests (role client): date_from,
                            date_to (WIB dates), status, payment_status (lunas|tertunda|
                            bertahap), product_type
    GET /seller/history     the seller's store's orders (role seller): date_from, date_to,
                            status, method

The filters are read by the pages' own functions (`maklon_history_filters`,
`seller_history_filters` in app/reports/history.py), so web and API accept and refuse the
same values; here a value they would ignore is a 422 naming the field, with the same
message. The owner (company, store) comes from the token's user, never from the query.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from flask import url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import Field
from sqlalchemy import select

from app.accounts.current import my_store
from app.accounts.models import RoleName
from app.api import bp
from app.api.error_codes import ApiErrorCode
from app.api.errors import ApiError
from app.api.schemas import Count, Input, Output, Page, PageQuery, Rupiah, trimmed
from app.api.spec import operation, page_of
from app.core.models import JobRecord, JobStatus
from app.core.security import owned_or_404
from app.core.storage import storage_download, storage_stat
from app.extensions import db
from app.maklon.labels import PRODUCT_TYPE_LABELS, REQUEST_STATUS_LABELS
from app.orders.lifecycle import ORDER_PAYMENT_LABELS, ORDER_STATUS_LABELS
from app.payments.method_choice import PAYMENT_METHODS
from app.reports.exports import ExportError, export_check, export_filename
from app.reports.history import (
    EXPORT_JOB,
    MAKLON_HISTORY,
    MAKLON_PAYMENT_LABELS,
    SELLER_HISTORY,
    HistoryFilters,
    history_export_enqueue,
    history_rows,
    maklon_history_filters,
    seller_history_filters,
)

TAG = "Riwayat"
DATE_HELP = "A WIB calendar date: 2026-12-07 (also 07/12/2026)."


class HistoryQuery(PageQuery):
    date_from: Annotated[str, trimmed(20)] = Field("", description=DATE_HELP + " From this day on.")
    date_to: Annotated[str, trimmed(20)] = Field("", description=DATE_HELP + " Up to this day.")
    status: Annotated[str, trimmed(30)] = Field(
        "", description="The status code; empty: every status.")


class MaklonHistoryQuery(HistoryQuery):
    payment_status: Annotated[str, trimmed(20)] = Field(
        "", description="lunas (every milestone paid), "
                        "bertahap (some paid), tertunda (none paid); empty: all.")
    product_type: Annotated[str, trimmed(30)] = Field(
        "", description="The product type code; empty: all.")


class SellerHistoryQuery(HistoryQuery):
    method: Annotated[str, trimmed(30)] = Field(
        "", description="The payment method code; empty: all.")


class MaklonExportIn(Input):
    """The export of the filtered maklon history (the list's filters, no paging)."""

    format: Literal["csv", "pdf"]
    date_from: Annotated[str, trimmed(20)] = Field("", description=DATE_HELP)
    date_to: Annotated[str, trimmed(20)] = Field("", description=DATE_HELP)
    status: Annotated[str, trimmed(30)] = ""
    payment_status: Annotated[str, trimmed(20)] = ""
    product_type: Annotated[str, trimmed(30)] = ""


class SellerExportIn(Input):
    """The export of the filtered order history (the list's filters, no paging)."""

    format: Literal["csv", "pdf"]
    date_from: Annotated[str, trimmed(20)] = Field("", description=DATE_HELP)
    date_to: Annotated[str, trimmed(20)] = Field("", description=DATE_HELP)
    status: Annotated[str, trimmed(30)] = ""
    method: Annotated[str, trimmed(30)] = ""


class ExportJobOut(Output):
    """An export job of mine."""

    id: int
    status: JobStatus
    progress: int = Field(ge=0, le=100)
    description: str
    rows: int | None = Field(description="Rows in the file, once finished.")
    file_url: str | None = Field(description="The file (GET), once finished.")
    created_at: datetime
    finished_at: datetime | None


class MaklonHistoryItem(Output):
    """One of the company's maklon requests or orders with its milestone sums."""

    number: str
    created_at: datetime
    product_name: str
    product_type: str
    product_type_label: str
    status: str
    status_label: str
    quantity: Count
    payment_status: str = Field(description="lunas, bertahap, tertunda; empty: no "
                                            "milestones yet (not signed).")
    payment_status_label: str
    billed: Rupiah = Field(description="The sum of the milestones.")
    paid: Rupiah
    due: Rupiah


class SellerHistoryItem(Output):
    """One of the store's orders."""

    number: str
    created_at: datetime
    buyer_name: str
    status: str
    status_label: str
    payment_status: str
    payment_status_label: str
    method: str
    method_label: str
    item_count: Count
    subtotal: Rupiah
    shipping_cost: Rupiah
    total: Rupiah


# The query's fields -> the pages' argument names (read by the shared parsing functions).
_ARGS = {"date_from": "dari", "date_to": "sampai", "status": "status",
         "payment_status": "status_bayar", "product_type": "jenis", "method": "metode"}
def _filters(query: Input, parse) -> HistoryFilters:
    """The filters of `query` read by the pages' function; 422 for a value it refuses,
    each message at its field (found by reading that field alone; a reversed range is
    the `date_to`'s)."""
    args = {_ARGS[name]: value for name, value in query.model_dump().items()
            if name in _ARGS and value}
    problems: list[str] = []
    filters = parse(args, problems)
    if problems:
        fields: dict[str, object] = {}
        for name, arg in _ARGS.items():
            alone: list[str] = []
            if arg in args:
                parse({arg: args[arg]}, alone)
            if alone:
                fields[name] = alone[0]
        if not fields:
            fields["date_to"] = problems[0]
        raise ApiError(422, ApiErrorCode.VALIDATION_FAILED, " ".join(problems), fields=fields)
    return filters


@operation(bp, "/maklon/history", "GET", tag=TAG, summary="The company's maklon history",
           query=MaklonHistoryQuery, response=Page[MaklonHistoryItem],
           roles=(RoleName.CLIENT,), errors=(422,))
def maklon_history(query: MaklonHistoryQuery):
    """Newest first. 422 naming the field for a date that is not one, a reversed range or
    an unknown code (the pages' rules)."""
    filters = _filters(query, lambda args, problems: maklon_history_filters(
        args, problems, company_id=current_user.company_id))
    total = MAKLON_HISTORY.count(filters)
    rows = history_rows(MAKLON_HISTORY, filters, limit=query.per_page,
                        offset=(query.page - 1) * query.per_page)
    items = [{"number": r["number"], "created_at": r["created_at"],
              "product_name": r["product_name"], "product_type": r["product_type"],
              "product_type_label": str(PRODUCT_TYPE_LABELS.get(r["product_type"],
                                                                r["product_type"])),
              "status": r["status"],
              "status_label": str(REQUEST_STATUS_LABELS.get(r["status"], r["status"])),
              "quantity": r["quantity"], "payment_status": r["pay_status"],
              "payment_status_label": str(MAKLON_PAYMENT_LABELS[r["pay_status"]]),
              "billed": int(r["billed"]), "paid": int(r["paid"]), "due": int(r["due"])}
             for r in rows]
    return page_of(items, total, query, MaklonHistoryItem)


@operation(bp, "/seller/history", "GET", tag=TAG, summary="The store's order history",
           query=SellerHistoryQuery, response=Page[SellerHistoryItem],
           roles=(RoleName.SELLER,), errors=(422,))
def seller_history(query: SellerHistoryQuery):
    """Newest first. 422 naming the field for a bad date, a reversed range or an unknown
    code. 403 without a store."""
    shop = my_store()
    filters = _filters(query, lambda args, problems: seller_history_filters(
        args, problems, store_id=shop.id))
    total = SELLER_HISTORY.count(filters)
    rows = history_rows(SELLER_HISTORY, filters, limit=query.per_page,
                        offset=(query.page - 1) * query.per_page)
    items = [{"number": r["number"], "created_at": r["created_at"], "buyer_name": r["name"],
              "status": r["status"],
              "status_label": str(ORDER_STATUS_LABELS.get(r["status"], r["status"])),
              "payment_status": r["payment_status"],
              "payment_status_label": str(ORDER_PAYMENT_LABELS.get(r["payment_status"],
                                                                   r["payment_status"])),
              "method": r["payment_method"],
              "method_label": str(PAYMENT_METHODS.get(r["payment_method"],
                                                      r["payment_method"])),
              "item_count": r["item_count"], "subtotal": r["subtotal"],
              "shipping_cost": r["shipping_cost"], "total": r["total"]} for r in rows]
    return page_of(items, total, query, SellerHistoryItem)


def _job_out(job: JobRecord) -> ExportJobOut:
    finished = job.status == JobStatus.FINISHED and bool(job.result)
    return ExportJobOut(
        id=job.id, status=JobStatus(job.status), progress=job.progress,
        description=job.description,
        rows=job.result.get("rows") if finished and job.result else None,
        file_url=url_for("api.history_export_file", job_id=job.id) if finished else None,
        created_at=job.created_at, finished_at=job.finished_at)


def _export_job(report, body, filters: HistoryFilters):
    rows = report.count(filters)
    try:
        export_check(report, body.format, rows)
    except ExportError as error:
        raise ApiError(422, ApiErrorCode.VALIDATION_FAILED, error.message,
                       fields={"format": error.message}) from None
    job = history_export_enqueue(report=report, fmt=body.format, filters=filters,
                                 owner_id=current_user.id, rows=rows,
                                 locale=str(get_locale() or "id"))
    db.session.commit()
    db.session.refresh(job)
    return _job_out(job), 202, {"Location": url_for("api.history_export", job_id=job.id)}


@operation(bp, "/maklon/history/exports", "POST", tag=TAG,
           summary="Export the company's maklon history (a job)", body=MaklonExportIn,
           response=ExportJobOut, status=202, roles=(RoleName.CLIENT,), errors=(422,))
def maklon_history_export(body: MaklonExportIn):
    """The filtered list as CSV or PDF, made by a background job; poll the job (the
    `Location` header). 422 at the field for a bad filter or a PDF that is too long."""
    filters = _filters(body, lambda args, problems: maklon_history_filters(
        args, problems, company_id=current_user.company_id))
    return _export_job(MAKLON_HISTORY, body, filters)


@operation(bp, "/seller/history/exports", "POST", tag=TAG,
           summary="Export the store's order history (a job)", body=SellerExportIn,
           response=ExportJobOut, status=202, roles=(RoleName.SELLER,), errors=(422,))
def seller_history_export(body: SellerExportIn):
    """The filtered list as CSV or PDF, made by a background job. 403 without a store."""
    shop = my_store()
    filters = _filters(body, lambda args, problems: seller_history_filters(
        args, problems, store_id=shop.id))
    return _export_job(SELLER_HISTORY, body, filters)


def _my_job(job_id: int) -> JobRecord:
    return owned_or_404(select(JobRecord).where(
        JobRecord.id == job_id, JobRecord.owner_id == current_user.id,
        JobRecord.name == EXPORT_JOB))


@operation(bp, "/history/exports/<id:job_id>", "GET", tag=TAG,
           summary="One of my history export jobs", response=ExportJobOut,
           roles=(RoleName.CLIENT, RoleName.SELLER), errors=(404,))
def history_export(job_id: int):
    """Status and progress; `file_url` once finished. Another user's job is a 404."""
    return _job_out(_my_job(job_id))


@operation(bp, "/history/exports/<id:job_id>/file", "GET", tag=TAG,
           summary="The file of a finished history export", roles=(RoleName.CLIENT,
                                                                  RoleName.SELLER),
           errors=(404, 409), media_type=("text/csv", "application/pdf"))
def history_export_file(job_id: int):
    """The CSV or PDF. 409 while the job is not finished; 404 for another user's job."""
    job = _my_job(job_id)
    if job.status != JobStatus.FINISHED or not job.result:
        raise ApiError(409, ApiErrorCode.EXPORT_NOT_READY,
                       _("Ekspor belum selesai; coba lagi nanti."))
    key = job.result.get("key", "")
    if not key or storage_stat(key) is None:
        raise ApiError(404)
    fmt = key.rsplit(".", 1)[-1]
    filename = job.result.get("filename") or export_filename(MAKLON_HISTORY, fmt)
    response = storage_download(key, mimetype="text/csv" if fmt == "csv"
                                else "application/pdf", filename=filename)
    response.cache_control.private = True
    response.cache_control.no_store = True
    return response
