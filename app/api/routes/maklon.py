"""Maklon (contract manufacturing): requests, the estimate, quotes and negotiation, signing
the contract, milestone payments and the production timeline.

    GET  /maklon/requests                                   the requests the user may see
    POST /maklon/requests                                   client: submit a request (or save
                                                            a draft with `draft: true`)
    GET  /maklon/requests/<number>                          one request
    POST /maklon/estimate                                   client: the live price estimate
    GET  /maklon/requests/<number>/quotes                   quote versions (newest first)
    POST /maklon/requests/<number>/quotes                   staff: a new quote version
    POST /maklon/requests/<number>/quotes/<version>/approve admin: approve the latest version
    GET  /maklon/requests/<number>/messages                 the negotiation thread
    POST /maklon/requests/<number>/messages                 a message (+ counter-proposal)
    POST /maklon/requests/<number>/accept                   client: sign the contract
    GET  /maklon/requests/<number>/milestones               the payment schedule
    POST /maklon/requests/<number>/milestones/<kind>/payments  client: pay a milestone
    GET  /maklon/requests/<number>/stages                   the production timeline

The same rules as the web (app.maklon.routes): clients see their company's requests, staff
and admins all of them, every other role gets 403; another company's request is a 404
(`app.maklon.access.request_or_404`, the owner filter in the query).
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal

from flask import request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import Field
from sqlalchemy import func, select

from app.accounts.forms import npwp_normalize
from app.accounts.models import RoleName
from app.accounts.totp import totp_enabled
from app.api import bp
from app.api.error_codes import ApiErrorCode
from app.api.errors import ApiError
from app.api.schemas import CompanyRef, Input, Output, Page, PageQuery, trimmed
from app.api.spec import operation, page_of
from app.extensions import db
from app.maklon.access import (
    formulas_visible,
    is_maklon_staff,
    request_or_404,
    requests_listed,
)
from app.maklon.contracts import ContractError, SignContext, contract_sign
from app.maklon.forms import QUANTITY_MAX as FORM_QUANTITY_MAX
from app.maklon.forms import SIDE_MAX, SIZE_MAX
from app.maklon.labels import (
    DIFF_LABELS,
    MILESTONE_LABELS,
    MILESTONE_STATUS_LABELS,
    PRICE_LINE_LABELS,
    QC_LABELS,
    QUOTE_STATUS_LABELS,
    REQUEST_STATUS_LABELS,
    STAGE_LABELS,
)
from app.maklon.milestones import (
    MilestoneError,
    milestone_amounts,
    milestone_invoice,
    milestone_payment_start,
    milestones_of,
    open_payment,
)
from app.maklon.models import (
    Formula,
    FormulaChoice,
    MaklonRequest,
    MilestoneKind,
    MilestonePayment,
    Packaging,
    ProductType,
    Quote,
    QuoteMessage,
    RequestStatus,
)
from app.maklon.quotes import (
    DEFAULT_SPLIT,
    MESSAGE_MAX,
    PRICE_MAX,
    QuoteError,
    latest_quote,
    message_post,
    messages_of,
    quote_approve,
    quote_create,
    quotes_of,
    terms_parse,
)
from app.maklon.quotes import QUANTITY_MAX as QUOTE_QUANTITY_MAX
from app.maklon.requests import (
    Estimate,
    RequestConflict,
    RequestInvalid,
    request_estimate,
    request_save,
    request_submit,
)
from app.maklon.sign_limit import sign_rate_limit
from app.maklon.stage_photos import stage_photo_response
from app.maklon.stages import request_history, stage_progress
from app.payments.method_choice import PAYMENT_METHODS
from app.payments.pay_page import pay_view
from app.payments.services import PAY_STATUS_LABELS, payment_charge_committed

log = logging.getLogger(__name__)
TAG = "Maklon"
CLIENT = (RoleName.CLIENT,)
STAFF = (RoleName.STAFF, RoleName.ADMIN)
READERS = (RoleName.CLIENT, RoleName.STAFF, RoleName.ADMIN)

ProductTypeName = ProductType
PackagingName = Packaging
FormulaChoiceName = FormulaChoice
RequestStatusName = RequestStatus
MilestoneKindName = MilestoneKind
# A choice built at import time from a table: pydantic reads the Literal at run time, a
# type checker sees the str it is.
if TYPE_CHECKING:
    PaymentMethodName = str
else:
    PaymentMethodName = Literal[tuple(PAYMENT_METHODS)]


# --- models ----------------------------------------------------------------------------------

class RequestSpecIn(Input):
    """The specification, as the web request form takes it (types and lengths only; whether
    the factory can make it is judged on submit)."""

    product_name: Annotated[str, trimmed(120)] = ""
    product_type: ProductTypeName | None = None
    packaging: PackagingName | None = None
    size: int | None = Field(None, ge=1, le=SIZE_MAX, description="Content per unit.")
    size_unit: Literal["ml", "g"] = "ml"
    length_mm: int | None = Field(None, ge=1, le=SIDE_MAX,
                                  description="Custom packaging only.")
    width_mm: int | None = Field(None, ge=1, le=SIDE_MAX)
    height_mm: int | None = Field(None, ge=1, le=SIDE_MAX)
    quantity: int | None = Field(None, ge=1, le=FORM_QUANTITY_MAX, description="Units per batch.")
    formula_choice: FormulaChoiceName = FormulaChoice.DEVELOP
    formula_id: int | None = Field(None, ge=1, le=2**31 - 1,
                                   description="One of the company's formulas (`stored`).")
    desired_date: date | None = Field(None, description="Desired delivery date.")
    notes: Annotated[str, trimmed(2000)] = ""

    def values(self) -> dict[str, Any]:
        """The typed fields as RequestForm.values() gives them to the services."""
        return {"product_name": self.product_name, "product_type": self.product_type or "",
                "packaging": self.packaging or "", "size": self.size,
                "size_unit": self.size_unit, "length_mm": self.length_mm,
                "width_mm": self.width_mm, "height_mm": self.height_mm,
                "quantity": self.quantity, "formula_choice": self.formula_choice,
                "formula_id": self.formula_id, "desired_date": self.desired_date,
                "notes": self.notes}


class RequestIn(RequestSpecIn):
    draft: bool = Field(False, description="true: save a draft (anything partial is kept); "
                                           "false: validate against capability and submit.")
    company_name: Annotated[str, trimmed(160)] = Field(
        "", description="Required for a client without a "
                        "company yet (the first request).")
    company_npwp: Annotated[str, trimmed(32)] = ""
    company_address: Annotated[str, trimmed(500)] = ""


class RequestListQuery(PageQuery):
    status: RequestStatusName | None = Field(None, description="Only requests in this status.")


class EstimateIn(RequestSpecIn):
    pass


class PriceLineOut(Output):
    key: str
    label: str
    amount: int


class PriceOut(Output):
    """A price: the breakdown lines, cost, margin, discount, total and the unit price."""

    lines: list[PriceLineOut]
    cost: int
    margin_pct: str
    margin: int
    discount_pct: str
    discount: int
    total: int
    quantity: int
    unit_price: int


class EstimateOut(Output):
    """The estimate, or what is missing before one can be made (`result` null then)."""

    missing: list[str]
    result: PriceOut | None


class RequestSummaryOut(Output):
    number: str
    status: str
    status_label: str
    product_name: str
    product_type: str
    quantity: int
    stage: str | None
    company: CompanyRef
    submitted_at: datetime | None
    updated_at: datetime


class FileOut(Output):
    id: int
    kind: str
    filename: str
    content_type: str
    size: int


class RequestOut(RequestSummaryOut):
    """One request: the specification, status and stage, the last estimate."""

    packaging: str
    size: int
    size_unit: str
    length_mm: int | None
    width_mm: int | None
    height_mm: int | None
    formula_choice: str
    formula_id: int | None
    desired_date: date | None
    notes: str
    stage_label: str | None
    promised_date: date | None
    signed_at: datetime | None
    completed_at: datetime | None
    created_at: datetime
    files: list[FileOut]
    estimate: EstimateOut | None


class SplitOut(Output):
    kind: str
    label: str
    percent: int
    amount: int


class DiffOut(Output):
    field: str
    label: str
    old: Any
    new: Any


class QuoteOut(Output):
    """One quote version."""

    id: int
    version: int
    status: str
    status_label: str
    quantity: int
    unit_price: int
    total: int
    breakdown: PriceOut
    split: list[SplitOut]
    delivery_date: date
    valid_until: date
    note: str
    diff: list[DiffOut] = Field(description="What changed against the previous version.")
    approved: bool
    approved_at: datetime | None
    approved_by: str | None
    created_at: datetime


class QuoteListOut(Output):
    items: list[QuoteOut]


class QuoteIn(Input):
    """A new version, like the staff form: empty quantity / margin / discount take the
    request's and the settings' values."""

    delivery_date: date
    valid_until: date
    quantity: int | None = Field(None, ge=1, le=QUOTE_QUANTITY_MAX)
    margin_pct: Decimal | None = Field(None, ge=0, lt=100, max_digits=5, decimal_places=2)
    discount_pct: Decimal | None = Field(None, ge=0, lt=100, max_digits=5, decimal_places=2)
    split_dp: int | None = Field(None, ge=1, le=100, description="Percent; default: the "
                                                                  "latest version's split.")
    split_mid: int | None = Field(None, ge=1, le=100)
    split_final: int | None = Field(None, ge=1, le=100)
    note: Annotated[str, trimmed(MESSAGE_MAX)] = ""


class MessageIn(Input):
    body: Annotated[str, trimmed(MESSAGE_MAX, 1)]
    counter_unit_price: int | None = Field(None, ge=1, le=PRICE_MAX)
    counter_quantity: int | None = Field(None, ge=1, le=QUOTE_QUANTITY_MAX)
    counter_date: date | None = None


class MessageOut(Output):
    id: int
    author: str
    author_is_staff: bool
    body: str
    counter_unit_price: int | None
    counter_quantity: int | None
    counter_date: date | None
    created_at: datetime


class MessageListOut(Output):
    items: list[MessageOut]


class AcceptIn(Input):
    """The web signing form's confirmation: the password, or with two-step login on, a
    code from the authenticator app."""

    password: str | None = Field(None, max_length=1000, pattern=r"^[^\x00]*$")
    totp_code: Annotated[str, trimmed(40)] | None = None


class ContractOut(Output):
    number: str
    status: str
    quote_version: int
    total: int
    signed_at: datetime
    signature: str = Field(description="SHA-256(request id + client id + signing time).")
    verification_code: str
    pdf_sha256: str
    auth_method: str


class MilestoneOut(Output):
    kind: str
    label: str
    percent: int
    amount: int
    unlocks_stage: str
    unlocks_stage_label: str
    status: str
    status_label: str
    paid_at: datetime | None
    invoice_number: str | None
    open_payment_reference: str | None


class MilestoneListOut(Output):
    items: list[MilestoneOut]


class PaymentIn(Input):
    method: PaymentMethodName


class InstructionStepsOut(Output):
    title: str
    items: list[str]


class MilestonePaymentOut(Output):
    """A milestone's payment and how to pay it (as the web payment page shows it)."""

    reference: str
    kind: str
    amount: int
    method: str
    method_label: str
    status: str
    status_label: str
    charged: bool
    expires_at: datetime
    instruction_kind: str = Field(description="va | bill | ewallet | qris | cstore")
    va_number: str
    bill_key: str
    biller_code: str
    qr_string: str
    deeplink_url: str
    store: str = Field("", description="alfamart | indomaret (cstore), else empty.")
    payment_code: str = Field("", description="The code to show at the retail outlet's "
                                              "cashier (cstore).")
    instructions: list[InstructionStepsOut]


