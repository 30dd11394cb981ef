"""The leads pipeline: only LEAD_TRANSITIONS moves are allowed (409 otherwise), Lost needs a
reason, Won makes the company a client, and the Kanban buttons work with and without htmx."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from app.accounts.models import Company
from app.crm.models import LEAD_TRANSITIONS, Activity, Contact, Lead, LeadStatus
from app.crm.services import TransitionRefused, lead_move
from tests.crm.helpers import make_staff

PAIRS = list(itertools.product(LeadStatus.PIPELINE, repeat=2))


def _lead(db, status=LeadStatus.NEW, **values) -> Lead:
    lead = Lead(title="Serum 5.000 pcs", status=status, company_name="PT Calon Klien",
                **values)
    db.session.add(lead)
    db.session.commit()
    return lead


def test_the_table_allows_exactly_the_documented_moves():
    assert {
        "new": {"contacted", "lost"},
        "contacted": {"qualified", "new", "lost"},
        "qualified": {"proposal", "contacted", "lost"},
        "proposal": {"won", "qualified", "lost"},
        "won": set(),
        "lost": set(),
    } == LEAD_TRANSITIONS


@pytest.mark.parametrize(("source", "target"), PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
def test_lead_move_follows_the_transition_table(db, source, target):
    lead = _lead(db, source)
    if target in LEAD_TRANSITIONS[source]:
        lead_move(lead=lead, status=target, actor=None, lost_reason="Anggaran tidak cukup")
        assert lead.status == target
    else:
        with pytest.raises(TransitionRefused):
            lead_move(lead=lead, status=target, actor=None, lost_reason="x")
        db.session.rollback()
        assert db.session.get(Lead, lead.id).status == source


@pytest.mark.parametrize(("source", "target"), [("new", "won"), ("new", "proposal"),
                                                 ("won", "lost"), ("lost", "new"),
                                                 ("proposal", "new")])
def test_illegal_move_over_http_is_a_409_with_a_clear_message(client, db, login_as,
                                                             source, target):
    lead = _lead(db, source)
    login_as("staff")
    response = client.post(f"/crm/prospek/{lead.id}/status", data={"status": target})
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "tidak dapat dipindah ke" in html
    db.session.expire_all()
    assert db.session.get(Lead, lead.id).status == source
    assert db.session.scalars(select(Activity)).all() == []


def test_illegal_move_from_the_board_with_htmx_is_a_409_fragment(client, db, login_as):
    lead = _lead(db, LeadStatus.NEW)
    login_as("staff")
    response = client.post(f"/crm/prospek/{lead.id}/status",
                           data={"status": "won", "view": "board"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "<html" not in html and "Baru tidak dapat dipindah ke Menang" in html


def test_unknown_status_is_refused(client, db, login_as):
    lead = _lead(db)
    login_as("staff")
    response = client.post(f"/crm/prospek/{lead.id}/status", data={"status": "paid"})
    assert response.status_code == 409


def test_lost_without_a_reason_is_422_and_changes_nothing(client, db, login_as):
    lead = _lead(db, LeadStatus.QUALIFIED)
    login_as("staff")
    response = client.post(f"/crm/prospek/{lead.id}/status",
                           data={"status": "lost", "lost_reason": "  "})
    assert response.status_code == 422
    assert "Alasan kalah wajib diisi." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Lead, lead.id).status == LeadStatus.QUALIFIED


def test_lost_with_a_reason_is_recorded(client, db, login_as):
    lead = _lead(db, LeadStatus.PROPOSAL)
    login_as("staff")
    response = client.post(f"/crm/prospek/{lead.id}/status",
                           data={"status": "lost", "lost_reason": "Memilih pabrik lain"})
    assert response.status_code == 303
    db.session.expire_all()
    lead = db.session.get(Lead, lead.id)
    assert lead.status == LeadStatus.LOST and lead.lost_reason == "Memilih pabrik lain"
    assert lead.closed_at is not None


def test_every_move_leaves_a_status_activity_with_its_author(client, db, login_as):
    staff = make_staff(name="Rudi")
    lead = _lead(db)
    db.session.commit()
    login_as(staff)
    client.post(f"/crm/prospek/{lead.id}/status", data={"status": "contacted"})
    client.post(f"/crm/prospek/{lead.id}/status", data={"status": "new"})
    rows = db.session.scalars(select(Activity).where(Activity.lead_id == lead.id)
                              .order_by(Activity.id)).all()
    assert [row.subject for row in rows] == ["Status: Baru → Dihubungi",
                                             "Status: Dihubungi → Baru"]
    assert {row.author_id for row in rows} == {staff.id}


def test_won_creates_the_client_company_and_its_contact(client, db, login_as):
    lead = _lead(db, LeadStatus.PROPOSAL, contact_name="Maya", contact_email="maya@x.test")
    login_as("staff")
    assert client.post(f"/crm/prospek/{lead.id}/status",
                       data={"status": "won"}).status_code == 303
    company = db.session.scalars(select(Company)).one()
    assert company.name == "PT Calon Klien" and company.is_client
    contact = db.session.scalars(select(Contact)).one()
    assert contact.company_id == company.id and contact.email == "maya@x.test"
    db.session.expire_all()
    lead = db.session.get(Lead, lead.id)
    assert lead.company_id == company.id and lead.contact_id == contact.id


def test_won_links_an_existing_company_of_the_same_name(db):
    existing = Company(name="pt calon klien", city="Bandung")
    db.session.add(existing)
    lead = _lead(db, LeadStatus.PROPOSAL)
    lead_move(lead=lead, status=LeadStatus.WON, actor=None)
    db.session.commit()
    assert db.session.scalars(select(Company)).all() == [existing]
    assert existing.is_client and lead.company_id == existing.id


def test_board_button_without_js_redirects_to_the_board(client, db, login_as):
    lead = _lead(db)
    login_as("staff")
    response = client.post(f"/crm/prospek/{lead.id}/status",
                           data={"status": "contacted", "view": "board"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/crm/")
    db.session.expire_all()
    assert db.session.get(Lead, lead.id).status == LeadStatus.CONTACTED


def test_board_button_with_htmx_returns_the_board_partial(client, db, login_as):
    lead = _lead(db)
    login_as("staff")
    response = client.post(f"/crm/prospek/{lead.id}/status",
                           data={"status": "contacted", "view": "board"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" not in html and 'id="lead-board"' in html
    assert "HX-Request" in response.headers.get("Vary", "")
    # The card now sits in the Contacted column and offers the moves from there.
    contacted = html.split('id="col-contacted"')[1].split("</section>")[0]
    assert f'data-testid="lead-{lead.id}"' in contacted
    assert "Memenuhi syarat →" in contacted and "← Baru" in contacted


def test_board_page_shows_every_stage_with_move_buttons(client, db, login_as):
    _lead(db, LeadStatus.PROPOSAL)
    login_as("staff")
    html = client.get("/crm/").get_data(as_text=True)
    for label in ("Baru", "Dihubungi", "Memenuhi syarat", "Proposal", "Menang", "Kalah"):
        assert label in html
    assert "Menang →" in html  # Proposal's forward button
    assert "<form method=\"post\"" in html  # works without JavaScript
