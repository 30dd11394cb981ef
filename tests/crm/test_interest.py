"""The public "Ajukan Maklon" form: creates a website lead, fools bots with a honeypot,
and is rate-limited per address."""

from __future__ import annotations

from sqlalchemy import select

from app.crm.models import Lead, LeadSource

GOOD = {"name": "Maya Kusuma", "company_name": "Ayu Cantik", "email": "maya@ayu.test",
        "phone": "+62 812 1111 2222", "product_type": "serum", "message": "5.000 pcs"}


def test_interest_form_creates_a_website_lead(client, db):
    assert client.get("/ajukan-maklon").status_code == 200
    response = client.post("/ajukan-maklon", data=GOOD)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/ajukan-maklon/terima-kasih")
    lead = db.session.scalars(select(Lead)).one()
    assert lead.source == LeadSource.WEBSITE_FORM and lead.status == "new"
    assert lead.company_name == "Ayu Cantik" and lead.contact_email == "maya@ayu.test"
    assert lead.title == "Ajukan Maklon: Ayu Cantik"


def test_a_filled_honeypot_looks_successful_but_stores_nothing(client, db):
    response = client.post("/ajukan-maklon", data={**GOOD, "website": "http://spam.test"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/ajukan-maklon/terima-kasih")
    assert db.session.scalars(select(Lead)).all() == []


def test_the_honeypot_is_hidden_by_a_css_class_not_inline_style(client):
    html = client.get("/ajukan-maklon").get_data(as_text=True)
    assert 'class="hp-field"' in html and 'name="website"' in html
    assert "style=" not in html


def test_bad_input_is_422_with_field_messages_and_nothing_stored(client, db):
    response = client.post("/ajukan-maklon", data={**GOOD, "email": "bukan-email", "name": ""})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Alamat email tidak valid." in html and "Wajib diisi." in html
    assert 'value="Ayu Cantik"' in html  # what was typed is kept
    assert db.session.scalars(select(Lead)).all() == []


def test_the_form_is_rate_limited(client, db, app, monkeypatch):
    monkeypatch.setitem(app.config, "INTEREST_LIMIT_PER_IP", "3 per hour")
    for n in range(3):
        assert client.post("/ajukan-maklon",
                           data={**GOOD, "email": f"m{n}@ayu.test"}).status_code == 303
    blocked = client.post("/ajukan-maklon", data=GOOD)
    assert blocked.status_code == 429
    assert len(db.session.scalars(select(Lead)).all()) == 3
    assert client.get("/ajukan-maklon").status_code == 200  # reading is never limited


def test_home_page_links_to_the_form(client):
    assert "/ajukan-maklon" in client.get("/").get_data(as_text=True)


def test_a_logged_in_visitor_finds_the_form_prefilled(client, login_as):
    email = login_as("seller")
    html = client.get("/ajukan-maklon").get_data(as_text=True)
    assert f'value="{email}"' in html
