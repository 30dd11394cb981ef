"""Production: the staff board (tablet), stage steps, the client's live timeline.

    GET   /produksi[?tahap=<stage>]                board (staff, admin); htmx polls it every
                                                   20 s: 304 when unchanged (ETag); `tahap` is
                                                   the stage shown on a phone (one at a time)
    GET   /produksi/<number>/lanjut                confirm the next step: a page without JS;
                                                   htmx gets the board with this card turned
                                                   into the confirm form (no polling then)
    POST  /produksi/<number>/lanjut                the step (dari, catatan, foto, qc); htmx gets
                                                   the board; refused steps (gate, shortage,
                                                   409, 422) come back on the card
    GET   /maklon/<number>/produksi                the "Produksi" tab: progress bar, timeline
                                                   (+ the step form for staff)
    GET   /maklon/<number>/produksi/status         the live block, polled every 10 s: 304 when
                                                   unchanged, 286 once production is over
    GET   /maklon/<number>/produksi/foto/<id>      a stage photo, for whoever sees the request

The board is staff-only (403 for others); the request pages follow app.maklon.access
(another company's request is a 404).
"""

from __future__ import annotations

import logging

from flask import current_app, flash, make_response, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from app.accounts.models import RoleName
from app.core.http import is_htmx, render_page, see_other
from app.core.polling import poll_answer, poll_etag
from app.core.security import owned_or_404, role_required
from app.extensions import db
from app.maklon.access import is_maklon_staff, request_or_404
from app.maklon.labels import QC_LABELS, STAGE_LABELS
from app.maklon.models import MaklonRequest, RequestStatus, Stage
from app.maklon.otdr import otdr_latest
from app.maklon.routes import bp
from app.maklon.stage_photos import stage_photo_response
from app.maklon.stages import (
    NEXT_STAGE,
    QcResult,
    StageConflict,
    StageError,
    StageShortage,
    board_columns,
    board_version,
    gate_waiting,
    request_history,
    stage_advance,
    stage_position,
    timeline_version,
)

log = logging.getLogger(__name__)

STAFF = (RoleName.STAFF, RoleName.ADMIN)
BOARD_POLL_SECONDS = 20  # PRODUCTION_BOARD_POLL_SECONDS in the config overrides it (tests)
QC_FAIL = QcResult.FAIL
TIMELINE_POLL_SECONDS = 10  # PRODUCTION_TIMELINE_POLL_SECONDS in the config overrides it (tests)


@bp.context_processor
def _production_labels() -> dict:
    return {"stage_labels": STAGE_LABELS, "qc_labels": QC_LABELS, "stage_order": Stage.ALL,
            "next_stages": NEXT_STAGE, "stage_position": stage_position}


def _etag(version: object) -> str:
    """The ETag of a board or timeline version as this user sees it (a user's own board
    differs: the cards they may act on)."""
    return poll_etag(version, current_user.id)


# -- the board ------------------------------------------------------------------------------

def _board_poll_seconds() -> int:
    return int(current_app.config.get("PRODUCTION_BOARD_POLL_SECONDS", BOARD_POLL_SECONDS))


def _timeline_poll_seconds() -> int:
    return int(current_app.config.get("PRODUCTION_TIMELINE_POLL_SECONDS", TIMELINE_POLL_SECONDS))


def _shown_stage(columns: list, wanted: str | None) -> str:
    """The stage a phone shows (one column at a time): `?tahap=` when it names a stage,
    else the first stage with an order in it (the first stage when the board is empty)."""
    if wanted in Stage.ALL:
        return wanted
    for column in columns:
        if column.cards and column.stage != Stage.DONE:
            return column.stage
    return Stage.ALL[0]


def _board(http_status: int = 200, *, open_number: str | None = None, form: dict | None = None,
           tahap: str | None = None):
    """The board page, or for htmx the board partial. `open_number`: the card shown as the
    confirm form; `form`: what goes with it (error, shortages, the note typed); `tahap`: the
    stage a narrow screen shows (the request's `tahap` when not given)."""
    columns = board_columns()
    shown = _shown_stage(columns, tahap or request.values.get("tahap"))
    return render_page("maklon/board.html", "maklon/_board.html", http_status,
                       columns=columns, open_number=open_number, form=form or {},
                       shown_stage=shown, poll_seconds=_board_poll_seconds(),
                       otdr=otdr_latest(None))


@bp.route("/produksi")
@role_required(*STAFF)
def board():
    if not is_htmx():
        return _board()
    # The ETag covers the stage shown: each ?tahap= is its own fragment.
    etag = _etag(f"{board_version()}|{request.args.get('tahap', '')}")
    return poll_answer(etag=etag, final=False, render=lambda: _board()[0])


def _wanted_stage() -> str | None:
    """The `tahap` the staff member was looking at (kept across a step), if it is one."""
    wanted = request.values.get("tahap")
    return wanted if wanted in Stage.ALL else None