class StageOut(Output):
    id: int
    stage: str
    label: str
    entered_at: datetime
    staff_name: str
    note: str
    qc_result: str = Field(description="QC only: pass or fail.")
    qc_label: str
    photo_url: str | None


class TimelineOut(Output):
    number: str
    status: str
    stage: str | None
    stage_label: str | None
    position: int
    positions: int
    progress_percent: int
    stages: list[StageOut]


# --- helpers ---------------------------------------------------------------------------------

def _price_out(result: dict[str, Any]) -> PriceOut:
    return PriceOut(
        lines=[PriceLineOut(key=line["key"], label=str(PRICE_LINE_LABELS.get(line["key"],
                                                                             line["key"])),
                            amount=int(line["amount"])) for line in result.get("lines", [])],
        cost=int(result.get("cost", 0)), margin_pct=str(result.get("margin_pct", "")),
        margin=int(result.get("margin", 0)), discount_pct=str(result.get("discount_pct", "")),
        discount=int(result.get("discount", 0)), total=int(result.get("total", 0)),
        quantity=int(result.get("quantity", 0)), unit_price=int(result.get("unit_price", 0)))


def _estimate_out(estimate: Estimate) -> EstimateOut:
    if estimate.result is None:
        return EstimateOut(missing=[str(m) for m in estimate.missing], result=None)
    return EstimateOut(missing=[], result=_price_out(estimate.result.as_dict()))


