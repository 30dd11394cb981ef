"""The maklon API: the same services and rules as the web. Clients see their company's
requests (another company's is a 404), staff and admins see all, other roles get 403;
submitting validates against capability and writes nothing when refused; signing stores the
same signature and seal as the web; a milestone payment is idempotent."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.accounts.models import Company
from app.audit.models import AuditEntry
from app.core.clock import utcnow
from app.core.storage import storage_path
from app.maklon.capability import earliest_feasible_date
from app.maklon.contracts import contract_of, contract_verify, spec_signature
from app.maklon.models import (
    ContractSignature,
    MaklonRequest,
    MilestonePayment,
    Quote,
    QuoteMessage,
    QuoteStatus,
    RequestStatus,
)
from app.payments.models import Payment
from tests.api.conftest import error_code
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.maklon.factories import (
    make_formula,
    make_maklon_client,
    make_maklon_request,
    make_quote,
    make_raw_material,
    make_signed_order,
    make_signed_request,
    pay_milestone,
)

BASE = "/api/v1/maklon"


def _count(db, model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _company(db, user) -> Company:
    return db.session.get(Company, user.company_id)


def valid_body(**overrides) -> dict:
    body = {"product_name": "Serum Niacinamide 10%", "product_type": "skincare",
            "packaging": "bottle", "size": 30, "size_unit": "ml", "quantity": 2000,
            "formula_choice": "develop",
            "desired_date": (earliest_feasible_date() + timedelta(days=7)).isoformat(),
            "notes": "Botol kaca amber."}
    body.update(overrides)
    return body


# --- requests --------------------------------------------------------------------------------

def test_client_lists_their_companys_requests_in_pages_with_a_link_header(db, api):
    owner = make_maklon_client()
    for _ in range(3):
        make_maklon_request(client=owner)
    make_maklon_request(client=make_maklon_client())  # another company's
    response = api(owner).get(f"{BASE}/requests?per_page=2")
    assert response.status_code == 200
    body = response.get_json()
    assert (body["total"], body["pages"], len(body["items"])) == (3, 2, 2)
    assert 'rel="next"' in response.headers["Link"]
    item = body["items"][0]
    assert set(item) == {"number", "status", "status_label", "product_name", "product_type",
                         "quantity", "stage", "company", "submitted_at", "updated_at"}
    assert item["company"] == {"id": owner.company_id, "name": _company(db, owner).name}


def test_request_list_filters_by_status(db, api):
    owner = make_maklon_client()
    draft = make_maklon_request(client=owner, status=RequestStatus.DRAFT)
    make_maklon_request(client=owner)
    body = api(owner).get(f"{BASE}/requests?status=draft").get_json()
    assert [item["number"] for item in body["items"]] == [draft.number]


def test_staff_list_every_company_but_not_drafts(db, api):
    make_maklon_request(client=make_maklon_client())
    make_maklon_request(client=make_maklon_client())
    make_maklon_request(client=make_maklon_client(), status=RequestStatus.DRAFT)
    body = api(make_user(roles=("staff",))).get(f"{BASE}/requests").get_json()
    assert body["total"] == 2
    assert {item["status"] for item in body["items"]} == {RequestStatus.SUBMITTED}


def test_a_customer_gets_403_on_maklon_endpoints(db, api):
    req = make_signed_request()
    buyer = api(make_user(roles=("customer",)))
    for url in (f"{BASE}/requests", f"{BASE}/requests/{req.number}",
                f"{BASE}/requests/{req.number}/quotes", f"{BASE}/requests/{req.number}/stages",
                f"{BASE}/requests/{req.number}/milestones"):
        assert buyer.get(url).status_code == 403, url
    assert buyer.post(f"{BASE}/requests", json=valid_body()).status_code == 403
    assert buyer.post(f"{BASE}/estimate", json=valid_body()).status_code == 403
    response = buyer.post(f"{BASE}/requests/{req.number}/milestones/mid/payments",
                          json={"method": "va_bca"})
    assert response.status_code == 403 and error_code(response) == "forbidden"


def test_client_submits_a_request_with_the_web_forms_fields(db, api):
    staff = make_user(roles=("staff",))
    owner = make_maklon_client()
    response = api(owner).post(f"{BASE}/requests", json=valid_body())
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    req = db.session.scalars(select(MaklonRequest)).one()
    assert response.headers["Location"].endswith(f"/api/v1/maklon/requests/{req.number}")
    assert body["number"] == req.number and body["status"] == RequestStatus.SUBMITTED
    assert body["status_label"] == "Diajukan"
    assert (body["product_type"], body["packaging"], body["size"], body["quantity"]) == (
        "skincare", "bottle", 30, 2000)
    assert body["company"]["id"] == owner.company_id
    assert body["estimate"]["result"]["total"] == req.estimate["result"]["total"] > 0
    assert body["files"] == []
    assert _count(db, AuditEntry, AuditEntry.action == "maklon.request_submit") == 1
    assert staff.id  # the staff member was told (the service's notice)


def test_a_draft_keeps_partial_values(db, api):
    owner = make_maklon_client()
    response = api(owner).post(f"{BASE}/requests", json={"product_name": "Setengah jadi",
                                                         "draft": True})
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == RequestStatus.DRAFT and body["quantity"] == 0
    assert body["estimate"] is None


def test_unrealistic_request_is_422_at_each_field_and_writes_nothing(db, api):
    owner = make_maklon_client()
    response = api(owner).post(f"{BASE}/requests", json=valid_body(
        quantity=5_000_000, size=5_000,
        desired_date=(utcnow() + timedelta(days=1)).date().isoformat()))
    assert response.status_code == 422
    fields = response.get_json()["error"]["fields"]
    assert {"quantity", "size", "desired_date"} <= set(fields)
    assert "kapasitas" in fields["quantity"]
    assert _count(db, MaklonRequest) == 0
    assert _count(db, AuditEntry, AuditEntry.action == "maklon.request_submit") == 0


def test_out_of_range_numbers_and_unknown_fields_are_422(db, api):
    client = api(make_maklon_client())
    response = client.post(f"{BASE}/requests", json=valid_body(quantity=10**30))
    assert response.status_code == 422 and "quantity" in response.get_json()["error"]["fields"]
    response = client.post(f"{BASE}/requests", json=valid_body(colour="red"))
    assert response.status_code == 422 and "colour" in response.get_json()["error"]["fields"]
    response = client.post(f"{BASE}/requests", json=valid_body(product_type="cheese"))
    assert "product_type" in response.get_json()["error"]["fields"]
    assert _count(db, MaklonRequest) == 0


def test_another_companys_formula_is_refused_on_the_formula_field(db, api):
    other = make_maklon_client()
    formula = make_formula(company=_company(db, other), lines=[(make_raw_material(), "1")])
    response = api(make_maklon_client()).post(f"{BASE}/requests", json=valid_body(
        formula_choice="stored", formula_id=formula.id, draft=True))
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"formula_id"}
    assert _count(db, MaklonRequest) == 0


def test_a_client_without_a_company_must_name_one(db, api):
    lone = make_user(roles=("client",))
    response = api(lone).post(f"{BASE}/requests", json=valid_body())
    assert response.status_code == 422
    assert "company_name" in response.get_json()["error"]["fields"]
    response = api(lone).post(f"{BASE}/requests", json=valid_body(
        company_name="PT Baru", company_npwp="01.234.567.8-901.000"))
    assert response.status_code == 201
    assert response.get_json()["company"]["name"] == "PT Baru"


def test_request_detail_for_owner_and_staff_with_etag(db, api):
    owner = make_maklon_client()
    req = make_maklon_request(client=owner, notes="Catatan")
    client = api(owner)
    response = client.get(f"{BASE}/requests/{req.number}")
    assert response.status_code == 200
    body = response.get_json()
    assert body["number"] == req.number and body["notes"] == "Catatan"
    assert body["stage"] is None and body["stage_label"] is None
    again = client.get(f"{BASE}/requests/{req.number}",
                       headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    staff = api(make_user(roles=("staff",)))
    assert staff.get(f"{BASE}/requests/{req.number}").status_code == 200


def test_client_b_gets_404_on_client_as_request_everywhere(db, api):
    req = make_signed_request()
    stranger = api(make_maklon_client())
    n = req.number
    for url in (f"{BASE}/requests/{n}", f"{BASE}/requests/{n}/quotes",
                f"{BASE}/requests/{n}/messages", f"{BASE}/requests/{n}/milestones",
                f"{BASE}/requests/{n}/stages"):
        response = stranger.get(url)
        assert response.status_code == 404 and error_code(response) == "not_found", url
    for url, body in ((f"{BASE}/requests/{n}/messages", {"body": "Halo"}),
                      (f"{BASE}/requests/{n}/accept", {"password": DEFAULT_PASSWORD}),
                      (f"{BASE}/requests/{n}/milestones/mid/payments", {"method": "va_bca"})):
        assert stranger.post(url, json=body).status_code == 404, url
    assert _count(db, Payment) == 0


# --- the estimate ----------------------------------------------------------------------------

def test_estimate_shows_the_breakdown_but_never_the_formula(db, api):
    owner = make_maklon_client()
    formula = make_formula(company=_company(db, owner), lines=[(make_raw_material(), "2.5")])
    response = api(owner).post(f"{BASE}/estimate", json=valid_body(
        formula_choice="stored", formula_id=formula.id))
    assert response.status_code == 200
    body = response.get_json()
    assert body["missing"] == []
    result = body["result"]
    assert set(result) == {"lines", "cost", "margin_pct", "margin", "discount_pct",
                           "discount", "total", "quantity", "unit_price"}
    assert result["total"] > 0 and result["quantity"] == 2000
    assert all(set(line) == {"key", "label", "amount"} for line in result["lines"])
    text = response.get_data(as_text=True)
    assert "cost_per_unit" not in text and "material_id" not in text and "params" not in text
    assert _count(db, MaklonRequest) == 0


def test_estimate_names_what_is_missing(db, api):
    response = api(make_maklon_client()).post(f"{BASE}/estimate",
                                              json={"product_type": "skincare"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["result"] is None and "jenis kemasan" in body["missing"]


# --- quotes and negotiation ------------------------------------------------------------------

def _terms(**overrides) -> dict:
    today = utcnow().date()
    terms = {"delivery_date": (today + timedelta(days=60)).isoformat(),
             "valid_until": (today + timedelta(days=14)).isoformat()}
    terms.update(overrides)
    return terms


def test_staff_create_a_version_admin_approves_it_and_the_client_reads_it(db, api):
    owner = make_maklon_client()
    req = make_maklon_request(client=owner)
    staff, admin = make_user(roles=("staff",)), make_user(roles=("admin",))
    response = api(staff).post(f"{BASE}/requests/{req.number}/quotes",
                               json=_terms(margin_pct=25, note="Versi awal"))
    assert response.status_code == 201, response.get_json()
    quote = response.get_json()
    assert quote["version"] == 1 and quote["status"] == QuoteStatus.PENDING_APPROVAL
    assert [s["percent"] for s in quote["split"]] == [30, 40, 30]
    assert sum(s["amount"] for s in quote["split"]) == quote["total"]
    assert quote["breakdown"]["margin_pct"] == "25" and quote["approved"] is False
    assert quote["diff"] == []
    assert api(staff).post(f"{BASE}/requests/{req.number}/quotes/1/approve").status_code \
        == 403
    response = api(admin).post(f"{BASE}/requests/{req.number}/quotes/1/approve")
    assert response.status_code == 200
    assert response.get_json()["status"] == QuoteStatus.APPROVED
    assert response.get_json()["approved_by"] == admin.name
    again = api(admin).post(f"{BASE}/requests/{req.number}/quotes/1/approve")
    assert again.status_code == 409 and error_code(again) == "conflict"
    assert api(admin).post(f"{BASE}/requests/{req.number}/quotes/9/approve").status_code \
        == 404
    # v2 with another split: the diff names what changed.
    api(staff).post(f"{BASE}/requests/{req.number}/quotes",
                    json=_terms(split_dp=50, split_mid=30, split_final=20))
    body = api(owner).get(f"{BASE}/requests/{req.number}/quotes").get_json()
    assert [q["version"] for q in body["items"]] == [2, 1]
    assert body["items"][1]["status"] == QuoteStatus.SUPERSEDED
    assert "split" in {d["field"] for d in body["items"][0]["diff"]}


def test_quote_terms_are_checked_like_the_web_form(db, api):
    req = make_maklon_request(client=make_maklon_client())
    staff = api(make_user(roles=("staff",)))
    response = staff.post(f"{BASE}/requests/{req.number}/quotes",
                          json=_terms(split_dp=50, split_mid=40, split_final=30))
    assert response.status_code == 422 and "split" in response.get_json()["error"]["fields"]
    past = (utcnow().date() - timedelta(days=1)).isoformat()
    response = staff.post(f"{BASE}/requests/{req.number}/quotes", json=_terms(
        delivery_date=past))
    assert "delivery_date" in response.get_json()["error"]["fields"]
    assert _count(db, Quote) == 0


def test_a_client_cannot_create_a_quote_and_a_draft_cannot_be_quoted(db, api):
    owner = make_maklon_client()
    req = make_maklon_request(client=owner)
    assert api(owner).post(f"{BASE}/requests/{req.number}/quotes",
                           json=_terms()).status_code == 403
    draft = make_maklon_request(client=owner, status=RequestStatus.DRAFT)
    response = api(make_user(roles=("staff",))).post(f"{BASE}/requests/{draft.number}/quotes",
                                                     json=_terms())
    assert response.status_code == 409


def test_negotiation_messages_with_a_counter_proposal(db, api):
    owner = make_maklon_client()
    req = make_maklon_request(client=owner)
    make_quote(request=req)
    response = api(owner).post(f"{BASE}/requests/{req.number}/messages", json={
        "body": "Bisa lebih murah?", "counter_unit_price": 15000, "counter_quantity": 3000,
        "counter_date": (utcnow().date() + timedelta(days=70)).isoformat()})
    assert response.status_code == 201
    posted = response.get_json()
    assert posted["author"] == owner.name and posted["author_is_staff"] is False
    assert posted["counter_unit_price"] == 15000 and posted["counter_quantity"] == 3000
    thread = api(make_user(roles=("staff",))).get(f"{BASE}/requests/{req.number}/messages")
    assert [m["body"] for m in thread.get_json()["items"]] == ["Bisa lebih murah?"]
    response = api(owner).post(f"{BASE}/requests/{req.number}/messages", json={"body": ""})
    assert response.status_code == 422 and "body" in response.get_json()["error"]["fields"]


def test_a_closed_thread_refuses_messages(db, api):
    req = make_signed_request()
    response = api(req.client).post(f"{BASE}/requests/{req.number}/messages",
                                    json={"body": "Halo"})
    assert response.status_code == 409
    assert _count(db, QuoteMessage) == 0


# --- signing ---------------------------------------------------------------------------------

def _quoted(**kwargs) -> MaklonRequest:
    req = make_maklon_request(client=make_maklon_client())
    make_quote(request=req, **kwargs)
    return req


def test_accepting_signs_like_the_web_with_a_seal_that_verifies(db, api):
    req = _quoted()
    client = api(req.client)
    response = client.post(f"{BASE}/requests/{req.number}/accept",
                           json={"password": DEFAULT_PASSWORD},
                           headers={"User-Agent": "RacikApp/1.0"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    row = contract_of(req.id)
    assert body["signature"] == row.signature == spec_signature(req.id, req.client_id,
                                                                 row.signed_at_text)
    assert body["verification_code"] == row.verification_code
    assert body["status"] == RequestStatus.SIGNED and body["auth_method"] == "password"
    assert row.user_agent == "RacikApp/1.0" and row.ip == "127.0.0.1"
    pdf = storage_path(row.pdf_key).read_bytes()
    assert contract_verify(row, pdf) == []
    assert _count(db, MilestonePayment, MilestonePayment.request_id == req.id) == 3
    again = client.post(f"{BASE}/requests/{req.number}/accept",
                        json={"password": DEFAULT_PASSWORD})
    assert again.status_code == 409 and error_code(again) == "conflict"
    assert _count(db, ContractSignature) == 1


def test_a_wrong_password_is_422_on_the_field_and_signs_nothing(db, api):
    req = _quoted()
    response = api(req.client).post(f"{BASE}/requests/{req.number}/accept",
                                    json={"password": "salah-sekali"})
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"password"}
    assert _count(db, ContractSignature) == 0
    db.session.refresh(req)
    assert req.status == RequestStatus.NEGOTIATING


def test_unapproved_expired_or_superseded_quotes_cannot_be_accepted(db, api):
    pending = _quoted(approve=False)
    expired = _quoted(valid_days=14)
    db.session.scalars(select(Quote).where(Quote.request_id == expired.id)).one() \
        .valid_until = utcnow().date() - timedelta(days=1)
    superseded = _quoted()
    make_quote(request=superseded, approve=False)
    for req in (pending, expired, superseded):
        response = api(req.client).post(f"{BASE}/requests/{req.number}/accept",
                                        json={"password": DEFAULT_PASSWORD})
        assert response.status_code == 409, req.number
    assert _count(db, ContractSignature) == 0


def test_staff_cannot_accept_for_the_client(db, api):
    req = _quoted()
    response = api(make_user(roles=("staff",))).post(f"{BASE}/requests/{req.number}/accept",
                                                     json={"password": DEFAULT_PASSWORD})
    assert response.status_code == 403


def test_accepting_shares_the_web_signing_limit(app, db, api):
    req = _quoted()
    client = api(req.client)
    app.config["CONTRACT_SIGN_LIMIT_PER_USER"] = "2 per hour"
    try:
        statuses = [client.post(f"{BASE}/requests/{req.number}/accept",
                                json={"password": "salah"}).status_code for _ in range(3)]
    finally:
        app.config.pop("CONTRACT_SIGN_LIMIT_PER_USER")
    assert statuses == [422, 422, 429]


# --- milestones ------------------------------------------------------------------------------

def test_milestones_list_the_schedule(db, api):
    req = make_signed_request()
    body = api(req.client).get(f"{BASE}/requests/{req.number}/milestones").get_json()
    items = body["items"]
    assert [m["kind"] for m in items] == ["dp", "mid", "final"]
    assert set(items[0]) == {"kind", "label", "percent", "amount", "unlocks_stage",
                             "unlocks_stage_label", "status", "status_label", "paid_at",
                             "invoice_number", "open_payment_reference"}
    quote = db.session.scalars(select(Quote).where(Quote.request_id == req.id)).one()
    assert sum(m["amount"] for m in items) == quote.total
    assert items[0]["status"] == "unpaid" and items[0]["invoice_number"] is None


def test_a_milestone_payment_with_one_idempotency_key_is_one_payment(db, api):
    req = make_signed_request()
    client = api(req.client)
    url = f"{BASE}/requests/{req.number}/milestones/dp/payments"
    first = client.post(url, json={"method": "va_bca"}, headers={"Idempotency-Key": "dp-1"})
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert body["reference"].startswith(f"MS-{req.id}-DP-")
    assert body["status"] == "pending" and body["kind"] == "dp" and body["method"] == "va_bca"
    assert body["amount"] == db.session.scalars(select(MilestonePayment).where(
        MilestonePayment.request_id == req.id, MilestonePayment.kind == "dp")).one().amount
    assert body["expires_at"] and body["instruction_kind"] == "va"
    assert body["charged"] is True and body["va_number"] and body["instructions"]
    second = client.post(url, json={"method": "va_bca"}, headers={"Idempotency-Key": "dp-1"})
    assert second.status_code == 201 and second.headers["Idempotent-Replayed"] == "true"
    assert second.get_json()["reference"] == body["reference"]
    assert _count(db, Payment) == 1
    # Without a key the open payment is answered again (200), as the web's "Bayar" does.
    third = client.post(url, json={"method": "va_bca"})
    assert third.status_code == 200 and third.get_json()["reference"] == body["reference"]
    assert _count(db, Payment) == 1


def test_client_b_cannot_start_a_payment_on_client_as_milestone(db, api):
    req = make_signed_request()
    response = api(make_maklon_client()).post(
        f"{BASE}/requests/{req.number}/milestones/dp/payments", json={"method": "va_bca"},
        headers={"Idempotency-Key": "b-1"})
    assert response.status_code == 404
    assert _count(db, Payment) == 0


def test_a_paid_milestone_or_an_unknown_kind_is_refused(db, api):
    owner = make_maklon_client()
    req = make_signed_order(client=owner, paid=("dp",))
    client = api(owner)
    response = client.post(f"{BASE}/requests/{req.number}/milestones/dp/payments",
                           json={"method": "qris"})
    assert response.status_code == 409 and error_code(response) == "conflict"
    response = client.post(f"{BASE}/requests/{req.number}/milestones/extra/payments",
                           json={"method": "qris"})
    assert response.status_code == 404
    response = client.post(f"{BASE}/requests/{req.number}/milestones/mid/payments",
                           json={"method": "cash"})
    assert response.status_code == 422 and "method" in response.get_json()["error"]["fields"]
    unsigned = make_maklon_request(client=owner)
    response = client.post(f"{BASE}/requests/{unsigned.number}/milestones/dp/payments",
                           json={"method": "qris"})
    assert response.status_code == 404
    assert _count(db, Payment) == 0


# --- production ------------------------------------------------------------------------------

def test_the_production_timeline(db, api):
    owner = make_maklon_client()
    req = make_signed_order(client=owner, paid=("dp",))
    pay_milestone(req, "mid")
    body = api(owner).get(f"{BASE}/requests/{req.number}/stages").get_json()
    assert body["stage"] == "concept_approved" and body["stage_label"] == "Konsep Disetujui"
    assert (body["position"], body["positions"], body["progress_percent"]) == (1, 6, 16)
    stage = body["stages"][0]
    assert stage["stage"] == "concept_approved" and stage["staff_name"] == ""
    assert stage["note"] == "Kontrak ditandatangani" and stage["photo_url"] is None
    staff = api(make_user(roles=("staff",)))
    assert staff.get(f"{BASE}/requests/{req.number}/stages").status_code == 200


def test_stage_photos_are_served_to_those_who_see_the_request(db, api):
    from app.core.storage import storage_put
    from app.maklon.models import ProductionStage

    owner = make_maklon_client()
    req = make_signed_order(client=owner)
    stage = db.session.scalars(select(ProductionStage).where(
        ProductionStage.request_id == req.id)).one()
    stage.photo_key = storage_put(b"RIFF0000WEBPVP8 ", folder="maklon-stages", suffix=".webp")
    db.session.commit()
    client = api(owner)
    url = client.get(f"{BASE}/requests/{req.number}/stages").get_json()["stages"][0]["photo_url"]
    assert url.endswith(f"/api/v1/maklon/requests/{req.number}/stages/{stage.id}/photo")
    path = url.split("localhost", 1)[1]
    photo = client.get(path)
    assert photo.status_code == 200 and photo.mimetype == "image/webp"
    assert photo.data.startswith(b"RIFF") and "private" in photo.headers["Cache-Control"]
    other_company = api(make_maklon_client())
    assert other_company.get(path).status_code == 404
    assert api().get(path).status_code == 401
    stage.photo_key = ""
    db.session.commit()
    assert client.get(path).status_code == 404


def test_web_and_api_signing_attempts_count_against_one_limit(app, db, api, client, login_as):
    req = _quoted()
    login_as(req.client)
    app.config["CONTRACT_SIGN_LIMIT_PER_USER"] = "2 per hour"
    try:
        web = client.post(f"/maklon/{req.number}/kontrak/setuju", data={"secret": "salah"})
        statuses = [api(req.client).post(f"{BASE}/requests/{req.number}/accept",
                                         json={"password": "salah"}).status_code
                    for _ in range(2)]
    finally:
        app.config.pop("CONTRACT_SIGN_LIMIT_PER_USER")
    assert (web.status_code, statuses) == (422, [422, 429])



def test_a_boolean_for_a_whole_number_is_refused_at_its_field(db, api):
    """JSON true is not a number: pydantic's lax mode read `height_mm: true` as 1 mm."""
    response = api(make_maklon_client()).post(f"{BASE}/estimate", json=valid_body(
        height_mm=True, size=False))
    assert response.status_code == 422, response.get_json()
    assert error_code(response) == "validation_failed"
    fields = response.get_json()["error"]["fields"]
    assert fields == {"height_mm": "Harus bilangan bulat.", "size": "Harus bilangan bulat."}
