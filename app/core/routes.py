"""Core blueprint: health check, language switch, background-job status partial.

URL table:
    GET  /healthz                          every part's status (JSON; 503 when one is down)
    GET  /livez                            the process answers (no database, no Redis)
    POST /bahasa                           switch the interface language (the header's form)
    GET  /bahasa/<lang>?next=              the same as a link, for anonymous catalog pages
    GET  /pekerjaan/<id>/status            self-polling job status partial (owner or admin)
    GET  /media/<key>                      a stored public file (product photos)
    GET  /notifikasi                       the user's in-app notices
    POST /notifikasi/baca                  mark them all read
"""

from __future__ import annotations

import json
import logging

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    make_response,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import select

from app.core.health import health_report
from app.core.http import render_page, see_other
from app.core.metrics import internal_request
from app.core.models import JobRecord
from app.core.notices import notices_mark_read, notices_recent
from app.core.polling import STOP_POLLING
from app.core.security import owned_or_404, safe_next_url
from app.core.storage import storage_send
from app.extensions import db

log = logging.getLogger(__name__)
bp = Blueprint("core", __name__)

# The event the final job status triggers (HX-Trigger) for the page to refresh itself.
JOB_FINISHED = "job-finished"


@bp.route("/healthz")
def healthz():
    """Every part the site needs (app/core/health.py): 200 when all critical parts work,
    503 naming the failing ones. The detail (counts, ages, worker names) only for insiders
    (loopback/private networks or the METRICS_TOKEN); the public sees status and parts."""
    healthy, report = health_report()
    body = report if internal_request() else {"status": report["status"],
                                               "failing": report["failing"]}
    response = jsonify(body)
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/livez")
def livez():
    """Liveness for the load balancer and the container: the process answers. Touches
    neither the database nor Redis (a database outage must not restart every node)."""
    response = make_response("ok\n", 200)
    response.mimetype = "text/plain"
    response.headers["Cache-Control"] = "no-store"
    return response


def _language_answer(language: str, target: str):
    """Redirect to `target` remembering `language` in the language cookie (a plain cookie:
    the visitor's anonymous pages need no session, see core.cache)."""
    response = see_other(target)
    if language in current_app.config["LANGUAGES"]:
        session.pop("lang", None)  # an older session's choice would win over the cookie
        response.set_cookie(current_app.config["LANGUAGE_COOKIE_NAME"], language,
                            max_age=365 * 24 * 3600, samesite="Lax", httponly=True,
                            secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


def _referrer_path() -> str | None:
    if request.referrer and request.referrer.startswith(request.host_url):
        return "/" + request.referrer[len(request.host_url):]
    return None


@bp.route("/bahasa", methods=["POST"])
def switch_language():
    language = request.form.get("lang", "")
    if language in current_app.config["LANGUAGES"] and current_user.is_authenticated \
            and current_user.locale != language:
        current_user.locale = language
        db.session.commit()
    target = safe_next_url(request.form.get("next") or _referrer_path(), "/")
    return _language_answer(language, target)


@bp.route("/bahasa/<language>")
def switch_language_link(language: str):
    """The language switch of shared (anonymous) pages: a link needs no CSRF token, and
    what it changes is only this browser's language cookie (a logged-in user's language
    is the account's, changed by the POST form)."""
    if language not in current_app.config["LANGUAGES"]:
        abort(404)
    target = safe_next_url(request.args.get("next") or _referrer_path(), "/")
    return _language_answer(language, target)


@bp.route("/pekerjaan/<int:job_id>/status")
@login_required
def job_status(job_id: int):
    stmt = select(JobRecord).where(JobRecord.id == job_id)
    if not current_user.has_role("admin"):
        stmt = stmt.where(JobRecord.owner_id == current_user.id)
    record = owned_or_404(stmt)
    response = make_response(render_template("core/_job_status.html", job=record))
    if record.is_final and request.headers.get("HX-Request"):
        response.status_code = STOP_POLLING
        # The page that polled may show what the job made (a backup, an export): it
        # listens with hx-trigger="job-finished from:body" and refreshes that part.
        response.headers["HX-Trigger"] = json.dumps(
            {JOB_FINISHED: {"id": record.id, "name": record.name, "status": record.status}})
    return response


@bp.route("/media/<path:key>")
def media(key: str):
    return storage_send(key)


@bp.route("/notifikasi")
@login_required
def notices():
    return render_page("core/notices.html", notices=notices_recent(current_user.id))


@bp.route("/notifikasi/baca", methods=["POST"])
@login_required
def notices_read():
    notices_mark_read(user_id=current_user.id)
    db.session.commit()
    return see_other(url_for("core.notices"))