def _company(req: MaklonRequest) -> CompanyRef:
    return CompanyRef(id=req.company.id, name=req.company.name)


def _summary(req: MaklonRequest) -> dict[str, Any]:
    return {"number": req.number, "status": req.status,
            "status_label": str(REQUEST_STATUS_LABELS.get(req.status, req.status)),
            "product_name": req.product_name, "product_type": req.product_type,
            "quantity": req.quantity, "stage": req.stage, "company": _company(req),
            "submitted_at": req.submitted_at, "updated_at": req.updated_at}


def _request_out(req: MaklonRequest) -> RequestOut:
    stored = (req.estimate or {}).get("result")
    return RequestOut(
        **_summary(req), packaging=req.packaging, size=req.size, size_unit=req.size_unit,
        length_mm=req.length_mm, width_mm=req.width_mm, height_mm=req.height_mm,
        formula_choice=req.formula_choice, formula_id=req.formula_id,
        desired_date=req.desired_date, notes=req.notes,
        stage_label=str(STAGE_LABELS[req.stage]) if req.stage in STAGE_LABELS else None,
        promised_date=req.promised_date, signed_at=req.signed_at,
        completed_at=req.completed_at, created_at=req.created_at,
        files=[FileOut.model_validate(f) for f in req.files],
        estimate=EstimateOut(missing=[], result=_price_out(stored)) if stored else None)


