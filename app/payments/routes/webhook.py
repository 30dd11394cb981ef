"""The gateway webhook: `POST /payments/notify/<gateway>`.

CSRF-exempt (the gateway has no session); trusted only through the notification's
signature. Stores the notification and applies it in one short transaction, answers 200, and
leaves the consequences (orders paid, invoices, restocking, emails) to jobs after commit.
A forged notification answers 401, a malformed one 400; neither writes anything.
"""

from __future__ import annotations

import logging

from flask import abort, jsonify, request

from app.extensions import csrf, db
from app.payments.gateways.base import NotificationRejected, gateway_get
from app.payments.routes import bp
from app.payments.services import notification_receive

log = logging.getLogger(__name__)

GATEWAYS = ("sandbox", "midtrans")


@bp.post("/payments/notify/<gateway>")
@csrf.exempt
def notify(gateway: str):
    if gateway not in GATEWAYS:
        abort(404)
    try:
        adapter = gateway_get(gateway)
    except LookupError:  # this gateway is not in use here (the sandbox in production)
        abort(404)
    payload = request.get_json(silent=True)
    try:
        received = notification_receive(adapter, payload)
    except NotificationRejected as rejected:
        db.session.rollback()
        log.warning("%s notification rejected (%s): %s", gateway, rejected.status,
                    rejected.reason)
        return jsonify({"status": "rejected", "reason": rejected.reason}), rejected.status
    db.session.commit()
    log.info("%s notification %s for %s: %s", gateway, received.event.transaction_status,
             received.event.order_id, received.outcome)
    return jsonify({"status": "ok", "outcome": received.outcome}), 200
