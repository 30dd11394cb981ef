"""`Idempotency-Key` for the API's creating operations (checkout, payments, products,
addresses, CRM records).

A client that is unsure whether its request arrived (a timeout on a bus) sends it again
with the same key. The first request with a key claims it (a row committed before the work
starts); its successful answer is stored and a repeat with the same method, path and body
gets that answer again (`Idempotent-Replayed: true`), without doing the work twice. A repeat
while the first still runs is a 409, the same key with a different request a 422. A failed
first attempt (any 4xx/5xx) releases the key: nothing was done, so trying again is safe.

Keys belong to a user and are kept for `RETENTION` (the `api.idempotency_sweep` job).

A request that dies must not leave its claim behind: a claim is released on any exception
(on a new connection when the old one died), and the teardown of the request releases one
that is still open (a client gone, an error past our handlers). A claim left anyway (the
process was killed) is taken over after IDEMPOTENCY_CLAIM_SECONDS (default 30, about
gunicorn's timeout: no live request is older). The answer is stored after the work
committed; when the connection dies in between, it is stored again on a new connection, so
the client's retry gets the replay rather than a 409.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from datetime import timedelta

from flask import Response, current_app, g, request
from flask_login import current_user
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.api.error_codes import ApiErrorCode
from app.api.errors import ApiError
from app.api.models import IdempotencyRecord
from app.core.clock import utcnow
from app.core.db import rowcount
from app.extensions import db

log = logging.getLogger(__name__)

KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
RETENTION = timedelta(hours=24)
_OPEN_CLAIM = "_idempotency_claim"  # g: the id of this request's unfinished claim


def _abandoned() -> timedelta:
    """A claim this old without an answer belongs to a request that died."""
    return timedelta(seconds=current_app.config["IDEMPOTENCY_CLAIM_SECONDS"])


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
        raise ApiError(422, ApiErrorCode.IDEMPOTENCY_KEY_MISMATCH, fields={"Idempotency-Key": ""})
    if record.completed_at is not None:
        log.info("idempotency key of user %s replayed", current_user.id)
        return _replay(record)
    taken = rowcount(db.session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.id == record.id, IdempotencyRecord.completed_at.is_(None),
               IdempotencyRecord.created_at < utcnow() - _abandoned())
        .values(created_at=utcnow()).execution_options(synchronize_session=False)))
    if not taken:
        raise ApiError(409, ApiErrorCode.IDEMPOTENCY_IN_PROGRESS)
    db.session.commit()
    return None


def idempotent_call(call: Callable[[], Response]) -> Response:
    """Run `call` once per (user, Idempotency-Key); without the header, just run it."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return call()
    if not KEY.match(key):
        raise ApiError(400, ApiErrorCode.IDEMPOTENCY_KEY_INVALID)
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
                raise ApiError(409, ApiErrorCode.IDEMPOTENCY_IN_PROGRESS) from None
            replay = _answer_existing(record, fingerprint)
            if replay is not None:
                return replay
        record_id = claim.id if record is None else record.id
    g.setdefault(_OPEN_CLAIM, record_id)
    try:
        response = call()
    except BaseException:
        _rollback_quietly()
        _release(record_id)
        raise
    if response.status_code >= 400:
        _rollback_quietly()
        _release(record_id)
        return response
    values = {"completed_at": utcnow(), "status_code": response.status_code,
              "response_body": response.get_data(as_text=True),
              "location": (response.headers.get("Location") or "")[:500]}
    # The work is committed: the answer goes out either way. Not stored (the database is
    # gone), the claim stays until it is abandoned: a retry before then is told to wait,
    # one after runs into the operation's own dedup (the checkout's key) — never a rerun
    # while this request may still be writing.
    g.pop(_OPEN_CLAIM, None)
    if not _write_twice(update(IdempotencyRecord).where(IdempotencyRecord.id == record_id)
                        .values(**values).execution_options(synchronize_session=False)):
        log.error("idempotency answer of record %s not stored", record_id)
    return response


def _rollback_quietly() -> None:
    """Roll back; on a connection that died, that fails too: drop it and go on."""
    try:
        db.session.rollback()
    except DBAPIError:
        log.warning("rollback on a dead connection", exc_info=True)
        db.session().invalidate()  # scoped_session's typing lacks invalidate


def _write_twice(statement) -> bool:
    """Execute and commit `statement`; once more on a new connection when the first one
    turned out dead. True when it was written."""
    for attempt in (1, 2):
        try:
            db.session.execute(statement)
            db.session.commit()
            return True
        except DBAPIError as error:
            _rollback_quietly()
            if attempt == 2 or not error.connection_invalidated:
                log.exception("idempotency bookkeeping failed")
                return False
            log.warning("connection died under the idempotency bookkeeping; once more")
    return False


def _release(record_id: int) -> None:
    if _write_twice(delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id)):
        g.pop(_OPEN_CLAIM, None)


def idempotency_release_open_claim(exc: BaseException | None = None) -> None:
    """Teardown: a request that ends with its claim still open (it died past every
    handler) gives the key back, on a connection of its own."""
    record_id = g.pop(_OPEN_CLAIM, None)
    if record_id is None:
        return
    try:
        with db.engine.begin() as connection:
            connection.execute(delete(IdempotencyRecord).where(
                IdempotencyRecord.id == record_id, IdempotencyRecord.completed_at.is_(None)))
        log.warning("idempotency claim %s released at teardown", record_id)
    except Exception:
        log.exception("idempotency claim %s not released; it expires by itself", record_id)


def idempotency_sweep(*, now=None) -> int:
    """Forget keys older than RETENTION. Returns how many were removed."""
    cutoff = (now or utcnow()) - RETENTION
    return rowcount(db.session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff)))
