"""Production stages of a signed maklon order: one table of allowed moves, the payment
gates, and what each step writes.

    concept_approved   -> material_purchase    gate: DP paid; reserves the batch's materials
    material_purchase  -> formulation          gate: mid payment paid; consumes the materials
                                               (the first time), refused with the shortages
    formulation        -> qc
    qc                 -> packaging            QC passed (qc_result "pass")
    qc                 -> formulation          QC failed (qc_result "fail"): back to formulation
    packaging          -> shipping_scheduled   gate: final payment paid
    shipping_scheduled -> done                 the request becomes COMPLETED

`stage_advance` checks the table and the gate, then moves the order with a conditional
UPDATE (`... WHERE id = :id AND stage = :from AND status = 'signed'`): of two taps (a double
tap, two tablets) exactly one moves the order and the other gets StageConflict (409). Each
step writes a ProductionStage row (staff name as it is now, note, optional photo, QC
result), a "maklon.stage" audit row and an email to every client of the company, in their
language. Everything is inside a savepoint: a refused step writes nothing. Services flush,
never commit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum, nonmember

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import defer, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from app.accounts.models import Role, RoleName, User, user_roles
from app.audit.services import audit_record
from app.catalog.images import PhotoRejected, ProcessedPhoto, photo_process
from app.core.clock import WIB, utcnow
from app.core.db import rowcount
from app.core.http import public_url
from app.core.mail import mail_queue
from app.core.money import format_rupiah
from app.core.storage import storage_put
from app.extensions import db
from app.maklon.labels import MILESTONE_PHRASES, QC_LABELS, STAGE_LABELS
from app.maklon.materials import Shortage, ShortageLine, materials_consume, materials_reserve
from app.maklon.models import (
    MaklonRequest,
    MilestoneKind,
    MilestonePayment,
    MilestoneStatus,
    ProductionStage,
    RequestStatus,
    Stage,
)

log = logging.getLogger(__name__)

NOTE_MAX = 1000
PHOTO_FOLDER = "maklon-stages"


class QcResult(StrEnum):
    PASS = "pass"  # noqa: S105 (a QC result, not a password)
    FAIL = "fail"
    ALL = nonmember((PASS, FAIL))



# (from, to) -> the QC result that move needs ("" when none). Anything else is refused.
TRANSITIONS: dict[tuple[str, str], str] = {
    (Stage.CONCEPT_APPROVED, Stage.MATERIAL_PURCHASE): "",
    (Stage.MATERIAL_PURCHASE, Stage.FORMULATION): "",
    (Stage.FORMULATION, Stage.QC): "",
    (Stage.QC, Stage.PACKAGING): QcResult.PASS,
    (Stage.QC, Stage.FORMULATION): QcResult.FAIL,
    (Stage.PACKAGING, Stage.SHIPPING_SCHEDULED): "",
    (Stage.SHIPPING_SCHEDULED, Stage.DONE): "",
}
# The forward step from each stage (QC's forward step is "pass"; "fail" goes back).
NEXT_STAGE: dict[str, str] = {
    Stage.CONCEPT_APPROVED: Stage.MATERIAL_PURCHASE,
    Stage.MATERIAL_PURCHASE: Stage.FORMULATION,
    Stage.FORMULATION: Stage.QC,
    Stage.QC: Stage.PACKAGING,
    Stage.PACKAGING: Stage.SHIPPING_SCHEDULED,
    Stage.SHIPPING_SCHEDULED: Stage.DONE,
}
# Entering this stage needs that milestone paid.
GATES: dict[str, str] = {
    Stage.MATERIAL_PURCHASE: MilestoneKind.DP,
    Stage.FORMULATION: MilestoneKind.MID,
    Stage.SHIPPING_SCHEDULED: MilestoneKind.FINAL,
}


def stage_position(stage: str | None) -> int:
    """1..6: the production stage's place among `Stage.STEPS`; 6 once done (every stage
    passed); 0 before production."""
    if stage == Stage.DONE:
        return len(Stage.STEPS)
    return Stage.STEPS.index(stage) + 1 if stage in Stage.STEPS else 0


@dataclass(frozen=True)
class StageProgress:
    """Where an order is in production, as the progress bar, the API and the emails say
    it: stage `position` of `total` (six), or `done` (all six passed)."""

    stage: str | None
    position: int
    total: int
    done: bool

    @property
    def percent(self) -> int:
        return 100 if self.done else self.position * 100 // self.total


def stage_progress(stage: str | None) -> StageProgress:
    return StageProgress(stage=stage, position=stage_position(stage), total=len(Stage.STEPS),
                         done=stage == Stage.DONE)


class StageError(Exception):
    """A step refused; nothing was written. `status` is the HTTP answer (409/422) and
    `field` the form field the message belongs to ("" for the whole form)."""

    status = 422

    def __init__(self, message: object, *, field: str = ""):
        super().__init__(str(message))
        self.message = str(message)
        self.field = field


class StageConflict(StageError):
    """The table forbids the move, or the order moved meanwhile (HTTP 409)."""

    status = 409


class GateBlocked(StageConflict):
    """The milestone that unlocks the stage is not paid yet (HTTP 409)."""

    def __init__(self, message: object, milestone: MilestonePayment | None):
        super().__init__(message)
        self.milestone = milestone


class StageShortage(StageConflict):
    """Not enough raw material on hand for formulation (HTTP 409); `lines` lists them."""

    def __init__(self, lines: list[ShortageLine]):
        super().__init__(_l("Stok bahan baku tidak cukup untuk mulai formulasi."))
        self.lines = lines


def milestone_for(request: MaklonRequest, kind: str) -> MilestonePayment | None:
    return db.session.scalar(select(MilestonePayment).where(
        MilestonePayment.request_id == request.id, MilestonePayment.kind == kind))


def gate_message(milestone: MilestonePayment | None, kind: str) -> str:
    """'Menunggu pembayaran DP 30% (Rp 4.500.000).'"""
    if milestone is None:
        return str(_l("Menunggu pembayaran %(label)s: jadwal pembayarannya belum dibuat.",
                      label=MILESTONE_PHRASES[kind]))
    return str(_l("Menunggu pembayaran %(label)s %(percent)s%% (%(amount)s).",
                  label=MILESTONE_PHRASES[kind], percent=milestone.percent,
                  amount=format_rupiah(milestone.amount)))


def gate_check(request: MaklonRequest, to: str) -> None:
    """Raise GateBlocked when `to` waits for an unpaid milestone."""
    kind = GATES.get(to)
    if kind is None:
        return
    milestone = milestone_for(request, kind)
    if milestone is None or milestone.status != MilestoneStatus.PAID:
        raise GateBlocked(gate_message(milestone, kind), milestone)


def gate_waiting(request: MaklonRequest, milestones: list[MilestonePayment]) -> str:
    """For the board's badge: the message of the gate the next step waits for, or ""."""
    kind = GATES.get(NEXT_STAGE.get(request.stage or "", ""))
    if kind is None or request.status != RequestStatus.SIGNED:
        return ""
    milestone = next((m for m in milestones if m.kind == kind), None)
    if milestone is not None and milestone.status == MilestoneStatus.PAID:
        return ""
    return gate_message(milestone, kind)


