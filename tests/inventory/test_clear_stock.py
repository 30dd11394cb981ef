"""Inventory "Kosongkan": stock to 0 only after a confirmation (inline with htmx, the page
with the row asking without JS), only from the stock the seller saw (a change meanwhile is a
409 that changes nothing), never for another store's variant, and shown disabled at 0."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.catalog.models import Variant
from app.catalog.stock import stock_change
from app.inventory.models import StockMovement
from tests.factories import make_product, make_user

HTMX = {"HX-Request": "true"}


@pytest.fixture
def seller(db, login_as):
    user = make_user(email="rak@example.test", roles=("seller",), store_name="Rak Sehat")
    db.session.commit()
    login_as(user)
    return user


@pytest.fixture
def variant(db, seller) -> Variant:
    product = make_product(store=seller.store, name="Lulur Kopi", stock=12)
    db.session.commit()
    return product.variants[0]


def _stock_and_moves(db, variant_id: int) -> tuple[int, int]:
    db.session.expire_all()
    stock = db.session.scalar(select(Variant.stock).where(Variant.id == variant_id))
    moves = len(list(db.session.scalars(select(StockMovement).where(
        StockMovement.variant_id == variant_id))))
    return stock, moves


def test_the_row_asks_before_emptying_with_htmx(client, db, variant):
    page = client.get("/seller/inventaris").get_data(as_text=True)
    assert f'/seller/inventaris/{variant.id}/kosongkan"' in page
    assert 'button-destructive' in page
    ask = client.get(f"/seller/inventaris/{variant.id}/kosongkan", headers=HTMX)
    body = ask.get_data(as_text=True)
    assert ask.status_code == 200 and body.lstrip().startswith(f'<tr id="v{variant.id}"')
    assert 'data-testid="clear-confirm"' in body and 'name="konfirmasi" value="ya"' in body
    assert 'name="semula" value="12"' in body and "dari 12 menjadi 0" in body
    assert _stock_and_moves(db, variant.id) == (12, 1)  # asking changes nothing
    done = client.post(f"/seller/inventaris/{variant.id}/kosongkan", headers=HTMX,
                       data={"konfirmasi": "ya", "semula": "12"})
    row = done.get_data(as_text=True)
    assert done.status_code == 200 and 'data-testid="stock">0<' in row
    assert 'disabled data-testid="clear-stock"' in row  # nothing left to empty
    assert _stock_and_moves(db, variant.id) == (0, 2)


def test_the_confirmation_works_without_javascript(client, db, variant):
    ask = client.get(f"/seller/inventaris/{variant.id}/kosongkan")
    assert ask.status_code == 303
    assert ask.headers["Location"].endswith(f"/seller/inventaris?kosongkan={variant.id}"
                                            f"#v{variant.id}")
    page = client.get(ask.headers["Location"]).get_data(as_text=True)
    assert 'data-testid="clear-confirm"' in page and "<html" in page
    done = client.post(f"/seller/inventaris/{variant.id}/kosongkan",
                       data={"konfirmasi": "ya", "semula": "12"})
    assert done.status_code == 303
    assert _stock_and_moves(db, variant.id) == (0, 2)


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_a_post_without_confirmation_only_asks(client, db, variant, headers):
    """The old one-tap form (a stale page) must not empty the stock."""
    response = client.post(f"/seller/inventaris/{variant.id}/kosongkan", headers=headers)
    assert response.status_code == (200 if headers else 303)
    assert _stock_and_moves(db, variant.id) == (12, 1)


def test_a_stock_changed_meanwhile_is_a_409_that_changes_nothing(client, db, seller, variant):
    client.get(f"/seller/inventaris/{variant.id}/kosongkan", headers=HTMX)  # shows 12
    stock_change(variant=variant, delta=3, reason="restock", actor=seller, reference="lain")
    db.session.commit()  # a sale or another tab: now 15
    refused = client.post(f"/seller/inventaris/{variant.id}/kosongkan", headers=HTMX,
                          data={"konfirmasi": "ya", "semula": "12"})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert "berubah menjadi 15" in body and 'data-testid="clear-confirm"' in body
    assert 'name="semula" value="15"' in body  # asks again with what is there now
    assert _stock_and_moves(db, variant.id) == (15, 2)
    plain = client.post(f"/seller/inventaris/{variant.id}/kosongkan",
                        data={"konfirmasi": "ya", "semula": "12"})
    assert plain.status_code == 409 and "berubah menjadi 15" in plain.get_data(as_text=True)


@pytest.mark.parametrize("semula", ["", "dua belas", "-1"])
def test_a_missing_or_garbled_seen_stock_is_refused_with_a_message(client, db, variant,
                                                                   semula):
    refused = client.post(f"/seller/inventaris/{variant.id}/kosongkan", headers=HTMX,
                          data={"konfirmasi": "ya", "semula": semula})
    assert refused.status_code in (409, 422)
    assert 'data-testid="clear-error"' in refused.get_data(as_text=True)
    assert _stock_and_moves(db, variant.id) == (12, 1)


def test_another_stores_variant_cannot_be_asked_or_emptied(client, db, seller):
    other = make_user(email="lain@example.test", roles=("seller",), store_name="Toko Lain")
    theirs = make_product(store=other.store, name="Sabun Mereka", stock=4).variants[0]
    db.session.commit()
    assert client.get(f"/seller/inventaris/{theirs.id}/kosongkan").status_code == 404
    assert client.post(f"/seller/inventaris/{theirs.id}/kosongkan",
                       data={"konfirmasi": "ya", "semula": "4"}).status_code == 404
    assert client.get(f"/seller/inventaris?kosongkan={theirs.id}").status_code == 200
    assert _stock_and_moves(db, theirs.id) == (4, 1)
