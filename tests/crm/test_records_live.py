"""The delete confirmation without JavaScript, over real HTTP: the detail page links to the
confirm page, its form deletes (303 to the list), and a company with an open lead answers
the confirm page with the reason and no delete button, and a 409 to a forced POST."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.accounts.models import Company
from app.audit.models import AuditEntry
from app.crm.models import Lead, LeadStatus
from tests.factories import make_user
from tests.live import LiveBrowser


def _form_action(page: str) -> str:
    match = re.search(r'<form method="post" action="([^"]+/hapus)"', page)
    assert match, "no delete form on the confirm page"
    return match.group(1)


def test_delete_a_company_through_the_confirm_page_without_js(live_url, db):
    staff = make_user(roles=("staff",))
    company = Company(name="PT Hapus Saya")
    kept = Company(name="PT Masih Buka")
    db.session.add_all([company, kept])
    db.session.flush()
    db.session.add(Lead(title="Prospek buka", company_id=kept.id, status=LeadStatus.NEW))
    email, company_id, kept_id = staff.email, company.id, kept.id
    db.session.commit()
    db.session.close()
    browser = LiveBrowser(live_url)
    browser.log_in(email)

    detail = browser.get(f"/crm/perusahaan/{company_id}")
    assert detail.status == 200
    link = f'href="/crm/perusahaan/{company_id}/hapus"'
    assert link in detail.text()
    confirm = browser.get(f"/crm/perusahaan/{company_id}/hapus")
    assert confirm.status == 200 and "Ya, hapus" in confirm.text()
    response = browser.post(_form_action(confirm.text()))
    assert response.status == 303 and response.headers["Location"] == "/crm/perusahaan"
    listing = browser.get("/crm/perusahaan").text()
    assert "PT Hapus Saya dihapus." in listing

    refused = browser.get(f"/crm/perusahaan/{kept_id}/hapus")
    assert refused.status == 200 and "prospek terbuka" in refused.text()
    assert "Ya, hapus" not in refused.text()
    forced = browser.post(f"/crm/perusahaan/{kept_id}/hapus")
    assert forced.status == 409

    db.session.expire_all()
    assert db.session.get(Company, company_id) is None
    assert db.session.get(Company, kept_id) is not None
    audits = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "crm.delete"))
    assert [entry.object_id for entry in audits] == [str(company_id)]