def _visible(number: str) -> MaklonRequest:
    """The request if the user may see it (404 otherwise: another company's)."""
    return request_or_404(current_user, number)


def _formula_not_ours(body: RequestSpecIn) -> dict[str, str]:
    """The web form offers only the company's formulas: any other id is refused there."""
    if body.formula_id is None:
        return {}
    if current_user.company_id is not None and db.session.scalar(
            formulas_visible(current_user).where(Formula.id == body.formula_id)) is not None:
        return {}
    return {"formula_id": _("Formula ini tidak ditemukan di perusahaan Anda.")}


def _invalid(errors: dict[str, str]) -> ApiError:
    return ApiError(422, ApiErrorCode.VALIDATION_FAILED, fields=errors)


# --- requests --------------------------------------------------------------------------------

@operation(bp, "/maklon/requests", "GET", tag=TAG, summary="The maklon requests the user "
           "may see", query=RequestListQuery, response=Page[RequestSummaryOut], roles=READERS)
def maklon_requests(query: RequestListQuery):
    """A client sees their company's requests (newest change first); staff and admins see
    every submitted one (drafts stay the client's), newest submission first."""
    stmt = requests_listed(current_user)
    order: tuple[Any, ...]
    if is_maklon_staff(current_user):
        order = (MaklonRequest.submitted_at.desc(), MaklonRequest.id.desc())
    else:
        order = (MaklonRequest.updated_at.desc(), MaklonRequest.id.desc())
    if query.status:
        stmt = stmt.where(MaklonRequest.status == query.status)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.session.scalars(stmt.order_by(*order).limit(query.per_page)
                              .offset((query.page - 1) * query.per_page)).all()
    return page_of([_summary(r) for r in rows], total, query, RequestSummaryOut)


