"""`Idempotency-Key` for the API's creating operations (checkout, payments, products,
addresses).

A client that is unsure whether its request arrived (a timeout on a bus) sends it again
with the same key. The first request with a key claims it (a row committed before the work
starts); its successful answer is stored and a repeat with the same method, path and body
gets that answer again (`Idempotent-Replayed: true`), without doing the work twice. A repeat
while the first still runs is a 409, the same key with a different request a 422. A failed
first attempt (any 4xx/5xx) releases the key: nothing was done, so trying again is safe.

Keys belong to a user and are kept for `RETENTION` (the `api.idempotency_sweep` job).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from datetime import timedelta

from flask import Response, request
from flask_login import current_user
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from app.api.errors import ApiError
from app.api.models import IdempotencyRecord
from app.core.clock import utcnow
from app.extensions import db

log = logging.getLogger(__name__)

KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
RETENTION = timedelta(hours=24)
ABANDONED = timedelta(minutes=2)  # a claim this old without an answer: its worker died


def _fingerprint() -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(b"\0" + request.path.encode() + b"\0")
    digest.update(request.get_data())
    return digest.hexdigest()


def _replay(record: IdempotencyRecord) -> Response:
    response = Response(record.response_body or "", status=record.status_code or 200,
                        mimetype="application/json" if record.response_body else None)
    response.headers["Idempotent-Replayed"] = "true"
    response.headers["Cache-Control"] = "no-store"
    if record.location:
        response.headers["Location"] = record.location
    return response


def _existing(key: str) -> IdempotencyRecord | None:
    return db.session.execute(select(IdempotencyRecord).where(
        IdempotencyRecord.user_id == current_user.id, IdempotencyRecord.key == key)
    ).scalar_one_or_none()


def _answer_existing(record: IdempotencyRecord, fingerprint: str) -> Response | None:
    """The answer to a repeat, or None when the old claim was abandoned and is ours now."""
    if record.request_hash != fingerprint:
        raise ApiError(422, "idempotency_key_mismatch", fields={"Idempotency-Key": ""})
    if record.completed_at is not None:
        log.info("idempotency key of user %s replayed", current_user.id)
        return _replay(record)
    taken = db.session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.id == record.id, IdempotencyRecord.completed_at.is_(None),
               IdempotencyRecord.created_at < utcnow() - ABANDONED)
        .values(created_at=utcnow()).execution_options(synchronize_session=False)).rowcount
    if not taken:
        raise ApiError(409, "idempotency_in_progress")
    db.session.commit()
    return None


def idempotent_call(call: Callable[[], Response]) -> Response:
    """Run `call` once per (user, Idempotency-Key); without the header, just run it."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return call()
    if not KEY.match(key):
        raise ApiError(400, "idempotency_key_invalid")
    fingerprint = _fingerprint()
    record = _existing(key)
    if record is not None:
        replay = _answer_existing(record, fingerprint)
        if replay is not None:
            return replay
        record_id = record.id
    else:
        claim = IdempotencyRecord(user_id=current_user.id, key=key, method=request.method,
                                  path=request.path[:300], request_hash=fingerprint,
                                  created_at=utcnow())
        db.session.add(claim)
        try:
            db.session.commit()
        except IntegrityError:
            # Another request with this key claimed it a moment ago.
            db.session.rollback()
            record = _existing(key)
            if record is None:
                raise ApiError(409, "idempotency_in_progress") from None
            replay = _answer_existing(record, fingerprint)
            if replay is not None:
                return replay
        record_id = claim.id if record is None else record.id
    try:
        response = call()
    except BaseException:
        db.session.rollback()
        _release(record_id)
        raise
    if response.status_code >= 400:
        db.session.rollback()
        _release(record_id)
        return response
    db.session.execute(
        update(IdempotencyRecord).where(IdempotencyRecord.id == record_id)
        .values(completed_at=utcnow(), status_code=response.status_code,
                response_body=response.get_data(as_text=True),
                location=(response.headers.get("Location") or "")[:500])
        .execution_options(synchronize_session=False))
    db.session.commit()
    return response


def _release(record_id: int) -> None:
    db.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id))
    db.session.commit()


def idempotency_sweep(*, now=None) -> int:
    """Forget keys older than RETENTION. Returns how many were removed."""
    cutoff = (now or utcnow()) - RETENTION
    return db.session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff)).rowcount