def stage_advance(*, request: MaklonRequest, to: str, actor: User, from_stage: str | None = None,
                  note: str = "", photo: bytes | None = None, qc_result: str = ""
                  ) -> ProductionStage:
    """Move `request` from its stage to `to` on behalf of staff member `actor`.

    `from_stage` is the stage the staff member saw (a stale one is a conflict). Leaving QC
    needs `qc_result`: "pass" goes to packaging, "fail" back to formulation. `photo` is an
    uploaded image (re-encoded, stored). Raises StageConflict (409) for a move the table
    forbids, a request not in production, or a concurrent move; GateBlocked (409) naming the
    unpaid milestone; StageShortage (409) with the missing materials; StageError (422) for
    bad input (QC result, note length, photo). Nothing is written when it raises.
    """
    current = _movable_stage(request=request, to=to, from_stage=from_stage)
    number = request.number
    qc_result = _checked_qc_result(current=current, to=to, qc_result=qc_result)
    note = _checked_note(current=current, qc_result=qc_result, note=note)
    gate_check(request, to)
    processed = _processed_photo(photo) if photo else None

    first_formulation = to == Stage.FORMULATION and not db.session.scalar(
        select(func.count()).select_from(ProductionStage).where(
            ProductionStage.request_id == request.id,
            ProductionStage.stage == Stage.FORMULATION))
    now = utcnow()
    values: dict[str, object] = {"stage": to, "updated_at": now}
    if to == Stage.DONE:
        values.update(status=RequestStatus.COMPLETED, completed_at=now)
    try:
        with db.session.begin_nested():
            moved = rowcount(db.session.execute(
                update(MaklonRequest).where(MaklonRequest.id == request.id,
                                            MaklonRequest.stage == current,
                                            MaklonRequest.status == RequestStatus.SIGNED)
                .values(**values).execution_options(synchronize_session=False)))
            if moved != 1:
                raise _moved_meanwhile(request)
            if to == Stage.MATERIAL_PURCHASE:
                materials_reserve(request, actor=actor)
            elif first_formulation:
                materials_consume(request, actor=actor)
            row = _stage_record(request=request, current=current, to=to, actor=actor,
                                note=note, qc_result=qc_result, processed=processed, now=now)
            db.session.flush()
    except Shortage as shortage:
        raise StageShortage(shortage.lines) from None
    for key, value in values.items():
        set_committed_value(request, key, value)
    _tell_clients(request, row)
    log.info("maklon %s: %s -> %s by %s", number, current, to, actor.id)
    return row