@operation(bp, "/maklon/requests", "POST", tag=TAG, summary="Submit a maklon request (or "
           "save a draft)", body=RequestIn, response=RequestOut, status=201, roles=CLIENT,
           errors=(409,))
def maklon_request_create(body: RequestIn):
    """The web form's fields and checks (`request_submit`, or `request_save` with
    `draft: true`). A refused submit is a 422 with a message per field and writes nothing.
    Files (specification, references) cannot be uploaded through the API: attach them on
    the website; `formula_choice: upload` therefore needs the website too."""
    errors = _formula_not_ours(body)
    npwp = npwp_normalize(body.company_npwp)
    if npwp is None:
        errors["company_npwp"] = _("NPWP terdiri dari 15 atau 16 angka, misalnya "
                                   "01.234.567.8-901.000.")
    if errors:
        raise _invalid(errors)
    company = {"name": body.company_name, "npwp": npwp or "", "address": body.company_address}
    service = request_save if body.draft else request_submit
    try:
        saved = service(client=current_user, values=body.values(), company=company)
    except RequestInvalid as invalid:
        raise _invalid(invalid.errors) from None
    except RequestConflict as conflict:
        raise ApiError(409, ApiErrorCode.CONFLICT, conflict.message) from None
    number = saved.number
    db.session.commit()
    log.info("api: maklon request %s %s by user %s", number,
             "saved" if body.draft else "submitted", current_user.id)
    req = _visible(number)
    return _request_out(req), 201, {"Location": url_for("api.maklon_request_get",
                                                        number=number)}


@operation(bp, "/maklon/requests/<number>", "GET", tag=TAG, summary="One maklon request",
           response=RequestOut, roles=READERS)
def maklon_request_get(number: str):
    return _request_out(_visible(number))


@operation(bp, "/maklon/estimate", "POST", tag=TAG, summary="The live price estimate of a "
           "specification", body=EstimateIn, response=EstimateOut, roles=CLIENT)
def maklon_estimate(body: EstimateIn):
    """What the web form's "Hitung perkiraan" shows: the breakdown lines and totals, or the
    fields still missing. Nothing is saved; a formula of another company counts as not
    chosen. The formula's composition is never shown."""
    estimate = request_estimate(body.values(), client=current_user)
    db.session.commit()  # keeps the audit row of a stored formula's decryption
    return _estimate_out(estimate)


# --- quotes and negotiation ------------------------------------------------------------------

def _quote_out(quote: Quote) -> QuoteOut:
    split = quote.milestone_split or {}
    amounts = milestone_amounts(quote.total, split) if split else {}
    return QuoteOut(
        id=quote.id, version=quote.version, status=quote.status,
        status_label=str(QUOTE_STATUS_LABELS.get(quote.status, quote.status)),
        quantity=quote.quantity, unit_price=quote.unit_price, total=quote.total,
        breakdown=_price_out({**quote.breakdown, "total": quote.total,
                              "quantity": quote.quantity, "unit_price": quote.unit_price}),
        split=[SplitOut(kind=kind, label=str(MILESTONE_LABELS[kind]),
                        percent=int(split[kind]), amount=amounts[kind])
               for kind in MilestoneKind.ALL if kind in split],
        delivery_date=quote.delivery_date, valid_until=quote.valid_until, note=quote.note,
        diff=[DiffOut(field=key, label=str(DIFF_LABELS.get(key, key)), old=pair[0],
                      new=pair[1]) for key, pair in (quote.diff or {}).items()],
        approved=quote.approved_at is not None, approved_at=quote.approved_at,
        approved_by=quote.approved_by.name if quote.approved_by else None,
        created_at=quote.created_at)


