"""Quote requests: drafts keep anything partial, submitting validates against capability
and writes nothing when refused, numbering survives collisions, files are sniffed and only
visible with the request, another company's request is a 404, only clients create."""

from __future__ import annotations

import io
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.accounts.models import Company, User
from app.audit.models import AuditEntry
from app.core.models import Notice
from app.core.notices import notice_text
from app.maklon import requests as services
from app.maklon.capability import earliest_feasible_date, wib_today
from app.maklon.models import MaklonFile, MaklonRequest, RequestStatus
from tests.conftest import log_in
from tests.factories import make_user
from tests.maklon.factories import make_company, make_maklon_client, make_maklon_request

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def valid_form(**overrides) -> dict:
    values = {"product_name": "Serum Niacinamide 10%", "product_type": "skincare",
              "packaging": "bottle", "size": "30", "size_unit": "ml", "quantity": "2000",
              "formula_choice": "develop", "formula_id": "",
              "desired_date": (earliest_feasible_date() + timedelta(days=7)).isoformat(),
              "notes": "Botol kaca amber."}
    values.update(overrides)
    return values


def _client(db, client, **kwargs) -> User:
    user = make_maklon_client(**kwargs)
    db.session.commit()
    log_in(client, user.email)
    return user


def _count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_draft_saves_partial_values(db, client):
    user = _client(db, client)
    response = client.post("/maklon/baru", data={"product_name": "Setengah jadi",
                                                  "action": "draft"})
    assert response.status_code == 303
    req = db.session.scalars(select(MaklonRequest)).one()
    assert req.status == RequestStatus.DRAFT and req.product_name == "Setengah jadi"
    assert req.quantity == 0 and req.company_id == user.company_id
    assert req.number.startswith(f"MK-{wib_today().year}-")
    assert req.estimate == {}
    page = client.get(f"/maklon/{req.number}")
    assert page.status_code == 200 and "Setengah jadi" in page.get_data(as_text=True)


def test_submit_valid_request_audits_notifies_staff_and_stores_estimate(db, client):
    staff = make_user(roles=("staff",))
    _client(db, client)
    response = client.post("/maklon/baru", data={**valid_form(), "action": "submit"})
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    req = db.session.scalars(select(MaklonRequest)).one()
    assert req.status == RequestStatus.SUBMITTED and req.submitted_at is not None
    assert req.estimate["result"]["total"] > 0
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "maklon.request_submit", AuditEntry.object_id == req.number)) == 1
    assert db.session.scalars(select(Notice).where(Notice.user_id == staff.id)).one()


def test_longest_company_and_product_names_still_notify_staff(db, client):
    """The staff notice names the company (160) and the product (120): its stored message
    (a 300-character column) is cut to fit (PostgreSQL refused it: a 500 on submit); the
    notice list renders the full text from the params."""
    staff = make_user(roles=("staff",))
    _client(db, client, company=make_company(name="P" * 160))
    response = client.post("/maklon/baru", data={**valid_form(product_name="S" * 120),
                                                  "action": "submit"})
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    notice = db.session.scalars(select(Notice).where(Notice.user_id == staff.id)).one()
    assert len(notice.message) <= 300
    assert "P" * 160 in notice_text(notice) and "S" * 120 in notice_text(notice)


def test_invalid_submit_saves_nothing_and_answers_422_with_field_messages(db, client):
    _client(db, client)
    response = client.post("/maklon/baru", data={**valid_form(quantity="10"),
                                                  "action": "submit"})
    assert response.status_code == 422
    assert "Minimum pesanan" in response.get_data(as_text=True)
    assert (_count(db, MaklonRequest) == 0 and _count(db, AuditEntry) == 0) or \
        _count(db, MaklonRequest) == 0


def test_invalid_submit_of_a_draft_leaves_the_draft_unchanged(db, client):
    user = _client(db, client)
    draft = make_maklon_request(client=user, status=RequestStatus.DRAFT, quantity=3000)
    db.session.commit()
    response = client.post(f"/maklon/{draft.number}/ubah",
                           data={**valid_form(quantity="5"), "action": "submit"})
    assert response.status_code == 422
    db.session.expire_all()
    assert draft.quantity == 3000 and draft.status == RequestStatus.DRAFT


def test_draft_edit_then_submit(db, client):
    user = _client(db, client)
    draft = make_maklon_request(client=user, status=RequestStatus.DRAFT)
    db.session.commit()
    assert client.get(f"/maklon/{draft.number}/ubah").status_code == 200
    response = client.post(f"/maklon/{draft.number}/ubah",
                           data={**valid_form(quantity="4000"), "action": "submit"})
    assert response.status_code == 303
    db.session.expire_all()
    assert draft.status == RequestStatus.SUBMITTED and draft.quantity == 4000
    again = client.post(f"/maklon/{draft.number}/ubah", data={**valid_form(),
                                                               "action": "draft"})
    assert again.status_code == 409