def _movable_stage(*, request: MaklonRequest, to: str, from_stage: str | None) -> str:
    """The stage `request` is in, when the table lets it move to `to` from there. Raises
    StageConflict for a request not in production, a stale `from_stage` or a forbidden
    move."""
    current = request.stage
    number = request.number
    if request.status != RequestStatus.SIGNED or current is None:
        raise StageConflict(_l("Pesanan %(number)s tidak sedang dalam produksi.",
                               number=number))
    if from_stage is not None and from_stage != current:
        raise StageConflict(_l("Pesanan %(number)s sudah berada di tahap %(stage)s. Muat "
                               "ulang untuk melihat keadaan terbaru.", number=number,
                               stage=STAGE_LABELS.get(current, current)))
    if (current, to) not in TRANSITIONS:
        raise StageConflict(_l("Pesanan %(number)s di tahap %(current)s tidak dapat "
                               "dipindah ke %(target)s.", number=number,
                               current=STAGE_LABELS.get(current, current),
                               target=STAGE_LABELS.get(to, to)))
    return current


def _checked_qc_result(*, current: str, to: str, qc_result: str) -> str:
    """Leaving QC needs the result that leads to `to`; any other move takes none. Raises
    StageError (422)."""
    qc_result = (qc_result or "").strip()
    if current == Stage.QC:
        if qc_result not in QcResult.ALL:
            raise StageError(_l("Pilih hasil QC: Lulus atau Gagal."), field="qc_result")
        if qc_result != TRANSITIONS[(current, to)]:
            raise StageError(_l("QC lulus lanjut ke Pengemasan; QC gagal kembali ke Proses "
                                "Formulasi."), field="qc_result")
    elif qc_result:
        raise StageError(_l("Hasil QC hanya dicatat di tahap Kontrol Kualitas."),
                         field="qc_result")
    return qc_result