def _quote_error(error: QuoteError) -> ApiError:
    if error.status == 422:
        return ApiError(422, ApiErrorCode.VALIDATION_FAILED,
                        fields={key or "body": message for key, message in error.errors.items()})
    if error.status == 403:
        return ApiError(403, ApiErrorCode.FORBIDDEN, error.message)
    return ApiError(409, ApiErrorCode.CONFLICT, error.message)


@operation(bp, "/maklon/requests/<number>/quotes", "GET", tag=TAG, summary="The quote "
           "versions of a request (newest first)", response=QuoteListOut, roles=READERS)
def maklon_quotes(number: str):
    req = _visible(number)
    return QuoteListOut(items=[_quote_out(q) for q in quotes_of(req.id)])


@operation(bp, "/maklon/requests/<number>/quotes", "POST", tag=TAG, summary="Staff: a new "
           "quote version", body=QuoteIn, response=QuoteOut, status=201, roles=STAFF,
           errors=(409,))
def maklon_quote_create(number: str, body: QuoteIn):
    """Priced now by the pricing function, PENDING_APPROVAL until an admin approves it; the
    older versions are superseded. 422 at the field (dates, split), 409 when the request
    cannot be quoted (a draft, signed, completed or cancelled)."""
    req = _visible(number)
    latest = latest_quote(req.id)
    split = dict(latest.milestone_split if latest else DEFAULT_SPLIT)
    given = {"dp": body.split_dp, "mid": body.split_mid, "final": body.split_final}
    form = {"delivery_date": body.delivery_date.isoformat(),
            "valid_until": body.valid_until.isoformat(),
            "quantity": str(body.quantity) if body.quantity is not None else "",
            "margin_pct": str(body.margin_pct) if body.margin_pct is not None else "",
            "discount_pct": str(body.discount_pct) if body.discount_pct is not None else "",
            **{f"split_{kind}": str(given[kind] if given[kind] is not None
                                   else split.get(kind, "")) for kind in MilestoneKind.ALL},
            "note": body.note}
    try:
        quote = quote_create(request=req, actor=current_user, terms=terms_parse(form))
    except QuoteError as error:
        raise _quote_error(error) from None
    db.session.commit()
    return _quote_out(quote), 201


@operation(bp, "/maklon/requests/<number>/quotes/<id:version>/approve", "POST", tag=TAG,
           summary="Admin: approve the latest quote version", response=QuoteOut,
           roles=(RoleName.ADMIN,), errors=(409,))
def maklon_quote_approve(number: str, version: int):
    """The client is told (notice and email) and may sign it. 409 when it is not the
    latest version or no longer waiting for approval."""
    req = _visible(number)
    quote = db.session.scalar(select(Quote).where(Quote.request_id == req.id,
                                                  Quote.version == version))
    if quote is None:
        raise ApiError(404)
    try:
        quote_approve(quote=quote, actor=current_user)
    except QuoteError as error:
        raise _quote_error(error) from None
    db.session.commit()
    return _quote_out(quote)


def _message_out(message: QuoteMessage) -> MessageOut:
    author = message.author
    return MessageOut(id=message.id, author=author.name,
                      author_is_staff=is_maklon_staff(author), body=message.body,
                      counter_unit_price=message.counter_unit_price,
                      counter_quantity=message.counter_quantity,
                      counter_date=message.counter_date, created_at=message.created_at)


@operation(bp, "/maklon/requests/<number>/messages", "GET", tag=TAG, summary="The "
           "negotiation thread of a request", response=MessageListOut, roles=READERS)
def maklon_messages(number: str):
    req = _visible(number)
    return MessageListOut(items=[_message_out(m) for m in messages_of(req.id)])


