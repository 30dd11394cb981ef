"""Finished goods: a completed order's quantity moves into one variant of the client's own
store, once, through the stock ledger (reason production)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from app.accounts.models import Company
from app.audit.models import AuditEntry
from app.catalog.models import Variant
from app.core.clock import utcnow
from app.extensions import db as _db
from app.inventory.models import StockMovement
from app.maklon.goods import GoodsError, goods_move, goods_tab_visible
from app.maklon.models import MaklonRequest, RequestStatus
from tests.factories import make_product, make_user
from tests.maklon.factories import make_maklon_client, make_maklon_request


@pytest.fixture
def owner(db):
    """A client of a company who also sells: a store with one product (stock 20)."""
    user = make_maklon_client(roles=("client", "seller"))
    make_product(store=user.store, name="Serum Cerah", stock=20)
    db.session.commit()
    return user


def _completed(client, **kwargs) -> MaklonRequest:
    values = {"status": RequestStatus.COMPLETED, "stage": "done", "completed_at": utcnow(),
              "quantity": 1_500}
    values.update(kwargs)
    return make_maklon_request(client=client, **values)


def _variant(user) -> Variant:
    return _db.session.scalars(select(Variant).where(Variant.store_id == user.store.id)).first()


def _production_moves(db) -> list[tuple[int, int, str]]:
    return [(m.delta, m.stock_after, m.reference) for m in db.session.scalars(
        select(StockMovement).where(StockMovement.reason == "production"))]


def test_the_client_moves_the_batch_into_their_variant_once(client, db, login_as, owner):
    req = _completed(owner)
    variant = _variant(owner)
    db.session.commit()
    login_as(owner)
    page = client.get(f"/maklon/{req.number}/hasil-produksi")
    assert page.status_code == 200 and "Serum Cerah" in page.get_data(as_text=True)
    response = client.post(f"/maklon/{req.number}/hasil-produksi",
                           data={"varian": str(variant.id)})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Variant, variant.id).stock == 1_520
    assert _production_moves(db) == [(1_500, 1_520, req.number)]
    moved = db.session.get(MaklonRequest, req.id)
    assert moved.goods_moved_at is not None and moved.goods_variant_id == variant.id
    [audit] = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "maklon.goods_moved")).all()
    assert audit.object_id == req.number and audit.after["quantity"] == 1_500
    # A second click: 409 with the message, nothing more moved.
    again = client.post(f"/maklon/{req.number}/hasil-produksi",
                        data={"varian": str(variant.id)})
    assert again.status_code == 409
    assert "sudah dipindahkan" in again.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Variant, variant.id).stock == 1_520
    assert len(_production_moves(db)) == 1


def test_another_stores_variant_is_refused_422(client, db, login_as, owner):
    req = _completed(owner)
    stranger = make_user(roles=("seller",))
    foreign = make_product(store=stranger.store, name="Milik Toko Lain", stock=3)
    db.session.commit()
    login_as(owner)
    for value in (str(foreign.variants[0].id), "", "abc", "999999"):
        response = client.post(f"/maklon/{req.number}/hasil-produksi", data={"varian": value})
        assert response.status_code == 422
        assert "Pilih varian produk dari toko Anda." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Variant, foreign.variants[0].id).stock == 3
    assert db.session.get(MaklonRequest, req.id).goods_moved_at is None
    assert _production_moves(db) == []


@pytest.mark.parametrize("status", [RequestStatus.SIGNED, RequestStatus.NEGOTIATING,
                                    RequestStatus.CANCELLED])
def test_a_request_not_completed_is_409(client, db, login_as, owner, status):
    req = make_maklon_request(client=owner, status=status, quantity=1_000)
    variant = _variant(owner)
    db.session.commit()
    login_as(owner)
    response = client.post(f"/maklon/{req.number}/hasil-produksi",
                           data={"varian": str(variant.id)})
    assert response.status_code == 409
    db.session.expire_all()
    assert db.session.get(Variant, variant.id).stock == 20
    assert not goods_tab_visible(db.session.get(MaklonRequest, req.id), owner)


def test_another_companys_request_is_404_and_staff_may_look_not_move(client, db, login_as,
                                                                    make_client, owner):
    other = make_maklon_client(roles=("client", "seller"))
    req = _completed(other)
    mine = _completed(owner)
    staff = make_user(roles=("staff",))
    db.session.commit()
    login_as(owner)
    assert client.get(f"/maklon/{req.number}/hasil-produksi").status_code == 404
    assert client.post(f"/maklon/{req.number}/hasil-produksi",
                       data={"varian": str(_variant(owner).id)}).status_code == 404
    staff_browser = make_client()
    login_as(staff, staff_browser)
    assert staff_browser.get(f"/maklon/{mine.number}/hasil-produksi").status_code == 200
    assert staff_browser.post(f"/maklon/{mine.number}/hasil-produksi",
                              data={"varian": str(_variant(owner).id)}).status_code == 403
    assert _production_moves(db) == []


def test_the_tab_shows_for_a_completed_order_of_a_client_with_a_store(db, owner):
    colleague = make_maklon_client(company=db.session.get(Company, owner.company_id))
    req = _completed(owner)
    assert goods_tab_visible(req, owner)
    assert not goods_tab_visible(req, colleague)  # no store
    assert not goods_tab_visible(req, make_user(roles=("staff",)))


def test_two_concurrent_moves_move_the_goods_once(app, db, owner):
    req = _completed(owner)
    variant_id = _variant(owner).id
    owner_id, request_id = owner.id, req.id
    db.session.commit()
    db.session.rollback()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def move() -> None:
        with app.app_context():
            from app.accounts.models import User

            actor = _db.session.get(User, owner_id)
            target = _db.session.get(MaklonRequest, request_id)
            _ = actor.store
            _db.session.commit()
            barrier.wait()
            try:
                goods_move(request=target, variant_id=variant_id, actor=actor)
                _db.session.commit()
                outcomes.append("moved")
            except GoodsError as error:
                _db.session.rollback()
                outcomes.append(str(error.status))
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=move) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["409", "moved"]
    db.session.expire_all()
    assert db.session.get(Variant, variant_id).stock == 1_520
    assert len(_production_moves(db)) == 1
