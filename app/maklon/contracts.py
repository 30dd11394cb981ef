"""The maklon contract: review PDF, the client's signature, the platform's seal, verification.

Signing (`contract_sign`), in the request's one transaction:

1. the client re-enters their password (or, with two-factor login on, a code from their
   authenticator app); a wrong one is refused (422) before anything is written;
2. the request (locked) must be NEGOTIATING and its latest quote approved and still valid;
3. `signed_at_text` = the UTC time as an ISO-8601 string, and exactly as the specification
   says `signature = SHA-256(order_id + client_id + timestamp)`, i.e.
   `sha256(f"{request.id}{client.id}{signed_at_text}").hexdigest()`;
4. the final PDF (signer, time in WIB, signature, verification code and a QR code of the
   verification page) is stored with its SHA-256;
5. the evidence (request id, quote id + total, client id, signed_at_text, signature,
   pdf_sha256, pdf key, ip, user agent, auth method, code, key id) is written as canonical
   JSON (sorted keys, no spaces, UTF-8) and sealed with the platform's Ed25519 key;
6. the request becomes SIGNED (stage concept_approved, first ProductionStage row, promised
   date, three milestones), the quote ACCEPTED, the others superseded; audited
   "maklon.contract_sign"; the client gets the PDF by email.

The unique `request_id`/`quote_id` of `contract_signatures` and the conditional status
UPDATE make a double submit (or two tabs) sign once; the loser gets a 409.

The seal keys are a ring: config CONTRACT_SEAL_KEY (base64 of the 32-byte Ed25519 private
key) is the current key, which seals new signatures; CONTRACT_SEAL_PUBLIC_KEYS (comma-
separated base64 of 32-byte raw public keys) are the earlier keys, which only verify the
seals made under them (their private halves are no longer needed). `flask contracts keys
add` makes a new current key and prints both settings (the old current key's public half
moved into the ring). Without CONTRACT_SEAL_KEY the key is derived from SECRET_KEY with
HKDF (development only: production refuses to start without it). A key's id is the first
16 hex characters of the SHA-256 of its raw public key, stored beside (and sealed with)
each seal, so verification picks the key that made it.

`contract_verify(row, pdf_bytes)` lists what does not match (empty: valid): the PDF's
SHA-256, the spec signature recomputed, the signing time, and the seal over the stored row.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import click
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from app.accounts.models import User
from app.accounts.passwords import password_verify
from app.accounts.totp import second_factor_check, totp_enabled
from app.audit.services import audit_record
from app.core.clock import utcnow
from app.core.company import company_identity
from app.core.db import rowcount
from app.core.http import public_url
from app.core.mail import mail_queue
from app.core.storage import storage_put
from app.extensions import db
from app.maklon.contract_pdf import ContractDocument, ContractSigned, Party, contract_pdf
from app.maklon.labels import MILESTONE_LABELS, PRICE_LINE_LABELS, STAGE_LABELS
from app.maklon.milestones import UNLOCKS, milestone_amounts, milestones_create
from app.maklon.models import (
    ContractSignature,
    MaklonRequest,
    MilestoneKind,
    ProductionStage,
    Quote,
    QuoteStatus,
    RequestStatus,
    Stage,
)
from app.maklon.quotes import latest_quote, quote_unacceptable

log = logging.getLogger(__name__)

CONTRACT_FOLDER = "contracts"
SEAL_INFO = b"racik-contract-seal-v1"
EVIDENCE_VERSION = 1
PDF_MAX_BYTES = 5 * 1024 * 1024  # an uploaded contract to verify


class ContractError(Exception):
    """Signing refused: 422 (wrong password/code, at `field`) or 409 (state)."""

    def __init__(self, message: object, *, status: int = 409, field: str = ""):
        super().__init__(str(message))
        self.message = str(message)
        self.status = status
        self.field = field


# The platform's seal key -----------------------------------------------------------------
def seal_private_key() -> Ed25519PrivateKey:
    """The Ed25519 key from CONTRACT_SEAL_KEY, else derived from SECRET_KEY (HKDF)."""
    configured = (current_app.config.get("CONTRACT_SEAL_KEY") or "").strip()
    if configured:
        try:
            raw = base64.b64decode(configured, validate=True)
        except (binascii.Error, ValueError) as error:
            raise RuntimeError("CONTRACT_SEAL_KEY is not base64") from error
        if len(raw) != 32:
            raise RuntimeError("CONTRACT_SEAL_KEY must be 32 bytes (base64)")
        return Ed25519PrivateKey.from_private_bytes(raw)
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=SEAL_INFO).derive(
        current_app.config["SECRET_KEY"].encode())
    return Ed25519PrivateKey.from_private_bytes(raw)


def public_key_raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def seal_key_id(key: Ed25519PublicKey | None = None) -> str:
    """First 16 hex characters of the SHA-256 of the raw public key."""
    key = key or seal_private_key().public_key()
    return hashlib.sha256(public_key_raw(key)).hexdigest()[:16]


def _public_key_parse(encoded: str) -> Ed25519PublicKey:
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as error:
        raise RuntimeError("CONTRACT_SEAL_PUBLIC_KEYS: an entry is not base64") from error
    if len(raw) != 32:
        raise RuntimeError("CONTRACT_SEAL_PUBLIC_KEYS: each entry must be 32 bytes (base64)")
    return Ed25519PublicKey.from_public_bytes(raw)


def seal_key_ring() -> dict[str, Ed25519PublicKey]:
    """{key id: public key}: the current key first, then the earlier keys of
    CONTRACT_SEAL_PUBLIC_KEYS (which only verify)."""
    current = seal_private_key().public_key()
    ring = {seal_key_id(current): current}
    configured = current_app.config.get("CONTRACT_SEAL_PUBLIC_KEYS") or ""
    for part in (p.strip() for p in configured.split(",")):
        if part:
            key = _public_key_parse(part)
            ring.setdefault(seal_key_id(key), key)
    return ring


def seal_key_label(key_id: str) -> str:
    """How the verify page names a seal's key: its id and whether it is the current key,
    an earlier key of the ring, or one we do not know."""
    ring = list(seal_key_ring())
    if key_id == ring[0]:
        return str(_l("%(id)s (kunci saat ini)", id=key_id))
    if key_id in ring:
        return str(_l("%(id)s (kunci sebelumnya)", id=key_id))
    return str(_l("%(id)s (tidak dikenal)", id=key_id))


def public_key_text(key: Ed25519PublicKey) -> str:
    """A public key as CONTRACT_SEAL_PUBLIC_KEYS lists it (base64 of the 32 raw bytes)."""
    return base64.b64encode(public_key_raw(key)).decode()


def seal_key_new() -> str:
    """A new private key for CONTRACT_SEAL_KEY (base64 of 32 bytes)."""
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                            serialization.NoEncryption())
    return base64.b64encode(raw).decode()


@click.group("contracts")
def contracts_cli() -> None:
    """Maklon contracts."""


@contracts_cli.command("new-seal-key")
@with_appcontext
def new_seal_key_command() -> None:
    """Print a new CONTRACT_SEAL_KEY (keep it secret). To replace a key in use, run
    `flask contracts keys add` instead: it keeps the old public key for verification."""
    key = seal_key_new()
    raw = base64.b64decode(key)
    public = Ed25519PrivateKey.from_private_bytes(raw).public_key()
    click.echo(f"CONTRACT_SEAL_KEY={key}")
    click.echo(f"key id: {seal_key_id(public)}")


@contracts_cli.group("keys")
def contract_keys_cli() -> None:
    """The seal key ring (current key signs, earlier public keys verify)."""


@contract_keys_cli.command("list")
@with_appcontext
def contract_keys_list_command() -> None:
    """The key ids of the ring, the current one first."""
    for position, key_id in enumerate(seal_key_ring()):
        click.echo(f"{key_id}  {'current (signs)' if position == 0 else 'verifies only'}")


@contract_keys_cli.command("add")
@with_appcontext
def contract_keys_add_command() -> None:
    """Make a new current seal key and print the two settings to put in the environment:
    the new CONTRACT_SEAL_KEY, and CONTRACT_SEAL_PUBLIC_KEYS with the public half of every
    key in the ring now (so contracts sealed so far still verify). Changes nothing by
    itself: set both, restart, and the new key seals from then on."""
    key = seal_key_new()
    public = Ed25519PrivateKey.from_private_bytes(base64.b64decode(key)).public_key()
    earlier = [public_key_text(existing) for existing in seal_key_ring().values()]
    click.echo("# Put these in the environment (replace both), then restart the app:")
    click.echo(f"CONTRACT_SEAL_KEY={key}")
    click.echo(f"CONTRACT_SEAL_PUBLIC_KEYS={','.join(earlier)}")
    click.echo(f"# new key id: {seal_key_id(public)}; earlier key ids (verify only): "
               f"{', '.join(seal_key_ring())}")


# Signature and evidence ------------------------------------------------------------------
def spec_signature(request_id: int, client_id: int, signed_at_text: str) -> str:
    """SHA-256(order_id + client_id + timestamp), hex, exactly as the specification says."""
    return hashlib.sha256(f"{request_id}{client_id}{signed_at_text}".encode()).hexdigest()


def evidence(row: ContractSignature, quote_total: int) -> dict[str, Any]:
    """What the seal covers, from a signature row and its quote's total."""
    return {"v": EVIDENCE_VERSION, "request_id": row.request_id, "quote_id": row.quote_id,
            "quote_total": quote_total, "client_id": row.client_id,
            "signed_at": row.signed_at_text, "signature": row.signature,
            "pdf_sha256": row.pdf_sha256, "pdf_key": row.pdf_key, "ip": row.ip,
            "user_agent": row.user_agent, "auth_method": row.auth_method,
            "code": row.verification_code, "key_id": row.seal_key_id}


