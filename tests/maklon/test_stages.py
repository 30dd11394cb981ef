"""Production stages: the transition table, the payment gates, material reserve/consume,
QC, the stage history, client emails, the photo, and one step under concurrency."""

from __future__ import annotations

import io
import threading
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select, update

from app.accounts.models import Company
from app.audit.models import AuditEntry
from app.core.models import EmailOutbox
from app.inventory.models import StockMovement, StockReason
from app.maklon.materials import material_change
from app.maklon.models import (
    MaklonRequest,
    MaterialReservation,
    MilestoneKind,
    ProductionStage,
    RawMaterial,
    RequestStatus,
    ReservationStatus,
    Stage,
)
from app.maklon.stages import (
    TRANSITIONS,
    GateBlocked,
    StageConflict,
    StageError,
    StageShortage,
    stage_advance,
)
from tests.conftest import log_in
from tests.factories import make_user
from tests.maklon.factories import (
    make_company,
    make_formula,
    make_maklon_client,
    make_raw_material,
    make_signed_order,
    pay_milestone,
)

ALL_PAID = (MilestoneKind.DP, MilestoneKind.MID, MilestoneKind.FINAL)
PATH = [(Stage.MATERIAL_PURCHASE, ""), (Stage.FORMULATION, ""), (Stage.QC, ""),
        (Stage.PACKAGING, "pass"), (Stage.SHIPPING_SCHEDULED, ""), (Stage.DONE, "")]


def _staff(name: str = "Sari Produksi"):
    return make_user(roles=("staff",), name=name)


def _put_at(order: MaklonRequest, stage: str) -> None:
    order.stage = stage
    from app.extensions import db

    db.session.flush()


def _rows(db, order) -> list[ProductionStage]:
    db.session.expire_all()
    return list(db.session.scalars(select(ProductionStage).where(
        ProductionStage.request_id == order.id).order_by(ProductionStage.id)))


def _count(db, model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(buffer, "PNG")
    return buffer.getvalue()


# -- the table ------------------------------------------------------------------------------

@pytest.mark.parametrize("current", Stage.ALL)
@pytest.mark.parametrize("target", Stage.ALL)
def test_the_transition_table_allows_exactly_the_listed_moves(db, current, target):
    order = make_signed_order(client=make_maklon_client(), paid=ALL_PAID)
    _put_at(order, current)
    staff = _staff()
    qc = TRANSITIONS.get((current, target), "pass" if current == Stage.QC else "")
    note = "warna tidak rata" if qc == "fail" else ""
    if (current, target) in TRANSITIONS:
        row = stage_advance(request=order, to=target, actor=staff, qc_result=qc, note=note)
        assert (order.stage, row.stage) == (target, target)
    else:
        with pytest.raises(StageConflict, match="tidak dapat dipindah"):
            stage_advance(request=order, to=target, actor=staff, qc_result=qc, note=note)
        db.session.expire_all()
        assert order.stage == current
        assert len(_rows(db, order)) == 1  # only the signing row


def test_only_signed_orders_move(db):
    client = make_maklon_client()
    staff = _staff()
    for status in (RequestStatus.SUBMITTED, RequestStatus.NEGOTIATING, RequestStatus.COMPLETED,
                   RequestStatus.CANCELLED):
        order = make_signed_order(client=client, paid=ALL_PAID)
        order.status = status
        db.session.flush()
        with pytest.raises(StageConflict, match="tidak sedang dalam produksi"):
            stage_advance(request=order, to=Stage.MATERIAL_PURCHASE, actor=staff)


def test_a_stale_from_stage_is_a_conflict(db):
    order = make_signed_order(client=make_maklon_client(), paid=ALL_PAID)
    staff = _staff()
    stage_advance(request=order, to=Stage.MATERIAL_PURCHASE, actor=staff,
                  from_stage=Stage.CONCEPT_APPROVED)
    with pytest.raises(StageConflict, match="sudah berada di tahap Pembelian Bahan Baku"):
        stage_advance(request=order, to=Stage.MATERIAL_PURCHASE, actor=staff,
                      from_stage=Stage.CONCEPT_APPROVED)


def test_a_row_changed_under_the_service_loses_the_race(db):
    """The conditional UPDATE: the request read says concept_approved, the row says
    otherwise (another tablet committed first) -> 409, nothing written."""
    order = make_signed_order(client=make_maklon_client(), paid=ALL_PAID)
    db.session.execute(update(MaklonRequest).where(MaklonRequest.id == order.id)
                       .values(stage=Stage.MATERIAL_PURCHASE)
                       .execution_options(synchronize_session=False))
    with pytest.raises(StageConflict, match="baru saja dipindah ke Pembelian Bahan Baku"):
        stage_advance(request=order, to=Stage.MATERIAL_PURCHASE, actor=_staff())
    assert len(_rows(db, order)) == 1


# -- gates ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("current", "target", "kind", "message"), [
    (Stage.CONCEPT_APPROVED, Stage.MATERIAL_PURCHASE, MilestoneKind.DP,
     "Menunggu pembayaran DP 30% (Rp 4.500.000)."),
    (Stage.MATERIAL_PURCHASE, Stage.FORMULATION, MilestoneKind.MID,
     "Menunggu pembayaran termin tengah 40% (Rp 6.000.000)."),
    (Stage.PACKAGING, Stage.SHIPPING_SCHEDULED, MilestoneKind.FINAL,
     "Menunggu pembayaran pelunasan 30% (Rp 4.500.000)."),
])
def test_each_gate_blocks_until_its_milestone_is_paid_and_names_it(db, current, target, kind,
                                                                   message):
    order = make_signed_order(client=make_maklon_client(), total=15_000_000,
                              paid=tuple(k for k in ALL_PAID if k != kind))
    _put_at(order, current)
    staff = _staff()
    with pytest.raises(GateBlocked) as blocked:
        stage_advance(request=order, to=target, actor=staff)
    assert blocked.value.message == message
    assert blocked.value.status == 409
    db.session.expire_all()
    assert order.stage == current
    assert len(_rows(db, order)) == 1
    assert _count(db, AuditEntry, AuditEntry.action == "maklon.stage") == 0
    pay_milestone(order, kind)
    assert stage_advance(request=order, to=target, actor=staff).stage == target


