"""Quote requests: numbering, drafts, submitting, cancelling, files and the estimate.

    req = request_save(client=user, values=form.values(), company=..., files=[...])
    req = request_submit(client=user, values=..., request=req)      # RequestInvalid: 422
    request_cancel(request=req, actor=user)                          # RequestConflict: 409
    estimate = request_estimate(values, client=user)                 # never raises

A draft may be partial: only types and lengths are checked (by the form). Submitting checks
everything against the production capability (`app.maklon.capability.request_validate`)
and every uploaded file *before* the first write, so a refused submit writes nothing. A
client without a company gets one with the first save. Services flush; the route commits.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.accounts.models import Company, Role, RoleName, User, user_roles
from app.audit.services import audit_record
from app.core.clock import to_wib, utcnow
from app.core.http import app_path
from app.core.notices import N_, notice_kind, notice_send
from app.core.storage import storage_put
from app.extensions import db
from app.maklon.capability import request_validate
from app.maklon.models import (
    Formula,
    FormulaChoice,
    MaklonFile,
    MaklonRequest,
    Packaging,
    ProductType,
    RequestStatus,
)
from app.maklon.pricing import PriceResult, PricingInputs, price, price_params, pricing_inputs

log = logging.getLogger(__name__)

REQUEST_SUBMITTED_NOTICE = "maklon.request_submitted"
notice_kind(REQUEST_SUBMITTED_NOTICE,
            N_("Permintaan maklon baru %(number)s dari %(company)s: %(product)s."))

# The client may cancel until the contract is signed.
CANCELLABLE = (RequestStatus.DRAFT, RequestStatus.SUBMITTED, RequestStatus.NEGOTIATING)
FILE_MAX_BYTES = 10 * 1024 * 1024
FILE_FOLDER = "maklon"
FILE_KINDS = ("spec", "reference")
NUMBER_ATTEMPTS = 5
REQUEST_FIELDS = ("product_name", "product_type", "packaging", "size", "size_unit",
                  "length_mm", "width_mm", "height_mm", "quantity", "formula_choice",
                  "formula_id", "desired_date", "notes")


class RequestInvalid(Exception):
    """Values refused: {field: message}; nothing was written."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class RequestConflict(Exception):
    """The request's status does not allow the action (409)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Upload:
    """A file the client sent: its bytes and the name it had (for display only)."""

    kind: str  # spec | reference
    filename: str
    data: bytes


# Numbers -----------------------------------------------------------------------------------
def request_number() -> str:
    """The next free number of this WIB year: MK-<year>-<6 digits>. Two requests may read
    the same one at once; `_insert_numbered` takes the next one when the insert collides."""
    prefix = f"MK-{to_wib(utcnow()).year}-"
    last = db.session.scalar(select(MaklonRequest.number)
                             .where(MaklonRequest.number.like(prefix + "%"))
                             .order_by(MaklonRequest.number.desc()).limit(1))
    tail = last[len(prefix):] if last else ""
    sequence = int(tail) + 1 if tail.isdigit() else 1
    return f"{prefix}{sequence:06d}"


def _insert_numbered(request: MaklonRequest) -> None:
    """Insert `request` under a fresh number, in a savepoint: a number taken by a
    concurrent insert (unique violation) rolls back only the savepoint, and the next
    number is tried."""
    for _attempt in range(NUMBER_ATTEMPTS):
        request.number = request_number()
        try:
            with db.session.begin_nested():
                db.session.add(request)
                db.session.flush()
            return
        except IntegrityError:
            log.info("maklon request number %s taken concurrently; retrying", request.number)
    raise RequestConflict(_("Nomor permintaan sedang dipakai. Coba simpan sekali lagi."))


# Files -------------------------------------------------------------------------------------
_SIGNATURES = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
)


def file_sniff(data: bytes) -> tuple[str, str] | None:
    """(content type, suffix) from the file's own first bytes (the name and the browser's
    claim are not trusted), or None for anything but PDF, PNG, JPEG and WebP."""
    for magic, content_type, suffix in _SIGNATURES:
        if data.startswith(magic):
            return content_type, suffix
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", ".webp"
    return None


def _file_max() -> int:
    return int(current_app.config.get("MAKLON_FILE_MAX_BYTES", FILE_MAX_BYTES))


def files_check(uploads: list[Upload]) -> dict[str, str]:
    """Messages for the uploads that cannot be kept (field `<kind>_file`)."""
    errors = {}
    for upload in uploads:
        name = f"{upload.kind}_file" if upload.kind in FILE_KINDS else "upload"
        if upload.kind not in FILE_KINDS:
            errors[name] = _("Pilih jenis berkas.")
        elif not upload.data:
            errors[name] = _("Berkas kosong.")
        elif len(upload.data) > _file_max():
            errors[name] = _("Berkas terlalu besar (maks. %(mb)s MB).",
                             mb=_file_max() // (1024 * 1024))
        elif file_sniff(upload.data) is None:
            errors[name] = _("Hanya PDF, PNG, JPG, atau WebP yang diterima.")
    return errors


def _display_name(filename: str) -> str:
    """The uploaded name, for display only: no path, no control characters, short."""
    name = re.sub(r"[\x00-\x1f\x7f]", "", filename.replace("\\", "/").rsplit("/", 1)[-1])
    return name.strip()[:200] or "berkas"


def _file_store(request: MaklonRequest, upload: Upload, actor: User) -> MaklonFile:
    content_type, suffix = file_sniff(upload.data) or ("application/octet-stream", ".bin")
    key = storage_put(upload.data, folder=FILE_FOLDER, suffix=suffix)
    row = MaklonFile(request_id=request.id, kind=upload.kind, file_key=key,
                     filename=_display_name(upload.filename), content_type=content_type,
                     size=len(upload.data), uploaded_by_id=actor.id)
    db.session.add(row)
    return row


def request_file_add(*, request: MaklonRequest, upload: Upload, actor: User) -> MaklonFile:
    """Attach a file to a request that is not signed yet. Raises RequestInvalid (the
    file) or RequestConflict (a signed, completed or cancelled request)."""
    if request.status not in CANCELLABLE:
        raise RequestConflict(_("Berkas tidak dapat ditambahkan pada permintaan berstatus "
                                "ini."))
    errors = files_check([upload])
    if errors:
        raise RequestInvalid(errors)
    row = _file_store(request, upload, actor)
    db.session.flush()
    return row


# Drafts and submitting ---------------------------------------------------------------------
def _company_errors(client: User, company: dict[str, str] | None) -> dict[str, str]:
    if client.company_id is not None:
        return {}
    if not company or not (company.get("name") or "").strip():
        return {"company_name": _("Nama perusahaan wajib diisi untuk pengajuan pertama.")}
    return {}


def _company_ensure(client: User, company: dict[str, str] | None) -> int:
    """The client's company id, creating the company with the first save."""
    if client.company_id is not None:
        return client.company_id
    assert company is not None  # _company_errors refused a first request without one
    row = Company(name=company["name"].strip()[:160], npwp=company.get("npwp") or "",
                  address=company.get("address") or "", is_client=True)
    db.session.add(row)
    db.session.flush()
    client.company_id = row.id
    return row.id


