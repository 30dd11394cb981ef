"""The CRM's CSV exports stream whole over real HTTP (the body runs after the request's
teardown; see core.http.streamed_response)."""

from __future__ import annotations

import csv
import io

from tests.factories import DEFAULT_PASSWORD, make_user
from tests.live import LiveBrowser
from tests.maklon.factories import make_company


def test_company_export_streams_whole_with_bom_over_http(live_url, db):
    staff = make_user(roles=("staff",))
    names = sorted([make_company(name="PT Sinar Jaya").name, make_company(name="CV Melati").name])
    email = staff.email
    db.session.commit()
    db.session.close()
    browser = LiveBrowser(live_url)
    browser.log_in(email, DEFAULT_PASSWORD)
    response = browser.get("/crm/perusahaan/ekspor.csv")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.body.decode("utf-8-sig"))))
    assert sorted(row["name"] for row in rows) == names
