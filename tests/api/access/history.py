"""Own history (tests/api/test_history.py): the client's company's maklon history, the
seller's store's orders. No object in the URL: the owner comes from the token."""

from __future__ import annotations

from tests.api.access import only
from tests.core.test_access_matrix import ACTORS, ADMIN, ANON, CLIENT_A, CUSTOMER, STAFF

# Client A's finished export job: its owner only; other clients and sellers (who may
# have export jobs) 404, the other roles 403.
_OWN_JOB = {**dict.fromkeys(ACTORS, 404), ANON: 401, CUSTOMER: 403, STAFF: 403, ADMIN: 403,
            CLIENT_A: 200}

ACCESS = {
    "api.maklon_history": {"GET": only({"client"})},
    "api.seller_history": {"GET": only({"seller"})},
    "api.maklon_history_export": {"POST": only({"client"}, status=422)},
    "api.seller_history_export": {"POST": only({"seller"}, status=422)},
    "api.history_export": {"GET": _OWN_JOB},
    "api.history_export_file": {"GET": _OWN_JOB},
}


def args(w) -> dict:
    job = {"job_id": w.history_job_id}
    return {"api.history_export": job, "api.history_export_file": job}