def _formula_owned(values: dict[str, Any], company_id: int | None) -> dict[str, str]:
    """A formula id must belong to the client's company, draft or not."""
    formula_id = values.get("formula_id")
    if formula_id is None:
        return {}
    owned = company_id is not None and db.session.scalar(select(Formula.id).where(
        Formula.id == formula_id, Formula.company_id == company_id)) is not None
    return {} if owned else {"formula_id": _("Formula ini tidak ditemukan di perusahaan Anda.")}


def _apply(request: MaklonRequest, values: dict[str, Any]) -> None:
    """Copy the typed values onto the request (empty numbers stored as 0 / NULL)."""
    request.product_name = (values.get("product_name") or "")[:120]
    request.product_type = values.get("product_type") or ""
    request.packaging = values.get("packaging") or ""
    request.size = values.get("size") or 0
    request.size_unit = values.get("size_unit") or "ml"
    custom = request.packaging == Packaging.CUSTOM
    for side in ("length_mm", "width_mm", "height_mm"):
        setattr(request, side, values.get(side) if custom else None)
    request.quantity = values.get("quantity") or 0
    request.formula_choice = values.get("formula_choice") or FormulaChoice.DEVELOP
    stored = request.formula_choice == FormulaChoice.STORED
    request.formula_id = values.get("formula_id") if stored else None
    request.desired_date = values.get("desired_date")
    request.notes = values.get("notes") or ""


def _save(*, client: User, values: dict[str, Any], company: dict[str, str] | None,
          request: MaklonRequest | None, uploads: list[Upload]) -> MaklonRequest:
    if request is None:
        request = MaklonRequest(company_id=_company_ensure(client, company),
                                client_id=client.id, status=RequestStatus.DRAFT, estimate={})
        _apply(request, values)
        _insert_numbered(request)
    else:
        _apply(request, values)
    request.formula = (db.session.get(Formula, request.formula_id)
                       if request.formula_id is not None else None)
    for upload in uploads:
        _file_store(request, upload, client)
    estimate = request_estimate_of(request, actor=client)
    request.estimate = estimate.as_dict() if estimate.result is not None else {}
    db.session.flush()
    return request


def _editable(request: MaklonRequest | None) -> None:
    if request is not None and request.status != RequestStatus.DRAFT:
        raise RequestConflict(_("Hanya draf yang dapat diubah."))


def request_save(*, client: User, values: dict[str, Any], company: dict[str, str] | None = None,
                 request: MaklonRequest | None = None,
                 uploads: list[Upload] | None = None) -> MaklonRequest:
    """Save a draft (new, or `request` when it is still a draft): anything partial is kept.
    Raises RequestInvalid (no company name for a client without one, a foreign formula, a
    refused file) or RequestConflict (not a draft any more); nothing written then."""
    uploads = uploads or []
    _editable(request)
    errors = {**_company_errors(client, company),
              **_formula_owned(values, client.company_id), **files_check(uploads)}
    if errors:
        raise RequestInvalid(errors)
    return _save(client=client, values=values, company=company, request=request,
                 uploads=uploads)