@operation(bp, "/maklon/requests/<number>/messages", "POST", tag=TAG, summary="Post a "
           "negotiation message (optionally a counter-proposal)", body=MessageIn,
           response=MessageOut, status=201, roles=READERS, errors=(409,))
def maklon_message_post(number: str, body: MessageIn):
    """409 once the thread is closed (signed, completed, cancelled, or still a draft)."""
    req = _visible(number)
    try:
        message = message_post(request=req, author=current_user, body=body.body,
                               counter_unit_price=body.counter_unit_price,
                               counter_quantity=body.counter_quantity,
                               counter_date=body.counter_date)
    except QuoteError as error:
        raise _quote_error(error) from None
    db.session.commit()
    return _message_out(message), 201


# --- signing ---------------------------------------------------------------------------------

@operation(bp, "/maklon/requests/<number>/accept", "POST", tag=TAG, summary="Client: accept "
           "the approved quote by signing the contract", body=AcceptIn, response=ContractOut,
           status=201, roles=CLIENT, errors=(409,))
@sign_rate_limit
def maklon_accept(number: str, body: AcceptIn):
    """Like the web's "Setuju": confirm with `password`, or with `totp_code` when two-step
    login is on. A wrong one is a 422 on that field (nothing written); a quote that is not
    approved, expired or superseded, or a contract signed already (a double submit), is a
    409. Shares the web signing's limit per user (CONTRACT_SIGN_LIMIT_PER_USER): 429."""
    req = _visible(number)
    uses_totp = totp_enabled(current_user)
    field = "totp_code" if uses_totp else "password"
    secret = (body.totp_code if uses_totp else body.password) or ""
    try:
        row = contract_sign(request=req, client=current_user, secret=secret,
                            context=SignContext(ip=request.remote_addr or "",
                                                user_agent=request.user_agent.string or ""))
    except ContractError as error:
        if error.status == 422:
            raise ApiError(422, ApiErrorCode.VALIDATION_FAILED, error.message,
                           fields={field: error.message}) from None
        raise ApiError(409, ApiErrorCode.CONFLICT, error.message) from None
    db.session.commit()  # expires `row`: its fields are read back below
    req = _visible(number)
    return ContractOut(number=req.number, status=req.status, quote_version=row.quote.version,
                       total=row.quote.total, signed_at=row.signed_at, signature=row.signature,
                       verification_code=row.verification_code, pdf_sha256=row.pdf_sha256,
                       auth_method=row.auth_method), 201


# --- milestones ------------------------------------------------------------------------------

def _milestone_out(m: MilestonePayment) -> MilestoneOut:
    invoice = milestone_invoice(m.id)
    pending = open_payment(m.id)
    return MilestoneOut(
        kind=m.kind, label=str(MILESTONE_LABELS[m.kind]), percent=m.percent, amount=m.amount,
        unlocks_stage=m.unlocks_stage,
        unlocks_stage_label=str(STAGE_LABELS.get(m.unlocks_stage, m.unlocks_stage)),
        status=m.status, status_label=str(MILESTONE_STATUS_LABELS[m.status]),
        paid_at=m.paid_at, invoice_number=invoice.number if invoice else None,
        open_payment_reference=pending.reference if pending else None)


@operation(bp, "/maklon/requests/<number>/milestones", "GET", tag=TAG, summary="The payment "
           "schedule of a signed order", response=MilestoneListOut, roles=READERS)
def maklon_milestones(number: str):
    req = _visible(number)
    return MilestoneListOut(items=[_milestone_out(m) for m in milestones_of(req.id)])