def test_ungated_steps_need_no_payment(db):
    order = make_signed_order(client=make_maklon_client(), paid=())
    for current, target in ((Stage.FORMULATION, Stage.QC),
                            (Stage.SHIPPING_SCHEDULED, Stage.DONE)):
        _put_at(order, current)
        assert stage_advance(request=order, to=target, actor=_staff()).stage == target
        order.status = RequestStatus.SIGNED


# -- history, QC, completion ----------------------------------------------------------------

def test_stage_history_carries_staff_name_and_time_and_done_completes(db):
    order = make_signed_order(client=make_maklon_client(), paid=ALL_PAID)
    staff = _staff("Sari Produksi")
    for target, qc in PATH:
        stage_advance(request=order, to=target, actor=staff, qc_result=qc,
                      note=f"catatan {target}")
    staff.name = "Sari Nama Baru"  # a later rename does not rewrite history
    db.session.flush()
    rows = _rows(db, order)
    assert [r.stage for r in rows] == [Stage.CONCEPT_APPROVED] + [t for t, _ in PATH]
    assert rows[0].staff_id is None and rows[0].staff_name == ""
    for row in rows[1:]:
        assert (row.staff_id, row.staff_name) == (staff.id, "Sari Produksi")
        assert row.note == f"catatan {row.stage}"
        assert row.entered_at is not None and row.entered_at.tzinfo is not None
    times = [r.entered_at for r in rows]
    assert times == sorted(times)
    assert rows[4].qc_result == "pass"  # packaging entered because QC passed
    db.session.refresh(order)
    assert order.status == RequestStatus.COMPLETED
    assert order.completed_at is not None
    audits = list(db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "maklon.stage").order_by(AuditEntry.id)))
    assert [(a.before, a.after["stage"]) for a in audits] == [
        ({"stage": f}, t) for f, t in zip([Stage.CONCEPT_APPROVED] + [t for t, _ in PATH[:-1]],
                                          [t for t, _ in PATH], strict=True)]
    assert audits[-1].after["status"] == RequestStatus.COMPLETED
    assert audits[0].actor_id == staff.id