def _checked_note(*, current: str, qc_result: str, note: str) -> str:
    """The trimmed note: at most NOTE_MAX characters, required when QC failed. Raises
    StageError (422)."""
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise StageError(_l("Catatan maksimal %(max)s karakter.", max=NOTE_MAX), field="note")
    if current == Stage.QC and qc_result == QcResult.FAIL and not note:
        raise StageError(_l("Tulis catatan: apa yang tidak lulus QC."), field="note")
    return note


def _processed_photo(photo: bytes) -> ProcessedPhoto:
    """The uploaded stage photo, checked and re-encoded. Raises StageError (422)."""
    config = current_app.config
    try:
        return photo_process(photo, max_bytes=config["PHOTO_MAX_BYTES"],
                             max_pixels=config["PHOTO_MAX_PIXELS"])
    except PhotoRejected as error:
        raise StageError(error.message, field="photo") from None


def _stage_record(*, request: MaklonRequest, current: str, to: str, actor: User, note: str,
                  qc_result: str, processed: ProcessedPhoto | None,
                  now: datetime) -> ProductionStage:
    """The stage's history row (with its stored photo) and its audit row."""
    photo_key = ""
    if processed is not None:
        photo_key = storage_put(processed.display, folder=PHOTO_FOLDER, suffix=".webp")
    row = ProductionStage(request_id=request.id, stage=to, staff_id=actor.id,
                          staff_name=actor.name[:120], note=note, photo_key=photo_key,
                          qc_result=qc_result, entered_at=now)
    db.session.add(row)
    after: dict[str, object] = {"stage": to}
    if qc_result:
        after["qc_result"] = qc_result
    if to == Stage.DONE:
        after["status"] = RequestStatus.COMPLETED
    audit_record("maklon.stage", actor=actor, object_type="maklon_request",
                 object_id=request.number, before={"stage": current}, after=after,
                 note=note)
    return row


def _moved_meanwhile(request: MaklonRequest) -> StageConflict:
    latest = db.session.execute(select(MaklonRequest.stage, MaklonRequest.status).where(
        MaklonRequest.id == request.id)).one()
    if latest.status != RequestStatus.SIGNED:
        return StageConflict(_l("Pesanan %(number)s tidak sedang dalam produksi.",
                                number=request.number))
    return StageConflict(_l("Pesanan %(number)s baru saja dipindah ke %(stage)s oleh orang "
                            "lain. Muat ulang untuk melihat keadaan terbaru.",
                            number=request.number,
                            stage=STAGE_LABELS.get(latest.stage, latest.stage)))


def company_clients(company_id: int) -> list[User]:
    """The active users of the company who hold the client role."""
    return list(db.session.scalars(
        select(User).join(user_roles, user_roles.c.user_id == User.id)
        .join(Role, Role.id == user_roles.c.role_id)
        .where(User.company_id == company_id, User.active.is_(True),
               Role.name == RoleName.CLIENT).order_by(User.id)))


def _tell_clients(request: MaklonRequest, row: ProductionStage) -> None:
    link = public_url("maklon.production", number=request.number)
    from app.notifications.prefs import Channel, Kind, notification_wanted
    from app.notifications.telegram import telegram_queue

    for user in company_clients(request.company_id):
        context = dict(name=user.name, order=request, stage=row.stage,
                       stage_label=STAGE_LABELS[row.stage], note=row.note,
                       qc_result=row.qc_result, qc_label=QC_LABELS.get(row.qc_result, ""),
                       position=stage_position(row.stage), total=len(Stage.STEPS), link=link)
        if notification_wanted(user.id, Kind.MAKLON_STAGE, Channel.EMAIL):
            mail_queue(to=user.email, template="maklon_stage", locale=user.locale,
                       subject=_l("Produksi %(number)s: %(stage)s", number=request.number,
                                  stage=STAGE_LABELS[row.stage]), **context)
        telegram_queue(user=user, kind=Kind.MAKLON_STAGE, event_key=f"stage:{row.id}",
                       template="maklon_stage", **context)


