"""The CRM API over real HTTP (a live server): create with Idempotency-Key, read with its
ETag (304 when unchanged, a new one after a change), change, and delete — with the
delete-with-open-leads rule answered 409 — exactly as a partner's system would."""

from __future__ import annotations

import json

from sqlalchemy import delete

from app.accounts.models import Company
from app.crm.models import Lead
from tests.api.conftest import mint_tokens
from tests.factories import make_user
from tests.live import raw_request


def _call(base: str, token: str, method: str, path: str, body: dict | None = None,
          **headers: str):
    sent = {"Authorization": f"Bearer {token}", "Accept": "application/json", **headers}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        sent["Content-Type"] = "application/json"
    return raw_request(base, f"/api/v1/crm{path}", method=method, body=data, headers=sent)


def test_company_crud_over_http(live_url, app, db):
    staff = make_user(roles=("staff",))
    db.session.commit()
    token = mint_tokens(app, staff.id)["access_token"]
    db.session.close()

    created = _call(live_url, token, "POST", "/companies",
                    {"name": "PT Lewat Jaringan", "employee_count": 25},
                    **{"Idempotency-Key": "live-1"})
    assert created.status == 201
    company = json.loads(created.body)
    replay = _call(live_url, token, "POST", "/companies",
                   {"name": "PT Lewat Jaringan", "employee_count": 25},
                   **{"Idempotency-Key": "live-1"})
    assert replay.status == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert json.loads(replay.body)["id"] == company["id"]
    path = created.headers["Location"].removeprefix("/api/v1/crm")
    assert path == f"/companies/{company['id']}"

    first = _call(live_url, token, "GET", path)
    assert first.status == 200 and json.loads(first.body)["employee_count"] == 25
    etag = first.headers["ETag"]
    assert _call(live_url, token, "GET", path, **{"If-None-Match": etag}).status == 304
    changed = _call(live_url, token, "PATCH", path, {"city": "Makassar"})
    assert changed.status == 200 and json.loads(changed.body)["city"] == "Makassar"
    second = _call(live_url, token, "GET", path, **{"If-None-Match": etag})
    assert second.status == 200 and second.headers["ETag"] != etag

    bad = _call(live_url, token, "PATCH", path, {"employee_count": -5})
    assert bad.status == 422
    assert "employee_count" in json.loads(bad.body)["error"]["fields"]

    db.session.add(Lead(title="Masih terbuka", company_id=company["id"]))
    db.session.commit()
    db.session.close()
    refused = _call(live_url, token, "DELETE", path)
    assert refused.status == 409
    assert json.loads(refused.body)["error"]["code"] == "crm_delete_refused"
    db.session.execute(delete(Lead))
    db.session.commit()
    db.session.close()
    assert _call(live_url, token, "DELETE", path).status == 204
    assert _call(live_url, token, "GET", path).status == 404
    assert db.session.get(Company, company["id"]) is None