def test_qc_fail_returns_to_formulation_with_a_note(db):
    order = make_signed_order(client=make_maklon_client(), paid=ALL_PAID)
    _put_at(order, Stage.QC)
    staff = _staff()
    with pytest.raises(StageError) as missing:
        stage_advance(request=order, to=Stage.PACKAGING, actor=staff)
    assert (missing.value.field, missing.value.status) == ("qc_result", 422)
    with pytest.raises(StageError) as no_note:
        stage_advance(request=order, to=Stage.FORMULATION, actor=staff, qc_result="fail")
    assert no_note.value.field == "note"
    with pytest.raises(StageError, match="QC lulus lanjut ke Pengemasan"):
        stage_advance(request=order, to=Stage.FORMULATION, actor=staff, qc_result="pass")
    row = stage_advance(request=order, to=Stage.FORMULATION, actor=staff, qc_result="fail",
                        note="Viskositas terlalu rendah")
    assert (order.stage, row.stage, row.qc_result) == (Stage.FORMULATION, Stage.FORMULATION,
                                                       "fail")
    stage_advance(request=order, to=Stage.QC, actor=staff)
    assert stage_advance(request=order, to=Stage.PACKAGING, actor=staff,
                         qc_result="pass").stage == Stage.PACKAGING
    with pytest.raises(StageError, match="hanya dicatat di tahap Kontrol Kualitas"):
        stage_advance(request=order, to=Stage.SHIPPING_SCHEDULED, actor=staff,
                      qc_result="pass")


# -- materials ------------------------------------------------------------------------------

def _order_with_formula(db, *, scarce_on_hand: int):
    client = make_maklon_client()
    plenty = make_raw_material(name="Aqua", unit="ml", on_hand=100_000)
    scarce = make_raw_material(name="Niacinamide", on_hand=scarce_on_hand)
    formula = make_formula(company=db.session.get(Company, client.company_id),
                           lines=[(plenty, "25"), (scarce, "0.5")])
    order = make_signed_order(client=client, paid=ALL_PAID, quantity=2_000, formula=formula)
    return order, plenty, scarce


def test_purchase_reserves_and_formulation_consumes_once(db):
    order, plenty, scarce = _order_with_formula(db, scarce_on_hand=5_000)
    staff = _staff()
    stage_advance(request=order, to=Stage.MATERIAL_PURCHASE, actor=staff)
    reserved = {r.raw_material_id: r.quantity for r in db.session.scalars(
        select(MaterialReservation).where(MaterialReservation.request_id == order.id))}
    assert reserved == {plenty.id: 50_000, scarce.id: 1_000}
    stage_advance(request=order, to=Stage.FORMULATION, actor=staff)
    for material, left in ((plenty, 50_000), (scarce, 4_000)):
        db.session.refresh(material)
        assert (material.on_hand, material.reserved) == (left, 0)
    # QC fails, formulation again: the batch was consumed once, not twice.
    stage_advance(request=order, to=Stage.QC, actor=staff)
    stage_advance(request=order, to=Stage.FORMULATION, actor=staff, qc_result="fail",
                  note="ulang")
    db.session.refresh(scarce)
    assert scarce.on_hand == 4_000
    assert _count(db, StockMovement, StockMovement.reason == StockReason.CONSUME) == 2


def test_a_shortage_refuses_formulation_with_the_exact_list_and_writes_nothing(db):
    order, plenty, scarce = _order_with_formula(db, scarce_on_hand=600)
    staff = _staff()
    stage_advance(request=order, to=Stage.MATERIAL_PURCHASE, actor=staff)
    mails = _count(db, EmailOutbox)
    with pytest.raises(StageShortage) as refused:
        stage_advance(request=order, to=Stage.FORMULATION, actor=staff, note="mulai")
    assert refused.value.status == 409
    assert [(line.material.name, line.needed, line.on_hand, line.missing)
            for line in refused.value.lines] == [("Niacinamide", 1_000, 600, 400)]
    db.session.expire_all()
    assert order.stage == Stage.MATERIAL_PURCHASE
    assert [r.stage for r in _rows(db, order)][-1] == Stage.MATERIAL_PURCHASE
    assert (plenty.on_hand, scarce.on_hand) == (100_000, 600)
    assert _count(db, StockMovement, StockMovement.reason == StockReason.CONSUME) == 0
    assert _count(db, EmailOutbox) == mails
    assert _count(db, AuditEntry, AuditEntry.action == "maklon.stage") == 1
    material_change(material=scarce, delta=400, reason=StockReason.RESTOCK, actor=staff)
    stage_advance(request=order, to=Stage.FORMULATION, actor=staff)
    db.session.refresh(scarce)
    assert (scarce.on_hand, scarce.reserved) == (0, 0)  # exactly used up, never negative
    assert db.session.scalar(select(func.min(RawMaterial.on_hand))) >= 0
    assert {r.status for r in db.session.scalars(select(MaterialReservation))} == {
        ReservationStatus.CONSUMED}


# -- emails ---------------------------------------------------------------------------------