def days_left(request: MaklonRequest, today: date | None = None) -> int | None:
    """Days until the promised date (negative: late), by the WIB calendar."""
    if request.promised_date is None:
        return None
    today = today or utcnow().astimezone(WIB).date()
    return (request.promised_date - today).days


# -- reads for the board and the timeline ---------------------------------------------------

DONE_SHOWN = 10  # the board's "Selesai" column: the last ten completed orders


@dataclass
class BoardCard:
    request: MaklonRequest
    next_stage: str | None
    waiting: str  # the gate message the next step waits for ("" when free)
    days_left: int | None


@dataclass
class BoardColumn:
    stage: str
    cards: list[BoardCard]


def board_columns(today: date | None = None) -> list[BoardColumn]:
    """One column per stage with the orders in it (signed ones; the last DONE_SHOWN
    completed ones in "Selesai"), oldest promise first."""
    today = today or utcnow().astimezone(WIB).date()
    # The cards show the company's name (joined: one query, not one per company) and never
    # the stored estimate or the notes (not loaded: a JSON document per order).
    card = (joinedload(MaklonRequest.company, innerjoin=True), defer(MaklonRequest.estimate),
            defer(MaklonRequest.notes))
    active = list(db.session.scalars(
        select(MaklonRequest).options(*card)
        .where(MaklonRequest.status == RequestStatus.SIGNED, MaklonRequest.stage.is_not(None))
        .order_by(MaklonRequest.promised_date.asc().nulls_last(), MaklonRequest.id)))
    done = list(db.session.scalars(
        select(MaklonRequest).options(*card)
        .where(MaklonRequest.status == RequestStatus.COMPLETED)
        .order_by(MaklonRequest.completed_at.desc(), MaklonRequest.id.desc())
        .limit(DONE_SHOWN)))
    milestones: dict[int, list[MilestonePayment]] = {}
    if active:
        for milestone in db.session.scalars(select(MilestonePayment).where(
                MilestonePayment.request_id.in_([r.id for r in active]))):
            milestones.setdefault(milestone.request_id, []).append(milestone)
    columns = {stage: BoardColumn(stage=stage, cards=[]) for stage in Stage.ALL}
    for request in active:
        if request.stage not in columns:
            continue
        columns[request.stage].cards.append(BoardCard(
            request=request, next_stage=NEXT_STAGE.get(request.stage),
            waiting=gate_waiting(request, milestones.get(request.id, [])),
            days_left=days_left(request, today)))
    for request in done:
        columns[Stage.DONE].cards.append(BoardCard(request=request, next_stage=None,
                                                   waiting="", days_left=None))
    return list(columns.values())


def board_version() -> str:
    """What the board shows changes only with a new stage row, a paid milestone or a new
    day: the ETag is made of those (cheap aggregate reads)."""
    last_stage, stages = db.session.execute(select(
        func.max(ProductionStage.id), func.count(ProductionStage.id))).one()
    paid, requests = db.session.execute(select(
        func.count(MilestonePayment.id).filter(MilestonePayment.status == MilestoneStatus.PAID),
        func.count(func.distinct(MilestonePayment.request_id)))).one()
    today = utcnow().astimezone(WIB).date()
    return f"{last_stage}|{stages}|{paid}|{requests}|{today.isoformat()}"


def request_history(request: MaklonRequest) -> list[ProductionStage]:
    return list(db.session.scalars(select(ProductionStage).where(
        ProductionStage.request_id == request.id).order_by(ProductionStage.id)))


def timeline_version(request_id: int) -> str:
    """The client's block changes with a new stage row or the request's status."""
    last_stage, status = db.session.execute(
        select(func.max(ProductionStage.id), MaklonRequest.status)
        .select_from(MaklonRequest)
        .outerjoin(ProductionStage, ProductionStage.request_id == MaklonRequest.id)
        .where(MaklonRequest.id == request_id).group_by(MaklonRequest.status)).one()
    return f"{request_id}|{last_stage}|{status}"