def test_client_without_company_gets_one_with_the_first_save(db, client):
    user = make_user(roles=("client",))
    db.session.commit()
    log_in(client, user.email)
    form = client.get("/maklon/baru").get_data(as_text=True)
    assert 'name="company_name"' in form
    refused = client.post("/maklon/baru", data={"action": "draft"})
    assert refused.status_code == 422 and _count(db, Company) == 0
    response = client.post("/maklon/baru", data={
        **valid_form(), "company_name": "PT Cantik Jaya", "company_npwp": "",
        "company_address": "Jl. Asia Afrika 1", "action": "submit"})
    assert response.status_code == 303
    db.session.expire_all()
    company = db.session.scalars(select(Company)).one()
    assert company.name == "PT Cantik Jaya" and company.is_client
    assert db.session.get(User, user.id).company_id == company.id


@pytest.mark.parametrize("value", ["abc", "-5", "1e9", "99999999999999999999", "12,5"])
def test_bad_numbers_are_422_never_500(db, client, value):
    _client(db, client)
    for name in ("quantity", "size", "length_mm"):
        response = client.post("/maklon/baru", data={**valid_form(**{name: value}),
                                                      "packaging": "custom",
                                                      "action": "submit"})
        assert response.status_code == 422, (name, value)
        estimate = client.post("/maklon/perkiraan", data=valid_form(**{name: value}),
                               headers={"HX-Request": "true"})
        assert estimate.status_code == 200
    assert _count(db, MaklonRequest) == 0


def test_unknown_choices_and_bad_dates_are_422(db, client):
    _client(db, client)
    for overrides in ({"product_type": "racun"}, {"packaging": "drum"},
                      {"formula_choice": "curi"}, {"size_unit": "kg"},
                      {"desired_date": "31/02/2026"}, {"desired_date": "besok"},
                      {"product_name": "x" * 500}):
        for action in ("draft", "submit"):
            response = client.post("/maklon/baru", data={**valid_form(**overrides),
                                                          "action": action})
            assert response.status_code == 422, (overrides, action)
    assert _count(db, MaklonRequest) == 0


def test_another_companys_formula_is_refused_even_in_a_draft(db, client):
    from tests.maklon.factories import make_formula, make_raw_material

    other = make_company()
    formula = make_formula(company=other, lines=[(make_raw_material(), "2")])
    _client(db, client)
    for action in ("draft", "submit"):
        response = client.post("/maklon/baru", data={
            **valid_form(formula_choice="stored", formula_id=str(formula.id)),
            "action": action})
        assert response.status_code == 422
    estimate = client.post("/maklon/perkiraan", headers={"HX-Request": "true"},
                           data=valid_form(formula_choice="stored", formula_id=str(formula.id)))
    assert estimate.status_code == 200
    assert "formula tersimpan" in estimate.get_data(as_text=True)
    assert _count(db, MaklonRequest) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "formula.decrypt")) == 0


def test_upload_choice_needs_a_spec_file_and_accepts_a_pdf(db, client):
    _client(db, client)
    data = {**valid_form(formula_choice="upload"), "action": "submit"}
    refused = client.post("/maklon/baru", data=data, content_type="multipart/form-data")
    assert refused.status_code == 422
    assert "spesifikasi" in refused.get_data(as_text=True)
    data["spec_file"] = (io.BytesIO(PDF), "spesifikasi.pdf")
    response = client.post("/maklon/baru", data=data, content_type="multipart/form-data")
    assert response.status_code == 303
    row = db.session.scalars(select(MaklonFile)).one()
    assert row.kind == "spec" and row.content_type == "application/pdf"
    assert row.filename == "spesifikasi.pdf" and "spesifikasi" not in row.file_key


@pytest.mark.parametrize(("content", "name"), [
    (b"<html><script>alert(1)</script>", "spec.pdf"),  # the name lies
    (b"MZ\x90\x00" + b"\x00" * 40, "setup.png"),
    (b"", "kosong.pdf"),
])
def test_files_are_sniffed_not_trusted_by_name(db, client, content, name):
    user = _client(db, client)
    req = make_maklon_request(client=user)
    db.session.commit()
    response = client.post(f"/maklon/{req.number}/berkas", content_type="multipart/form-data",
                           data={"kind": "reference", "upload": (io.BytesIO(content), name)})
    assert response.status_code == 422
    assert _count(db, MaklonFile) == 0


def test_too_large_file_is_refused(app, db, client, monkeypatch):
    monkeypatch.setitem(app.config, "MAKLON_FILE_MAX_BYTES", 1024)
    user = _client(db, client)
    req = make_maklon_request(client=user)
    db.session.commit()
    response = client.post(f"/maklon/{req.number}/berkas", content_type="multipart/form-data",
                           data={"kind": "reference",
                                 "upload": (io.BytesIO(PNG + b"\x00" * 2048), "a.png")})
    assert response.status_code == 422 and _count(db, MaklonFile) == 0