def test_every_client_of_the_company_gets_an_email_per_stage_in_their_language(db):
    company = make_company()
    client = make_maklon_client(company=company, name="Rina Klien")
    english = make_maklon_client(company=company, locale="en", name="Jane Client")
    seller_only = make_maklon_client(company=company, roles=("seller",))
    make_maklon_client()  # another company's client
    order = make_signed_order(client=client, paid=ALL_PAID)
    staff = _staff()
    stage_advance(request=order, to=Stage.MATERIAL_PURCHASE, actor=staff, note="Bahan dipesan")
    mails = list(db.session.scalars(select(EmailOutbox).where(
        EmailOutbox.template == "maklon_stage").order_by(EmailOutbox.id)))
    assert [m.to_address for m in mails] == [client.email, english.email]
    assert seller_only.email not in {m.to_address for m in mails}
    first = mails[0]
    assert order.number in first.subject and "Pembelian Bahan Baku" in first.subject
    assert "Halo Rina Klien," in first.body_text
    assert "Bahan dipesan" in first.body_text
    assert f"/maklon/{order.number}/produksi" in first.body_text
    assert "This is an automated email from Racik" in mails[1].body_text
    stage_advance(request=order, to=Stage.FORMULATION, actor=staff)
    assert _count(db, EmailOutbox, EmailOutbox.template == "maklon_stage") == 4


# -- routes: photo, concurrency -------------------------------------------------------------

def test_a_stage_photo_is_reencoded_and_shown_only_to_the_company(app, db, client,
                                                                  make_client):
    owner = make_maklon_client()
    order = make_signed_order(client=owner, paid=ALL_PAID)
    staff = _staff()
    stranger = make_maklon_client()
    db.session.commit()
    log_in(client, staff.email)
    bad = client.post(f"/produksi/{order.number}/lanjut",
                      data={"dari": "concept_approved",
                            "foto": (io.BytesIO(b"not an image"), "x.jpg")})
    assert bad.status_code == 422
    assert "bukan foto" in bad.get_data(as_text=True)
    assert len(_rows(db, order)) == 1
    response = client.post(f"/produksi/{order.number}/lanjut",
                           data={"dari": "concept_approved", "catatan": "Bahan tiba",
                                 "foto": (io.BytesIO(_png()), "bahan.png")})
    assert response.status_code == 303
    row = _rows(db, order)[-1]
    assert row.photo_key.startswith("maklon-stages/") and row.photo_key.endswith(".webp")
    url = f"/maklon/{order.number}/produksi/foto/{row.id}"
    own = make_client()
    log_in(own, owner.email)
    shown = own.get(url)
    assert shown.status_code == 200 and shown.mimetype == "image/webp"
    assert "private" in shown.headers["Cache-Control"]
    assert url in own.get(f"/maklon/{order.number}/produksi").get_data(as_text=True)
    other = make_client()
    log_in(other, stranger.email)
    assert other.get(url).status_code == 404
    assert other.get(f"/maklon/{order.number}/produksi").status_code == 404
    first = _rows(db, order)[0]
    assert client.get(f"/maklon/{order.number}/produksi/foto/{first.id}").status_code == 404


def test_two_concurrent_advances_apply_once(app, db, make_client):
    order = make_signed_order(client=make_maklon_client(), paid=ALL_PAID)
    staff = [_staff("Tablet Satu"), _staff("Tablet Dua")]
    db.session.commit()
    number = order.number
    tablets = [make_client() for _ in staff]
    for tablet, member in zip(tablets, staff, strict=True):
        log_in(tablet, member.email)
    tokens = [tablet.csrf_token() for tablet in tablets]
    barrier = threading.Barrier(2)
    statuses = [0, 0]

    def tap(index: int) -> None:
        barrier.wait()
        response = tablets[index].open(f"/produksi/{number}/lanjut", method="POST",
                                       csrf=False, data={"dari": "concept_approved",
                                                         "csrf_token": tokens[index]})
        statuses[index] = response.status_code

    threads = [threading.Thread(target=tap, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [303, 409]
    assert [r.stage for r in _rows(db, order)] == [Stage.CONCEPT_APPROVED,
                                                   Stage.MATERIAL_PURCHASE]
    assert _count(db, AuditEntry, AuditEntry.action == "maklon.stage") == 1
    assert _count(db, EmailOutbox, EmailOutbox.template == "maklon_stage") == 1


def test_days_left_counts_wib_calendar_days(db):
    from datetime import date

    from app.maklon.stages import days_left

    order = make_signed_order(client=make_maklon_client())
    order.promised_date = date(2026, 3, 10)
    assert days_left(order, today=date(2026, 3, 7)) == 3
    assert days_left(order, today=date(2026, 3, 12)) == -2
    assert days_left(order, today=date(2026, 3, 10) + timedelta(days=0)) == 0