def _payment_out(payment, kind: str) -> MilestonePaymentOut:
    view = pay_view(payment)
    return MilestonePaymentOut(
        reference=payment.reference, kind=kind, amount=payment.amount, method=payment.method,
        method_label=str(PAYMENT_METHODS.get(payment.method, payment.method)),
        status=payment.status,
        status_label=str(PAY_STATUS_LABELS.get(payment.status, payment.status)),
        charged=view.charged, expires_at=payment.expires_at, instruction_kind=view.kind,
        va_number=payment.va_number or "", bill_key=payment.bill_key or "",
        biller_code=payment.biller_code or "", qr_string=payment.qr_string or "",
        deeplink_url=payment.deeplink_url or "",
        store=view.store, payment_code=payment.payment_code or "",
        instructions=[InstructionStepsOut(title=s.title, items=list(s.items))
                      for s in view.steps])


@operation(bp, "/maklon/requests/<number>/milestones/<kind>/payments", "POST", tag=TAG,
           summary="Client: pay a milestone", body=PaymentIn, response=MilestonePaymentOut,
           status=201, roles=CLIENT, errors=(409,), idempotent=True,
           extra_responses={200: MilestonePaymentOut})
def maklon_milestone_pay(number: str, kind: str, body: PaymentIn):
    """A new payment by `method` (201), or the milestone's open payment still within its
    time (200), as the web's "Bayar". 409 when the milestone is paid already, its payment
    is being processed, the order does not take payments, or the milestone is not due yet
    (DP from signing, mid from raw-material purchase, final from packaging). `kind`: dp,
    mid or final.
    Send an `Idempotency-Key` to make a retry safe."""
    req = _visible(number)
    if kind not in MilestoneKind.ALL:
        raise ApiError(404)
    milestone = db.session.scalar(select(MilestonePayment).where(
        MilestonePayment.request_id == req.id, MilestonePayment.kind == kind))
    if milestone is None:
        raise ApiError(404)
    try:
        payment, created = milestone_payment_start(milestone=milestone, payer=current_user,
                                                   method=body.method)
    except MilestoneError as error:
        if error.status == 422:
            raise ApiError(422, ApiErrorCode.VALIDATION_FAILED, error.message,
                           fields={"method": error.message}) from None
        raise ApiError(409, ApiErrorCode.CONFLICT, error.message) from None
    # Ask the gateway after the payment row is committed (as the web does).
    if not payment_charge_committed(payment):
        log.info("api: milestone payment %s not charged yet", payment.reference)
    return _payment_out(payment, kind), 201 if created else 200


# --- production ------------------------------------------------------------------------------

@operation(bp, "/maklon/requests/<number>/stages", "GET", tag=TAG, summary="The production "
           "timeline of an order", response=TimelineOut, roles=READERS)
def maklon_stages(number: str):
    """Every stage entered (oldest first), the staff name as it was then, the note, the QC
    result, and the address of the stage photo (`.../stages/<id>/photo`, with the token)."""
    req = _visible(number)
    progress = stage_progress(req.stage)  # stage k of the six; "done" is not a stage
    stages = [StageOut(
        id=row.id, stage=row.stage, label=str(STAGE_LABELS.get(row.stage, row.stage)),
        entered_at=row.entered_at, staff_name=row.staff_name, note=row.note,
        qc_result=row.qc_result, qc_label=str(QC_LABELS.get(row.qc_result, "")),
        photo_url=url_for("api.maklon_stage_photo", number=req.number, stage_id=row.id,
                          _external=True) if row.photo_key else None)
        for row in request_history(req)]
    return TimelineOut(number=req.number, status=req.status, stage=req.stage,
                       stage_label=str(STAGE_LABELS[req.stage]) if req.stage in STAGE_LABELS
                       else None, position=progress.position, positions=progress.total,
                       progress_percent=progress.percent, stages=stages)


@operation(bp, "/maklon/requests/<number>/stages/<id:stage_id>/photo", "GET", tag=TAG,
           summary="The photo taken at a production stage", roles=READERS,
           media_type="image/webp")
def maklon_stage_photo(number: str, stage_id: int):
    """The stage photo (WebP, re-encoded when it was uploaded), for those who may see the
    request; never stored in a shared cache. 404 when the stage has no photo."""
    return stage_photo_response(_visible(number), stage_id)
