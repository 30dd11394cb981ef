"""Fresh CRM records for the access matrices' cells whose success changes the record
(archive, restore, delete): tests/core/test_access_matrix.py and tests/api/access/crm.py."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

from app.accounts.models import Company
from app.core.clock import utcnow
from app.extensions import db


def fresh_company(*, archived: bool = False) -> Company:
    company = Company(name="PT Matriks Segar", archived_at=utcnow() if archived else None)
    db.session.add(company)
    db.session.flush()
    return company


def _fresh(*, archived: bool) -> Callable[[SimpleNamespace], dict]:
    def build(w) -> dict:
        return {"record_type": "perusahaan", "record_id": fresh_company(archived=archived).id}

    return build


CRM_FRESH: dict[str, Callable[[SimpleNamespace], dict]] = {
    "crm.record_archive_route": _fresh(archived=False),
    "crm.record_delete_route": _fresh(archived=False),
    "crm.record_restore_route": _fresh(archived=True),
}