def test_file_download_is_an_attachment_for_the_company_and_staff_only(db, client,
                                                                       make_client):
    user = _client(db, client)
    req = make_maklon_request(client=user)
    db.session.commit()
    response = client.post(f"/maklon/{req.number}/berkas", content_type="multipart/form-data",
                           data={"kind": "reference", "upload": (io.BytesIO(PNG), "x.png")})
    assert response.status_code == 303
    row = db.session.scalars(select(MaklonFile)).one()
    url = f"/maklon/{req.number}/berkas/{row.id}"
    download = client.get(url)
    assert download.status_code == 200 and download.data == PNG
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["Content-Type"] == "image/png"
    stranger, staff = make_client(), make_client()
    log_in(stranger, make_maklon_client().email)
    staff_user = make_user(roles=("staff",))
    db.session.commit()
    log_in(staff, staff_user.email)
    assert stranger.get(url).status_code == 404
    assert staff.get(url).status_code == 200


def test_another_company_gets_404_on_detail_edit_file_and_cancel(db, client):
    owner = make_maklon_client()
    req = make_maklon_request(client=owner, status=RequestStatus.DRAFT)
    row = MaklonFile(request_id=req.id, kind="reference", file_key="maklon/x.png",
                     filename="x.png", content_type="image/png", size=1)
    db.session.add(row)
    _client(db, client)
    for method, url in (("GET", f"/maklon/{req.number}"), ("GET", f"/maklon/{req.number}/ubah"),
                        ("POST", f"/maklon/{req.number}/ubah"),
                        ("GET", f"/maklon/{req.number}/berkas/{row.id}"),
                        ("POST", f"/maklon/{req.number}/berkas"),
                        ("POST", f"/maklon/{req.number}/batal")):
        assert client.open(url, method=method).status_code == 404, url
    db.session.expire_all()
    assert req.status == RequestStatus.DRAFT


@pytest.mark.parametrize("role", ["seller", "customer", "staff"])
def test_only_clients_create_requests(db, client, login_as, role):
    login_as(role)
    assert client.get("/maklon/baru").status_code == 403
    assert client.post("/maklon/baru", data=valid_form()).status_code == 403
    assert client.post("/maklon/perkiraan", data=valid_form()).status_code == 403


def test_cancel_before_signing_only(db, client):
    user = _client(db, client)
    open_req = make_maklon_request(client=user, status=RequestStatus.NEGOTIATING)
    signed = make_maklon_request(client=user, status=RequestStatus.SIGNED)
    db.session.commit()
    assert client.post(f"/maklon/{open_req.number}/batal").status_code == 303
    assert client.post(f"/maklon/{signed.number}/batal").status_code == 409
    db.session.expire_all()
    assert open_req.status == RequestStatus.CANCELLED and signed.status == RequestStatus.SIGNED
    assert db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "maklon.request_cancel")).one().object_id == open_req.number


def test_list_shows_only_the_companys_requests_with_status_filter(db, client):
    user = _client(db, client)
    mine = make_maklon_request(client=user, status=RequestStatus.SUBMITTED)
    draft = make_maklon_request(client=user, status=RequestStatus.DRAFT)
    foreign = make_maklon_request(client=make_maklon_client())
    db.session.commit()
    page = client.get("/maklon").get_data(as_text=True)
    assert mine.number in page and draft.number in page and foreign.number not in page
    filtered = client.get("/maklon?status=draft").get_data(as_text=True)
    assert draft.number in filtered and mine.number not in filtered
    assert client.get("/maklon?status=nope&hal=99999999999999999999").status_code == 200


def test_staff_list_shows_every_submitted_request_not_drafts(db, client, login_as):
    submitted = make_maklon_request(client=make_maklon_client())
    draft = make_maklon_request(client=make_maklon_client(), status=RequestStatus.DRAFT)
    db.session.commit()
    login_as("staff")
    page = client.get("/maklon/staf").get_data(as_text=True)
    assert submitted.number in page and draft.number not in page
    assert client.get(f"/maklon/{submitted.number}").status_code == 200


def test_a_taken_number_is_skipped(db, monkeypatch):
    user = make_maklon_client()
    taken = make_maklon_request(client=user)
    fresh = iter([taken.number, taken.number, f"MK-{wib_today().year}-999999"])
    monkeypatch.setattr(services, "request_number", lambda: next(fresh))
    req = services.request_save(client=user, values={"product_name": "Uji"})
    assert req.number == f"MK-{wib_today().year}-999999"
    assert db.session.get(MaklonRequest, taken.id).number == taken.number


def test_numbers_run_on_within_the_year(db):
    user = make_maklon_client()
    first = services.request_save(client=user, values={"product_name": "A"})
    second = services.request_save(client=user, values={"product_name": "B"})
    assert int(second.number.rsplit("-", 1)[1]) == int(first.number.rsplit("-", 1)[1]) + 1


def test_concurrent_requests_get_distinct_numbers(app, db):
    ids = [make_maklon_client().id for _ in range(4)]
    db.session.commit()  # and no more reads here: SQLite would hold the write lock
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(ids))

    def create(user_id: int) -> None:
        try:
            with app.app_context():
                from app.extensions import db as inner

                barrier.wait(timeout=10)
                user = inner.session.get(User, user_id)
                services.request_save(client=user, values={"product_name": "Paralel"})
                inner.session.commit()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=create, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    db.session.expire_all()
    numbers = list(db.session.scalars(select(MaklonRequest.number)))
    assert len(numbers) == len(ids) == len(set(numbers))
