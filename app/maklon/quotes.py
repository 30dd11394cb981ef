"""Quote versions, their diffs, the negotiation thread and the admin's approval.

    quote = quote_create(request=req, actor=staff, terms=QuoteTerms(...))   # v1, v2, ...
    quote_approve(quote=quote, actor=admin)                                  # admin only
    problem = quote_unacceptable(quote)      # None when the client may sign it
    message_post(request=req, author=user, body=..., counter_unit_price=...)

A version is computed by the pure pricing function (`app.maklon.pricing.price`) from the
request's inputs (`pricing_inputs`), with what staff may override: the quantity, the margin
percent and the tier discount (then one flat tier). It stores the inputs, the parameters
(inside the breakdown), the milestone split and the diff against the previous version.
Version numbers are unique per request (unique constraint); the request row is locked
while the next number is taken and a lost race retries. A new version supersedes the older
ones not accepted; the first moves the request SUBMITTED -> NEGOTIATING. Services flush.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from app.accounts.models import RoleName, User
from app.audit.services import audit_record
from app.core.clock import to_wib, utcnow
from app.core.db import rowcount
from app.core.forms import NumberInputError, read_rupiah, read_whole_number
from app.core.http import app_path, public_url
from app.core.mail import mail_queue
from app.core.notices import N_, notice_kind, notice_send
from app.extensions import db
from app.maklon.models import (
    MaklonRequest,
    MilestoneKind,
    Quote,
    QuoteMessage,
    QuoteStatus,
    RequestStatus,
)
from app.maklon.pricing import (
    price,
    price_params,
    pricing_inputs,
)

log = logging.getLogger(__name__)

DEFAULT_SPLIT: dict[str, int] = {MilestoneKind.DP: 30, MilestoneKind.MID: 40,
                                 MilestoneKind.FINAL: 30}
QUOTABLE = (RequestStatus.SUBMITTED, RequestStatus.NEGOTIATING)
MESSAGE_MAX = 2_000
QUANTITY_MAX = 10_000_000
PRICE_MAX = 10**12


QUOTE_APPROVED_NOTICE = "maklon_quote_approved"
notice_kind(QUOTE_APPROVED_NOTICE,
            N_("Penawaran v%(version)s untuk %(number)s sudah siap ditinjau dan ditandatangani."))


class QuoteError(Exception):
    """A quote action refused: `errors` {field: message} (422) or a conflict (409)."""

    def __init__(self, errors: dict[str, object] | str, *, status: int = 422):
        if isinstance(errors, dict):
            self.errors = {key: str(value) for key, value in errors.items()}
        else:
            self.errors = {"": str(errors)}
        self.status = status
        super().__init__("; ".join(self.errors.values()))

    @property
    def message(self) -> str:
        return "; ".join(self.errors.values())


@dataclass(frozen=True)
class QuoteTerms:
    """What staff decide for a version (None: take the request's / the settings' value)."""

    delivery_date: date
    valid_until: date
    split: dict[str, int]
    quantity: int | None = None
    margin_pct: Decimal | None = None
    discount_pct: Decimal | None = None
    note: str = ""


# Reading the staff form ------------------------------------------------------------------
def _parse_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def _parse_pct(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip().replace(",", "."))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def split_parse(form: Any) -> tuple[dict[str, int] | None, dict[str, str]]:
    """The milestone split from `split_dp`, `split_mid`, `split_final`: whole percents,
    each above 0, together exactly 100. Returns (split, errors)."""
    split: dict[str, int] = {}
    errors: dict[str, str] = {}
    for kind in MilestoneKind.ALL:
        text = str(form.get(f"split_{kind}", "") or "").strip()
        if not text:
            errors[f"split_{kind}"] = str(_l("Tulis persen bulat lebih dari 0, misalnya 30."))
            continue
        try:
            split[kind] = read_whole_number(text, minimum=1, maximum=100)
        except NumberInputError as error:
            errors[f"split_{kind}"] = error.message
    if not errors and sum(split.values()) != 100:
        errors["split"] = str(_l("Jumlah ketiga termin harus tepat 100%% (sekarang %(n)s%%).",
                                 n=sum(split.values())))
    return (split if not errors else None), errors


def terms_parse(form: Any, *, today: date | None = None) -> QuoteTerms:
    """QuoteTerms from the staff form; raises QuoteError with a message per field."""
    today = today or to_wib(utcnow()).date()
    errors: dict[str, object] = {}
    delivery = _parse_date(str(form.get("delivery_date", "") or ""))
    if delivery is None:
        errors["delivery_date"] = _l("Pilih tanggal pengiriman.")
    elif delivery <= today:
        errors["delivery_date"] = _l("Tanggal pengiriman harus setelah hari ini.")
    valid_until = _parse_date(str(form.get("valid_until", "") or ""))
    if valid_until is None:
        errors["valid_until"] = _l("Pilih tanggal berlaku penawaran.")
    elif valid_until < today:
        errors["valid_until"] = _l("Tanggal berlaku tidak boleh sebelum hari ini.")
    elif delivery is not None and valid_until > delivery:
        errors["valid_until"] = _l("Penawaran harus berakhir sebelum tanggal pengiriman.")
    quantity = None
    text = str(form.get("quantity", "") or "").strip()
    if text:
        try:
            quantity = read_whole_number(text, minimum=1, maximum=QUANTITY_MAX)
        except NumberInputError as error:
            errors["quantity"] = error.message
    pcts: dict[str, Decimal | None] = {}
    for name in ("margin_pct", "discount_pct"):
        text = str(form.get(name, "") or "").strip()
        pcts[name] = None
        if text:
            value = _parse_pct(text)
            if value is None or not Decimal(0) <= value < Decimal(100) \
                    or value != value.quantize(Decimal("0.01")):
                errors[name] = _l("Tulis persen 0 sampai di bawah 100, misalnya 25 atau 7,5.")
            else:
                pcts[name] = value
    split, split_errors = split_parse(form)
    errors.update(split_errors)
    note = str(form.get("note", "") or "").strip()
    if len(note) > MESSAGE_MAX:
        errors["note"] = _l("Maksimal %(max)d karakter.", max=MESSAGE_MAX)
    if errors:
        raise QuoteError(errors)
    # Each of these is missing only with its error above.
    assert delivery is not None and valid_until is not None and split is not None
    return QuoteTerms(delivery_date=delivery, valid_until=valid_until, split=split,
                      quantity=quantity, margin_pct=pcts["margin_pct"],
                      discount_pct=pcts["discount_pct"], note=note)


# Versions --------------------------------------------------------------------------------
def latest_quote(request_id: int) -> Quote | None:
    return db.session.scalars(select(Quote).where(Quote.request_id == request_id)
                              .order_by(Quote.version.desc()).limit(1)).first()


def quotes_of(request_id: int) -> list[Quote]:
    """Every version of a request, newest first."""
    return list(db.session.scalars(select(Quote).where(Quote.request_id == request_id)
                                   .order_by(Quote.version.desc())))


def _summary(quote: Quote) -> dict[str, Any]:
    """The values a diff compares, JSON-ready."""
    return {"quantity": quote.quantity, "unit_price": quote.unit_price, "total": quote.total,
            "delivery_date": quote.delivery_date.isoformat(),
            "valid_until": quote.valid_until.isoformat(),
            "split": dict(quote.milestone_split),
            "margin": str(quote.breakdown.get("margin_pct", "")),
            "discount": str(quote.breakdown.get("discount_pct", ""))}


def quote_diff(previous: Quote | None, current: Quote) -> dict[str, list[Any]]:
    """{field: [old, new]} of what changed against `previous` (empty for v1)."""
    if previous is None:
        return {}
    old, new = _summary(previous), _summary(current)
    return {key: [old[key], new[key]] for key in new if old[key] != new[key]}


def quote_create(*, request: MaklonRequest, actor: User, terms: QuoteTerms) -> Quote:
    """A new version of `request`'s quote (PENDING_APPROVAL), priced now. Raises QuoteError
    (409) when the request cannot be quoted. Audited "maklon.quote_create". Flushes."""
    # Lock the request (PostgreSQL; SQLite writers already queue): concurrent versions of
    # one request take their numbers one after the other.
    request = db.session.scalars(select(MaklonRequest).where(MaklonRequest.id == request.id)
                                 .with_for_update()
                                 .execution_options(populate_existing=True)).one()
    if request.status not in QUOTABLE:
        raise QuoteError(_l("Permintaan ini tidak dapat diberi penawaran lagi."), status=409)
    params = price_params()
    if terms.margin_pct is not None:
        params = dataclasses.replace(params, margin_pct=terms.margin_pct)
    if terms.discount_pct is not None:
        params = dataclasses.replace(params, tiers=((0, terms.discount_pct),))
    inputs = pricing_inputs(request, actor=actor, params=params)
    if terms.quantity is not None:
        inputs = dataclasses.replace(inputs, quantity=terms.quantity)
    if inputs.quantity <= 0:
        raise QuoteError({"quantity": _l("Isi jumlah unit.")})
    result = price(inputs, params)
    if result.total <= 0 or result.total > PRICE_MAX:
        raise QuoteError({"quantity": _l("Total penawaran tidak masuk akal; periksa isian.")})
    stored_inputs = {**inputs.as_dict(), "overrides": {
        "quantity": terms.quantity,
        "margin_pct": str(terms.margin_pct) if terms.margin_pct is not None else None,
        "discount_pct": str(terms.discount_pct) if terms.discount_pct is not None else None}}
    quote = None
    for _attempt in range(3):
        previous = latest_quote(request.id)
        quote = Quote(
            request_id=request.id, version=(previous.version if previous else 0) + 1,
            status=QuoteStatus.PENDING_APPROVAL, quantity=result.quantity,
            unit_price=result.unit_price, total=result.total, inputs=stored_inputs,
            breakdown=result.as_dict(), milestone_split=dict(terms.split),
            delivery_date=terms.delivery_date, valid_until=terms.valid_until,
            note=terms.note, created_by_id=actor.id, created_at=utcnow())
        quote.diff = quote_diff(previous, quote)
        try:
            with db.session.begin_nested():
                db.session.add(quote)
        except IntegrityError:
            # A concurrent version took this number first: take the next one.
            log.info("quote version race on request %s; retrying", request.number)
            quote = None
            continue
        break
    if quote is None:
        raise QuoteError(_l("Penawaran lain sedang dibuat. Coba lagi."), status=409)
    db.session.execute(
        update(Quote).where(Quote.request_id == request.id, Quote.id != quote.id,
                            Quote.status.in_((QuoteStatus.PENDING_APPROVAL,
                                              QuoteStatus.APPROVED)))
        .values(status=QuoteStatus.SUPERSEDED).execution_options(synchronize_session=False))
    for other in request.quotes:
        if other.id != quote.id and other.status in (QuoteStatus.PENDING_APPROVAL,
                                                    QuoteStatus.APPROVED):
            set_committed_value(other, "status", QuoteStatus.SUPERSEDED)
    if request.status == RequestStatus.SUBMITTED:
        moved = rowcount(db.session.execute(
            update(MaklonRequest).where(MaklonRequest.id == request.id,
                                        MaklonRequest.status == RequestStatus.SUBMITTED)
            .values(status=RequestStatus.NEGOTIATING, updated_at=utcnow())
            .execution_options(synchronize_session=False)))
        if moved:
            set_committed_value(request, "status", RequestStatus.NEGOTIATING)
    audit_record("maklon.quote_create", actor=actor, object_type="maklon_request",
                 object_id=request.number,
                 after={"version": quote.version, "total": quote.total,
                        "split": quote.milestone_split, "diff": quote.diff})
    db.session.flush()
    log.info("quote v%s for %s: %s", quote.version, request.number, quote.total)
    return quote


def quote_approve(*, quote: Quote, actor: User) -> Quote:
    """An admin approves the latest pending version; the client is told (notice + email).
    Raises QuoteError 409 when it is not the latest pending one. Audited. Flushes."""
    if not actor.has_role(RoleName.ADMIN):
        raise QuoteError(_l("Hanya admin yang dapat menyetujui penawaran."), status=403)
    latest = latest_quote(quote.request_id)
    if latest is None or latest.id != quote.id:
        raise QuoteError(_l("Hanya versi terbaru yang dapat disetujui."), status=409)
    now = utcnow()
    changed = rowcount(db.session.execute(
        update(Quote).where(Quote.id == quote.id,
                            Quote.status == QuoteStatus.PENDING_APPROVAL)
        .values(status=QuoteStatus.APPROVED, approved_by_id=actor.id, approved_at=now)
        .execution_options(synchronize_session=False)))
    if changed != 1:
        raise QuoteError(_l("Penawaran ini sudah tidak menunggu persetujuan."), status=409)
    for key, value in (("status", QuoteStatus.APPROVED), ("approved_by_id", actor.id),
                       ("approved_at", now)):
        set_committed_value(quote, key, value)
    request = quote.request
    audit_record("maklon.quote_approve", actor=actor, object_type="maklon_request",
                 object_id=request.number,
                 before={"status": QuoteStatus.PENDING_APPROVAL},
                 after={"version": quote.version, "status": QuoteStatus.APPROVED,
                        "total": quote.total})
    client = request.client
    params = {"version": quote.version, "number": request.number}
    notice_send(user_id=client.id, kind=QUOTE_APPROVED_NOTICE, params=params,
                link=app_path("maklon.quotes", number=request.number))
    mail_queue(to=client.email, template="maklon_quote_approved", locale=client.locale,
               subject=_l("Penawaran %(number)s siap ditandatangani", number=request.number),
               name=client.name, request=request, quote=quote,
               link=public_url("maklon.contract", number=request.number))
    db.session.flush()
    return quote


def quote_unacceptable(quote: Quote | None, *, today: date | None = None) -> str | None:
    """Why the client may not sign `quote` now, or None when they may: it must be the
    latest version, approved by an admin and still valid (WIB date)."""
    if quote is None:
        return str(_l("Belum ada penawaran."))
    today = today or to_wib(utcnow()).date()
    latest = latest_quote(quote.request_id)
    if latest is None or latest.id != quote.id:
        return str(_l("Ada versi penawaran yang lebih baru."))
    if quote.status == QuoteStatus.ACCEPTED:
        return str(_l("Penawaran ini sudah ditandatangani."))
    if quote.status != QuoteStatus.APPROVED:
        return str(_l("Penawaran ini belum disetujui admin."))
    if quote.valid_until < today:
        return str(_l("Penawaran ini sudah lewat masa berlakunya (%(date)s).",
                      date=quote.valid_until.isoformat()))
    return None


# Negotiation thread ----------------------------------------------------------------------
def messages_of(request_id: int) -> list[QuoteMessage]:
    return list(db.session.scalars(select(QuoteMessage).where(
        QuoteMessage.request_id == request_id).order_by(QuoteMessage.id)))


def message_count(request_id: int) -> int:
    return db.session.scalar(select(func.count(QuoteMessage.id)).where(
        QuoteMessage.request_id == request_id)) or 0


def message_parse(form: Any) -> dict[str, Any]:
    """Body and optional counter-proposal from the thread form; QuoteError per field."""
    errors: dict[str, object] = {}
    body = str(form.get("body", "") or "").strip()
    if not body:
        errors["body"] = _l("Tulis pesan Anda.")
    elif len(body) > MESSAGE_MAX:
        errors["body"] = _l("Maksimal %(max)d karakter.", max=MESSAGE_MAX)
    values: dict[str, Any] = {"body": body, "counter_unit_price": None,
                              "counter_quantity": None, "counter_date": None}
    text = str(form.get("counter_unit_price", "") or "").strip()
    if text:
        try:
            values["counter_unit_price"] = read_rupiah(text, minimum=1, maximum=PRICE_MAX)
        except NumberInputError as error:
            errors["counter_unit_price"] = error.message
    text = str(form.get("counter_quantity", "") or "").strip()
    if text:
        try:
            values["counter_quantity"] = read_whole_number(text, minimum=1,
                                                           maximum=QUANTITY_MAX)
        except NumberInputError as error:
            errors["counter_quantity"] = error.message
    text = str(form.get("counter_date", "") or "").strip()
    if text:
        values["counter_date"] = _parse_date(text)
        if values["counter_date"] is None:
            errors["counter_date"] = _l("Pilih tanggal yang valid.")
    if errors:
        raise QuoteError(errors)
    return values


def message_post(*, request: MaklonRequest, author: User, body: str,
                 counter_unit_price: int | None = None, counter_quantity: int | None = None,
                 counter_date: date | None = None) -> QuoteMessage:
    """Add a message (and counter-proposal) to the thread; 409 once the thread is closed
    (signed, completed, cancelled, or still a draft). Flushes."""
    if request.status not in QUOTABLE:
        raise QuoteError(_l("Negosiasi untuk permintaan ini sudah ditutup."), status=409)
    message = QuoteMessage(request_id=request.id, author_id=author.id, body=body,
                           counter_unit_price=counter_unit_price,
                           counter_quantity=counter_quantity, counter_date=counter_date,
                           created_at=utcnow())
    db.session.add(message)
    db.session.flush()
    return message
