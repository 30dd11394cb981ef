"""The gateway webhook: `POST /payments/notify/<gateway>`.

CSRF-exempt (the gateway has no session); trusted only through the notification's
signature. Stores the notification and applies it in one short transaction, answers 200, and
leaves the consequences (orders paid, invoices, restocking, emails) to jobs after commit.
A forged notification answers 401, a malformed one 400; neither writes anything. A signed one
whose status_code is not the one Midtrans documents for its transaction_status answers 400
and is stored as a rejected event (nothing else changes). When the real gateway's status
lookup, which confirms news that moves money, cannot be made, nothing is stored and the
answer is 503: the gateway delivers the notification again later. More than
WEBHOOK_LIMIT_PER_IP requests from one address answer 429.
"""

from __future__ import annotations

import logging

from flask import abort, current_app, jsonify, request
from flask_limiter.util import get_remote_address

from app.extensions import csrf, db, limiter
from app.payments.gateways.base import NotificationRejected, gateway_get
from app.payments.routes import bp
from app.payments.services import NotificationDeferred, notification_receive

log = logging.getLogger(__name__)

GATEWAYS = ("sandbox", "midtrans")


def _webhook_ip_key() -> str:
    return "webhook-ip:" + (get_remote_address() or "")


@bp.post("/payments/notify/<gateway>")
@csrf.exempt
# Generous: a gateway retries from a handful of addresses and must never be refused; the
# limit only stops one address flooding the endpoint with forged or junk notifications.
@limiter.limit(lambda: current_app.config["WEBHOOK_LIMIT_PER_IP"], key_func=_webhook_ip_key,
               scope="webhook-ip")
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
    except NotificationDeferred as deferred:
        db.session.rollback()
        return jsonify({"status": "retry", "reason": str(deferred)}), 503
    db.session.commit()
    if received.outcome == "rejected":
        return jsonify({"status": "rejected", "reason": received.reason}), 400
    log.info("%s notification %s for %s: %s", gateway, received.event.transaction_status,
             received.event.order_id, received.outcome)
    return jsonify({"status": "ok", "outcome": received.outcome}), 200
