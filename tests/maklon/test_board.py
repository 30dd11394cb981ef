"""The staff production board (/produksi) and the client's Produksi tab: who may use them,
what they show, polling (304 / 286), the confirm step with and without htmx, and refused
steps shown on the card."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.accounts.models import Company
from app.core.clock import utcnow
from app.maklon.models import MilestoneKind, ProductionStage, RequestStatus, Stage
from app.maklon.stages import stage_advance
from tests.conftest import log_in
from tests.factories import make_user
from tests.maklon.factories import make_maklon_client, make_signed_order

HTMX = {"HX-Request": "true"}
ALL_PAID = (MilestoneKind.DP, MilestoneKind.MID, MilestoneKind.FINAL)


@pytest.fixture
def staff(db, client):
    member = make_user(roles=("staff",), name="Sari Produksi")
    db.session.commit()
    log_in(client, member.email)
    return member


def _stages(db, order) -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(ProductionStage.stage).where(
        ProductionStage.request_id == order.id).order_by(ProductionStage.id)))


@pytest.mark.parametrize("role", ["customer", "seller", "client"])
def test_the_board_is_for_staff_only(client, login_as, role):
    login_as(role)
    assert client.get("/produksi").status_code == 403
    assert client.post("/produksi/MK-1/lanjut", data={"dari": "qc"}).status_code == 403


def test_admin_may_use_the_board(client, login_as):
    login_as("admin")
    assert client.get("/produksi").status_code == 200


def test_the_board_shows_each_order_in_its_column_with_the_gate_it_waits_for(db, client,
                                                                              staff):
    waiting = make_signed_order(client=make_maklon_client(), total=10_000_000)
    free = make_signed_order(client=make_maklon_client(), paid=ALL_PAID, promised_in_days=-2)
    free.stage = Stage.FORMULATION
    db.session.commit()
    page = client.get("/produksi")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'id="production-board"' in html and 'hx-trigger="every 20s"' in html
    concept = html.split('data-testid="column-concept_approved"')[1].split("</section>")[0]
    assert waiting.number in concept and waiting.product_name in concept
    assert "Menunggu pembayaran DP 30% (Rp 3.000.000)." in concept
    formulation = html.split('data-testid="column-formulation"')[1].split("</section>")[0]
    assert free.number in formulation and "terlambat 2 hari" in formulation
    assert "Lanjut: Kontrol Kualitas" in formulation
    assert "Menunggu pembayaran" not in formulation


def test_the_done_column_shows_the_last_ten_completed(db, client, staff):
    client_user = make_maklon_client()
    orders = []
    for index in range(12):
        order = make_signed_order(client=client_user, paid=ALL_PAID)
        order.status, order.stage = RequestStatus.COMPLETED, Stage.DONE
        order.completed_at = utcnow().replace(microsecond=0) \
            .replace(second=0).replace(minute=index)
        orders.append(order)
    db.session.commit()
    html = client.get("/produksi").get_data(as_text=True)
    done = html.split('data-testid="column-done"')[1].split("</section>")[0]
    shown = [o.number for o in orders if f'data-testid="card-{o.number}"' in done]
    assert shown == [o.number for o in orders[2:]]
    assert "Lanjut" not in done


def test_the_polled_board_answers_304_until_something_changes(db, client, staff):
    order = make_signed_order(client=make_maklon_client(), paid=ALL_PAID)
    db.session.commit()
    first = client.get("/produksi", headers=HTMX)
    assert first.status_code == 200 and first.headers["ETag"]
    assert "<html" not in first.get_data(as_text=True)
    again = client.get("/produksi", headers={**HTMX, "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    stage_advance(request=order, to=Stage.MATERIAL_PURCHASE, actor=staff)
    db.session.commit()
    changed = client.get("/produksi", headers={**HTMX, "If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != first.headers["ETag"]


def test_confirm_is_a_page_without_js_and_the_card_as_a_form_with_htmx(db, client, staff):
    order = make_signed_order(client=make_maklon_client(), paid=ALL_PAID)
    db.session.commit()
    page = client.get(f"/produksi/{order.number}/lanjut")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in html
    assert 'name="dari" value="concept_approved"' in html
    assert 'capture="environment"' in html and "Konfirmasi: Pembelian Bahan Baku" in html
    fragment = client.get(f"/produksi/{order.number}/lanjut", headers=HTMX)
    body = fragment.get_data(as_text=True)
    assert "<html" not in body and 'id="production-board"' in body
    assert 'hx-trigger="every' not in body  # no polling while the form is open
    card = body.split(f'data-testid="card-{order.number}"')[1].split("</article>")[0]
    assert 'data-testid="stage-form"' in card


def test_qc_asks_for_pass_or_fail(db, client, staff):
    order = make_signed_order(client=make_maklon_client(), paid=ALL_PAID)
    order.stage = Stage.QC
    db.session.commit()
    html = client.get(f"/produksi/{order.number}/lanjut").get_data(as_text=True)
    assert 'name="qc" value="pass"' in html and 'name="qc" value="fail"' in html
    refused = client.post(f"/produksi/{order.number}/lanjut",
                          data={"dari": "qc", "qc": "fail"})
    assert refused.status_code == 422
    assert "Tulis catatan" in refused.get_data(as_text=True)
    moved = client.post(f"/produksi/{order.number}/lanjut",
                        data={"dari": "qc", "qc": "fail", "catatan": "Warna belang"})
    assert moved.status_code == 303
    assert _stages(db, order)[-1] == Stage.FORMULATION


def test_a_step_from_the_board_with_htmx_returns_the_board(db, client, staff):
    order = make_signed_order(client=make_maklon_client(), paid=ALL_PAID)
    db.session.commit()
    response = client.post(f"/produksi/{order.number}/lanjut", headers=HTMX,
                           data={"dari": "concept_approved", "catatan": "PO dikirim"})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    purchase = body.split('data-testid="column-material_purchase"')[1].split("</section>")[0]
    assert order.number in purchase
    assert _stages(db, order) == [Stage.CONCEPT_APPROVED, Stage.MATERIAL_PURCHASE]


def test_a_blocked_gate_is_shown_on_the_card_form(db, client, staff):
    order = make_signed_order(client=make_maklon_client(), total=20_000_000)
    db.session.commit()
    response = client.post(f"/produksi/{order.number}/lanjut", headers=HTMX,
                           data={"dari": "concept_approved", "catatan": "coba"})
    assert response.status_code == 409
    assert response.headers["HX-Retarget"] == "#production-board"
    card = response.get_data(as_text=True).split(
        f'data-testid="card-{order.number}"')[1].split("</article>")[0]
    assert "Menunggu pembayaran DP 30% (Rp 6.000.000)." in card
    assert 'data-testid="stage-form"' in card and ">coba</textarea>" in card
    plain = client.post(f"/produksi/{order.number}/lanjut", data={"dari": "concept_approved"})
    assert plain.status_code == 409
    assert "Menunggu pembayaran DP" in plain.get_data(as_text=True)
    assert _stages(db, order) == [Stage.CONCEPT_APPROVED]


def test_a_double_tap_gets_409_on_the_card_not_a_second_step(db, client, staff):
    order = make_signed_order(client=make_maklon_client(), paid=ALL_PAID)
    db.session.commit()
    data = {"dari": "concept_approved"}
    assert client.post(f"/produksi/{order.number}/lanjut", headers=HTMX,
                       data=data).status_code == 200
    second = client.post(f"/produksi/{order.number}/lanjut", headers=HTMX, data=data)
    assert second.status_code == 409
    card = second.get_data(as_text=True).split(
        f'data-testid="card-{order.number}"')[1].split("</article>")[0]
    assert "sudah berada di tahap Pembelian Bahan Baku" in card
    assert 'data-testid="stage-form"' not in card  # closed: a third tap is a new decision
    assert _stages(db, order) == [Stage.CONCEPT_APPROVED, Stage.MATERIAL_PURCHASE]


def test_an_unknown_from_stage_is_422(db, client, staff):
    order = make_signed_order(client=make_maklon_client(), paid=ALL_PAID)
    db.session.commit()
    response = client.post(f"/produksi/{order.number}/lanjut", data={})
    assert response.status_code == 422
    assert "Tahap asal tidak dikenal" in response.get_data(as_text=True)


# -- the client's Produksi tab ----------------------------------------------------------------

def test_the_production_tab_shows_progress_and_timeline_to_the_company(db, client,
                                                                      make_client):
    owner = make_maklon_client()
    colleague = make_maklon_client(company=db.session.get(Company, owner.company_id))
    order = make_signed_order(client=owner, paid=ALL_PAID)
    staff = make_user(roles=("staff",), name="Budi QC")
    stage_advance(request=order, to=Stage.MATERIAL_PURCHASE, actor=staff, note="PO #12")
    db.session.commit()
    log_in(client, colleague.email)
    page = client.get(f"/maklon/{order.number}/produksi")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'role="progressbar"' in html and 'aria-valuenow="2"' in html
    assert 'aria-valuemax="6"' in html and "Tahap 2 dari 6: Pembelian Bahan Baku" in html
    assert "Budi QC" in html and "PO #12" in html and "WIB" in html
    assert 'hx-trigger="every 10s"' in html
    assert 'data-testid="stage-form"' not in html  # the client does not move stages
    other = make_client()
    stranger = make_maklon_client()
    db.session.commit()
    log_in(other, stranger.email)
    assert other.get(f"/maklon/{order.number}/produksi").status_code == 404
    assert other.get(f"/maklon/{order.number}/produksi/status").status_code == 404


@pytest.mark.parametrize("role", ["customer", "seller"])
def test_buyers_and_sellers_get_404_on_a_production_tab(db, client, login_as, role):
    order = make_signed_order(client=make_maklon_client())
    db.session.commit()
    login_as(role)
    assert client.get(f"/maklon/{order.number}/produksi").status_code == 404


def test_staff_see_the_step_form_on_the_tab_and_come_back_to_it(db, client, staff):
    order = make_signed_order(client=make_maklon_client(), paid=ALL_PAID)
    db.session.commit()
    html = client.get(f"/maklon/{order.number}/produksi").get_data(as_text=True)
    assert 'data-testid="stage-form"' in html and 'name="view" value="timeline"' in html
    response = client.post(f"/produksi/{order.number}/lanjut",
                           data={"dari": "concept_approved", "view": "timeline"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/maklon/{order.number}/produksi")


def test_the_live_block_answers_304_then_286_once_done(db, client, make_client):
    owner = make_maklon_client()
    order = make_signed_order(client=owner, paid=ALL_PAID)
    order.stage = Stage.SHIPPING_SCHEDULED
    staff = make_user(roles=("staff",))
    db.session.commit()
    log_in(client, owner.email)
    url = f"/maklon/{order.number}/produksi/status"
    first = client.get(url, headers=HTMX)
    assert first.status_code == 200 and 'id="production-live"' in first.get_data(as_text=True)
    assert client.get(url, headers={**HTMX, "If-None-Match": first.headers["ETag"]}
                      ).status_code == 304
    stage_advance(request=order, to=Stage.DONE, actor=staff)
    db.session.commit()
    final = client.get(url, headers={**HTMX, "If-None-Match": first.headers["ETag"]})
    assert final.status_code == 286
    body = final.get_data(as_text=True)
    assert "Produksi selesai" in body and 'aria-valuenow="6"' in body and "hx-trigger" not in body


def test_a_request_before_signing_has_no_production_yet(db, client):
    from tests.maklon.factories import make_maklon_request

    owner = make_maklon_client()
    draft = make_maklon_request(client=owner)
    db.session.commit()
    log_in(client, owner.email)
    html = client.get(f"/maklon/{draft.number}/produksi").get_data(as_text=True)
    assert "Produksi dimulai setelah kontrak ditandatangani." in html
    assert "hx-trigger" not in html.split('id="production-live"')[1].split(">")[0]


def _board_selects(app, client) -> int:
    """How many SELECTs one board page costs."""
    from sqlalchemy import event

    from app.extensions import db as _db

    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    with app.app_context():
        engine = _db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get("/produksi").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(statements)


def test_the_board_costs_the_same_queries_for_3_or_30_orders(app, db, client, staff):
    """No query per card (a company or milestone loaded per order once made 58 SELECTs for
    500 orders; see bench/README.md, Maklon)."""
    def orders(n: int) -> None:
        for _ in range(n):
            make_signed_order(client=make_maklon_client())
        db.session.commit()

    orders(3)
    few = _board_selects(app, client)
    orders(27)
    assert _board_selects(app, client) == few