def _signed_or_404(number: str) -> MaklonRequest:
    return owned_or_404(select(MaklonRequest).where(MaklonRequest.number == number))


def _form_state(req: MaklonRequest, *, error: str = "", field: str = "", note: str = "",
                shortages: list | None = None, view: str = "board") -> dict:
    """What the step form shows: the step from the stage the request is in now."""
    return {"req": req, "from_stage": req.stage, "next_stage": NEXT_STAGE.get(req.stage or ""),
            "waiting": gate_waiting(req, req.milestones), "error": error, "field": field,
            "note": note, "shortages": shortages or [], "view": view}


@bp.route("/produksi/<number>/lanjut")
@role_required(*STAFF)
def stage_confirm(number: str):
    req = _signed_or_404(number)
    form = _form_state(req)
    if is_htmx():
        return _board(open_number=number, form=form, tahap=req.stage)
    return render_page("maklon/stage_confirm.html", None, form=form)


@bp.route("/produksi/<number>/lanjut", methods=["POST"])
@role_required(*STAFF)
def stage_advance_route(number: str):
    """One step. `dari` is the stage the staff member saw: a double tap or a second
    tablet gets 409 instead of a second step."""
    req = _signed_or_404(number)
    view = "timeline" if request.form.get("view") == "timeline" else "board"
    from_stage = request.form.get("dari", "")
    note = request.form.get("catatan", "")
    qc_result = request.form.get("qc", "")
    upload = request.files.get("foto")
    photo = upload.read() if upload and upload.filename else None
    if from_stage not in Stage.ALL:
        return _refused(req, StageError(_("Tahap asal tidak dikenal. Muat ulang halaman.")),
                        view=view, note=note)
    to = NEXT_STAGE.get(from_stage, "")
    if from_stage == Stage.QC and qc_result == QC_FAIL:
        to = Stage.FORMULATION  # QC failed: back to formulation (the service checks)
    try:
        row = stage_advance(request=req, to=to, actor=current_user, from_stage=from_stage,
                            note=note, photo=photo, qc_result=qc_result)
    except StageError as error:
        return _refused(req, error, view=view, note=note)
    db.session.commit()
    message = _("%(number)s masuk tahap %(stage)s.", number=number,
                stage=STAGE_LABELS[row.stage])
    if view == "board" and is_htmx():
        return _board()
    flash(message, "success")
    if view == "timeline":
        return see_other(url_for("maklon.production", number=number))
    return see_other(url_for("maklon.board", tahap=_wanted_stage()))


def _refused(req: MaklonRequest, error: StageError, *, view: str, note: str):
    db.session.rollback()
    req = _signed_or_404(req.number)  # as it is now (another tablet may have moved it)
    shortages = error.lines if isinstance(error, StageShortage) else []
    form = _form_state(req, error=error.message, field=error.field, note=note,
                       shortages=shortages, view=view)
    if view == "timeline":
        return _production_page(req, form=form, http_status=error.status)
    if is_htmx():
        # The order moved meanwhile (a double tap, another tablet): show the board as it is
        # now with the message on the card; otherwise keep the form open with it.
        moved = type(error) is StageConflict
        body, _status = _board(error.status, open_number=None if moved else req.number,
                               form=form, tahap=req.stage)
        response = make_response(body, error.status)
        # 4xx answers go to #htmx-error by default (htmx-config): keep them on the card.
        response.headers["HX-Retarget"] = "#production-board"
        response.headers["HX-Reswap"] = "outerHTML"
        return response
    return render_page("maklon/stage_confirm.html", None, error.status, form=form)


# -- the request's "Produksi" tab -------------------------------------------------------------

def _production_page(req: MaklonRequest, *, form: dict | None = None, http_status: int = 200):
    staff = is_maklon_staff(current_user)
    if form is None and staff and req.status == RequestStatus.SIGNED:
        form = _form_state(req, view="timeline")
    return render_page("maklon/production.html", None, http_status, req=req,
                       history=request_history(req), form=form if staff else None,
                       poll_seconds=_timeline_poll_seconds())


@bp.route("/maklon/<number>/produksi")
@login_required
def production(number: str):
    return _production_page(request_or_404(current_user, number))


@bp.route("/maklon/<number>/produksi/status")
@login_required
def production_status(number: str):
    """The live block. Unchanged: 304 on If-None-Match. Completed (or cancelled): 286."""
    req = request_or_404(current_user, number)
    final = req.status in (RequestStatus.COMPLETED, RequestStatus.CANCELLED)
    return poll_answer(etag=_etag(timeline_version(req.id)), final=final,
                       render=lambda: render_template(
                           "maklon/_timeline.html", req=req, history=request_history(req),
                           poll_seconds=_timeline_poll_seconds()))


@bp.route("/maklon/<number>/produksi/foto/<int:stage_id>")
@login_required
def stage_photo(number: str, stage_id: int):
    return stage_photo_response(request_or_404(current_user, number), stage_id)


