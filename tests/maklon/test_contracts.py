"""The signed contract: who may sign what, the spec signature, the Ed25519 seal and its
verification, refusals that write nothing, and 404 for another company's client."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.core.clock import utcnow
from app.core.models import EmailOutbox
from app.core.storage import storage_path
from app.maklon.contracts import ContractError, contract_verify, spec_signature
from app.maklon.models import (
    ContractSignature,
    MaklonRequest,
    MilestonePayment,
    ProductionStage,
    Quote,
    QuoteStatus,
    RequestStatus,
    Stage,
)
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.maklon.factories import (
    make_maklon_client,
    make_maklon_request,
    make_quote,
    make_signed_request,
    sign_contract,
)


def _count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _signed(db) -> tuple[MaklonRequest, ContractSignature, bytes]:
    req = make_signed_request()
    row = db.session.scalars(select(ContractSignature)).one()
    return req, row, storage_path(row.pdf_key).read_bytes()


def test_a_quote_not_yet_approved_cannot_be_signed(db):
    req = make_maklon_request(client=make_maklon_client())
    make_quote(request=req, approve=False)
    with pytest.raises(ContractError) as caught:
        sign_contract(request=req)
    assert caught.value.status == 409
    assert _count(db, ContractSignature) == 0


def test_an_approved_but_expired_quote_cannot_be_signed(db):
    req = make_maklon_request(client=make_maklon_client())
    quote = make_quote(request=req, approve=True)
    quote.valid_until = (utcnow() - timedelta(days=2)).date()
    db.session.flush()
    with pytest.raises(ContractError, match="masa berlaku"):
        sign_contract(request=req)


def test_an_approved_version_replaced_by_a_newer_one_cannot_be_signed(db):
    req = make_maklon_request(client=make_maklon_client())
    make_quote(request=req, approve=True)
    make_quote(request=req, approve=False)  # v2 pending: v1 is superseded
    with pytest.raises(ContractError, match="belum disetujui"):
        sign_contract(request=req)


def test_signing_stores_the_spec_signature_and_a_seal_that_verifies(db):
    req, row, pdf = _signed(db)
    expected = hashlib.sha256(f"{req.id}{req.client_id}{row.signed_at_text}".encode())
    assert row.signature == expected.hexdigest()
    assert row.signature == spec_signature(req.id, req.client_id, row.signed_at_text)
    assert row.signed_at_text.endswith("+00:00")
    assert row.pdf_sha256 == hashlib.sha256(pdf).hexdigest()
    assert pdf.startswith(b"%PDF")
    assert row.ip == "203.0.113.7" and row.user_agent == "pytest"
    assert row.auth_method == "password"
    assert len(row.seal_key_id) == 16
    assert contract_verify(row, pdf) == []


def test_signing_makes_the_order_signed_with_its_schedule_and_first_stage(db):
    req, row, _ = _signed(db)
    db.session.refresh(req)
    quote = db.session.get(Quote, row.quote_id)
    assert req.status == RequestStatus.SIGNED and req.signed_at is not None
    assert req.stage == Stage.CONCEPT_APPROVED
    assert req.promised_date == quote.delivery_date
    assert quote.status == QuoteStatus.ACCEPTED
    stage = db.session.scalars(select(ProductionStage)).one()
    assert (stage.stage, stage.staff_id, stage.note) == (Stage.CONCEPT_APPROVED, None,
                                                         "Kontrak ditandatangani")
    milestones = db.session.scalars(select(MilestonePayment).order_by(
        MilestonePayment.position)).all()
    assert [m.kind for m in milestones] == ["dp", "mid", "final"]
    assert [m.unlocks_stage for m in milestones] == [Stage.MATERIAL_PURCHASE,
                                                     Stage.FORMULATION,
                                                     Stage.SHIPPING_SCHEDULED]
    assert sum(m.amount for m in milestones) == quote.total
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "maklon.contract_sign")) == 1
    mail = db.session.scalars(select(EmailOutbox).where(
        EmailOutbox.template == "maklon_contract_signed")).one()
    assert mail.attachments[0]["key"] == row.pdf_key


SEALED_TEXT_FIELDS = ("signed_at_text", "signature", "pdf_sha256", "pdf_key", "ip",
                      "user_agent", "auth_method", "verification_code", "seal",
                      "seal_key_id")


def _one_char_changed(value: str) -> str:
    last = value[-1]
    return value[:-1] + ("B" if last == "A" else "A")


@pytest.mark.parametrize("field", SEALED_TEXT_FIELDS)
def test_verification_fails_after_a_one_character_change_of_a_stored_field(db, field):
    _, row, pdf = _signed(db)
    setattr(row, field, _one_char_changed(getattr(row, field)))
    assert contract_verify(row, pdf) != []


@pytest.mark.parametrize("field", ("request_id", "quote_id", "client_id"))
def test_verification_fails_after_a_changed_id(db, field):
    _, row, pdf = _signed(db)
    with db.session.no_autoflush:  # changed in memory only (the ids are foreign keys)
        setattr(row, field, getattr(row, field) + 1)
        assert contract_verify(row, pdf) != []
    db.session.rollback()


def test_verification_fails_after_a_changed_signing_time_or_quote_total(db):
    _, row, pdf = _signed(db)
    row.signed_at = row.signed_at + timedelta(seconds=1)
    assert contract_verify(row, pdf) != []
    db.session.rollback()
    row = db.session.scalars(select(ContractSignature)).one()
    row.quote.total += 1
    db.session.flush()
    assert contract_verify(row, pdf) != []


def test_verification_fails_after_one_byte_of_the_pdf_changes(db):
    _, row, pdf = _signed(db)
    changed = bytearray(pdf)
    changed[len(changed) // 2] ^= 0x01
    problems = contract_verify(row, bytes(changed))
    assert len(problems) == 1 and "SHA-256" in problems[0]


def test_a_wrong_password_is_a_422_and_nothing_is_written(db, client, login_as):
    owner = make_maklon_client()
    req = make_maklon_request(client=owner)
    make_quote(request=req)
    db.session.commit()
    login_as(owner)
    response = client.post(f"/maklon/{req.number}/kontrak/setuju",
                           data={"secret": "bukan-kata-sandinya"})
    assert response.status_code == 422
    assert "Kata sandi salah" in response.get_data(as_text=True)
    assert _count(db, ContractSignature) == 0
    assert _count(db, MilestonePayment) == 0
    db.session.refresh(req)
    assert req.status == RequestStatus.NEGOTIATING and req.signed_at is None


def test_the_client_signs_once_and_a_second_submit_gets_409(db, client, login_as):
    owner = make_maklon_client()
    req = make_maklon_request(client=owner)
    make_quote(request=req)
    db.session.commit()
    login_as(owner)
    url = f"/maklon/{req.number}/kontrak/setuju"
    assert client.post(url, data={"secret": DEFAULT_PASSWORD}).status_code == 303
    assert client.post(url, data={"secret": DEFAULT_PASSWORD}).status_code == 409
    assert _count(db, ContractSignature) == 1
    page = client.get(f"/maklon/{req.number}/kontrak")
    assert 'data-testid="contract-signed"' in page.get_data(as_text=True)
    pdf = client.get(f"/maklon/{req.number}/kontrak.pdf")
    row = db.session.scalars(select(ContractSignature)).one()
    assert hashlib.sha256(pdf.data).hexdigest() == row.pdf_sha256


def test_the_public_page_checks_a_contract_file_and_its_code(db, client):
    _, row, pdf = _signed(db)
    db.session.commit()
    assert client.get("/kontrak/verifikasi").status_code == 200
    response = client.post("/kontrak/verifikasi", data={
        "kode": row.verification_code, "pdf": (io.BytesIO(pdf), "kontrak.pdf")},
        content_type="multipart/form-data")
    assert response.status_code == 200
    assert 'data-testid="contract-valid"' in response.get_data(as_text=True)
    response = client.post("/kontrak/verifikasi", data={
        "kode": row.verification_code, "pdf": (io.BytesIO(pdf + b"x"), "kontrak.pdf")},
        content_type="multipart/form-data")
    assert 'data-testid="contract-invalid"' in response.get_data(as_text=True)
    response = client.post("/kontrak/verifikasi", data={
        "kode": "TIDAKADA", "pdf": (io.BytesIO(pdf), "kontrak.pdf")},
        content_type="multipart/form-data")
    assert response.status_code == 422


def test_the_public_verification_is_rate_limited(app, db, client):
    app.config["CONTRACT_VERIFY_LIMIT_PER_IP"] = "2 per hour"
    try:
        statuses = [client.post("/kontrak/verifikasi", data={"kode": ""}).status_code
                    for _ in range(3)]
    finally:
        app.config.pop("CONTRACT_VERIFY_LIMIT_PER_IP")
    assert statuses == [422, 422, 429]


def test_another_companys_client_gets_404_on_every_page(db, client, login_as):
    req = make_signed_request()
    from app.maklon.models import MilestonePayment as M
    from tests.maklon.factories import pay_milestone_sandbox

    payment = pay_milestone_sandbox(db.session.scalars(select(M).where(M.kind == "dp")).one())
    stranger = make_maklon_client()
    db.session.commit()
    login_as(stranger)
    n = req.number
    for url in (f"/maklon/{n}/penawaran", f"/maklon/{n}/kontrak", f"/maklon/{n}/kontrak.pdf",
                f"/maklon/{n}/pembayaran", f"/maklon/{n}/pembayaran/bayar/{payment.reference}",
                f"/maklon/{n}/pembayaran/bayar/{payment.reference}/status"):
        assert client.get(url).status_code == 404, url
    for url in (f"/maklon/{n}/pesan", f"/maklon/{n}/kontrak/setuju",
                f"/maklon/{n}/pembayaran/mid"):
        assert client.post(url, data={"body": "x", "secret": DEFAULT_PASSWORD,
                                      "method": "va_bca"}).status_code == 404, url


def _at_once(calls) -> list:
    """Run the callables at the same moment in threads; their results in order."""
    import threading

    barrier = threading.Barrier(len(calls), timeout=30)
    results: list = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = calls[index]()
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if errors:
        raise errors[0]
    return results


def test_two_tabs_pressing_setuju_at_once_sign_once(db, login_as, make_client):
    owner = make_maklon_client()
    req = make_maklon_request(client=owner)
    make_quote(request=req)
    db.session.commit()
    tabs = [make_client(), make_client()]
    for tab in tabs:
        login_as(owner, tab)
    url = f"/maklon/{req.number}/kontrak/setuju"
    data = {"secret": DEFAULT_PASSWORD}
    tokens = [tab.csrf_token() for tab in tabs]
    responses = _at_once([
        lambda tab=tab, token=token: tab.post(url, data={**data, "csrf_token": token})
        for tab, token in zip(tabs, tokens, strict=True)])
    assert sorted(r.status_code for r in responses) == [303, 409]
    db.session.expire_all()
    assert _count(db, ContractSignature) == 1
    assert _count(db, MilestonePayment) == 3
    assert _count(db, ProductionStage) == 1


def test_concurrent_staff_versions_get_distinct_numbers(db, login_as, make_client):
    from datetime import date

    if db.engine.dialect.name == "sqlite":
        # SQLite serialises writers (BEGIN IMMEDIATE), so the numbers cannot race there;
        # and threads of different staff logins stall at BEGIN in this test harness.
        pytest.skip("PostgreSQL only: the row lock and the unique version are what is tested")

    req = make_maklon_request(client=make_maklon_client())
    staff = [make_user(roles=("staff",)) for _ in range(4)]
    db.session.commit()
    browsers = [make_client() for _ in range(4)]
    for member, browser in zip(staff, browsers, strict=True):
        login_as(member, browser)
    today = date.today()
    form = {"delivery_date": (today + timedelta(days=60)).isoformat(),
            "valid_until": (today + timedelta(days=14)).isoformat(),
            "split_dp": "30", "split_mid": "40", "split_final": "30"}
    tokens = [browser.csrf_token() for browser in browsers]
    db.session.commit()
    url = f"/maklon/{req.number}/penawaran"
    responses = _at_once([
        lambda b=b, token=token: b.post(url, data={**form, "csrf_token": token})
        for b, token in zip(browsers, tokens, strict=True)])
    assert [r.status_code for r in responses] == [303] * 4
    db.session.expire_all()
    quotes = db.session.scalars(select(Quote).order_by(Quote.version)).all()
    assert [q.version for q in quotes] == [1, 2, 3, 4]
    assert [q.status for q in quotes].count(QuoteStatus.PENDING_APPROVAL) == 1
    assert quotes[-1].status == QuoteStatus.PENDING_APPROVAL