def staff_ids() -> list[int]:
    return list(db.session.scalars(
        select(User.id).join(user_roles, user_roles.c.user_id == User.id)
        .join(Role, Role.id == user_roles.c.role_id)
        .where(Role.name.in_((RoleName.STAFF, RoleName.ADMIN)), User.active.is_(True))
        .distinct()))


def request_submit(*, client: User, values: dict[str, Any],
                   company: dict[str, str] | None = None, request: MaklonRequest | None = None,
                   uploads: list[Upload] | None = None) -> MaklonRequest:
    """Validate against the production capability and submit (new, or a draft). Raises
    RequestInvalid with every message (nothing written) or RequestConflict (not a draft).
    On success: status SUBMITTED, submitted_at, the estimate, an audit row and a notice
    to every staff member."""
    uploads = uploads or []
    _editable(request)
    has_spec = any(u.kind == "spec" for u in uploads) or (
        request is not None and any(f.kind == "spec" for f in request.files))
    errors = {**_company_errors(client, company), **files_check(uploads)}
    errors.update({key: message for key, message in request_validate(
        {**values, "company_id": client.company_id, "has_spec_file": has_spec}).items()
        if key not in errors})
    if errors:
        raise RequestInvalid(errors)
    request = _save(client=client, values=values, company=company, request=request,
                    uploads=uploads)
    request.status = RequestStatus.SUBMITTED
    request.submitted_at = utcnow()
    audit_record("maklon.request_submit", actor=client, object_type="maklon_request",
                 object_id=request.number,
                 after={"status": RequestStatus.SUBMITTED, "quantity": request.quantity,
                        "product_type": request.product_type,
                        "estimate_total": (request.estimate.get("result") or {}).get("total")})
    company_name = db.session.get_one(Company, request.company_id).name
    link = app_path("maklon.request_detail", number=request.number)
    for user_id in staff_ids():
        notice_send(user_id=user_id, kind=REQUEST_SUBMITTED_NOTICE, link=link,
                    params={"number": request.number, "company": company_name,
                            "product": request.product_name})
    db.session.flush()
    return request


def request_cancel(*, request: MaklonRequest, actor: User) -> MaklonRequest:
    """Cancel a request before its contract is signed; RequestConflict afterwards."""
    if request.status not in CANCELLABLE:
        raise RequestConflict(_("Permintaan yang sudah ditandatangani, selesai, atau "
                                "dibatalkan tidak dapat dibatalkan."))
    before = request.status
    request.status = RequestStatus.CANCELLED
    audit_record("maklon.request_cancel", actor=actor, object_type="maklon_request",
                 object_id=request.number, before={"status": before},
                 after={"status": RequestStatus.CANCELLED})
    db.session.flush()
    return request


# The estimate ------------------------------------------------------------------------------
@dataclass
class Estimate:
    """A price estimate, or what is missing before one can be made."""

    missing: list[str] = field(default_factory=list)  # labels of the missing fields
    inputs: PricingInputs | None = None
    result: PriceResult | None = None

    def as_dict(self) -> dict[str, Any]:
        if self.result is None or self.inputs is None:
            return {}
        return {"inputs": self.inputs.as_dict(), "result": self.result.as_dict(),
                "computed_at": utcnow().isoformat()}


def _missing(request: MaklonRequest) -> list[str]:
    missing = []
    if request.product_type not in ProductType.ALL:
        missing.append(_("jenis produk"))
    if request.packaging not in Packaging.ALL:
        missing.append(_("jenis kemasan"))
    if not request.size or request.size <= 0:
        missing.append(_("isi per kemasan"))
    if not request.quantity or request.quantity <= 0:
        missing.append(_("jumlah per batch"))
    if request.formula_choice == FormulaChoice.STORED and request.formula is None:
        missing.append(_("formula tersimpan"))
    return missing


def request_estimate_of(request: MaklonRequest, *, actor: User) -> Estimate:
    """The estimate of `request` as it stands (saved or not): the pricing inputs (a stored
    formula is decrypted, audited) priced with the settings in force."""
    missing = _missing(request)
    if missing:
        return Estimate(missing=missing)
    params = price_params()
    inputs = pricing_inputs(request, actor=actor, params=params)
    return Estimate(inputs=inputs, result=price(inputs, params))


def request_estimate(values: dict[str, Any], *, client: User) -> Estimate:
    """The estimate of form values that are not saved: a throwaway request (never added to
    the session). A formula of another company counts as not chosen."""
    probe = MaklonRequest()
    _apply(probe, values)
    probe.formula_id = None
    if values.get("formula_choice") == FormulaChoice.STORED and values.get("formula_id") \
            and client.company_id is not None:
        probe.formula = db.session.scalar(select(Formula).where(
            Formula.id == values["formula_id"], Formula.company_id == client.company_id))
    return request_estimate_of(probe, actor=client)