def canonical(values: dict[str, Any]) -> bytes:
    return json.dumps(values, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()


def _verification_code() -> str:
    """16 base32 characters (80 random bits), easy to type from paper."""
    return base64.b32encode(secrets.token_bytes(10)).decode()


def contract_by_code(code: str) -> ContractSignature | None:
    cleaned = "".join((code or "").split()).replace("-", "").upper()
    if not cleaned or len(cleaned) > 40:
        return None
    return db.session.scalars(select(ContractSignature).where(
        ContractSignature.verification_code == cleaned)).first()


def contract_of(request_id: int) -> ContractSignature | None:
    return db.session.scalars(select(ContractSignature).where(
        ContractSignature.request_id == request_id)).first()


# The document ----------------------------------------------------------------------------
def contract_document(request: MaklonRequest, quote: Quote,
                      signed: ContractSigned | None = None) -> ContractDocument:
    company = company_identity()
    client_company = request.company
    size = f"{request.size} {request.size_unit}" if request.size else "-"
    product = [(str(_l("Nama produk")), request.product_name or "-"),
               (str(_l("Jenis")), request.product_type or "-"),
               (str(_l("Kemasan")), f"{request.packaging or '-'} · {size}"),
               (str(_l("Jumlah")), str(quote.quantity))]
    lines = [(str(PRICE_LINE_LABELS.get(line["key"], line["key"])), int(line["amount"]))
             for line in quote.breakdown.get("lines", [])]
    breakdown = quote.breakdown
    if breakdown.get("margin"):
        lines.append((str(_l("Margin %(pct)s%%", pct=breakdown.get("margin_pct", ""))),
                      int(breakdown["margin"])))
    if breakdown.get("discount"):
        lines.append((str(_l("Diskon %(pct)s%%", pct=breakdown.get("discount_pct", ""))),
                      -int(breakdown["discount"])))
    amounts = milestone_amounts(quote.total, quote.milestone_split)
    milestones = [(str(MILESTONE_LABELS[kind]), int(quote.milestone_split[kind]),
                   amounts[kind], str(STAGE_LABELS[UNLOCKS[kind]]))
                  for kind in MilestoneKind.ALL]
    return ContractDocument(
        request_number=request.number, quote_version=quote.version,
        provider=Party(name=company.name, address_lines=company.address.splitlines(),
                       npwp=company.npwp),
        client=Party(name=client_company.name,
                     address_lines=(client_company.address or "").splitlines(),
                     npwp=client_company.npwp or ""),
        product_lines=product, price_lines=lines, quantity=quote.quantity,
        unit_price=quote.unit_price, total=quote.total, milestones=milestones,
        delivery_date=quote.delivery_date, valid_until=quote.valid_until, note=quote.note,
        signed=signed)


def contract_draft_pdf(request: MaklonRequest, quote: Quote) -> bytes:
    """The unsigned contract of `quote`, for review."""
    return contract_pdf(contract_document(request, quote))


# Signing ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class SignContext:
    ip: str
    user_agent: str


def credential_check(client: User, secret: str) -> str:
    """The auth method ("password", or with two-factor login on "totp" or "recovery") when
    `secret` confirms `client`; raises ContractError 422 otherwise. With two-factor login a
    code from the authenticator app or one of the client's recovery codes is accepted, as
    at login (`second_factor_check`): a recovery code is spent in the signing's
    transaction, so it works once (a refused signing rolls it back)."""
    if totp_enabled(client):
        method = second_factor_check(client, secret or "")
        if method is None:
            raise ContractError(_l("Kode autentikator atau kode pemulihan salah atau sudah "
                                   "dipakai."), status=422, field="secret")
        return method
    if not secret or not password_verify(client.password_hash, secret):
        raise ContractError(_l("Kata sandi salah."), status=422, field="secret")
    return "password"


def contract_sign(*, request: MaklonRequest, client: User, secret: str,
                  context: SignContext) -> ContractSignature:
    """Sign the latest approved quote of `request` as `client` (see the module docstring).
    Raises ContractError (422 wrong password/code, 409 not signable or signed already).
    Flushes; the route commits."""
    if request.status == RequestStatus.SIGNED:
        raise ContractError(_l("Kontrak ini sudah ditandatangani."))
    if request.status != RequestStatus.NEGOTIATING:
        raise ContractError(_l("Permintaan ini tidak dapat ditandatangani."))
    quote = latest_quote(request.id)
    problem = quote_unacceptable(quote)
    if problem:
        raise ContractError(problem)
    assert quote is not None  # quote_unacceptable refuses a missing quote
    auth_method = credential_check(client, secret)
    # Lock the request and judge again: a second tab may have signed meanwhile.
    request = db.session.scalars(select(MaklonRequest).where(MaklonRequest.id == request.id)
                                 .with_for_update()
                                 .execution_options(populate_existing=True)).one()
    if request.status != RequestStatus.NEGOTIATING:
        raise ContractError(_l("Kontrak ini sudah ditandatangani."))
    quote = latest_quote(request.id)
    problem = quote_unacceptable(quote)
    if problem:
        raise ContractError(problem)
    assert quote is not None  # quote_unacceptable refuses a missing quote

    now = utcnow()
    signed_at_text = now.isoformat(timespec="microseconds")
    signature = spec_signature(request.id, client.id, signed_at_text)
    code = _verification_code()
    verify_url = public_url("maklon.contract_verify_page", kode=code)
    with force_locale(client.locale or "id"):
        pdf = contract_pdf(contract_document(request, quote, ContractSigned(
            signer_name=client.name, signer_email=client.email, signed_at=now,
            signature=signature, verification_code=code, verification_url=verify_url,
            auth_method=auth_method)))
    pdf_key = storage_put(pdf, folder=CONTRACT_FOLDER, suffix=".pdf")
    key = seal_private_key()
    row = ContractSignature(
        request_id=request.id, quote_id=quote.id, client_id=client.id, signed_at=now,
        signed_at_text=signed_at_text, signature=signature, verification_code=code,
        pdf_key=pdf_key, pdf_sha256=hashlib.sha256(pdf).hexdigest(),
        ip=(context.ip or "")[:64], user_agent=(context.user_agent or "")[:400],
        auth_method=auth_method, seal="", seal_key_id=seal_key_id(key.public_key()))
    row.seal = base64.b64encode(key.sign(canonical(evidence(row, quote.total)))).decode()
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        raise ContractError(_l("Kontrak ini sudah ditandatangani.")) from None

    moved = rowcount(db.session.execute(
        update(MaklonRequest).where(MaklonRequest.id == request.id,
                                    MaklonRequest.status == RequestStatus.NEGOTIATING)
        .values(status=RequestStatus.SIGNED, signed_at=now,
                promised_date=quote.delivery_date, stage=Stage.CONCEPT_APPROVED,
                updated_at=now)
        .execution_options(synchronize_session=False)))
    if moved != 1:
        raise ContractError(_l("Kontrak ini sudah ditandatangani."))
    for name, value in (("status", RequestStatus.SIGNED), ("signed_at", now),
                        ("promised_date", quote.delivery_date),
                        ("stage", Stage.CONCEPT_APPROVED)):
        set_committed_value(request, name, value)
    db.session.add(ProductionStage(request_id=request.id, stage=Stage.CONCEPT_APPROVED,
                                   staff_id=None, staff_name="",
                                   note="Kontrak ditandatangani", entered_at=now))
    milestones_create(request=request, quote=quote)
    accepted = rowcount(db.session.execute(
        update(Quote).where(Quote.id == quote.id, Quote.status == QuoteStatus.APPROVED)
        .values(status=QuoteStatus.ACCEPTED)
        .execution_options(synchronize_session=False)))
    if accepted != 1:
        raise ContractError(_l("Penawaran ini berubah saat ditandatangani. Muat ulang."))
    set_committed_value(quote, "status", QuoteStatus.ACCEPTED)
    db.session.execute(
        update(Quote).where(Quote.request_id == request.id, Quote.id != quote.id,
                            Quote.status.in_((QuoteStatus.PENDING_APPROVAL,
                                              QuoteStatus.APPROVED)))
        .values(status=QuoteStatus.SUPERSEDED).execution_options(synchronize_session=False))
    audit_record("maklon.contract_sign", actor=client, object_type="maklon_request",
                 object_id=request.number,
                 before={"status": RequestStatus.NEGOTIATING},
                 after={"status": RequestStatus.SIGNED, "quote_version": quote.version,
                        "total": quote.total, "signature": signature, "code": code,
                        "auth_method": auth_method, "pdf_sha256": row.pdf_sha256})
    mail_queue(to=client.email, template="maklon_contract_signed", locale=client.locale,
               subject=_l("Kontrak %(number)s ditandatangani", number=request.number),
               attachments=[{"key": pdf_key, "filename": contract_filename(request),
                             "content_type": "application/pdf"}],
               name=client.name, request=request, quote=quote, row=row,
               link=public_url("maklon.contract", number=request.number),
               verify_link=verify_url)
    db.session.flush()
    log.info("contract %s signed by user %s (%s)", request.number, client.id, auth_method)
    return row


def contract_filename(request: MaklonRequest) -> str:
    return f"Kontrak-{request.number}.pdf"


# Verification ----------------------------------------------------------------------------
def contract_verify(row: ContractSignature, pdf_bytes: bytes | None) -> list[str]:
    """What does not match for `row` and the PDF given (empty list: valid)."""
    problems: list[str] = []
    if pdf_bytes is not None and hashlib.sha256(pdf_bytes).hexdigest() != row.pdf_sha256:
        problems.append(str(_l("Berkas PDF tidak sama dengan kontrak yang ditandatangani "
                               "(SHA-256 berbeda).")))
    if spec_signature(row.request_id, row.client_id, row.signed_at_text) != row.signature:
        problems.append(str(_l("Tanda tangan SHA-256 tidak cocok dengan nomor pesanan, "
                               "klien dan waktu penandatanganan.")))
    try:
        recorded = datetime.fromisoformat(row.signed_at_text)
    except ValueError:
        recorded = None
    if recorded is None or row.signed_at is None or recorded != row.signed_at:
        problems.append(str(_l("Waktu penandatanganan tidak cocok dengan catatan.")))
    quote = db.session.get(Quote, row.quote_id)
    key = seal_key_ring().get(row.seal_key_id)
    if key is None:
        problems.append(str(_l("Segel dibuat dengan kunci yang tidak dikenal.")))
    else:
        try:
            key.verify(base64.b64decode(row.seal, validate=True),
                       canonical(evidence(row, quote.total if quote else -1)))
        except (InvalidSignature, binascii.Error, ValueError):
            problems.append(str(_l("Segel platform tidak sah: data kontrak sudah diubah "
                                   "setelah ditandatangani.")))
    return problems
