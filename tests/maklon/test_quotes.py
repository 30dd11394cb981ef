"""Quote versions, diffs, the milestone split, admin approval and the negotiation thread."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.core.models import EmailOutbox, Notice
from app.maklon.models import Quote, QuoteMessage, QuoteStatus, RequestStatus
from app.maklon.quotes import QuoteError, QuoteTerms, quote_create, terms_parse
from tests.factories import make_user
from tests.maklon.factories import make_maklon_client, make_maklon_request, make_quote


def _count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _form(**overrides) -> dict[str, str]:
    today = date.today()
    values = {"delivery_date": (today + timedelta(days=60)).isoformat(),
              "valid_until": (today + timedelta(days=14)).isoformat(),
              "split_dp": "30", "split_mid": "40", "split_final": "30",
              "quantity": "", "margin_pct": "", "discount_pct": "", "note": ""}
    values.update(overrides)
    return values


def test_first_version_moves_the_request_to_negotiating_and_keeps_its_inputs(db):
    req = make_maklon_request(client=make_maklon_client())
    quote = make_quote(request=req, approve=False)
    assert quote.version == 1
    assert quote.status == QuoteStatus.PENDING_APPROVAL
    assert req.status == RequestStatus.NEGOTIATING
    assert quote.inputs["quantity"] == req.quantity
    assert quote.breakdown["total"] == quote.total > 0
    assert quote.breakdown["params"]["margin_pct"]
    assert quote.diff == {}
    assert quote.milestone_split == {"dp": 30, "mid": 40, "final": 30}
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "maklon.quote_create")) == 1


def test_a_new_version_records_what_changed_and_supersedes_the_older_ones(db):
    req = make_maklon_request(client=make_maklon_client(), quantity=2_000)
    v1 = make_quote(request=req, approve=True)
    staff = make_user(roles=("staff",))
    today = date.today()
    from decimal import Decimal

    v2 = quote_create(request=req, actor=staff, terms=QuoteTerms(
        delivery_date=today + timedelta(days=75), valid_until=today + timedelta(days=20),
        split={"dp": 50, "mid": 25, "final": 25}, quantity=6_000,
        margin_pct=Decimal("20"), discount_pct=Decimal("5")))
    assert v2.version == 2
    assert set(v2.diff) >= {"quantity", "unit_price", "total", "delivery_date",
                            "valid_until", "split", "margin", "discount"}
    assert v2.diff["quantity"] == [2_000, 6_000]
    assert v2.diff["total"] == [v1.total, v2.total]
    assert v2.diff["split"][1] == {"dp": 50, "mid": 25, "final": 25}
    assert v2.diff["margin"] == ["30", "20"]
    assert v2.diff["discount"][1] == "5"
    db.session.refresh(v1)
    assert v1.status == QuoteStatus.SUPERSEDED
    assert v2.status == QuoteStatus.PENDING_APPROVAL


@pytest.mark.parametrize(("split", "field"), [
    ({"split_dp": "30", "split_mid": "40", "split_final": "20"}, "split"),
    ({"split_dp": "0", "split_mid": "70", "split_final": "30"}, "split_dp"),
    ({"split_dp": "30,5", "split_mid": "39,5", "split_final": "30"}, "split_dp"),
    ({"split_dp": "", "split_mid": "70", "split_final": "30"}, "split_dp"),
    ({"split_dp": "-10", "split_mid": "80", "split_final": "30"}, "split_dp"),
])
def test_the_split_must_be_whole_positive_percents_totalling_100(app, split, field):
    with app.test_request_context(), pytest.raises(QuoteError) as caught:
        terms_parse(_form(**split))
    assert field in caught.value.errors


def test_staff_form_with_a_bad_split_is_a_422_at_the_field_and_writes_nothing(db, client,
                                                                              login_as):
    req = make_maklon_request(client=make_maklon_client())
    staff = make_user(roles=("staff",))
    db.session.commit()
    login_as(staff)
    response = client.post(f"/maklon/{req.number}/penawaran",
                           data=_form(split_dp="50", split_mid="40", split_final="30"))
    assert response.status_code == 422
    assert "tepat 100%" in response.get_data(as_text=True)
    assert _count(db, Quote) == 0
    db.session.refresh(req)
    assert req.status == RequestStatus.SUBMITTED


def test_staff_creates_a_version_through_the_page(db, client, login_as):
    req = make_maklon_request(client=make_maklon_client())
    db.session.commit()
    login_as("staff")
    response = client.post(f"/maklon/{req.number}/penawaran",
                           data=_form(quantity="3.000", margin_pct="25"))
    assert response.status_code == 303
    quote = db.session.scalars(select(Quote)).one()
    assert quote.quantity == 3_000 and quote.breakdown["margin_pct"] == "25"
    page = client.get(f"/maklon/{req.number}/penawaran").get_data(as_text=True)
    assert 'data-testid="quote-v1"' in page


def test_only_an_admin_approves_and_the_client_is_told(db, client, login_as, make_client):
    owner = make_maklon_client()
    req = make_maklon_request(client=owner)
    make_quote(request=req, approve=False)
    db.session.commit()
    login_as("staff")
    url = f"/maklon/{req.number}/penawaran/v1/setujui"
    assert client.post(url).status_code == 403
    admin = make_client()
    login_as("admin", admin)
    assert admin.post(url).status_code == 303
    quote = db.session.scalars(select(Quote)).one()
    assert quote.status == QuoteStatus.APPROVED and quote.approved_by_id is not None
    assert db.session.scalar(select(func.count()).select_from(Notice).where(
        Notice.user_id == owner.id)) == 1
    assert db.session.scalar(select(func.count()).select_from(EmailOutbox).where(
        EmailOutbox.template == "maklon_quote_approved",
        EmailOutbox.to_address == owner.email)) == 1
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "maklon.quote_approve")) == 1
    # Approving again: nothing pending any more.
    assert admin.post(url).status_code == 409


def test_an_older_version_cannot_be_approved(db, client, login_as):
    req = make_maklon_request(client=make_maklon_client())
    make_quote(request=req, approve=False)
    make_quote(request=req, approve=False)
    db.session.commit()
    login_as("admin")
    assert client.post(f"/maklon/{req.number}/penawaran/v1/setujui").status_code == 409


def test_client_and_staff_negotiate_on_one_thread_with_escaped_text(db, client, login_as,
                                                                   make_client):
    owner = make_maklon_client()
    req = make_maklon_request(client=owner)
    make_quote(request=req, approve=False)
    db.session.commit()
    login_as(owner)
    response = client.post(f"/maklon/{req.number}/pesan",
                           data={"body": "<script>alert(1)</script> bisa lebih murah?",
                                 "counter_unit_price": "Rp 9.500", "counter_quantity": "5000",
                                 "counter_date": (date.today() + timedelta(days=90)).isoformat()},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html
    message = db.session.scalars(select(QuoteMessage)).one()
    assert message.counter_unit_price == 9_500 and message.counter_quantity == 5_000
    db.session.commit()
    staff = make_client()
    login_as("staff", staff)
    assert staff.post(f"/maklon/{req.number}/pesan",
                       data={"body": "Kami bisa 9.800"}).status_code == 303
    assert _count(db, QuoteMessage) == 2


def test_an_empty_message_is_a_422_and_nothing_is_written(db, client, login_as):
    owner = make_maklon_client()
    req = make_maklon_request(client=owner)
    db.session.commit()
    login_as(owner)
    response = client.post(f"/maklon/{req.number}/pesan",
                           data={"body": " ", "counter_unit_price": "abc"})
    assert response.status_code == 422
    assert _count(db, QuoteMessage) == 0
