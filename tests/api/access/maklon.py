"""Maklon: clients see their company's requests (B gets 404 on A's), staff and admins see
all of them, every other role gets 403 (the CRM is in crm.py)."""

from __future__ import annotations

from tests.api.access import only, owned
from tests.core.test_access_matrix import CLIENT_A
from tests.factories import DEFAULT_PASSWORD

READERS = {"client", "staff", "admin"}
CRM = {"staff", "admin"}


def _seen(status=200, staff=200):
    """A's request: A gets `status`, B 404, staff and admins `staff`, anyone else 403."""
    return owned(CLIENT_A, status, staff=staff, admin=staff)


ACCESS = {
    "api.maklon_requests": {"GET": only(READERS)},
    # An empty body submits nothing valid: 422 (the capability check, nothing written).
    "api.maklon_request_create": {"POST": only({"client"}, status=422)},
    "api.maklon_request_get": {"GET": _seen()},
    "api.maklon_estimate": {"POST": only({"client"})},
    "api.maklon_quotes": {"GET": _seen()},
    "api.maklon_quote_create": {"POST": only(CRM, status=422)},
    # v1 of the signed request is accepted already: not waiting for approval.
    "api.maklon_quote_approve": {"POST": only({"admin"}, status=409)},
    "api.maklon_messages": {"GET": _seen()},
    # A valid message on a signed request: the thread is closed (409); B 404.
    "api.maklon_message_post": {"POST": _seen(409, staff=409)},
    # Signed already: 409 for A, 404 for B.
    "api.maklon_accept": {"POST": owned(CLIENT_A, 409)},
    "api.maklon_milestones": {"GET": _seen()},
    # A fresh signed order per cell: A starts the DP payment, the one due (201); B 404.
    "api.maklon_milestone_pay": {"POST": owned(CLIENT_A, 201)},
    "api.maklon_stages": {"GET": _seen()},
    "api.maklon_stage_photo": {"GET": _seen()},
}

BODIES = {
    "api.maklon_message_post": {"body": "Bisa lebih cepat?"},
    "api.maklon_accept": {"password": DEFAULT_PASSWORD},
    "api.maklon_milestone_pay": {"method": "va_bca"},
}


def _fresh_signed(w) -> dict:
    from app.accounts.models import User
    from app.extensions import db
    from tests.maklon.factories import make_signed_request

    request = make_signed_request(client=db.session.get(User, w.client_a_id))
    return {"number": request.number, "kind": "dp"}


FRESH = {"api.maklon_milestone_pay": _fresh_signed}


def args(w) -> dict[str, dict]:
    signed = {"number": w.signed_number}
    return {
        **dict.fromkeys(("api.maklon_request_get", "api.maklon_quotes",
                         "api.maklon_quote_create", "api.maklon_messages",
                         "api.maklon_message_post", "api.maklon_accept",
                         "api.maklon_milestones"), signed),
        "api.maklon_quote_approve": {**signed, "version": 1},
        "api.maklon_stages": {"number": w.production_number},
        "api.maklon_stage_photo": {"number": w.production_number, "stage_id": w.stage_id},
    }
